"""End to end: the uptime and bandwidth sources in a real alliumd against the loopback API.

The fetchers publish a raw cache and the summary the renderer reads; a 304
writes nothing; an invalid document keeps the last good cache and summary;
a summary deleted while the daemon is down is re-derived from the raw cache
when it starts again.
"""

from __future__ import annotations

import json
from pathlib import Path

from alliumd.fetchers import onionoo_bandwidth, onionoo_uptime, stored

from daemon_harness import Daemon, onionoo_bytes, wait_for

FIXTURES = Path(__file__).resolve().parent / "fixtures"
DOCS = {"onionoo_uptime": ("/uptime", FIXTURES / "onionoo_uptime_small.json", onionoo_uptime),
        "onionoo_bandwidth": ("/bandwidth", FIXTURES / "onionoo_bandwidth_small.json", onionoo_bandwidth)}


def history_sources(api, interval: float) -> str:
    """The `extra` TOML enabling both sources against the loopback API."""
    tables = []
    for name, (path, fixture, _) in DOCS.items():
        api.set(path, fixture.read_bytes())
        tables.append(f"""
[sources.{name}]
enabled = true
url = "{api.url(path)}"
interval = {interval}
timeout = 5
retries = 0
max_bytes = 5_000_000
""")
    return "".join(tables)


def summary_path(d: Daemon, name: str) -> Path:
    return d.dir / "cache" / f"{name}.summary.json"


def wait_published(d: Daemon) -> None:
    def published():
        for name in DOCS:
            src = d.source(name)
            if src["state"] != "idle" or src["last_success"] is None or not summary_path(d, name).exists():
                return None
        return True
    wait_for(published, 20, what="both summaries published")


def test_summaries_published_304_writes_nothing_invalid_keeps_cache(api, start_daemon):
    d = start_daemon(interval=60, extra=history_sources(api, interval=1))
    d.wait_ready()
    wait_published(d)
    for name, (_, fixture, module) in DOCS.items():
        src = d.source(name)
        assert src["enabled"] and src["source"] == "network" and src["last_error"] is None
        assert src["data_time"].startswith("2026-08-22T11:00:00")
        assert stored.read_all(d.cache(name)) == fixture.read_bytes()     # the raw document as served, gzipped
        assert summary_path(d, name).read_bytes() == module.validate(fixture).summary

    # further polls are answered 304: neither the raw cache nor the summary is written
    before = {p: p.stat().st_mtime_ns for name in DOCS for p in (d.cache(name), summary_path(d, name))}
    counts = {path: api.count(path) for path, _, _ in DOCS.values()}
    for path, _, _ in DOCS.values():
        assert api.wait_count(path, counts[path] + 2, timeout=10)
    wait_for(lambda: all(d.source(n)["last_status"] == 304 and d.source(n)["state"] == "idle" for n in DOCS),
             10, what="304s")
    assert {p: p.stat().st_mtime_ns for p in before} == before
    assert any(("If-None-Match" in r.headers or "If-Modified-Since" in r.headers)
               for r in api.requests_log if r.path == "/uptime")

    # a bad graph makes the new uptime document invalid: the last good cache and summary stay
    doc = json.loads(DOCS["onionoo_uptime"][1].read_text())
    doc["relays"][5]["uptime"]["1_month"]["values"][0] = 1999
    api.set("/uptime", onionoo_bytes(doc))
    src = wait_for(lambda: (s := d.source("onionoo_uptime"))["state"] == "backoff" and s, 10,
                   what="the invalid document to be refused")
    assert "invalid document" in src["last_error"] and "1_month" in src["last_error"]
    # (polled every second, a failing source is retried every second too: by the time this test reads the
    # record, a slow host may have seen the second refusal already)
    assert src["source"] == "cache" and src["failures"] >= 1
    assert stored.read_all(d.cache("onionoo_uptime")) == DOCS["onionoo_uptime"][1].read_bytes()
    assert summary_path(d, "onionoo_uptime").stat().st_mtime_ns == before[summary_path(d, "onionoo_uptime")]
    other = d.source("onionoo_bandwidth")                # unaffected (it may be in one of its 1 s polls)
    assert other["state"] in ("idle", "fetching") and other["failures"] == 0 and other["last_error"] is None
    assert d.status()["renderer"]["last_error"] is None


def test_deleted_summary_is_rederived_from_the_raw_cache_on_restart(api, start_daemon, tmp_path):
    extra = history_sources(api, interval=3600)
    d = start_daemon(interval=3600, extra=extra)
    d.wait_ready()
    wait_published(d)
    summaries = {name: summary_path(d, name).read_bytes() for name in DOCS}
    requests = {path: api.count(path) for path, _, _ in DOCS.values()}
    assert d.stop() == 0

    summary_path(d, "onionoo_uptime").unlink()
    again = start_daemon(interval=3600, extra=extra)
    again.wait_ready()
    wait_for(lambda: summary_path(again, "onionoo_uptime").exists(), 15, what="the re-derived summary")
    assert {name: summary_path(again, name).read_bytes() for name in DOCS} == summaries
    assert "source=onionoo_uptime summary re-derived from the cached document" in again.log_text()
    assert {path: api.count(path) for path, _, _ in DOCS.values()} == requests       # nothing refetched
    for name in DOCS:
        assert again.source(name)["state"] == "idle" and again.source(name)["data_time"].startswith("2026-08-22")
