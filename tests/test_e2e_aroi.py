"""End to end: a new AROI validator run re-renders only the pages that depend on it.

A real ``alliumd`` (render workers on) against the loopback API serves the
details fixture and the built validator fixture.  Then only the validator
answer changes, as a new run would: a later ``metadata.timestamp`` and one
operator's only validated relay no longer listed in its proof file.  Every
file of the site is compared before and after by inode, mtime and bytes:
exactly the AROI dependents may change (the leaderboards, the home page,
the health page with its AROI card, that operator's contact page and JSON,
its relay's pages, the status page), and the ones whose content changed must.
``alliumctl status --json`` reports the new run.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

from daemon_harness import FIXTURES, details_doc, onionoo_bytes, wait_for

AROI_FIXTURE = json.loads((FIXTURES / "aroi_latest_small.json").read_text())
PUBLISHED = "2026-08-22 11:00:00"                      # the fixtures' own time: every relay keeps its page
FLIPPED = "0DC16FEAA5A5E27A974009CBF7748BB6FAAE6DE1"   # garlicmint.fr's one relay, validated in the fixture
DOMAIN = "garlicmint.fr"
NEW_RUN = "2026-08-22T11:07:43.000001"


def _source(api) -> str:
    api.set("/latest.json", json.dumps(AROI_FIXTURE).encode())
    return f"""
[sources.aroi]
enabled = true
url = "{api.url('/latest.json')}"
interval = 600
timeout = 5
retries = 0
"""


def _files(root: Path) -> dict[str, tuple[int, int, bytes]]:
    return {str(p.relative_to(root)): (p.stat().st_ino, p.stat().st_mtime_ns, p.read_bytes())
            for p in root.rglob("*") if p.is_file() and ".tmp" not in p.parts}


def _described(d, source: str, published_after: float | None = None) -> bool:
    """The renderer has rendered ``source``'s current file (the manifest is saved at a batch's end)."""
    try:
        entry = json.loads((d.dir / "lib" / "render-manifest.json").read_text())["inputs"][source]
    except (OSError, ValueError, KeyError):
        return False
    return bool(entry.get("described")) and (published_after is None or entry["published"] > published_after)


def _idle(d) -> bool:
    r = d.status()["renderer"]
    return r["state"] == "idle" and r["queue"] == 0


def new_run() -> dict:
    doc = copy.deepcopy(AROI_FIXTURE)
    doc["metadata"]["timestamp"] = NEW_RUN
    result = next(r for r in doc["results"] if r["fingerprint"].upper() == FLIPPED)
    assert result["valid"] and result["domain"] == DOMAIN
    result.update(valid=False, error=f"URI-RSA: Fingerprint not found in https://{DOMAIN}/.well-known/"
                                     "tor-relay/rsa-fingerprint.txt")
    doc["metadata"]["valid_relays"] -= 1
    doc["metadata"]["invalid_relays"] += 1
    return doc


def test_a_new_validator_run_rewrites_only_aroi_dependents(api, start_daemon):
    api.set("/details", onionoo_bytes(details_doc(PUBLISHED)))
    d = start_daemon(interval=600, extra=_source(api),
                     env={"ALLIUMD_RENDER_WORKERS": "2", "ALLIUMD_PARALLEL_MIN": "0"})
    d.wait_ready()
    wait_for(lambda: d.source("aroi")["last_success"], 30, what="the aroi source to publish")
    wait_for(lambda: _idle(d) and _described(d, "aroi") and _described(d, "onionoo_details"), 30,
             what="a render of details and aroi")
    www = d.dir / "www"
    contact = f"contact/{DOMAIN}/index.html"
    page = (www / contact).read_text()
    assert "Validated</span>" in page and "URI-RSA" in page
    published_before = json.loads((d.dir / "lib" / "render-manifest.json").read_text())["inputs"]["aroi"]["published"]
    before = _files(www)
    assert len(before) > 100

    api.set("/latest.json", json.dumps(new_run()).encode())
    attempt = d.source("aroi")["last_attempt"]
    assert d.ctl("refresh", "aroi").returncode == 0
    wait_for(lambda: (s := d.source("aroi"))["last_attempt"] != attempt and s["state"] == "idle", 20,
             what="the new validator run fetched")
    wait_for(lambda: _idle(d) and _described(d, "aroi", published_before), 30, what="the new run rendered")
    after = _files(www)

    assert after.keys() == before.keys()
    changed = {p for p in after if after[p] != before[p]}
    rewritten_bytes = {p for p in after if after[p][2] != before[p][2]}
    dependents = {"aroi/leaderboards.html", "index.html", "network-health.html", "status.html",
                  contact, f"contact/{DOMAIN}/index.json",
                  f"relay/{FLIPPED}/index.html", f"relay/{FLIPPED}/index.json",
                  # the status change is an event (feeds, the events page) and a metrics.txt gauge
                  f"relay/{FLIPPED}/events.atom", f"relay/{FLIPPED}/metrics.txt", f"contact/{DOMAIN}/events.atom",
                  f"contact/{DOMAIN}/metrics.txt", "events.html"}
    assert changed <= dependents, sorted(changed - dependents)
    # the validated-relays board, the health card's counts and the operator's status all changed
    assert {"aroi/leaderboards.html", "index.html", "network-health.html", contact,
            f"contact/{DOMAIN}/index.json"} <= rewritten_bytes, sorted(rewritten_bytes)
    assert changed == rewritten_bytes                  # nothing was rewritten with the same bytes
    page = (www / contact).read_text()
    assert "Unauthorized</span>" in page and "URI-RSA: relay not listed in the proof file" in page
    contact_json = json.loads((www / f"contact/{DOMAIN}/index.json").read_text())
    assert contact_json["contact"]["aroi"]["status"] == "unauthorized"
    # every other operator's page (HTML and JSON) kept its inode, mtime and bytes
    others = [p for p in before if p.startswith("contact/") and not p.startswith(f"contact/{DOMAIN}/")]
    assert len(others) > 20 and all(after[p] == before[p] for p in others)

    status = json.loads(d.ctl("status", "--json").stdout)
    aroi = status["sources"]["aroi"]
    assert aroi["state"] == "idle" and aroi["source"] == "network" and aroi["last_error"] is None
    assert aroi["data_time"].startswith("2026-08-22T11:07:43")
    renderer = status["renderer"]
    assert renderer["state"] == "idle" and renderer["last_error"] is None
    assert renderer["pages_written"] <= len(changed)
    print(f"pages rewritten on an AROI-only change: {len(changed)}: {sorted(changed)}")
