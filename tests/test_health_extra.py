"""Network health figures added in issue 16, each checked against a brute-force count on the real-data
fixtures (40-relay details, the AROI validator sample, 2018 CollecTor votes) and shown on the page."""

from __future__ import annotations

import copy
import statistics
from datetime import datetime, timezone

from alliumd.model import aroi, health_extra as extra
from alliumd.model.groups import build_groups
from alliumd.model import health as hm
from alliumd.model.health import happy_families_card, validated_stack_card
from alliumd.model.relays import build_relays
from test_aroi import models
from test_authorities_page import collector_summary
from test_relay_page import load_doc, make_inputs, render, uptime_model

PUBLISHED = datetime(2026, 8, 22, 11, tzinfo=timezone.utc)


def build_health(relays, uptime=None, bandwidth=None) -> dict:
    """The dashboard as pages/health.py assembles it from its three cached parts."""
    return hm.assemble(hm.details_cards(relays), hm.uptime_card_of(relays, uptime), hm.growth_card_of(relays, bandwidth))


def running_views(doc=None):
    model = build_relays(doc or load_doc())
    return model, [r for r in model.relays if r["running"]]


def rows(card):
    return {r["label"]: r for r in card["rows"]}


def test_overloaded_count_and_relay_age():
    doc = load_doc()
    model, running = running_views(doc)
    raw_running = [r for r in doc["relays"] if r["running"]]
    assert extra.overloaded(running) == sum(1 for r in raw_running if "overload_general_timestamp" in r) == 3
    ages = [(PUBLISHED - datetime.fromisoformat(r["first_seen"]).replace(tzinfo=timezone.utc)).total_seconds() / 86400
            for r in raw_running]
    from alliumd.model.format import parse_timestamp
    got = extra.relay_ages(running, PUBLISHED, parse_timestamp)
    assert got["count"] == 35 and abs(got["mean"] - statistics.mean(ages)) < 1e-9
    assert abs(got["median"] - statistics.median(ages)) < 1e-9
    cards = {c["id"]: c for c in build_health(model)["cards"]}
    assert rows(cards["roles"])["Overloaded"]["detail"].startswith("of 35 running")
    assert rows(cards["growth"])["Relay age, median"]["value"] == f"{statistics.median(ages):,.0f} days"


def test_bandwidth_per_flag():
    doc = load_doc()
    _, running = running_views(doc)
    raw_running = [r for r in doc["relays"] if r["running"]]
    table = {f["flag"]: f for f in extra.flag_bandwidth(running)}
    for flag in ("Guard", "Fast", "Exit", "HSDir"):
        values = [r["observed_bandwidth"] for r in raw_running if flag in r["flags"]]
        assert table[flag]["relays"] == len(values)
        assert abs(table[flag]["mean"] - statistics.mean(values)) < 1e-6
        assert table[flag]["median"] == statistics.median(values)


def test_one_month_uptime_per_flag_counts_only_relays_holding_the_flag():
    _, running = running_views()
    fps = [r["fingerprint"] for r in running]
    up = uptime_model(fps)
    entries = {fp: {**e, "flags": {"Guard": [90.0, None, None, None], "HSDir": [80.0 + i, None, None, None],
                               "Authority": [99.0, None, None, None]}}
               for i, (fp, e) in enumerate(up.relays.items())}
    table = {f["flag"]: f for f in extra.flag_uptime(running, entries)}
    hsdir = [80.0 + i for i, r in enumerate(running) if "HSDir" in r["flags"]]
    assert table["HSDir"]["relays"] == len(hsdir) and table["HSDir"]["mean"] == statistics.mean(hsdir)
    guards = sum(1 for r in running if "Guard" in r["flags"])
    assert table["Guard"]["held"] == table["Guard"]["relays"] == guards and table["Guard"]["median"] == 90.0
    assert "Authority" not in table                       # no running relay of the fixture holds it
    assert table["Running"]["relays"] == 0                # no Running history given: held, but no figure


def test_exit_ip_restrictions_from_the_full_policy():
    own = {"or_addresses": ["204.8.96.141:9001", "[2620:7:6003::141]:9001"], "exit_addresses": []}
    expanded = ["reject 0.0.0.0/8:*", "reject 169.254.0.0/16:*", "reject 127.0.0.0/8:*", "reject 192.168.0.0/16:*",
                "reject 10.0.0.0/8:*", "reject 172.16.0.0/12:*", "reject 204.8.96.141:*", "reject [2620:7:6003::141]:*"]
    exits = [{**own, "exit_policy": ["reject private:*", "accept *:80", "reject *:*"]},
             {**own, "exit_policy": [*expanded, "accept *:443", "reject *:*"]},        # tor's RejectPrivate: own IPs
             {**own, "exit_policy": [*expanded, "reject 171.25.193.0/24:*", "accept *:*"]},
             {**own, "exit_policy": ["accept 185.220.101.5:443", "reject *:*"]},
             {**own, "exit_policy": ["accept [2606:4700::1111]:443", "reject *6:*"]},
             {**own, "exit_policy": ["garbage", "reject *4:*"]}]
    assert extra.exit_ip_restrictions(exits) == {"private": 3, "reject_specific": 1, "accept_specific": 2,
                                                 "restricted": 3}
    doc = load_doc()
    _, running = running_views(doc)
    real_exits = [r for r in running if r["is_exit"]]
    real = extra.exit_ip_restrictions(real_exits)
    brute = sum(1 for r in doc["relays"] if r["running"] and "Exit" in r["flags"]
                and any(rule.startswith(("reject private:", "reject 10.0.0.0/8:")) for rule in r["exit_policy"]))
    assert real["private"] == brute and 0 < brute <= len(real_exits)


def test_weight_per_mbit_for_eu_non_eu_and_top_ases():
    doc = load_doc()
    model, running = running_views(doc)
    card = {c["id"]: c for c in build_health(model)["cards"]}["utilization"]
    from alliumd.model.health import EU
    eu = [r for r in doc["relays"] if r["running"] and r["country"] in EU]
    ratio = sum(r["consensus_weight"] for r in eu) / (sum(r["observed_bandwidth"] for r in eu) * 8 / 1e6)
    assert rows(card)["Weight per observed Mbit/s, EU"]["value"] == f"{ratio:,.0f}"
    assert rows(card)["Weight per observed Mbit/s, EU"]["detail"] == f"{len(eu)} of 35 running"
    [table] = card["tables"]
    assert len(table["rows"]) == 5 and "of 35 running" in table["caption"]


def test_validated_operators_ipv4_only_and_dual_stack():
    rm, gm, _, am = models()
    running = [r for r in rm.relays if r["running"]]
    validated_ops = {gid for gid, o in am.operators.items() if o["status"] == aroi.VALIDATED}
    assert validated_ops                                           # the sample validates some operators
    mine = [r for r in running if gm.relay_keys[r["fingerprint"]]["contact"] in validated_ops]
    stacks = extra.validated_stacks(running, gm.relay_keys, am.operators, aroi.VALIDATED)
    dual = [r for r in mine if r["ipv6_addresses"]]
    assert stacks["dual_stack"]["relays"] == len(dual)
    assert stacks["ipv4_only"]["relays"] == len(mine) - len(dual)
    card = validated_stack_card(rm, gm.relay_keys, am)
    assert card["available"] and f"of {len(mine)} running relays of validated operators" in card["rows"][0]["detail"]
    assert validated_stack_card(rm, gm.relay_keys, None)["available"] is False


def test_happy_families_panel_from_details_and_collector_votes():
    doc = load_doc()
    running_raw = [r for r in doc["relays"] if r["running"]]
    running_raw[0]["family_ids"] = ["ed25519:AAAA"]
    running_raw[1]["family_ids"] = ["ed25519:AAAA"]
    model = build_relays(doc)
    keys = build_groups(model).relay_keys
    summary = collector_summary()
    card = happy_families_card(model, keys, summary)
    r = rows(card)
    assert r["Relays with a Happy Families key"]["value"] == "2"
    assert r["Relays with a Happy Families key"]["detail"].endswith("of 35 running (Onionoo family_ids)")
    assert r["Consensus method"]["value"] == str(summary["consensus"]["method"])
    authorities = card["tables"][-1]
    voted = [a for a in summary["authorities"] if a["vote"]]
    assert len(authorities["rows"]) == len(voted)
    assert [row[1] for row in authorities["rows"]] == [str(max(a["vote"]["consensus_methods"])) for a in voted]
    assert all(row[2] == "not voted" for row in authorities["rows"])          # 2018: no family parameters yet
    bare = happy_families_card(build_relays(load_doc()), keys, None)
    assert any("No CollecTor votes" in n for n in bare["notes"])
    assert any("No running relay publishes" in n for n in bare["notes"])


def test_the_new_figures_are_on_the_page():
    html = render(make_inputs(load_doc()), families=("health",))["network-health.html"].decode()
    for text in ("Observed bandwidth per flag (of 35 running)", "Overloaded", "Relay age, mean",
                 "Restricted by destination address", "Weight per observed Mbit/s, outside the EU",
                 "Happy Families key migration", "IPv4 and IPv6 among validated operators",
                 "New relays in the last 30 days"):
        assert text in html, text
