"""End to end: the ``aroi`` source enabled in a real alliumd against the loopback validator.

The fetcher publishes the raw ``latest.json`` and the per-fingerprint
summary the renderer reads; the source reports the validator's own time; a
server error and then an invalid answer each leave the last good cache and
summary in place.
"""

from __future__ import annotations

from pathlib import Path

from alliumd.fetchers import aroi as fetcher

from daemon_harness import Daemon, wait_for

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "aroi_latest_small.json"
PATH = "/latest.json"


def aroi_source(api) -> str:
    api.set(PATH, FIXTURE.read_bytes())
    return f"""
[sources.aroi]
enabled = true
url = "{api.url(PATH)}"
interval = 1
timeout = 5
retries = 0
max_bytes = 5_000_000
"""


def summary_path(d: Daemon) -> Path:
    return d.dir / "cache" / "aroi.summary.json"


def test_aroi_source_publishes_and_a_fault_keeps_the_last_good_cache(api, start_daemon):
    d = start_daemon(interval=60, extra=aroi_source(api))
    d.wait_ready()
    src = wait_for(lambda: (s := d.source("aroi"))["last_success"] and summary_path(d).exists() and s, 20,
                   what="the aroi source to publish")
    assert src["enabled"] and src["source"] == "network" and src["last_error"] is None
    assert src["data_time"].startswith("2026-08-22T10:07:43")                  # the validator's own time
    assert d.cache("aroi").read_bytes() == FIXTURE.read_bytes()               # the raw document, as served
    good_summary = summary_path(d).read_bytes()
    assert good_summary == fetcher.validate(FIXTURE).summary
    mtimes = {p: p.stat().st_mtime_ns for p in (d.cache("aroi"), summary_path(d))}

    # the validator fails: backoff with the reason, the cache and summary stay
    api.fault(PATH, "status", code=500)
    src = wait_for(lambda: (s := d.source("aroi"))["state"] == "backoff" and s, 10, what="a failed fetch")
    assert src["source"] == "cache" and src["last_status"] == 500 and src["failures"] >= 1
    api.clear_fault(PATH)

    # it answers again, but with nothing in it: refused, the last good data stays in use
    api.set(PATH, b'{"metadata": {"timestamp": "2026-08-22T11:07:43"}, "statistics": {}, "results": []}')
    src = wait_for(lambda: (s := d.source("aroi"))["last_error"] and "'results' is empty" in s["last_error"] and s,
                   15, what="the empty answer to be refused")
    assert "invalid document" in src["last_error"] and src["source"] == "cache"
    assert {p: p.stat().st_mtime_ns for p in mtimes} == mtimes
    assert summary_path(d).read_bytes() == good_summary
    assert d.source("onionoo_details")["state"] == "idle"                     # the other sources are unaffected
    assert d.status()["renderer"]["last_error"] is None
