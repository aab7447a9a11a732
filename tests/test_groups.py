"""The grouping model: families, contacts, ids, aggregates, sort variants, uptime/bandwidth joins."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from alliumd import paths
from alliumd.model import groups as gm, identity
from alliumd.model.relays import build_relays

FIXTURES = Path(__file__).parent / "fixtures"
SMALL = FIXTURES / "onionoo_details_small.json"
REAL = FIXTURES / "real"
PUBLISHED = "2026-08-22 11:00:00"


def fp(c: str) -> str:
    return c * 40


def relay(c: str, **kw) -> dict:
    base = {"fingerprint": fp(c), "nickname": f"relay{c}", "running": True, "flags": ["Running", "Fast"],
            "consensus_weight": 10, "observed_bandwidth": 1000, "advertised_bandwidth": 2000,
            "first_seen": "2020-01-01 00:00:00", "last_seen": PUBLISHED, "platform": "Tor 0.4.8.1 on Linux",
            "version": "0.4.8.1", "country": "de", "country_name": "Germany", "as": "AS1", "as_name": "One"}
    base.update(kw)
    return base


def build(relays: list[dict]) -> gm.GroupsModel:
    return gm.build_groups(build_relays({"relays_published": PUBLISHED, "relays": relays}))


def small() -> dict:
    return json.loads(SMALL.read_text(encoding="utf-8"))


# -- families -----------------------------------------------------------------------------

def test_one_family_per_connected_mutual_set():
    model = build([
        relay("A", effective_family=[fp("A"), fp("B"), fp("C")]),
        relay("B", effective_family=[fp("A"), fp("B"), fp("C")]),
        relay("C", effective_family=[fp("A"), fp("B"), fp("C"), fp("D")]),   # D does not list C back
        relay("D", effective_family=[fp("D"), fp("E")]),
        relay("E", effective_family=[fp("D"), fp("E")]),
        relay("F", effective_family=[fp("F"), fp("9")]),                       # member not in the document
    ])
    families = model.groups["family"]
    assert list(families) == [fp("A"), fp("D")]
    assert sorted(families[fp("A")].fingerprints) == [fp("A"), fp("B"), fp("C")]
    assert sorted(families[fp("D")].fingerprints) == [fp("D"), fp("E")]
    assert model.relay_keys[fp("F")]["family"] is None


def test_one_sided_declaration_cannot_join_a_family():
    model = build([
        relay("A", effective_family=[fp("A"), fp("B")]),
        relay("B", effective_family=[fp("A"), fp("B")]),
        relay("E", effective_family=[fp("A"), fp("E")]),       # claims A, A does not claim it
    ])
    assert list(model.groups["family"]) == [fp("A")]
    assert fp("E") not in model.groups["family"][fp("A")].fingerprints


def test_families_of_the_small_fixture_match_a_brute_force_reference():
    doc = small()
    model = gm.build_groups(build_relays(doc))
    present = {r["fingerprint"]: set(r.get("effective_family", [])) - {r["fingerprint"]} for r in doc["relays"]}
    # reference: repeated merging of mutual pairs (quadratic, fine for 40 relays)
    comp = {f: {f} for f in present}
    changed = True
    while changed:
        changed = False
        for a in present:
            for b in present[a]:
                if b in present and a in present[b] and comp[a] is not comp[b]:
                    merged = comp[a] | comp[b]
                    for x in merged:
                        comp[x] = merged
                    changed = True
    expected = {min(c): sorted(c) for c in comp.values() if len(c) >= 2}
    got = {fid: sorted(g.fingerprints) for fid, g in model.groups["family"].items()}
    assert got == expected and len(got) == 6
    for fid, group in model.groups["family"].items():
        assert identity.family_id(group.fingerprints) == fid
        weights = [build_relays(doc).by_fingerprint[f]["consensus_weight"] for f in group.fingerprints]
        assert weights == sorted(weights, reverse=True)           # relays sorted by weight


# -- contacts -----------------------------------------------------------------------------

AROI = "email:x[]example.org url:https://Example.ORG proof:uri-rsa ciissversion:2"
AROI_VARIANT = "ciissversion:2 proof:dns-rsa url:example.org abuse:y[]example.org"
INCOMPLETE = "ciissversion:2 url:example.net"            # no proof: not AROI


def test_contacts_group_by_aroi_domain_else_by_hash():
    model = build([relay("A", contact=AROI), relay("B", contact=AROI_VARIANT), relay("C", contact=INCOMPLETE),
                   relay("D", contact=INCOMPLETE), relay("E"), relay("F", contact="   ")])
    contacts = model.groups["contact"]
    assert set(contacts) == {"example.org", identity.contact_hash(INCOMPLETE)}
    assert sorted(contacts["example.org"].fingerprints) == [fp("A"), fp("B")]
    assert contacts["example.org"].label == "example.org"
    assert gm.contact_texts(contacts["example.org"]) == sorted([AROI, AROI_VARIANT])
    assert contacts[identity.contact_hash(INCOMPLETE)].label == INCOMPLETE
    assert model.relay_keys[fp("E")]["contact"] is None and model.relay_keys[fp("F")]["contact"] is None
    assert model.relay_keys[fp("A")]["aroi"] == "example.org" and model.relay_keys[fp("C")]["aroi"] is None


def test_contact_id_too_long_for_a_path_segment_falls_back_to_the_hash():
    domain = ".".join(["a" * 60, "b" * 60, "example", "org"])          # valid DNS name, 133 chars
    contact = f"ciissversion:2 proof:uri-rsa url:{domain}"
    assert identity.contact_id(contact) == domain
    cid = build([relay("A", contact=contact)]).relay_keys[fp("A")]["contact"]
    assert cid == identity.contact_hash(contact) and paths.relpath(cid) == cid


def test_every_group_id_is_a_safe_path_segment_on_real_documents():
    docs = [small()] + [json.loads(p.read_text(encoding="utf-8")) for p in sorted(REAL.glob("*.json"))]
    for doc in docs:
        model = gm.build_groups(build_relays(doc))
        for kind, groups in model.groups.items():
            for gid in groups:
                assert paths.relpath(gid) == gid, (kind, gid)


# -- other kinds and aggregates -----------------------------------------------------------

def test_platform_country_as_flag_and_first_seen_ids():
    model = build([
        relay("A", platform="Tor 0.4.8.1 on GNU/kFreeBSD", flags=["Running", "Guard", "HSDir"]),
        relay("B", platform="Tor 0.4.8.1 on Linux", country="DE", **{"as": "AS0001"}),
        relay("C", platform="Tor 0.4.8.1", first_seen="2021-05-06 07:08:09"),           # no OS
        relay("D", flags=["Running", "<script>"], country="<s", **{"as": "AS1<x>"}),
    ])
    assert set(model.groups["platform"]) == {"kfreebsd", "linux"}      # known OS families only
    assert model.groups["platform"]["kfreebsd"].label == "kFreeBSD"
    assert model.relay_keys[fp("C")]["platform"] is None
    assert set(model.groups["flag"]) == {"running", "fast", "guard", "hsdir"}
    assert model.groups["flag"]["hsdir"].label == "HSDir"
    assert set(model.groups["first_seen"]) == {"2020-01-01", "2021-05-06"}
    assert set(model.groups["country"]) == {"de"} and model.groups["country"]["de"].label == "Germany (DE)"
    assert set(model.groups["as"]) == {"AS1"} and model.groups["as"]["AS1"].label == "AS1 One"


def test_aggregates_cover_running_relays_by_primary_role():
    model = build([
        relay("A", flags=["Running", "Exit", "Guard"], consensus_weight=100, observed_bandwidth=10,
              consensus_weight_fraction=0.1, exit_probability=0.2, guard_probability=0.05),
        relay("B", flags=["Running", "Guard"], consensus_weight=50, observed_bandwidth=20,
              consensus_weight_fraction=0.05, guard_probability=0.1, first_seen="2015-03-04 05:06:07"),
        relay("C", consensus_weight=5, observed_bandwidth=40, consensus_weight_fraction=0.005,
              middle_probability=0.01, country="us", contact=AROI, effective_family=[fp("C"), fp("D")]),
        relay("D", running=False, last_seen="2026-08-21 11:00:00", observed_bandwidth=80, consensus_weight=7,
              **{"as": "AS2"}, effective_family=[fp("C"), fp("D")]),
    ])
    g = model.groups["platform"]["linux"]
    assert g.size == 4 and g.running == 3
    assert g.role_count == {"exit": 1, "guard": 1, "middle": 1}
    assert g.role_bandwidth == {"exit": 10, "guard": 20, "middle": 40} and g.bandwidth == 70
    assert g.role_weight == {"exit": 100, "guard": 50, "middle": 5} and g.consensus_weight == 155
    assert g.weight_fraction == pytest.approx(0.155)
    assert g.probability == pytest.approx({"exit": 0.2, "guard": 0.15, "middle": 0.01})
    assert (g.unique_as, g.unique_countries, g.unique_contacts, g.unique_families) == (2, 2, 1, 1)
    assert g.first_seen == "2015-03-04 05:06:07 UTC"
    assert g.fingerprints == [fp("A"), fp("B"), fp("D"), fp("C")]       # consensus weight order
    assert model.network_role_weight == {"exit": 100, "guard": 50, "middle": 5}
    s = gm.summary(g)
    assert s["relays"] == 4 and s["running"] == 3 and s["first_seen"] == "2015-03-04"
    assert s["observed_bandwidth"] == "560 bit/s" and s["consensus_weight_fraction"] == "15.50%"
    assert s["platforms"] == [{"name": "Linux", "count": 4}]


def test_clean_text_removes_controls_and_surrogates_and_bounds_length():
    # the one policy (core.text): each run of controls, bidi overrides or lone surrogates is one space
    assert gm.clean_text("a\x00b\u202ec\ud800d\te") == "a b c d e"
    assert gm.clean_text("x" * 10_000, 10) == "x" * 9 + "…"
    assert gm.clean_text("\x00\x01") is None and gm.clean_text(None) is None


def test_formatting_helpers():
    assert gm.data_size(None) == "–" and gm.data_size(-1) == "–"
    assert gm.data_size(999) == "999 B" and gm.data_size(1_234_000) == "1.23 MB"
    assert gm.data_size(987_600_000_000_000) == "988 TB" and gm.data_size(999_600) == "1 MB"
    assert gm.uptime_text(99.94) == "99.9%" and gm.uptime_text(None) == "–" and gm.uptime_text(True) == "–"


# -- sort variants ------------------------------------------------------------------------

def test_eighteen_variants_as_in_allium():
    assert [v.name for v in gm.VARIANTS] == [
        "bandwidth", "overall-bandwidth", "guard-bandwidth", "middle-bandwidth", "exit-bandwidth",
        "bandwidth-mean", "consensus-weight", "guard-consensus-weight", "middle-consensus-weight",
        "exit-consensus-weight", "exit-count", "guard-count", "middle-count", "unique-as-count",
        "unique-contact-count", "unique-family-count", "first-seen", "total-data"]
    assert [v.name for v in gm.VARIANTS if v.needs_bandwidth] == ["total-data"]
    assert set(gm.LIST_KINDS) == {"families", "networks", "contacts", "countries", "platforms"}


@pytest.mark.parametrize("variant", [v for v in gm.VARIANTS if not v.needs_bandwidth], ids=lambda v: v.name)
def test_every_variant_sorts_every_kind(variant):
    model = gm.build_groups(build_relays(small()))
    for kind in gm.LIST_KINDS.values():
        items = gm.sorted_groups(model, kind, variant)
        assert len(items) == len(model.groups[kind])
        values = [v for _, v in items]
        if variant.ascending:
            present = [v for v in values if v is not None]
            assert present == sorted(present) and values[:len(present)] == present
        else:
            assert values == sorted(values, reverse=True), (kind, values)
        for (g1, v1), (g2, v2) in zip(items, items[1:]):          # ties in id order
            if v1 == v2:
                assert g1.id < g2.id


def test_variant_values():
    model = build([
        relay("A", flags=["Running", "Exit"], consensus_weight=300, observed_bandwidth=300,
              consensus_weight_fraction=0.3, country="us"),
        relay("B", flags=["Running", "Guard"], consensus_weight=100, observed_bandwidth=100,
              consensus_weight_fraction=0.1, first_seen="2010-01-01 00:00:00"),
        relay("C", consensus_weight=100, observed_bandwidth=50, consensus_weight_fraction=0.1, country="us"),
    ])
    net = model.network_role_weight
    by = {v.name: v for v in gm.VARIANTS}
    us, de = model.groups["country"]["us"], model.groups["country"]["de"]
    assert by["exit-consensus-weight"].key(us, net) == 1.0 and by["guard-consensus-weight"].key(de, net) == 1.0
    assert by["bandwidth-mean"].key(us, net) == 175
    assert [g.id for g, _ in gm.sorted_groups(model, "country", by["first-seen"])] == ["de", "us"]
    assert [g.id for g, _ in gm.sorted_groups(model, "country", by["bandwidth"])] == ["us", "de"]
    assert by["first-seen"].text("2010-01-01 00:00:00 UTC") == "2010-01-01"


# -- uptime and bandwidth joins (hand-made models following the shared interface) ----------

def fake_uptime(values: dict[str, float | None]):
    return SimpleNamespace(published="2026-08-22 11:00:00 UTC", network={},
                           relays={f: {"uptime": {"1M": None, "6M": v, "1Y": None, "5Y": None}} for f, v in values.items()})


def fake_bandwidth(values: dict[str, tuple[int | None, str | None]]):
    return SimpleNamespace(published="2026-08-22 11:00:00 UTC", network={},
                           relays={f: {"total_data": t, "total_data_period": p} for f, (t, p) in values.items()})


def test_history_rows_and_summary():
    model = build([relay("A", contact=AROI), relay("B", contact=AROI), relay("C", contact=AROI)])
    group = model.groups["contact"]["example.org"]
    uptime = fake_uptime({fp("A"): 99.94, fp("B"): 90.0})
    bandwidth = fake_bandwidth({fp("A"): (2_000_000_000, "5Y"), fp("B"): (None, None)})
    rows = gm.rows_with_history(model, group.fingerprints, uptime, bandwidth, total_data=True)
    by_fp = {r["fingerprint"]: r for r in rows}
    assert by_fp[fp("A")]["uptime"] == "99.9%" and by_fp[fp("A")]["total_data"] == "2 GB"
    assert by_fp[fp("A")]["total_data_period"] == "5Y" and by_fp[fp("B")]["total_data_period"] is None
    assert by_fp[fp("C")]["uptime"] == "–" and by_fp[fp("C")]["total_data"] == "–"
    assert "uptime" not in model.rows[fp("A")]                 # shared rows are not modified
    s = gm.history_summary(group, uptime, bandwidth)
    assert s == {"uptime_available": True, "uptime_mean": "95.0%", "uptime_relays": 2,
                 "bandwidth_available": True, "total_data": "2 GB", "total_data_relays": 1}
    none = gm.history_summary(group, None, None)
    assert none["uptime_available"] is False and none["bandwidth_available"] is False


def test_group_total_data_sums_known_relays():
    model = build([relay("A", contact=AROI), relay("B", contact=AROI), relay("C", country="us")])
    totals = gm.group_total_data(model, fake_bandwidth({fp("A"): (10, "5Y"), fp("B"): (5, "1M")}))
    assert totals["contact"] == {"example.org": 15}
    assert totals["country"] == {"de": 15, "us": None}
    assert gm.group_total_data(model, None) == {}
    variant = gm.VARIANT_BY_NAME["total-data"]
    order = gm.sorted_groups(model, "country", variant, totals["country"])
    assert [(g.id, v) for g, v in order] == [("de", 15), ("us", None)]


def test_model_is_deterministic_and_pure():
    doc = small()
    before = copy.deepcopy(doc)
    relays = build_relays(doc)
    a, b = gm.build_groups(relays), gm.build_groups(relays)
    assert doc == before
    for kind in gm.KINDS:
        assert [gm.summary(g) for g in a.groups[kind].values()] == [gm.summary(g) for g in b.groups[kind].values()]


# -- incremental builds ------------------------------------------------------------------------------

def lines_of(doc: dict) -> tuple[dict, list[bytes]]:
    """What the renderer reads: the envelope and one JSON line per relay."""
    envelope = {k: v for k, v in doc.items() if k != "relays"}
    return envelope, [json.dumps(r).encode() for r in doc["relays"]]


def snapshot(model: gm.GroupsModel):
    return ({kind: {gid: (g.fingerprints, gm.summary(g), g.label, sorted(g.names.items(), key=str))
                    for gid, g in by_id.items()} for kind, by_id in model.groups.items()},
            model.rows, model.relay_keys, model.network_role_weight, model.published)


def test_groups_of_a_few_changed_relays_are_updated_like_a_full_build():
    from alliumd.model.relays import build_relays_lines
    doc = small()
    before = build_relays_lines(*lines_of(doc))
    groups = gm.build_groups(before)
    changed = copy.deepcopy(doc)
    target = changed["relays"][5]
    target["observed_bandwidth"] = 123_456_789                  # same groups, new figures and order
    target["consensus_weight"] = 10 ** 9
    after = build_relays_lines(*lines_of(changed), before)
    assert sum(after.by_fingerprint[f] is not before.by_fingerprint[f] for f in after.by_fingerprint) == 1
    assert (before.parsed, after.parsed) == (len(doc["relays"]), 1)     # what it announces to the renderer
    updated = gm.build_groups(after, groups)
    assert snapshot(updated) == snapshot(gm.build_groups(after))
    assert updated.groups["country"] is not groups.groups["country"]       # the old model is untouched
    assert snapshot(groups) == snapshot(gm.build_groups(before))
    again = copy.deepcopy(changed)                              # an update of an update (patched columns)
    again["relays"][7]["observed_bandwidth"] = 7
    again["relays"][5]["consensus_weight"] = 3
    third = build_relays_lines(*lines_of(again), after)
    assert snapshot(gm.build_groups(third, updated)) == snapshot(gm.build_groups(third))


@pytest.mark.parametrize("change", [
    lambda r: r.update(contact="ciissversion:2 url:https://new.example proof:uri-rsa"),   # another group
    lambda r: r.update(effective_family=[r["fingerprint"]]),                             # family changed
])
def test_relays_that_move_between_groups_are_updated_like_a_full_build(change):
    from alliumd.model.relays import build_relays_lines
    doc = small()
    before = build_relays_lines(*lines_of(doc))
    groups = gm.build_groups(before)
    changed = copy.deepcopy(doc)
    change(next(r for r in changed["relays"] if r.get("effective_family") and len(r["effective_family"]) > 1))
    after = build_relays_lines(*lines_of(changed), before)
    assert snapshot(gm.build_groups(after, groups)) == snapshot(gm.build_groups(after))


def churned(doc: dict, seed: int) -> dict:
    """``doc`` an hour later: two relays gone, a new one (a copy under a new fingerprint, in no family),
    one moved to a new contact and one family declaration dropped."""
    out = copy.deepcopy(doc)
    relays = out["relays"]
    rng = __import__("random").Random(seed)
    for _ in range(2):
        relays.pop(rng.randrange(len(relays)))
    newcomer = copy.deepcopy(relays[rng.randrange(len(relays))])
    newcomer["fingerprint"] = f"{seed:040X}"
    newcomer["nickname"] = "Newcomer"
    newcomer.pop("effective_family", None)
    newcomer.pop("alleged_family", None)
    relays.append(newcomer)
    relays[rng.randrange(len(relays))]["contact"] = f"operator {seed} <ops{seed}@example.org>"
    declared = [r for r in relays if r.get("effective_family") and len(r["effective_family"]) > 1]
    if declared:
        rng.choice(declared)["effective_family"] = []
    return out


@pytest.mark.parametrize("seed", range(8))
def test_an_hour_of_churn_is_updated_like_a_full_build(seed):
    """Relays that came, went and moved: only their groups are re-aggregated, the result is a full build's."""
    from alliumd.model.relays import build_relays_lines
    doc = small()
    before = build_relays_lines(*lines_of(doc))
    groups = gm.build_groups(before)
    after = build_relays_lines(*lines_of(churned(doc, seed)), before)
    updated = gm.build_groups(after, groups)
    assert updated.columns is not None and updated.source is after.by_fingerprint
    assert snapshot(updated) == snapshot(gm.build_groups(after))
    later = build_relays_lines(*lines_of(churned(churned(doc, seed), seed + 100)), after)   # and again
    assert snapshot(gm.build_groups(later, updated)) == snapshot(gm.build_groups(later))
    untouched = [k for k, by_id in groups.groups.items() for gid, g in by_id.items()
                 if updated.groups[k].get(gid) is g]
    assert untouched                                   # groups without a changed relay are shared


def test_history_rows_reuse_rows_of_unchanged_relays():
    model = build([relay("A"), relay("B")])
    up = fake_uptime({fp("A"): 99.0, fp("B"): 50.0})
    rows = gm.history_rows(model, up, None, False)
    up2 = SimpleNamespace(published=up.published, network={}, relays=dict(up.relays))
    up2.relays[fp("B")] = {"uptime": {"1M": None, "6M": 60.0, "1Y": None, "5Y": None}}
    again = gm.history_rows(model, up2, None, False, rows)
    assert again.rows[fp("A")] is rows.rows[fp("A")]                      # same objects in: reused
    assert again.rows[fp("B")]["uptime"] == "60.0%" and again.uptime[fp("B")] == 60.0
    assert again.summary(model.groups["country"]["de"]) == gm.history_summary(model.groups["country"]["de"], up2, None)
