"""The pure diff (model/events/) and the flag causes (model/event_causes.py), with injected times."""

from __future__ import annotations

import json

from alliumd.model import events as ev
from alliumd.model.event_causes import flag_cause

T0 = 1_780_000_000.0                 # publication times are injected; nothing reads the clock
HOUR = 3600.0
FP_A, FP_B, FP_C, FP_D = "A" * 40, "B" * 40, "C" * 40, "D" * 40
HOSTILE = "<script>alert(1)</script>&amp;\"' ]]> \x00\x07\x1b[31m\u202e\ud800\ufffe\n\ttail"


def relay(fp: str, **over) -> dict:
    base = {"fingerprint": fp, "nickname": "Nick" + fp[0], "running": True,
            "flags": ["Fast", "Guard", "Running", "Stable", "V2Dir", "Valid"], "version": "0.4.8.19",
            "platform": "Tor 0.4.8.19 on Linux", "last_restarted": "2026-08-09 12:03:07 UTC",
            "or_addresses": ["192.0.2.1:443"], "consensus_weight": 1000, "overload_general_timestamp": None,
            "family": [], "contact": "ops@example.org", "as_number": "AS64500"}
    base.update(over)
    return base


def snaps(*relays, aroi=None) -> dict:
    return {r["fingerprint"]: ev.snapshot(r, contact_id="c1", family_id=None, aroi=(aroi or {}).get(r["fingerprint"]))
            for r in relays}


def step(previous, *relays, t, cause=None, aroi=None):
    events, states = ev.diff_relays(previous, snaps(*relays, aroi=aroi), t, cause=cause,
                                    aroi_known=aroi is not None)
    return events, {**previous, **states}


def kinds(events):
    return sorted((e["fp"][:1] if e["fp"] else "-", e["kind"]) for e in events)


def test_baseline_records_no_event_and_the_same_publication_again_none():
    events, states = step({}, relay(FP_A), relay(FP_B), t=T0)
    assert events == [] and set(states) == {FP_A, FP_B}
    again, changed = ev.diff_relays(states, snaps(relay(FP_A), relay(FP_B)), T0)
    assert again == [] and changed == {}


def test_each_kind_of_relay_change_is_one_event_with_the_publication_time():
    _, states = step({}, relay(FP_A), relay(FP_B), relay(FP_C), t=T0)
    a = relay(FP_A, flags=["Fast", "Running", "Stable", "V2Dir", "Valid", "HSDir"], version="0.4.9.1",
              platform="Tor 0.4.9.1 on Linux", last_restarted="2026-08-10 00:00:00 UTC",
              or_addresses=["192.0.2.9:9001"], overload_general_timestamp=1, family=[FP_D],
              contact="new@example.org")
    events, states = step(states, a, relay(FP_C), relay(FP_D), t=T0 + HOUR)
    assert kinds(events) == [("A", "address"), ("A", "contact"), ("A", "family"), ("A", "flag_gained"),
                             ("A", "flag_lost"), ("A", "overload_started"), ("A", "restart"), ("A", "version"),
                             ("B", "down"), ("D", "first_seen")]
    assert all(e["time"] == T0 + HOUR for e in events)
    lost = next(e for e in events if e["kind"] == "flag_lost")
    assert (lost["before"], lost["text"]) == ("Guard", "lost Guard")
    version = next(e for e in events if e["kind"] == "version")
    assert version["text"] == "version changed from “0.4.8.19” to “0.4.9.1”"
    assert (version["before"], version["after"]) == ("0.4.8.19", "0.4.9.1")
    assert next(e for e in events if e["kind"] == "down")["text"].startswith("no longer running")
    # the platform event is left out when only the version inside it moved
    assert not [e for e in events if e["kind"] == "platform"]
    # B comes back: "up", not "first seen"; overload ends
    events, _ = step(states, relay(FP_A, **{k: a[k] for k in a if k != "overload_general_timestamp"}),
                     relay(FP_B), relay(FP_C), relay(FP_D), t=T0 + 2 * HOUR)
    assert kinds(events) == [("A", "overload_ended"), ("B", "up")]


def test_weight_event_beyond_half_the_median_once_per_crossing():
    states = {}
    for i in range(5):
        events, states = step(states, relay(FP_A, consensus_weight=1000), t=T0 + i * HOUR)
        assert events == []
    events, states = step(states, relay(FP_A, consensus_weight=2600), t=T0 + 5 * HOUR)
    assert kinds(events) == [("A", "weight")]
    assert events[0]["text"] == "consensus weight 2,600 is 2.6× its median of 1,000"
    events, states = step(states, relay(FP_A, consensus_weight=2600), t=T0 + 6 * HOUR)
    assert events == []                                   # still high: no second event
    events, states = step(states, relay(FP_A, consensus_weight=1100), t=T0 + 7 * HOUR)
    assert kinds(events) == [("A", "weight")] and "back within ±50 %" in events[0]["text"]
    events, _ = step(states, relay(FP_A, consensus_weight=300), t=T0 + 8 * HOUR)
    assert "fell to" in events[0]["text"]


def test_aroi_status_change_and_unknown_validator_keeps_the_status():
    _, states = step({}, relay(FP_A), t=T0, aroi={FP_A: "validated"})
    events, states = step(states, relay(FP_A), t=T0 + HOUR)            # no validator data this time
    assert events == [] and states[FP_A]["aroi"] == "validated"
    events, _ = step(states, relay(FP_A), t=T0 + 2 * HOUR, aroi={FP_A: "unauthorized"})
    assert [e["text"] for e in events] == ["AROI validation changed from validated to unauthorized"]


def test_hostile_strings_in_every_field_that_reaches_a_sentence():
    _, states = step({}, relay(FP_A), relay(FP_B), t=T0)
    hostile = relay(FP_A, nickname=HOSTILE, version=HOSTILE, platform=HOSTILE + " on " + HOSTILE,
                    contact=HOSTILE, or_addresses=[HOSTILE], last_restarted="2026-08-10 " + HOSTILE,
                    flags=["Running", "Fast", HOSTILE])
    events, _ = step(states, hostile, relay(FP_B, version=HOSTILE), t=T0 + HOUR,
                     cause=lambda fp, flag, gained: HOSTILE, aroi={FP_A: HOSTILE, FP_B: "validated"})
    texts = [e["text"] for e in events] + [e["nickname"] for e in events]
    assert len(events) >= 6
    for text in texts:
        assert not any(ord(ch) < 32 or 0x7f <= ord(ch) < 0xa0 for ch in text), repr(text)
        assert "\u202e" not in text and "\ud800" not in text and "\ufffe" not in text
        assert len(text) < 500
        json.dumps(text).encode("utf-8")                   # storable and serialisable as is
    # the hostile text is still there (escaped later by the templates), only cleaned of controls
    assert any("<script>alert(1)</script>" in t for t in texts)


def test_clean_text_caps_and_strips():
    assert ev.clean_text("a\nb\tc\x00d") == "a b c d"          # core.text: each unsafe run is one space
    assert ev.clean_text("\u202eevil\u2066x\ufffe") == "evil x"   # bidi overrides and noncharacters go too
    assert ev.clean_text("x" * 300, 10) == "x" * 9 + "…"
    assert ev.clean_text(None) == ""


def test_uid_is_stable_and_distinguishes_events():
    a = ev.event(T0, FP_A, "flag_lost", "Guard", "Guard", "lost Guard")
    assert a["uid"] == ev.event(T0, FP_A, "flag_lost", "Guard", "Guard", "lost Guard: other wording")["uid"]
    assert a["uid"] != ev.event(T0 + HOUR, FP_A, "flag_lost", "Guard", "Guard", "lost Guard")["uid"]


def test_network_swing_and_a_large_family_going_down():
    relays = [relay(f"{i:040X}", as_number="AS1") for i in range(1, 41)]
    _, states = step({}, *relays, t=T0)
    for fp in list(states):
        states[fp] = {**states[fp], "fid": "F" * 40 if int(fp, 16) <= 8 else None}
    survivors = relays[6:8] + relays[14:]                  # 6 of the 8 family members stop, 12 of 40 in all
    events, changed = ev.diff_relays(states, snaps(*survivors), T0 + HOUR)
    network = ev.network_changes(states, changed, events, T0 + HOUR, family_labels={"F" * 40: HOSTILE})
    texts = sorted(e["text"] for e in network)
    assert "running relays fell from 40 to 28 (-30.0 %)" in texts
    assert any(t.startswith("family <script>") and t.endswith("6 of 8 running relays stopped running")
               for t in texts)
    assert not [t for t in texts if t.startswith("AS ")]            # 12 of 40: under half the AS
    assert all(e["fp"] is None for e in network)


def test_threshold_and_notice_changes():
    old = {"moria1": {"guard-wfu": 0.98, "fast-speed": 100000}}
    new = {"moria1": {"guard-wfu": 0.98, "fast-speed": 200000, "guard-tk": 691200}}
    texts = [e["text"] for e in ev.threshold_changes(old, new, T0)]
    assert texts == ["moria1 changed fast-speed from 100 kB/s to 200 kB/s", "moria1 now publishes guard-tk = 8.0 days"]
    assert ev.threshold_changes(None, new, T0) == []
    notices = ev.notice_changes(["a: late"], ["b: " + HOSTILE], T0)
    assert [e["after"] is None for e in notices] == [False, True]


def test_rollups_group_by_hour_and_kind():
    events = [{"fp": f"{i:040X}", "kind": "flag_lost", "after": "Guard", "time": T0 + 60 * i} for i in range(3)]
    events.append({"fp": FP_A, "kind": "down", "after": False, "time": T0 - HOUR})
    out = ev.rollups(events, 40)
    hour = ev.time_text(T0 // 3600 * 3600)
    assert out[0]["text"] == (f"3 of 40 relays lost Guard between {hour[11:16]} and "
                              f"{ev.time_text(T0 // 3600 * 3600 + 3600)[11:16]} UTC on {hour[:10]}")
    assert out[1]["relays"] == 1 and "stopped running" in out[1]["text"]


# -- causes ---------------------------------------------------------------------------------------

FLAGS = sorted(["Fast", "Guard", "HSDir", "Running", "Stable", "V2Dir", "Valid"])


def mask(*flags):
    return sum(1 << FLAGS.index(f) for f in flags)


def context(n=9):
    auths = [{"id": f"{i:040X}", "nickname": f"auth{i}", "current": True, "voter": True,
              "known_flags": FLAGS, "bwauth": True, "bandwidth_file": False, "last_vote": None,
              "thresholds": {"guard-wfu": 0.98, "guard-tk": 691200, "fast-speed": 100000, "stable-mtbf": 500000,
                             "guard-bw-inc-exits": 5000000, "guard-bw-exc-exits": 5000000}}
             for i in range(n)]
    return {"valid_after": "2026-08-22 12:00:00", "method": 33, "voters": n, "majority": n // 2 + 1, "votes": n,
            "bwauths": n, "authorities": auths, "flags": FLAGS, "bandwidth_status": ["voted"], "digest": "x"}


def row(wfus, guard_at):
    cells = []
    for i, wfu in enumerate(wfus):
        flags = ["Fast", "Running", "Stable", "V2Dir", "Valid"] + (["Guard"] if i < guard_at else [])
        cells.append([mask(*flags), 9000, 9000, wfu, 3_000_000, 9_000_000, 0, None])
    return {"n": "A", "c": [mask("Fast", "Running", "Stable", "V2Dir", "Valid"), 100, 0], "v": cells}


def test_lost_guard_cause_names_the_threshold_and_the_majority():
    r = row([0.976] * 6 + [0.99] * 3, guard_at=3)
    assert flag_cause(context(), r, "Guard", False) == "WFU 97.6% < 98.0% at 6 of 9 authorities (majority 5)"
    gained = flag_cause(context(), row([0.99] * 9, guard_at=9), "Guard", True)
    assert gained == "meets the requirements at 9 of 9 authorities (majority 5); assigned by 9"
    assert flag_cause(context(), r, "Running", False) == "listed by 9 of 9 authority votes (majority 5 of 9)"
    assert flag_cause(None, r, "Guard", False) is None
    assert flag_cause(context(), None, "Guard", False) is None
    assert flag_cause(context(), r, "Exit", False) is None
