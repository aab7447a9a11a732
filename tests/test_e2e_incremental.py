"""Incremental rendering on the real path: loopback API + ``alliumd`` subprocess, three sources.

- an uptime-only change rewrites no AS/country/platform/first-seen page;
- one relay's details change rewrites that relay's pages and the aggregates
  that include it, and no unrelated relay page;
- after a sequence of incremental updates the output tree is byte-identical
  to a cold build from the same inputs (the test that catches a missing
  dependency); the daemon renders on render workers, the cold build
  in-process.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

from daemon_harness import FIXTURES, details_doc, onionoo_bytes, wait_for
from site_crawl import crawl

UPTIME = json.loads((FIXTURES / "onionoo_uptime_small.json").read_text())
BANDWIDTH = json.loads((FIXTURES / "onionoo_bandwidth_small.json").read_text())
PUBLISHED = "2026-08-22 11:00:00"          # the fixtures' own time: every relay keeps its page
UNAFFECTED_BY_UPTIME = ("as/", "country/", "platform/", "first-seen/", "lists/", "search-index.json",
                        "relays/all.html", "index.html")


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*")
            if p.is_file() and ".tmp" not in p.parts}


def _mtimes(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in root.rglob("*")
            if p.is_file() and ".tmp" not in p.parts}


def _changed(before: dict, after: dict) -> set[str]:
    return {p for p in after if before.get(p) != after[p]} | (before.keys() - after.keys())


def _rendered_inputs(d) -> dict:
    """The inputs the renderer last rendered, as its manifest (saved at the end of a batch) describes them."""
    try:
        return json.loads((d.dir / "lib" / "render-manifest.json").read_text())["inputs"]
    except (OSError, ValueError, KeyError):
        return {}


def _rendered(d, sources) -> bool:
    """Every source has been rendered.

    A fetch is reported before the renderer has seen its file, so "idle with
    an empty queue" alone can be a moment between the two.
    """
    inputs = _rendered_inputs(d)
    return all(inputs.get(s, {}).get("described") for s in sources)


def _sources_extra(api) -> str:
    return "".join(f"""
[sources.{name}]
enabled = true
url = "{api.url(path)}"
interval = 600
timeout = 5
retries = 0
""" for name, path in (("onionoo_uptime", "/uptime"), ("onionoo_bandwidth", "/bandwidth")))


def _rendered_input(d, source: str) -> str | None:
    """The sha256 of ``source``'s render file as the renderer last rendered it."""
    return _rendered_inputs(d).get(source, {}).get("sha256")


def _refresh_and_wait(d, source: str) -> None:
    """Refresh ``source`` and wait until its new publication is rendered (the renderer may run a
    status-only batch between the fetch and the one that renders it: "a new batch" is not enough)."""
    marker = d.render_marker()
    attempt = d.source(source)["last_attempt"]
    rendered = _rendered_input(d, source)
    assert d.ctl("refresh", source).returncode == 0
    wait_for(lambda: (s := d.source(source))["last_attempt"] != attempt and s["state"] == "idle", 20,
             what=f"{source} fetched")
    wait_for(lambda: _rendered_input(d, source) != rendered, 30, what=f"{source}'s publication rendered")
    d.wait_render_after(marker, timeout=30)


def _cold_build(d, tmp_path: Path) -> Path:
    """Render the same cached inputs from scratch with a fresh renderer into another directory."""
    cold = tmp_path / "cold"
    shutil.copytree(d.dir / "cache", cold / "cache", ignore=shutil.ignore_patterns(".tmp"))
    # the history store is an input of the pages too (their recent events): the cold build starts from a
    # consistent copy of it (SQLite's backup API: the daemon has it open in WAL mode)
    (cold / "lib").mkdir(parents=True)
    source = sqlite3.connect(d.dir / "lib" / "history.sqlite3")
    target = sqlite3.connect(cold / "lib" / "history.sqlite3")
    source.backup(target)
    source.close()
    target.close()
    config = cold / "allium.toml"
    config.write_text(d.config.read_text())
    result = subprocess.run([sys.executable, "-m", "alliumd.renderer.main", "--config", str(config), "--once"],
                            capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
                            env={**os.environ, "ALLIUMD_RENDER_WORKERS": "0"})
    assert result.returncode == 0, result.stderr
    return cold / "www"


def test_incremental_updates_touch_only_dependents_and_equal_a_cold_build(api, start_daemon, tmp_path):
    details = details_doc(PUBLISHED)
    api.set("/details", onionoo_bytes(details))
    api.set("/uptime", onionoo_bytes(UPTIME))
    api.set("/bandwidth", onionoo_bytes(BANDWIDTH))
    # the daemon renders every batch on two render workers; the cold build below renders in-process,
    # so the final comparison also proves that workers write the bytes the renderer itself would
    d = start_daemon(interval=600, extra=_sources_extra(api),
                     env={"ALLIUMD_RENDER_WORKERS": "2", "ALLIUMD_PARALLEL_MIN": "0"})
    d.wait_ready()
    wait_for(lambda: all(d.source(n)["last_success"] for n in ("onionoo_uptime", "onionoo_bandwidth")), 30,
             what="uptime and bandwidth fetched")
    wait_for(lambda: (r := d.status()["renderer"])["state"] == "idle" and r["queue"] == 0
             and _rendered(d, ("onionoo_details", "onionoo_uptime", "onionoo_bandwidth")), 30,
             what="first render of all three sources")
    www = d.dir / "www"
    running = [r["fingerprint"] for r in details["relays"] if r["running"]]

    # 1. uptime only: every relay's last 1-month point changes
    before = _mtimes(www)
    uptime = copy.deepcopy(UPTIME)
    for relay in uptime["relays"]:
        values = relay.get("uptime", {}).get("1_month", {}).get("values")
        if values:
            values[-1] = 500 if values[-1] != 500 else 400
    api.set("/uptime", onionoo_bytes(uptime))
    _refresh_and_wait(d, "onionoo_uptime")
    changed = _changed(before, _mtimes(www))
    assert any(p.startswith("relay/") for p in changed)   # pages rewritten, not just a batch run
    assert not [p for p in changed if p.startswith(UNAFFECTED_BY_UPTIME)], sorted(changed)

    # 2. one relay's details
    before = _mtimes(www)
    target = running[7]
    next(r for r in details["relays"] if r["fingerprint"] == target)["observed_bandwidth"] += 12345
    api.set("/details", onionoo_bytes(details))
    _refresh_and_wait(d, "onionoo_details")
    changed = _changed(before, _mtimes(www))
    assert f"relay/{target}/index.html" in changed
    unrelated = {p for p in changed if p.startswith("relay/") and p.split("/")[1] != target}
    assert not unrelated, sorted(unrelated)

    # 3. bandwidth only, 4. a relay disappears, 5. a relay changes operator
    bandwidth = copy.deepcopy(BANDWIDTH)
    for relay in bandwidth["relays"][:5]:
        for graph in relay.get("read_history", {}).values():
            if graph.get("values"):
                graph["values"][-1] = 7
    api.set("/bandwidth", onionoo_bytes(bandwidth))
    _refresh_and_wait(d, "onionoo_bandwidth")
    gone = running[3]
    details["relays"] = [r for r in details["relays"] if r["fingerprint"] != gone]
    next(r for r in details["relays"] if r["fingerprint"] == running[11])["contact"] = \
        "ciissversion:2 url:https://example.org proof:uri-rsa"
    api.set("/details", onionoo_bytes(details))
    _refresh_and_wait(d, "onionoo_details")
    assert not (www / "relay" / gone).exists()

    # the incremental tree equals a cold build of the same inputs (status.html reports the daemon itself)
    incremental = _tree(www)
    cold = _tree(_cold_build(d, tmp_path))
    incremental.pop("status.html"), cold.pop("status.html")
    assert incremental.keys() == cold.keys(), sorted(incremental.keys() ^ cold.keys())
    different = sorted(p for p in cold if cold[p] != incremental[p])
    assert not different, different[:20]
    report = crawl(www)                     # and it has no dead link
    assert report.pages > 200 and not report.broken, report.first()
