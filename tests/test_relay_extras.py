"""Relay page figures from issue 16: location, current UP/DOWN span, AS rarity, family support type with
alleged and indirect members; computed from the real-data fixture and shown (escaped) on the page."""

from __future__ import annotations

import copy
from datetime import datetime, timezone

from alliumd.model import aroi, relay_extras
from alliumd.model.groups import build_groups
from alliumd.model.relays import at_publication, build_relays, current_state
from test_relay_page import load_doc, make_inputs, relay_html, render

PUBLISHED = datetime(2026, 8, 22, 11, tzinfo=timezone.utc)


def _t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def test_region_city_and_coordinates_come_from_the_details_document():
    doc = load_doc()
    model = build_relays(doc)
    for raw in doc["relays"]:
        view = model.by_fingerprint[raw["fingerprint"]]
        assert view["region_name"] == raw.get("region_name") and view["city_name"] == raw.get("city_name")
        assert view["coordinates_text"] == f"{raw['latitude']:.4f}, {raw['longitude']:.4f}"
    bad = copy.deepcopy(doc)
    bad["relays"][0].update(latitude=91.5, longitude="x", region_name=7)
    view = build_relays(bad).by_fingerprint[bad["relays"][0]["fingerprint"]]
    assert view["coordinates_text"] is None and view["latitude"] is None and view["region_name"] is None


def test_current_up_and_down_spans_count_to_the_datas_own_time():
    doc = load_doc()
    model = build_relays(doc)
    checked = {"up": 0, "down": 0}
    for raw in doc["relays"]:
        view = model.by_fingerprint[raw["fingerprint"]]
        since = _t(raw["last_restarted"] if raw["running"] else raw["last_seen"])
        assert view["state"] == ("up" if raw["running"] else "down")
        assert view["state_seconds"] is None            # the model's view holds no span: a new hour keeps it
        assert at_publication(view, PUBLISHED)["state_seconds"] == int((PUBLISHED - since).total_seconds())
        checked[view["state"]] += 1
    assert checked["up"] == 35 and checked["down"] == 5
    assert current_state("2026-08-20 09:30:00 UTC", PUBLISHED)["state_duration"] == "2 d 1 h"
    assert current_state("2026-08-22 10:00:00 UTC", PUBLISHED)["state_duration"] == "1 h 0 m"
    assert current_state("–", PUBLISHED)["state_seconds"] is None
    assert build_relays(doc).relays == model.relays                   # no wall clock: rebuilt, identical


def test_as_rarity_matches_a_brute_force_count_on_the_fixture():
    doc = load_doc()
    model = build_relays(doc)
    groups = build_groups(model)
    extras = relay_extras.build_relay_extras(model.relays, model.by_fingerprint, groups.relay_keys)
    for relay in model.relays:
        same_as = [r for r in model.relays if r["as_number"] == relay["as_number"]]
        fraction = sum(r["consensus_weight_fraction"] or 0 for r in same_as)
        operators = len({groups.relay_keys[r["fingerprint"]]["contact"] for r in same_as} - {None})
        got = extras[relay["fingerprint"]]["as_rarity"]
        assert got["score"] == aroi.as_rarity(fraction, operators)
        assert got["text"] == f"{got['score']} of 5"
    assert len({e["as_rarity"]["score"] for e in extras.values()}) > 1      # the fixture has rare and common ASes


def test_family_support_type_and_alleged_and_indirect_members():
    doc = load_doc()
    relays = doc["relays"]
    a, b, c, d = relays[0], relays[1], relays[2], relays[3]
    absent = "F" * 40
    a["alleged_family"] = ["$" + b["fingerprint"], "$" + absent, "not a fingerprint"]
    a["family_ids"] = ["ed25519:abcdefABCDEF0123456789abcdefABCDEF0123456789ab"]
    a["effective_family"] = [a["fingerprint"]]
    c["indirect_family"] = ["$" + d["fingerprint"]]
    c["effective_family"] = [c["fingerprint"]]
    d["family_ids"] = ["ed25519:x"]
    d["effective_family"] = [d["fingerprint"]]
    model = build_relays(doc)
    groups = build_groups(model)
    extras = relay_extras.build_relay_extras(model.relays, model.by_fingerprint, groups.relay_keys)
    ea, ec, ed = extras[a["fingerprint"]], extras[c["fingerprint"]], extras[d["fingerprint"]]
    assert ea["family_support"] == "both" and ea["alleged_count"] == 2
    assert [(m["fingerprint"], m["present"]) for m in ea["alleged"]] == \
        sorted([(b["fingerprint"], True), (absent, False)])
    assert ec["family_support"] == "none" and [m["fingerprint"] for m in ec["indirect"]] == [d["fingerprint"]]
    assert ed["family_support"] == "happy_families"
    mutual = next(r for r in model.relays if r["family"] and r["fingerprint"] not in
                  (a["fingerprint"], c["fingerprint"], d["fingerprint"]))
    assert extras[mutual["fingerprint"]]["family_support"] == "my_family"
    again = relay_extras.build_relay_extras(model.relays, model.by_fingerprint, groups.relay_keys, extras)
    assert all(again[fp] is extras[fp] for fp in extras)               # unchanged entries keep identity

    pages = render(make_inputs(doc), families=("relay",))
    html = relay_html(pages, a["fingerprint"])
    assert "Family support: <b>Happy Families key and MyFamily list</b>" in html
    assert "Alleged members (2; this relay lists them, they do not list it back)" in html
    assert f'<a href="../../relay/{b["fingerprint"]}/index.html">' in html
    assert "AS rarity</th><td>" in html and "Coordinates</th><td>" + model.by_fingerprint[a["fingerprint"]][
        "coordinates_text"] in html
    assert ("UP for " if a["running"] else "DOWN for ") + at_publication(
        model.by_fingerprint[a["fingerprint"]], PUBLISHED)["state_duration"] in html
    assert "Indirect members (1; they list this relay, it does not list them)" in relay_html(pages, c["fingerprint"])
