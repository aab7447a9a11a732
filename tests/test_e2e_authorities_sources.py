"""End to end: the ``collector`` and ``consensus_health`` sources in a real alliumd.

Two loopback servers stand in for collector.torproject.org (index.json and
``recent/relay-descriptors/…``, the real 2018 set) and
consensus-health.torproject.org (the built page at ``/``).  Each source runs
as its own fetcher process, publishes its summary, answers later polls with
304s that write nothing, and keeps its last good cache through faults; the
collector re-derives a deleted summary from its stored files without
fetching anything.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alliumd.fetchers import collector, consensus_health

from daemon_harness import Daemon, wait_for
from loopback import LoopbackAPI
from test_collector import GABELMOO, file_path, serve, set_2018

HEALTH_PAGE = Path(__file__).resolve().parent / "fixtures" / "consensus_health" / "consensus-health_BUILT_2025-04-03-0500.html"
NAMES = ("collector", "consensus_health")


@pytest.fixture
def health():
    with LoopbackAPI() as server:
        server.set("/", HEALTH_PAGE.read_bytes(), content_type="text/html; charset=ISO-8859-1")
        yield server


def sources_toml(api: LoopbackAPI, health: LoopbackAPI, interval: float = 1) -> str:
    return f"""
[sources.collector]
enabled = true
url = "{api.url('/index/index.json')}"
interval = {interval}
timeout = 5
retries = 0
max_bytes = 5_000_000

[sources.consensus_health]
enabled = true
url = "{health.url('/')}"
interval = {interval}
timeout = 5
retries = 0
max_bytes = 5_000_000
"""


def summary(d: Daemon, name: str) -> Path:
    return d.dir / "cache" / f"{name}.summary.json"


def wait_published(d: Daemon) -> None:
    def published():
        return all(d.source(n)["last_success"] and d.source(n)["state"] == "idle" and summary(d, n).exists()
                   for n in NAMES)
    wait_for(published, 30, what="both sources to publish")


def test_both_sources_publish_then_304s_write_nothing(api, health, start_daemon):
    serve(api, set_2018())
    d = start_daemon(interval=60, extra=sources_toml(api, health))
    d.wait_ready()
    wait_published(d)
    col, ch = d.source("collector"), d.source("consensus_health")
    assert col["source"] == ch["source"] == "network" and col["last_error"] is ch["last_error"] is None
    assert col["data_time"].startswith("2018-10-15T00:00:00")            # the consensus valid-after
    assert ch["data_time"].startswith("2025-04-03T05:00:00")             # the page's valid-after
    assert summary(d, "collector").read_bytes() == collector.validate(d.cache("collector")).summary
    assert summary(d, "consensus_health").read_bytes() == consensus_health.validate(HEALTH_PAGE).summary
    assert d.cache("consensus_health").read_bytes() == HEALTH_PAGE.read_bytes()
    assert collector.read_manifest(d.cache("collector"))["valid_after"] == "2018-10-15 00:00:00"

    # every file once, then only conditional index requests: nothing rewritten
    before = {p: p.stat().st_mtime_ns for n in NAMES for p in (d.cache(n), summary(d, n))}
    count = api.count("/index/index.json")
    assert api.wait_count("/index/index.json", count + 2, timeout=10)
    assert health.wait_count("/", 3, timeout=10)
    wait_for(lambda: all(d.source(n)["last_status"] == 304 for n in NAMES), 10, what="304s")
    assert {p: p.stat().st_mtime_ns for p in before} == before
    for role, files in set_2018().items():
        for name in files:
            assert api.count(file_path(role, name)) == 1
    assert d.status()["renderer"]["last_error"] is None


def test_faults_keep_the_last_good_caches(api, health, start_daemon):
    tree = set_2018(votes_subset=3)
    serve(api, tree)
    d = start_daemon(interval=60, extra=sources_toml(api, health))
    d.wait_ready()
    wait_published(d)
    good = {n: (d.cache(n).read_bytes(), summary(d, n).read_bytes()) for n in NAMES}

    # consensus-health answers with a maintenance page: refused, the last good page stays
    health.set("/", b"<html><head><title>Maintenance</title></head><body>back soon</body></html>",
               content_type="text/html")
    src = wait_for(lambda: (s := d.source("consensus_health"))["state"] == "backoff" and s, 15,
                   what="the maintenance page to be refused")
    assert "invalid document" in src["last_error"] and "not a consensus-health page" in src["last_error"]
    assert src["source"] == "cache"

    # a new vote appears but its server fails: the poll fails naming the file, nothing is replaced
    full = set_2018()
    new_vote = sorted(set(full["vote"]) - set(tree["vote"]))[0]
    api.fault(file_path("vote", new_vote), "status", code=503)
    serve(api, full)
    src = wait_for(lambda: (s := d.source("collector"))["state"] == "backoff" and s, 15,
                   what="the failed vote download")
    assert new_vote in src["last_error"] and src["source"] == "cache"
    assert {n: (d.cache(n).read_bytes(), summary(d, n).read_bytes()) for n in NAMES} == good

    # the file comes back: only it is downloaded, the summary now has the fourth vote
    consensus_requests = api.count(file_path("consensus", "2018-10-15-00-00-00-consensus"))
    api.clear_fault(file_path("vote", new_vote))
    wait_for(lambda: d.source("collector")["state"] == "idle" and summary(d, "collector").read_bytes() != good["collector"][1],
             15, what="the collector to recover")
    assert api.count(file_path("consensus", "2018-10-15-00-00-00-consensus")) == consensus_requests
    assert d.source("collector")["failures"] == 0
    assert d.source("consensus_health")["state"] == "backoff"          # still refusing the bad page
    assert summary(d, "consensus_health").read_bytes() == good["consensus_health"][1]
    assert d.status()["renderer"]["last_error"] is None


def test_collector_summary_is_rederived_from_stored_files(api, health, start_daemon):
    serve(api, set_2018())
    extra = sources_toml(api, health, interval=3600)
    d = start_daemon(interval=3600, extra=extra)
    d.wait_ready()
    wait_published(d)
    good = summary(d, "collector").read_bytes()
    assert d.stop() == 0

    api.clear_log()
    summary(d, "collector").unlink()
    again = start_daemon(interval=3600, extra=extra)
    again.wait_ready()
    wait_for(lambda: summary(again, "collector").exists(), 20, what="the re-derived summary")
    assert summary(again, "collector").read_bytes() == good
    assert "source=collector summary re-derived from the cached document" in again.log_text()
    assert not [r for r in api.requests_log if r.path.startswith("/recent/")]      # nothing refetched
    assert any(a["id"] == GABELMOO and a["bandwidth_file"] for a in json.loads(good)["authorities"])
