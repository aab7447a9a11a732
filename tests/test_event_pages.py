"""Network memory on the site (in-process SiteBuilder, real templates): pages, feeds, metrics, increments."""

from __future__ import annotations

import copy
import json

from lxml import etree
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from alliumd.history.store import HistoryStore
from test_renderer_units import DOC, Site

A = "037B6C60DAD4DF32FDA29BF458D5C8C816AA8F3E"        # Thyme01: Guard; contact tokelrk.xyz
B = "2572FBDDA4567DA66E7684A9A3C5B4E4A54BBB37"        # Thyme02: same operator and family as A
C = "20C97B1A358B8CFFD65F4FFF141E626218AB8CD4"        # Mole02
CONTACT = "tokelrk.xyz"
HOSTILE_VERSION = "0.4.9.9<script>alert(1)</script>&\x01]]>"
ATOM = "{http://www.w3.org/2005/Atom}"


def changed_doc(*, b_down: bool) -> dict:
    doc = copy.deepcopy(DOC)
    for r in doc["relays"]:
        if r["fingerprint"] == A:
            r["flags"] = [f for f in r["flags"] if f != "Guard"]
        elif r["fingerprint"] == B and b_down:
            r["running"] = False
            r["flags"] = [f for f in r["flags"] if f != "Running"]
        elif r["fingerprint"] == C:
            r["version"] = HOSTILE_VERSION
    return doc


def check_feed(data: bytes, self_href: str = "events.atom") -> etree._Element:
    """The RFC 4287 elements a reader needs, on the feed and every entry."""
    feed = etree.fromstring(data)
    assert feed.tag == ATOM + "feed"
    for name in ("id", "title", "updated"):
        assert feed.find(ATOM + name) is not None and feed.find(ATOM + name).text
    assert feed.find(f"{ATOM}author/{ATOM}name") is not None
    links = {link.get("rel"): link.get("href") for link in feed.findall(ATOM + "link")}
    assert links["self"] == self_href and links["alternate"]
    for entry in feed.findall(ATOM + "entry"):
        for name in ("id", "title", "updated"):
            assert entry.find(ATOM + name).text
        assert entry.find(ATOM + "id").text.startswith("tag:alliumd,2026:event/")
        assert entry.find(ATOM + "link").get("rel") == "alternate"
    return feed


def test_events_on_pages_feeds_and_metrics_and_only_dependents_written(tmp_path):
    site = Site(tmp_path / "s")
    site.publish(DOC)
    site.build({"status"})
    www = site.out
    assert (www / f"relay/{A}/events.atom").exists() and (www / "events.html").exists()
    assert "No change recorded for this relay yet." in (www / f"relay/{A}/index.html").read_text()
    before = site.tree()

    # 1. A loses Guard, C changes version; same relays_published: only what changed is rewritten
    site.publish(changed_doc(b_down=False))
    result = site.build()
    assert not result.errors
    after = site.tree()
    written = {p for p in after if after[p] != before.get(p)}
    touched = {f"relay/{fp}/{name}" for fp in (A, C) for name in ("index.html", "index.json", "events.atom",
                                                                   "metrics.txt")}
    assert {f"relay/{A}/events.atom", f"relay/{C}/events.atom", "events.html", f"contact/{CONTACT}/events.atom",
            f"contact/{CONTACT}/index.html"} <= written
    relay_pages = {p for p in written if p.startswith("relay/")}
    assert relay_pages <= touched, sorted(relay_pages - touched)
    feeds = {p for p in written if p.endswith("events.atom")}
    assert {p for p in feeds if p.startswith("relay/")} == {f"relay/{A}/events.atom", f"relay/{C}/events.atom"}
    assert len([p for p in feeds if p.startswith("contact/")]) == 2            # A's and C's operators
    assert len([p for p in feeds if p.startswith("family/")]) <= 2
    # 2. B stops running too (its own event; other relays' ranks move, so more relay pages change)
    before = after
    site.publish(changed_doc(b_down=True))
    assert not site.build().errors
    after = site.tree()
    written = {p for p in after if after[p] != before.get(p)}
    assert {f"relay/{B}/events.atom", f"contact/{CONTACT}/events.atom"} <= written
    assert not {p for p in written if p.endswith("events.atom") and p.startswith("relay/") and B not in p}

    page = (www / f"relay/{A}/index.html").read_text()
    assert "<h2>Recent events</h2>" in page and "lost Guard" in page
    assert '<link rel="alternate" type="application/atom+xml"' in page and 'href="events.atom"' in page
    assert 'href="metrics.txt"' in page
    data = json.loads((www / f"relay/{A}/index.json").read_text())
    assert [e["kind"] for e in data["events"]["items"]] == ["flag_lost"]

    feed = check_feed((www / f"relay/{A}/events.atom").read_bytes())
    entries = feed.findall(ATOM + "entry")
    assert len(entries) == 1 and "lost Guard" in entries[0].find(ATOM + "title").text
    assert feed.find(ATOM + "id").text == f"tag:alliumd,2026:relay/{A}"

    c_page = (www / f"relay/{C}/index.html").read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&amp; ]]&gt;" in c_page and "<script>alert" not in c_page
    c_feed = check_feed((www / f"relay/{C}/events.atom").read_bytes())
    assert "<script>alert(1)</script>& ]]>" in c_feed.find(f"{ATOM}entry/{ATOM}title").text   # escaped in XML
    assert "no longer running" in (www / f"relay/{B}/index.html").read_text()

    contact = (www / f"contact/{CONTACT}/index.html").read_text()
    assert "<h2>Recent changes</h2>" in contact
    assert "1 of 2 relays lost Guard between" in contact and "1 of 2 relays stopped running between" in contact
    contact_feed = check_feed((www / f"contact/{CONTACT}/events.atom").read_bytes())
    assert len(contact_feed.findall(ATOM + "entry")) == 2
    check_feed((www / "events.atom").read_bytes())
    assert 'href="events.atom"' in (www / "events.html").read_text()

    for path in (f"relay/{A}/metrics.txt", f"contact/{CONTACT}/metrics.txt"):
        text = (www / path).read_text()
        assert text.endswith("# EOF\n")
        families = {f.name: f for f in text_string_to_metric_families(text)}
        assert "tor_relay_flag" in families and "tor_relay_running" in families
    families = {f.name: f for f in text_string_to_metric_families((www / f"relay/{A}/metrics.txt").read_text())}
    guard = [s for s in families["tor_relay_flag"].samples if s.labels["flag"] == "Guard"]
    assert guard[0].value == 0 and families["tor_relay_consensus_weight"].samples[0].value > 0
    operator = {f.name: f for f in text_string_to_metric_families((www / f"contact/{CONTACT}/metrics.txt").read_text())}
    assert operator["tor_operator_relays"].samples[0].value == 2
    assert operator["tor_operator_relays_running"].samples[0].value == 1

    # the same publication again, and a restarted renderer: no event, no page written
    assert site.build().written == 0
    site._builder.close()
    site._builder = None
    restarted = site.build(full=True)
    assert restarted.written == 0 and not restarted.errors
    store = HistoryStore(tmp_path / "s" / "lib" / "history.sqlite3")
    assert sorted(e["kind"] for e in store.events()) == ["down", "flag_lost", "version"]
    store.close()


def test_events_past_retention_leave_the_pages(tmp_path):
    from alliumd.config import parse
    from test_renderer_units import NOW
    site = Site(tmp_path / "r")
    site.cfg = parse({"daemon": {k: str(tmp_path / "r" / v) for k, v in (("cache_dir", "cache"), ("output_dir", "www"),
                                                                          ("state_dir", "lib"), ("run_dir", "run"))},
                      "history": {"retention_days": 1}}, tmp_path / "r" / "allium.toml")
    site.publish(DOC)
    site.build({"status"})
    site.publish(changed_doc(b_down=False))
    site.build()
    assert "lost Guard" in (site.out / f"relay/{A}/index.html").read_text()
    # two days later a new publication (C changes again): A's event is past retention and leaves its pages
    later = changed_doc(b_down=False)
    assert DOC["relays_published"] == "2026-08-22 11:00:00"
    later["relays_published"] = "2026-08-24 11:00:00"
    next(r for r in later["relays"] if r["fingerprint"] == C)["version"] = "0.4.9.10"
    site.publish(later)
    assert not site.builder.build(set(), now=NOW + 2 * 86400).errors
    assert "No change recorded for this relay yet." in (site.out / f"relay/{A}/index.html").read_text()
    assert etree.fromstring((site.out / f"relay/{A}/events.atom").read_bytes()).find(ATOM + "entry") is None
    assert "0.4.9.10" in (site.out / f"relay/{C}/index.html").read_text()


def test_a_new_store_is_seeded_from_the_uptime_history(tmp_path):
    from alliumd import atomic
    from alliumd.fetchers import source_module
    from daemon_harness import FIXTURES
    uptime = json.loads((FIXTURES / "onionoo_uptime_small.json").read_text())
    graph = next(r for r in uptime["relays"] if r["fingerprint"] == A)["uptime"]["1_month"]
    assert len(graph["values"]) == 186                  # 3 raw points per series point
    graph["values"] = [999] * 93 + [0] * 45 + [999] * 48
    raw = tmp_path / "uptime.json"
    raw.write_text(json.dumps(uptime))
    site = Site(tmp_path / "u")
    atomic.write_bytes(site.cache / "onionoo_uptime.summary.json", source_module("onionoo_uptime").validate(raw).summary,
                       fsync=False)
    site.publish(DOC)
    assert not site.build({"status"}).errors
    store = HistoryStore(tmp_path / "u" / "lib" / "history.sqlite3")
    events = store.events(fp=A)
    store.close()
    assert [(e["kind"], e["text"]) for e in events] == [("up", "came back (from Onionoo's uptime history)"),
                                                         ("down", "went down (from Onionoo's uptime history)")]
    # bucket 31 (the first all-down one) starts 31 series intervals after the first series point's bucket
    assert events[1]["time"] < events[0]["time"] and events[0]["time"] - events[1]["time"] == 15 * 3 * 14400
    page = (site.out / f"relay/{A}/index.html").read_text()
    assert "went down (from Onionoo&#39;s uptime history)" in page
    # a relay without a clean transition gets nothing, and a second build adds nothing
    assert site.build().written == 0


def test_backfill_is_only_unambiguous_transitions():
    from alliumd.model import events as evm
    graph = {"first": "2026-08-01 00:00:00", "interval": 3600, "values": [1.0, 0.5, 0.0, 1.0, None, 0.0, 1.0, 0.0]}
    before = evm._epoch("2026-08-01 06:30:00")          # the last transition (down at 06:30) is not before it
    out = evm.backfill_uptime("A" * 40, graph, before)
    assert [(e["kind"], evm.time_text(e["time"])) for e in out] == [("up", "2026-08-01 02:30 UTC"),
                                                                   ("up", "2026-08-01 05:30 UTC")]
    later = evm.backfill_uptime("A" * 40, graph, before + 3600)
    assert [e["kind"] for e in later] == ["up", "up", "down"]
    assert evm.backfill_uptime("A" * 40, {"first": "x", "interval": 1, "values": [1, 0]}, before) == []
    assert evm.backfill_uptime("A" * 40, None, before) == []
    never_down = {**graph, "values": [1.0, 0.5, 0.999, None, 1]}       # no point at 0: nothing to find
    assert evm.backfill_uptime("A" * 40, never_down, before + 86400) == []
    assert [e["kind"] for e in evm.backfill_uptime("A" * 40, {**graph, "values": [1, 0]}, before)] == ["down"]


def _history_model(site):
    return next(m for key, m in site._builder.model_cache.items() if key[0] == "history")


def test_an_event_is_one_view_in_every_list_and_from_one_build_to_the_next(tmp_path):
    site = Site(tmp_path / "s")
    site.publish(DOC)
    site.build({"status"})
    site.publish(changed_doc(b_down=False))
    assert not site.build().errors
    model = _history_model(site)
    (lost,) = [e for e in model.relays[A] if e["kind"] == "flag_lost"]
    assert any(e is lost for e in model.contacts[CONTACT])
    site.publish(changed_doc(b_down=True))          # B's event: the operator's list is loaded again
    assert not site.build().errors
    model = _history_model(site)
    assert any(e["fp"] == B for e in model.contacts[CONTACT])
    assert any(e is lost for e in model.contacts[CONTACT]) and model.relays[A][0] is lost


def test_event_views_are_shared_by_uid_and_pruned_to_what_lists_show():
    from alliumd.model import events as ev
    from alliumd.pages.events import EventViews, event_view

    def event(hour, fp, nickname):
        return ev.event(1_790_000_000 + 3600 * hour, fp, ev.FLAG_LOST, "Guard", "Guard", "lost Guard",
                        nickname=nickname)
    views = EventViews()
    first = views.of([event(0, A, "Thyme01"), event(0, B, "Thyme02")])
    again = views.of([event(0, B, "Thyme02")])
    assert again[0] is first[1] and first[0]["when"] is first[1]["when"]       # one publication, one text
    assert first[1] == event_view(event(0, B, "Thyme02"))
    for hour in range(1, 1100):                                                 # enough to prune
        views.of([event(hour, A, "Thyme01")])
    kept = views.of([event(1099, A, "Thyme01")])
    views.prune({A: kept}, {CONTACT: again}, ())
    assert set(views.by_uid) == {kept[0]["uid"], again[0]["uid"]}
    assert views.of([event(0, B, "Thyme02")])[0] is again[0]
