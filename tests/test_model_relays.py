"""The relay model on real Onionoo details documents (2014 and 2021) and broken input."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from alliumd.model import format as fmt
from alliumd.model.relays import at_publication, build_relays, build_relays_lines, network_summary, relay_view
from alliumd.model.relays.view import SEEN_AT_PUBLICATION

REAL = Path(__file__).parent / "fixtures" / "real"
MIT = "details_search-AS3-MIT_3relays_2021-10-09-1400.json"
TRIMMED = "details_limit4_TRIMMED-2relays_2021-09-30-1400.json"
MORIA_2014 = "details_lookup-9695DFC35FFEB861329B9F1AB04C46397020CE31_2014_challenger.json"
BRIDGE_2014 = "details_lookup-DE6397A047ABE5F78B4C87AF725047831B221AAB_2014_challenger.json"
GABELMOO_2014 = "details_lookup-F2044413DAC2E02E3D6BCF4735A19BCA1DE97281_2014_challenger.json"

MORIA1 = "9695DFC35FFEB861329B9F1AB04C46397020CE31"
NOEXIT = "9715C81BA8C5B0C698882035F75C67D6D643DBE3"
EXIT = "A53C46F5B157DD83366D45A8E99A244934A14C46"


def load(name: str) -> dict:
    return json.loads((REAL / name).read_text(encoding="utf-8"))


# -- formatting ---------------------------------------------------------------------------

def test_bandwidth_is_bits_per_second_from_bytes():
    assert fmt.bandwidth(10_000_000) == "80.0 Mbit/s"
    assert fmt.bandwidth(100) == "800 bit/s"
    assert fmt.bandwidth(40960) == "327.7 kbit/s"
    assert fmt.bandwidth(268435456) == "2.1 Gbit/s"
    assert fmt.bandwidth(None) == fmt.MISSING
    assert fmt.bandwidth(True) == fmt.MISSING
    # each unit from below 1000 of it; past Tbit/s the number grows; negative and odd values
    assert fmt.bandwidth(124.9) == "999 bit/s" and fmt.bandwidth(125) == "1.0 kbit/s"
    assert fmt.bandwidth(124_999_999) == "1000.0 Mbit/s" and fmt.bandwidth(125_000_000) == "1.0 Gbit/s"
    assert fmt.bandwidth(1.25e17) == "1000000.0 Tbit/s" and fmt.bandwidth(-125) == "-1.0 kbit/s"
    assert fmt.bandwidth(float("nan")) == fmt.MISSING and fmt.bandwidth(float("inf")) == fmt.MISSING
    assert fmt.bandwidth("125") == fmt.MISSING and fmt.bandwidth(-0.0) == "-0 bit/s"


def test_percent_keeps_small_shares_visible():
    assert fmt.percent(0.25) == "25.00%"
    assert fmt.percent(3.713294e-4) == "0.0371%"
    assert fmt.percent(0.0) == "0%"
    assert fmt.percent(3.4711226e-9) == "<0.0001%"
    assert fmt.percent(None) == fmt.MISSING


def test_times_and_durations():
    t = fmt.parse_onionoo_time("2021-10-09 14:00:00")
    assert t == datetime(2021, 10, 9, 14, tzinfo=timezone.utc)
    assert fmt.parse_onionoo_time("2021-10-09T14:00:00") is None
    assert fmt.parse_onionoo_time(None) is None
    assert fmt.duration(3 * 86400 + 4 * 3600 + 59) == "3 d 4 h"
    assert fmt.duration(5 * 3600 + 12 * 60) == "5 h 12 m"
    assert fmt.duration(-5) == "0 m"
    assert fmt.ago(fmt.parse_onionoo_time("2021-10-06 10:00:00"), t) == "3 d 4 h before the data was published"
    assert fmt.timestamp(fmt.parse_iso_time("2026-01-01T00:00:00Z")) == "2026-01-01 00:00:00 UTC"
    assert fmt.timestamp(fmt.parse_iso_time(0)) == "1970-01-01 00:00:00 UTC"
    assert fmt.timestamp(fmt.from_millis(1633788000000)) == "2021-10-09 14:00:00 UTC"


# -- field extraction ---------------------------------------------------------------------

def test_real_2021_fields():
    model = build_relays(load(MIT))
    moria = model.by_fingerprint[MORIA1]
    assert moria["nickname"] == "moria1"
    assert moria["fp_short"] == "9695DFC3"
    assert moria["ipv4_addresses"] == ["128.31.0.34:9101"] and moria["ipv6_addresses"] == []
    assert moria["dir_address"] == "128.31.0.34:9131"
    assert moria["unreachable_or_addresses"] == ["[::]:9101"]
    assert moria["flags"] == ["Authority", "Running", "Stable", "V2Dir", "Valid"]
    assert moria["running"] is True and moria["hibernating"] is None
    assert (moria["country"], moria["country_code"]) == ("us", "US")
    assert moria["country_name"] == "United States of America"
    assert (moria["as_number"], moria["as_name"]) == ("AS3", None)
    assert moria["bandwidth_rate"] == 40960 and moria["observed_bandwidth"] == 3046164
    assert moria["observed_bandwidth_text"] == "24.4 Mbit/s"
    assert moria["consensus_weight"] == 43
    assert moria["consensus_weight_fraction"] == pytest.approx(3.4711226e-7)
    assert moria["platform"] == "Tor 0.4.6.0-alpha-dev on Linux" and moria["os"] == "Linux"
    assert moria["version"] == "0.4.6.0-alpha-dev"
    assert moria["version_status"] == "unrecommended" and moria["recommended_version"] is False
    assert moria["contact"] == "1024D/EB5A896A28988BF5 arma mit edu"
    assert moria["family"] == [] and moria["family_size"] == 1
    assert moria["exit_policy"] == ["reject *:*"]
    assert moria["exit_policy_summary"] == "reject 1-65535"
    assert moria["roles"] == ["middle"] and moria["role"] == "middle"
    assert moria["measured"] is True
    assert moria["last_restarted"] == "2021-09-12 12:38:33 UTC"
    assert moria["last_restarted_ago"] is None and moria["state_duration"] is None   # counted by the page
    assert moria["last_seen"] == SEEN_AT_PUBLICATION                 # running: the publication's own hour
    shown = at_publication(moria, fmt.parse_onionoo_time(model.source_time))
    assert shown["last_restarted_ago"] == "27 d 1 h before the data was published"   # not "ago": vs now
    assert shown["last_seen_ago"] == "when the data was published"                   # not "0 m ago"
    assert shown["last_seen"] == fmt.timestamp(fmt.parse_onionoo_time(model.source_time))
    assert moria["last_restarted_ago"] is None                       # the model's view is not changed
    assert moria["first_seen_date"] == "2010-01-18"
    assert moria["overload_general_timestamp"] is None and moria["overload_general"] is None


def test_exit_and_family_fields():
    model = build_relays(load(MIT))
    exit_ = model.by_fingerprint[EXIT]
    assert exit_["exit_addresses"] == ["128.31.0.13"]
    assert exit_["is_exit"] and exit_["role"] == "exit" and not exit_["is_guard"]
    assert exit_["exit_policy_summary"].startswith("reject 22, 25, 119, 135-139")
    assert exit_["exit_policy"][-1] == "accept *:*"
    assert exit_["family"] == [NOEXIT] and exit_["family_size"] == 2    # self excluded
    guard = model.by_fingerprint[NOEXIT]
    assert guard["role"] == "guard" and guard["family"] == [EXIT]


def test_2014_documents_without_version_and_with_as_number():
    model = build_relays(load(GABELMOO_2014))
    [relay] = model.relays
    assert relay["nickname"] == "gabelmoo"
    assert relay["version"] is None and relay["version_status"] is None     # not in 2014
    assert (relay["as_number"], relay["as_name"]) == ("AS24900", "QSC AG")
    assert relay["measured"] is None and relay["family"] == []
    assert relay["country_code"] == "DE"
    moria = build_relays(load(MORIA_2014)).relays[0]
    assert moria["flags"][:3] == ["Authority", "Fast", "Guard"] and moria["role"] == "guard"


def test_bridges_are_ignored():
    model = build_relays(load(BRIDGE_2014))
    assert model.relays == [] and model.summary["relays_total"] == 0
    assert model.summary["top_relays"] == []


def test_trimmed_document_and_float_formats():
    model = build_relays(load(TRIMMED))
    assert [r["nickname"] for r in model.relays] == ["lyesn", "seele"]
    assert model.summary["relays_truncated"] == 7290
    assert model.relays[0]["consensus_weight_fraction"] == pytest.approx(7.400913e-05)
    assert model.relays[0]["exit_probability"] == 0.0
    assert model.relays[0]["flags_text"] == "Fast Guard HSDir Running Stable V2Dir Valid"
    assert model.published == "2021-09-30 14:00:00 UTC"


def test_missing_optional_keys_are_tolerated():
    view = relay_view({"fingerprint": "F" * 40}, None)
    assert view["nickname"] == "Unnamed" and view["running"] is False
    assert view["or_addresses"] == [] and view["primary_address"] is None
    assert view["contact"] is None and view["platform"] is None and view["os"] is None
    assert view["consensus_weight"] == 0 and view["observed_bandwidth_text"] == fmt.MISSING
    assert view["exit_policy_summary"] is None and view["first_seen"] == fmt.MISSING
    assert at_publication(view, None)["first_seen_ago"] == fmt.MISSING and view["family_size"] == 1


def test_wrong_types_count_as_absent():
    view = relay_view({"fingerprint": "F" * 40, "nickname": 5, "flags": "Exit", "consensus_weight": "9",
                       "effective_family": ["../x", "f" * 40, "E" * 40], "country": "<s",
                       "as": "AS3<b>", "running": "yes", "or_addresses": [1, "1.2.3.4:9001"]}, None)
    assert view["nickname"] == "Unnamed" and view["flags"] == [] and view["consensus_weight"] == 0
    assert view["family"] == ["E" * 40] and view["country"] is None and view["as_number"] is None
    assert view["running"] is False and view["or_addresses"] == ["1.2.3.4:9001"]


# -- document-level behaviour -------------------------------------------------------------

def test_sorted_by_consensus_weight_then_fingerprint():
    doc = load(MIT)
    doc["relays"].append(dict(doc["relays"][0], fingerprint="0" * 40, nickname="twin"))   # cw 43
    model = build_relays(doc)
    assert [r["nickname"] for r in model.relays] == ["csailmitexit", "csailmitnoexit", "twin", "moria1"]


def test_invalid_fingerprints_and_duplicates_are_skipped():
    doc = load(MIT)
    good = doc["relays"][0]
    doc["relays"] += [
        dict(good, fingerprint=MORIA1.lower()),
        dict(good, fingerprint=MORIA1[:39]),
        dict(good, fingerprint="../../../../etc/passwd"),
        {k: v for k, v in good.items() if k != "fingerprint"},
        dict(good, nickname="duplicate"),
        "not an object",
        None,
    ]
    model = build_relays(doc)
    assert len(model.relays) == 3 and model.skipped == 7
    assert model.by_fingerprint[MORIA1]["nickname"] == "moria1"


def test_downtime_filter_uses_the_documents_own_time():
    doc = load(MIT)     # published 2021-10-09 14:00, years before any wall clock running this
    a, b, c = doc["relays"]
    a.update(running=False, last_seen="2021-10-01 13:00:00")    # 8 d 1 h before: dropped
    b.update(running=False, last_seen="2021-10-03 14:00:00")    # 6 d before: kept, not running
    model = build_relays(doc)
    assert a["fingerprint"] not in model.by_fingerprint and model.filtered == 1
    assert model.by_fingerprint[b["fingerprint"]]["running"] is False
    assert model.by_fingerprint[c["fingerprint"]]["running"] is True
    assert model.summary["relays_total"] == 2 and model.summary["relays_running"] == 1


def test_downtime_filter_follows_the_setting_and_zero_keeps_every_relay():
    doc = load(MIT)
    a, b, _ = doc["relays"]
    a.update(running=False, last_seen="2021-10-01 13:00:00")    # 8 d 1 h before publication
    b.update(running=False, last_seen="2021-10-08 14:00:00")    # 1 d before
    assert build_relays(doc, downtime_days=0.5).filtered == 2
    assert build_relays(doc, downtime_days=10).filtered == 0
    everything = build_relays(doc, downtime_days=0)
    assert everything.filtered == 0 and len(everything.relays) == 3 and everything.downtime_days == 0


def test_a_changed_downtime_setting_does_not_reuse_the_previous_models_decisions():
    doc = load(MIT)
    doc["relays"][0].update(running=False, last_seen="2021-10-01 13:00:00")
    envelope = {k: v for k, v in doc.items() if k != "relays"}
    lines = [json.dumps(r).encode() for r in doc["relays"]]
    week = build_relays_lines(envelope, lines)
    assert week.filtered == 1
    assert build_relays_lines(envelope, lines, week, downtime_days=0).filtered == 0


def test_summary_counts_and_bandwidth():
    model = build_relays(load(MIT))
    s = model.summary
    assert (s["relays_total"], s["relays_running"]) == (3, 3)
    assert {r["role"]: r["count"] for r in s["roles"]} == {"exit": 1, "guard": 1, "middle": 1}
    assert {f["flag"]: f["count"] for f in s["flags"]} == {
        "Exit": 1, "Guard": 1, "Fast": 2, "Stable": 3, "HSDir": 0, "V2Dir": 3, "BadExit": 0}
    assert s["advertised_bandwidth"] == 40960 + 54858499 + 57038449
    assert s["observed_bandwidth"] == 3046164 + 54858499 + 57038449
    assert sum(r["observed_bandwidth"] for r in s["roles"]) == s["observed_bandwidth"]
    assert (s["countries"], s["as_count"]) == (1, 1)
    assert [r["fingerprint"] for r in s["top_relays"]] == [EXIT, NOEXIT, MORIA1]


def test_summary_counts_only_running_relays_and_caps_top_list():
    base = load(MIT)["relays"][1]
    relays = [relay_view(dict(base, fingerprint=f"{i:040X}", consensus_weight=i, running=i % 2 == 0),
                         None) for i in range(60)]
    s = network_summary(relays)
    assert s["relays_total"] == 60 and s["relays_running"] == 30
    assert len(s["top_relays"]) == 25 and s["top_relays"][0]["consensus_weight"] == 58
    assert all(r["running"] for r in s["top_relays"])


def test_missing_or_broken_document_gives_an_empty_model():
    for doc in (None, [], {"relays": "x"}, {"relays_published": "never"}):
        model = build_relays(doc)
        assert model.relays == [] and model.summary["relays_total"] == 0
        assert model.published == fmt.MISSING


def test_model_is_deterministic_and_does_not_touch_the_input():
    doc = load(MIT)
    before = copy.deepcopy(doc)
    first, second = build_relays(doc), build_relays(doc)
    assert first == second and doc == before


def test_equal_values_of_different_relays_are_one_object_and_views_are_unchanged():
    doc = load(MIT)
    twin = {**copy.deepcopy(doc["relays"][0]), "fingerprint": "F" * 40, "nickname": "Twin"}
    doc["relays"].append(twin)
    model = build_relays(doc)
    first, second = model.by_fingerprint[doc["relays"][0]["fingerprint"]], model.by_fingerprint["F" * 40]
    for key in ("exit_policy", "flags", "roles", "or_addresses", "contact", "platform", "as_name",
                "observed_bandwidth_text", "ipv6_addresses", "verified_host_names"):
        assert first[key] == second[key] and first[key] is second[key], key
    # a family member's fingerprint is the member's own fingerprint object
    exit_, guard = model.by_fingerprint[EXIT], model.by_fingerprint[NOEXIT]
    assert exit_["family"][0] is guard["fingerprint"] and guard["family"][0] is exit_["fingerprint"]
    plain = relay_view(copy.deepcopy(twin), fmt.parse_onionoo_time(doc["relays_published"]))
    assert plain == second                                      # sharing changes no value


# -- built line by line, reusing unchanged relays -------------------------------------------------------

def test_relays_built_from_lines_equal_a_full_parse_and_reuse_unchanged_lines():
    from alliumd.model.relays import build_relays_lines
    doc = json.loads((Path(__file__).parent / "fixtures" / "onionoo_details_small.json").read_text())
    envelope = {k: v for k, v in doc.items() if k != "relays"}
    lines = [json.dumps(r).encode() for r in doc["relays"]]
    first = build_relays_lines(envelope, lines + [b"{not json", b"[1]"])
    full = build_relays(doc)
    assert first.relays == full.relays and first.summary == full.summary
    assert first.skipped == full.skipped + 2                     # a broken line costs that relay only
    lines[3] = json.dumps({**doc["relays"][3], "nickname": "Renamed"}).encode()
    second = build_relays_lines(envelope, lines, first)
    fp3 = doc["relays"][3]["fingerprint"]
    same = [f for f in second.by_fingerprint if second.by_fingerprint[f] is first.by_fingerprint.get(f)]
    assert fp3 not in same and len(same) == len(second.relays) - 1
    assert second.by_fingerprint[fp3]["nickname"] == "Renamed"
    # the same lines published an hour later: a running relay last seen at 11:00 was not in the 12:00
    # consensus after all (its view changes); a relay that is down keeps its view
    later_envelope = {**envelope, "relays_published": "2026-08-22 12:00:00"}
    later = build_relays_lines(later_envelope, lines, second)
    assert later.relays == build_relays_lines(later_envelope, lines).relays
    kept = {f for f in later.by_fingerprint if later.by_fingerprint[f] is second.by_fingerprint[f]}
    assert kept and kept == {f for f, r in later.by_fingerprint.items() if not r["running"]}


def test_a_down_relay_is_not_shown_with_the_running_flag():
    """Onionoo keeps the last consensus's flags of a down relay, Running included (issue 14)."""
    flags = ["Fast", "Guard", "Running", "Stable", "Valid"]
    down = relay_view({"fingerprint": "A" * 40, "running": False, "flags": flags}, None)
    up = relay_view({"fingerprint": "B" * 40, "running": True, "flags": flags}, None)
    assert down["flags"] == ["Fast", "Guard", "Stable", "Valid"] and down["role"] == "guard"
    assert "Running" in up["flags"] and up["flags_text"] == "Fast Guard Running Stable Valid"


# -- a new hour ----------------------------------------------------------------------------

def _hour_lines(doc: dict, hour: str) -> tuple[dict, list[bytes]]:
    """The envelope and the compact relay lines (Onionoo's layout) of ``doc`` published at ``hour``."""
    envelope = {k: v for k, v in doc.items() if k != "relays"}
    envelope["relays_published"] = hour
    return envelope, [json.dumps(r, separators=(",", ":")).encode() for r in doc["relays"]]


def test_a_new_hour_keeps_the_view_of_every_relay_it_does_not_change():
    """A new hour moves ``relays_published`` and each running relay's ``last_seen``: no relay is parsed
    again, the views are the same objects, and the downtime filter counts from the new hour."""
    doc = json.loads((REAL.parent / "onionoo_details_small.json").read_text(encoding="utf-8"))
    old, new = "2026-08-22 11:00:00", "2026-08-22 12:00:00"
    down = next(r for r in doc["relays"] if not r["running"])
    down["last_seen"] = "2026-08-15 11:30:00"             # 6 d 23 h 30 m before 11:00: hidden from 12:00 on
    # a hostile relay that is down but whose last_seen moves with the hour, with "running":true nested
    odd = next(r for r in doc["relays"] if not r["running"] and r is not down)
    odd.update(last_seen=old, extra={"running": True})
    before = build_relays_lines(*_hour_lines(doc, old))
    assert down["fingerprint"] not in before.hidden
    for relay in doc["relays"]:
        if relay["running"] or relay is odd:
            assert relay["last_seen"] == old
            relay["last_seen"] = new
    after = build_relays_lines(*_hour_lines(doc, new), before)
    scratch = build_relays_lines(*_hour_lines(doc, new))
    assert after.relays == scratch.relays and after.hidden == scratch.hidden      # as if built anew
    assert after.hidden - before.hidden == {down["fingerprint"]}
    assert after.parsed == 1                                                      # the hostile one only
    assert after.by_fingerprint[odd["fingerprint"]]["last_seen"] == "2026-08-22 12:00:00 UTC"
    running = [r["fingerprint"] for r in doc["relays"] if r["running"]]
    assert all(after.by_fingerprint[fp] is before.by_fingerprint[fp] for fp in running)
    shown = at_publication(after.by_fingerprint[running[0]], fmt.parse_onionoo_time(new))
    assert shown["last_seen"] == "2026-08-22 12:00:00 UTC" and shown["last_seen_ago"] == "when the data was published"
