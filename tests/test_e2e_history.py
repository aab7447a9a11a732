"""End to end: network memory in a real alliumd (loopback Onionoo details + CollecTor).

Details v1, then v2 in which relay A lost Guard, relay B stopped running
and relay C changed version.  CollecTor serves the real 2018 vote set with
a ``stats`` line in every vote (BUILT: the votes predate them): A's WFU is
97.6 %, under every authority's guard-wfu of 98 %, so the cause of A's lost
Guard names that threshold at all four authorities (majority 3).  Then: the
relay page, its Atom feed (lxml), ``events.html``, B's and C's events, the
operator roll-up, ``metrics.txt`` (prometheus_client's OpenMetrics parser),
``alliumctl events``; a restart keeps the events without duplicating them;
a corrupted store is moved aside and rebuilt while the site stays.
"""

from __future__ import annotations

import base64
import json
import re
import time

from lxml import etree
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from daemon_harness import Daemon, onionoo_bytes, wait_for
from loopback import LoopbackAPI
from test_collector import CONSENSUS_2018, VOTES_2018, serve
from test_consensus_eval import CALYX, details_with_2018_fingerprints, summary_2018
from test_e2e_incremental import _rendered

ATOM = "{http://www.w3.org/2005/Atom}"
CAUSE = "lost Guard: WFU 97.6% < 98.0% at 4 of 4 authorities (majority 3)"
CAUSE_HTML = CAUSE.replace("<", "&lt;")


def votes_with_stats(low_wfu_fp: str) -> dict[str, dict[str, bytes]]:
    """The 2018 set with a ``stats`` line after every router's ``id ed25519`` line; ``low_wfu_fp`` gets 97.6 %."""
    ident = base64.b64encode(bytes.fromhex(low_wfu_fp)).rstrip(b"=")
    tree = {"consensus": {"2018-10-15-00-00-00-consensus": CONSENSUS_2018.read_bytes()}, "vote": {}}
    for path in VOTES_2018:
        parts = re.split(rb"(?=\nr )", path.read_bytes())
        out = []
        for part in parts:
            wfu = b"0.976000" if part.startswith(b"\nr ") and part.split(b" ")[2] == ident else b"0.998765"
            out.append(re.sub(rb"(\nid ed25519 [^\n]*)", rb"\1\nstats wfu=" + wfu + rb" tk=1234567 mtbf=2345678",
                              part))
        tree["vote"][path.name.removesuffix(".part")] = b"".join(out)
    return tree


def hour(offset: int) -> str:
    return time.strftime("%Y-%m-%d %H:00:00", time.gmtime(time.time() // 3600 * 3600 + offset * 3600))


def collector_toml(collector: LoopbackAPI) -> str:
    return f"""
[sources.collector]
enabled = true
url = "{collector.url('/index/index.json')}"
interval = 600
timeout = 10
retries = 0
max_bytes = 5_000_000
"""


def refresh_details(d: Daemon, until, what: str) -> None:
    """Fetch details now and wait until ``until()`` holds (the first batch after the fetch may be a status-only
    one, so waiting for "a new batch" is not enough) and the renderer is idle."""
    attempt = d.source()["last_attempt"]
    assert d.ctl("refresh", "onionoo_details").returncode == 0
    wait_for(lambda: (s := d.source())["last_attempt"] != attempt and s["state"] == "idle", 20, what="details fetched")
    wait_for(until, 60, what=what)
    wait_for(lambda: (r := d.status()["renderer"])["state"] == "idle" and r["queue"] == 0, 60, what="renderer idle")


def ctl_events(d: Daemon, *args: str) -> list[dict]:
    proc = d.ctl("events", "--json", *args)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def feed(d: Daemon, rel: str) -> etree._Element:
    root = etree.fromstring(d.page(rel).read_bytes())
    assert root.tag == ATOM + "feed"
    for name in ("id", "title", "updated"):
        assert root.findtext(ATOM + name)
    rels = {link.get("rel") for link in root.findall(ATOM + "link")}
    assert {"self", "alternate"} <= rels and root.findtext(f"{ATOM}author/{ATOM}name") is not None
    for entry in root.findall(ATOM + "entry"):
        assert entry.findtext(ATOM + "id").startswith("tag:alliumd,2026:event/")
        assert entry.findtext(ATOM + "title") and entry.findtext(ATOM + "updated")
        assert entry.find(ATOM + "link").get("href")
    return root


def test_events_feeds_metrics_restart_and_recovery(api, start_daemon, tmp_path):
    summary = summary_2018()
    details = details_with_2018_fingerprints(summary)
    relays = details["relays"]
    a = next(r for r in relays if r["fingerprint"] == CALYX)
    b, c = [r for r in relays if r["running"] and r is not a and "Guard" not in r["flags"]
            and r["fingerprint"] in summary["relays"]][:2]
    if "Guard" not in a["flags"]:
        a["flags"] = sorted(a["flags"] + ["Guard"])
    A, B, C = a["fingerprint"], b["fingerprint"], c["fingerprint"]
    details["relays_published"] = hour(-1)
    api.set("/details", onionoo_bytes(details))
    with LoopbackAPI() as collector:
        serve(collector, votes_with_stats(A))
        d = start_daemon(interval=600, extra=collector_toml(collector))
        d.wait_ready()
        wait_for(lambda: _rendered(d, ("onionoo_details", "collector")), 60, what="details and votes rendered")
        wait_for(lambda: d.status()["renderer"]["state"] == "idle", 30, what="renderer idle")
        assert "No change recorded for this relay yet." in d.page(f"relay/{A}/index.html").read_text()

        # v2: A lost Guard, B stopped running, C changed version
        a["flags"] = [f for f in a["flags"] if f != "Guard"]
        b["running"], b["last_seen"] = False, hour(-1)
        c["version"], c["platform"] = "0.4.9.9", "Tor 0.4.9.9 on Linux"
        details["relays_published"] = hour(0)
        api.set("/details", onionoo_bytes(details))
        refresh_details(d, lambda: CAUSE_HTML in d.page(f"relay/{A}/index.html").read_text()
                        and "version changed" in d.page(f"relay/{C}/index.html").read_text()
                        and "no longer running" in d.page(f"relay/{B}/index.html").read_text(),
                        "v2's events on the relay pages")

        page = d.page(f"relay/{A}/index.html").read_text()
        assert "<h2>Recent events</h2>" in page and CAUSE_HTML in page
        assert '<link rel="alternate" type="application/atom+xml"' in page
        entries = feed(d, f"relay/{A}/events.atom").findall(ATOM + "entry")
        assert [e.findtext(ATOM + "title") for e in entries] == [f"{a['nickname']} ({A[:8]}): {CAUSE}"]
        assert "no longer running" in d.page(f"relay/{B}/index.html").read_text()
        assert "version changed from “" in d.page(f"relay/{C}/index.html").read_text()
        assert "0.4.9.9" in feed(d, f"relay/{C}/events.atom").findtext(f"{ATOM}entry/{ATOM}title")
        events_html = d.page("events.html").read_text()
        assert 'href="events.atom"' in events_html and "Relay events in the last 24 hours" in events_html
        feed(d, "events.atom")
        contact = json.loads(d.page(f"relay/{A}/index.json").read_text())["links"]["contact"]
        contact_page = d.page(contact).read_text()
        assert re.search(r"1 of \d+ relays lost Guard between \d\d:00 and \d\d:00 UTC", contact_page)
        feed(d, contact.replace("index.html", "events.atom"))

        metrics = {f.name: f for f in text_string_to_metric_families(d.page(f"relay/{A}/metrics.txt").read_text())}
        guard = {s.labels["flag"]: s.value for s in metrics["tor_relay_flag"].samples}
        assert guard["Guard"] == 0 and guard["Fast"] == 1
        votes = {s.labels["flag"]: s.value for s in metrics["tor_relay_flag_votes"].samples}
        assert votes["Guard"] >= 1                                # the 2018 votes assigned it
        operator = d.page(contact.replace("index.html", "metrics.txt")).read_text()
        assert list(text_string_to_metric_families(operator)) and operator.endswith("# EOF\n")

        recorded = ctl_events(d)
        assert {(e["fingerprint"], e["kind"]) for e in recorded} >= {(A, "flag_lost"), (B, "down"), (C, "version")}
        assert ctl_events(d, "--relay", A)[0]["text"] == CAUSE

        # restart: the same publication again records nothing; the pages keep their events
        assert d.stop() == 0
        d2 = Daemon(d.config)
        try:
            d2.wait_ready()
            wait_for(lambda: d2.status()["renderer"]["state"] == "idle", 30, what="renderer idle")
            assert ctl_events(d2) == recorded
            assert CAUSE_HTML in d2.page(f"relay/{A}/index.html").read_text()
            assert len(feed(d2, f"relay/{A}/events.atom").findall(ATOM + "entry")) == 1
        finally:
            assert d2.stop() == 0

        # a corrupt store: moved aside, rebuilt, the daemon and the site carry on
        store = d.dir / "lib" / "history.sqlite3"
        for suffix in ("-wal", "-shm"):
            (d.dir / "lib" / f"history.sqlite3{suffix}").unlink(missing_ok=True)
        store.write_bytes(b"not a database " * 4096)
        d3 = Daemon(d.config)
        try:
            d3.wait_ready()
            wait_for(lambda: "moved aside" in d3.log_text(), 30, what="the recovery log line")
            assert list((d.dir / "lib").glob("history.sqlite3.corrupt-*"))
            assert d3.status()["renderer"]["state"] in ("idle", "rendering")
            assert d3.page(f"relay/{A}/index.html").exists()
            # a new baseline, then events again
            c["version"], c["platform"] = "0.4.9.10", "Tor 0.4.9.10 on Linux"
            api.set("/details", onionoo_bytes(details))
            refresh_details(d3, lambda: "0.4.9.10" in d3.page(f"relay/{C}/index.html").read_text()
                            and "version changed" in d3.page(f"relay/{C}/index.html").read_text(),
                            "the new store's first event on C's page")
            assert [e["kind"] for e in ctl_events(d3, "--relay", C)] == ["version"]
        finally:
            assert d3.stop() == 0
        assert not d2.leftovers() and not d3.leftovers()
