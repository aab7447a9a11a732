"""Models updated from the previous build equal a full build of the new document.

Each scenario is a details document and a later one in which a few relays
changed, came or went, or which has a new publication time (every relay view
is then new); the incremental model is built from the previous build's
models, exactly as the renderer does, and compared with a build from scratch.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from alliumd.model import aroi as aroi_model, groups as gm
from alliumd.model.relays import build_relays_lines

SMALL = Path(__file__).parent / "fixtures" / "onionoo_details_small.json"


def small() -> dict:
    return json.loads(SMALL.read_text(encoding="utf-8"))


def lines_of(doc: dict) -> tuple[dict, list[bytes]]:
    """What the renderer reads: the envelope and one compact JSON line per relay (Onionoo's layout)."""
    envelope = {k: v for k, v in doc.items() if k != "relays"}
    return envelope, [json.dumps(r, separators=(",", ":")).encode() for r in doc["relays"]]


def _running(doc: dict) -> list[dict]:
    return [r for r in doc["relays"] if r.get("running")]


def one_relay(doc: dict) -> None:
    """The bench's "one running relay changed": a new nickname and consensus weight."""
    r = _running(doc)[3]
    r["nickname"], r["consensus_weight"] = "Changed", r["consensus_weight"] + 1


def fraction_changed(doc: dict) -> None:
    r = _running(doc)[1]
    r["consensus_weight_fraction"] = (r.get("consensus_weight_fraction") or 0.0) + 0.001
    r["guard_probability"] = 0.0123


def removed(doc: dict) -> None:
    del doc["relays"][7]


def added(doc: dict) -> None:
    newcomer = copy.deepcopy(_running(doc)[2])
    newcomer["fingerprint"] = "AB" * 20
    newcomer["nickname"] = "Newcomer"
    newcomer["contact"] = "newcomer <new@example.org>"
    newcomer.pop("effective_family", None)
    newcomer.pop("alleged_family", None)
    doc["relays"].append(newcomer)


def moved(doc: dict) -> None:
    """A relay in another AS, with another contact and family."""
    r = next(r for r in doc["relays"] if r.get("effective_family") and len(r["effective_family"]) > 1)
    r["as"], r["as_name"], r["contact"] = "AS64500", "Moved Networks", "moved <moved@example.org>"
    r["effective_family"] = [r["fingerprint"]]


def _in_family(doc: dict) -> dict:
    return next(r for r in doc["relays"] if len(r.get("effective_family") or ()) > 2)


def member_renamed(doc: dict) -> None:
    """A family member's new nickname: the other members' pages list it."""
    _in_family(doc)["nickname"] = "RenamedMember"


def member_gone(doc: dict) -> None:
    """A family member leaves the document: the others now say it is absent."""
    doc["relays"].remove(_in_family(doc))


def churn(doc: dict) -> None:
    """Flags, a version, a relay going down, one gone and one new: the bench's 1 % churn in small."""
    running = _running(doc)
    running[0]["flags"] = sorted(set(running[0]["flags"]) ^ {"Stable"})
    running[4]["version"], running[4]["platform"] = "0.4.9.99", "Tor 0.4.9.99 on Linux"
    running[5]["running"] = False
    removed(doc)
    added(doc)


def first_seen_and_os(doc: dict) -> None:
    """Values a group keeps in its aggregates changed without moving the relay: an earlier time on the same
    first-seen day, a new OS spelling of the same family, a lost probability."""
    running = _running(doc)
    day = running[2]["first_seen"][:10]
    running[2]["first_seen"] = f"{day} 00:00:01"
    running[6]["platform"] = running[6]["platform"].replace(" on ", " on ") + " "
    running[8]["exit_probability"] = 0.0
    running[8]["observed_bandwidth"] = (running[8].get("observed_bandwidth") or 0) + 12345


def republished(doc: dict) -> None:
    """A new publication time that no relay was seen in: every running relay's view is new (its last_seen is
    no longer the publication's time); a relay that is down keeps its view."""
    doc["relays_published"] = "2026-08-22 12:00:00"
    one_relay(doc)


def new_hour(doc: dict) -> None:
    """The next hour as Onionoo publishes it: the running relays' last_seen moves with the publication time,
    so only the changed relay's view is new."""
    for relay in _running(doc):
        assert relay["last_seen"] == doc["relays_published"]
        relay["last_seen"] = "2026-08-22 12:00:00"
    doc["relays_published"] = "2026-08-22 12:00:00"
    one_relay(doc)


SCENARIOS = {"one_relay": one_relay, "fraction": fraction_changed, "removed": removed, "added": added,
             "moved": moved, "churn": churn,
             "member_renamed": member_renamed, "member_gone": member_gone, "first_seen_and_os": first_seen_and_os, "republished": republished,
             "new_hour": new_hour}


def changed_doc(change) -> dict:
    doc = copy.deepcopy(small())
    change(doc)
    return doc


@pytest.fixture(params=sorted(SCENARIOS))
def steps(request):
    """(relay model, groups model) before, then after from the previous build (as in the renderer), and the
    after relay model's groups built from scratch."""
    doc = small()
    before = build_relays_lines(*lines_of(doc))
    groups = gm.build_groups(before)
    after = build_relays_lines(*lines_of(changed_doc(SCENARIOS[request.param])), before)
    return before, groups, after, gm.build_groups(after, groups), gm.build_groups(after)


def test_the_scenarios_change_what_they_say():
    doc = small()
    before = build_relays_lines(*lines_of(doc))
    after = build_relays_lines(*lines_of(changed_doc(one_relay)), before)
    assert sum(after.by_fingerprint[f] is not before.by_fingerprint.get(f) for f in after.by_fingerprint) == 1
    later = build_relays_lines(*lines_of(changed_doc(republished)), before)
    kept = {f for f in later.by_fingerprint if later.by_fingerprint[f] is before.by_fingerprint.get(f)}
    assert kept and kept == {f for f, r in later.by_fingerprint.items() if not r["running"]}
    hour = build_relays_lines(*lines_of(changed_doc(new_hour)), before)
    assert sum(hour.by_fingerprint[f] is not before.by_fingerprint.get(f) for f in hour.by_fingerprint) == 1


# -- groups -----------------------------------------------------------------------------------------

def group_figures(model: gm.GroupsModel) -> tuple:
    """Everything a group holds (floats by repr: the same float, not a close one; counters sorted)."""
    def figures(g: gm.Group) -> tuple:
        return (g.fingerprints, g.running, g.role_count, g.role_bandwidth, g.role_weight, g.bandwidth,
                g.advertised, g.consensus_weight, repr(g.weight_fraction), repr(g.probability), g.unique_as,
                g.unique_countries, g.unique_contacts, g.unique_families, g.contacts, g.families, g.first_seen,
                sorted(g.names.items(), key=str), sorted(g.platforms.items(), key=str),
                sorted(g.versions.items(), key=str), g.label)
    return ({kind: [(gid, figures(g)) for gid, g in by_id.items()] for kind, by_id in model.groups.items()},
            model.rows, model.relay_keys, model.network_role_weight, model.published)


def test_groups_updated_equal_full(steps):
    before, groups, after, updated_groups, full_groups = steps
    assert group_figures(updated_groups) == group_figures(full_groups)


# -- AS rarity --------------------------------------------------------------------------------------

def test_as_rarity_updated_equals_full(steps):
    before, groups, after, updated_groups, full_groups = steps
    previous = aroi_model.as_rarity_model(before.by_fingerprint, groups)
    assert previous.scores == aroi_model.as_rarity_scores(before.relays, groups.relay_keys)
    updated = aroi_model.as_rarity_model(after.by_fingerprint, updated_groups, previous)
    expected = aroi_model.as_rarity_scores(after.relays, full_groups.relay_keys)
    assert updated.scores == expected
    assert aroi_model.as_rarity_model(after.by_fingerprint, full_groups).scores == expected
    # the same floats, not merely close ones
    assert [repr(v["fraction"]) for v in updated.scores.values()] == \
        [repr(expected[a]["fraction"]) for a in updated.scores]


def test_as_rarity_keeps_the_entries_of_untouched_ases():
    doc = small()
    before = build_relays_lines(*lines_of(doc))
    groups = gm.build_groups(before)
    previous = aroi_model.as_rarity_model(before.by_fingerprint, groups)
    after = build_relays_lines(*lines_of(changed_doc(one_relay)), before)
    updated = aroi_model.as_rarity_model(after.by_fingerprint, gm.build_groups(after, groups), previous)
    kept = [a for a in updated.scores if updated.scores[a] is previous.scores.get(a)]
    assert kept and len(kept) == len(updated.scores) - 1


# -- AROI statuses ----------------------------------------------------------------------------------

def validator():
    from alliumd.fetchers import aroi as fetcher
    latest = json.loads((SMALL.parent / "aroi_latest_small.json").read_text(encoding="utf-8"))
    return aroi_model.build_validator(json.loads(fetcher.validate_doc(latest).summary))


def aroi_figures(model: aroi_model.AroiModel) -> tuple:
    return (model.validator_available, model.validator_published, model.relays, model.operators, model.network,
            list(model.relays), list(model.operators))


@pytest.mark.parametrize("with_validator", [True, False])
def test_aroi_updated_equals_full(steps, with_validator):
    before, groups, after, updated_groups, full_groups = steps
    vm = validator() if with_validator else None
    previous = aroi_model.build_aroi(before, groups, vm)
    updated = aroi_model.build_aroi(after, updated_groups, vm, previous)
    assert aroi_figures(updated) == aroi_figures(aroi_model.build_aroi(after, full_groups, vm))


def test_aroi_keeps_unchanged_relays_and_operators_of_the_same_validator_only():
    doc = small()
    before = build_relays_lines(*lines_of(doc))
    groups = gm.build_groups(before)
    vm = validator()
    previous = aroi_model.build_aroi(before, groups, vm)
    after = build_relays_lines(*lines_of(changed_doc(one_relay)), before)
    updated_groups = gm.build_groups(after, groups)
    updated = aroi_model.build_aroi(after, updated_groups, vm, previous)
    kept = [fp for fp in updated.relays if updated.relays[fp] is previous.relays[fp]]
    assert len(kept) == len(updated.relays) - 1
    assert any(updated.operators[g] is previous.operators[g] for g in updated.operators)
    other = validator()                                    # a new validator run: every relay classified again
    again = aroi_model.build_aroi(after, updated_groups, other, previous)
    assert not any(again.relays[fp] is previous.relays[fp] for fp in again.relays)
    assert aroi_figures(again) == aroi_figures(aroi_model.build_aroi(after, gm.build_groups(after), other))


# -- the renderer's models: a build after the previous one equals a build from scratch ----------------

class LineDocs(dict):
    """Documents as the renderer offers them: the details document also line by line (so the relay model
    keeps the views of unchanged lines, which the incremental models rely on)."""

    def lines(self, source: str, member: str):
        from types import SimpleNamespace
        if source != DETAILS or member != "relays":
            return None
        envelope, items = lines_of(self[source])
        return SimpleNamespace(envelope=envelope, items=items)


DETAILS = "onionoo_details"
RENDER_MODELS = ("relay_pages", "relay_extras", "as_rarity", "aroi", "leaderboards", "health_details", "health")


def render_inputs(doc: dict, digest: str, cache: dict):
    from alliumd.pages import site
    from alliumd.pages.registry import RenderInputs, SourceInfo
    docs = LineDocs({DETAILS: doc})
    sources = {DETAILS: SourceInfo(DETAILS, DETAILS, True, "2026-08-22 11:00 UTC", False, False)}
    return RenderInputs(docs, {DETAILS: digest}, sources, {m.name: m for m in site.MODELS}, cache, None,
                        {"site_title": "Test"}, 0.0)


def comparable(name: str, model):
    if name == "relay_pages":
        return list(model.items()), model.hidden, model.downtime_days
    if name == "as_rarity":
        return model.scores
    if name == "aroi":
        return aroi_figures(model)
    if name == "leaderboards":
        return model.categories, model.ranks, model.operators, model.inputs, model.overview
    return model


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_render_models_after_a_change_equal_a_build_from_scratch(scenario):
    cache: dict = {}
    first = render_inputs(small(), "d1", cache)
    before = {name: first.model(name) for name in RENDER_MODELS}
    doc = changed_doc(SCENARIOS[scenario])
    second = render_inputs(doc, "d2", cache)
    updated = {name: second.model(name) for name in RENDER_MODELS}
    old_views = first.model("relays").by_fingerprint
    shared = sum(old_views.get(r["fingerprint"]) is r for r in second.model("relays").relays)
    running = sum(r["running"] for r in old_views.values())
    assert shared == len(old_views) - running if scenario == "republished" else shared >= len(old_views) - 8
    if scenario == "one_relay":           # unchanged relays keep their family sections (what they read is kept)
        pages, old_pages = updated["relay_pages"], before["relay_pages"]
        assert sum(pages[fp][4] is old_pages[fp][4] for fp in pages) == len(pages) - 1
    fresh = render_inputs(copy.deepcopy(doc), "d2", {})
    for name in RENDER_MODELS:
        assert comparable(name, updated[name]) == comparable(name, fresh.model(name)), name
    third = render_inputs(copy.deepcopy(small()), "d3", cache)      # and back: an update of an update
    for name in RENDER_MODELS:
        assert comparable(name, third.model(name)) == comparable(name, before[name]), name


# -- the health dashboard's details-only cards --------------------------------------------------------

class Recording(dict):
    """A relay view that records which fields are read."""

    def __init__(self, view: dict, seen: set):
        super().__init__(view)
        self.seen = seen

    def __getitem__(self, key):
        self.seen.add(key)
        return super().__getitem__(key)

    def get(self, key, default=None):
        self.seen.add(key)
        return super().get(key, default)


def _card(card_id: str, relays, running: list[dict]):
    from alliumd.model.health import dashboard
    from alliumd.model.health.common import _Network
    return dashboard._BUILDERS[card_id](relays, _Network(running), running)


def _detail_models():
    from alliumd.model.relays import build_relays
    real = [json.loads(p.read_text(encoding="utf-8")) for p in sorted((SMALL.parent / "real").glob("details_*"))]
    models = [build_relays(small()), *(build_relays(d) for d in real)]
    return [m for m in models if any(r["running"] for r in m.relays)]


NET_FIELDS = {"count": (), "weight": ("consensus_weight",), "fraction": ("consensus_weight_fraction",),
              "advertised": ("advertised_bandwidth",), "observed": ("observed_bandwidth",),
              "weight_share": (), "relay_share": ()}


class RecordingNetwork:
    """The network totals, recording which of them a card reads."""

    def __init__(self, net, seen: set):
        self._net, self._seen = net, seen

    def __getattr__(self, name):
        self._seen.update(NET_FIELDS[name])             # a total not listed here fails the test
        return getattr(self._net, name)


def test_every_details_card_reads_only_the_fields_it_declares():
    from alliumd.model.health import dashboard
    from alliumd.model.health.common import _Network
    for relays in _detail_models():
        running = [r for r in relays.relays if r["running"]]
        for card_id, fields in dashboard.CARD_FIELDS.items():
            assert set(fields) <= set(relays.relays[0]), card_id          # no misspelt field
            seen: set = set()
            card = dashboard._BUILDERS[card_id](relays, RecordingNetwork(_Network(running), seen),
                                                [Recording(r, seen) for r in running])
            assert seen <= set(fields), (card_id, seen - set(fields))
            assert card == _card(card_id, relays, running)


@pytest.mark.parametrize("card_id", ["roles", "capacity", "operators", "geography", "providers", "utilization",
                                     "versions", "platforms", "exits"])
def test_a_details_card_does_not_change_with_a_field_it_does_not_declare(card_id):
    """Every other field's values shuffled among the running relays (the totals built from them too)."""
    import random
    from alliumd.model.health import dashboard
    for relays in _detail_models():
        running = [r for r in relays.relays if r["running"]]
        expected = _card(card_id, relays, running)
        for field in sorted(set(running[0]) - set(dashboard.CARD_FIELDS[card_id])):
            values = [r[field] for r in running]
            random.Random(field).shuffle(values)
            shuffled = [{**r, field: v} for r, v in zip(running, values)]
            assert _card(card_id, relays, shuffled) == expected, field


def test_details_cards_keep_the_cards_whose_fields_did_not_change():
    from alliumd.model.health import details_cards
    doc = small()
    before = build_relays_lines(*lines_of(doc))
    cards = details_cards(before)
    after = build_relays_lines(*lines_of(changed_doc(one_relay)), before)   # a nickname and a weight
    updated = details_cards(after, cards)
    assert updated == details_cards(after)
    kept = {c for c in updated.by_id if updated.by_id[c] is cards.by_id[c]}
    assert kept == {"roles", "capacity", "operators", "versions", "platforms", "exits"}
    churned = build_relays_lines(*lines_of(changed_doc(churn)), after)
    again = details_cards(churned, updated)
    assert again == details_cards(churned) and not any(again.by_id[c] is updated.by_id[c] for c in again.by_id)


# -- relay extras ------------------------------------------------------------------------------------

def _extras(relays, groups, previous=None, rarity=None):
    from alliumd.model.relay_extras import build_relay_extras
    scores = aroi_model.as_rarity_model(relays.by_fingerprint, groups, rarity)
    return build_relay_extras(relays.relays, relays.by_fingerprint, groups.relay_keys, previous,
                              scores.scores), scores


@pytest.mark.parametrize("change", ["renamed", "gone", "unrelated"])
def test_relay_extras_follow_their_listed_members(change):
    """A relay alleging and indirectly listing others keeps its entry only while those are unchanged."""
    doc = small()
    a, b, c = doc["relays"][0], doc["relays"][1], doc["relays"][2]
    a["alleged_family"], a["indirect_family"] = [b["fingerprint"]], [c["fingerprint"]]
    before = build_relays_lines(*lines_of(doc))
    groups = gm.build_groups(before)
    extras, rarity = _extras(before, groups)
    later = copy.deepcopy(doc)
    if change == "renamed":
        later["relays"][2]["nickname"] = "IndirectRenamed"
    elif change == "gone":
        del later["relays"][1]
    else:
        later["relays"][5]["nickname"] = "Unrelated"
    after = build_relays_lines(*lines_of(later), before)
    updated_groups = gm.build_groups(after, groups)
    updated, _ = _extras(after, updated_groups, extras, rarity)
    full, _ = _extras(after, gm.build_groups(after))
    assert dict(updated) == dict(full) and list(updated) == list(full)
    kept = updated[a["fingerprint"]] is extras[a["fingerprint"]]
    assert kept == (change == "unrelated")
    assert sum(updated[fp] is extras.get(fp) for fp in updated) >= len(updated) - 3


# -- leaderboards over a new uptime document ------------------------------------------------------------

def _history_models(relays, changed: set[str], seed: float):
    """Stand-ins for the uptime and bandwidth models (what the operator metrics read): the relays in
    ``changed`` get new entries, every other relay keeps the very same entry objects."""
    from types import SimpleNamespace
    up, bw = {}, {}
    for i, r in enumerate(relays.relays):
        fp = r["fingerprint"]
        up[fp] = {"uptime": {"6M": 90.0 + (i % 7) + (seed if fp in changed else 0), "5Y": 80.0 + (i % 5)}}
        bw[fp] = {"read": {"6M": 1000.0 * (i + 1), "5Y": 500.0 * (i + 1)},
                  "read_points": {"6M": 60, "5Y": 60},
                  "total_bytes": {"5Y": 10 ** 9 * (i + 1), "1Y": None, "6M": None, "1M": None}}
    return SimpleNamespace(relays=up), SimpleNamespace(relays=bw, network={"period_points": {"6M": 60, "5Y": 60}})


def test_leaderboards_over_a_new_uptime_document_keep_only_operators_whose_entries_are_the_same(monkeypatch):
    from alliumd.model.aroi import metrics
    computed = []
    history_metrics = metrics._history_metrics
    monkeypatch.setattr(metrics, "_history_metrics", lambda m, *a, **kw: (computed.append(m.id),
                                                                         history_metrics(m, *a, **kw))[1])
    relays = build_relays_lines(*lines_of(small()))
    groups = gm.build_groups(relays)
    uptime, bandwidth = _history_models(relays, set(), 0.0)
    first = aroi_model.build_leaderboards(relays, groups, uptime, bandwidth, versions=("u1", "b1"))
    operators = list(first.memo.metrics)
    target = next(gid for gid in operators if first.memo.metrics[gid].reliability_6m is not None)
    changed = set(groups.groups["contact"][target].fingerprints)
    before = first.memo.metrics[target].reliability_6m          # (the memo is handed on to the next build)
    new_uptime, _ = _history_models(relays, changed, 5.0)
    for fp, entry in uptime.relays.items():            # the unchanged relays keep their entry objects
        if fp not in changed:
            new_uptime.relays[fp] = entry
    computed.clear()
    updated = aroi_model.build_leaderboards(relays, groups, new_uptime, bandwidth, previous=first,
                                            versions=("u2", "b1"))
    assert computed == [target]                        # every other operator kept its figures
    fresh = aroi_model.build_leaderboards(relays, groups, new_uptime, bandwidth, versions=("u2", "b1"))
    assert (updated.categories, updated.ranks, updated.overview) == (fresh.categories, fresh.ranks, fresh.overview)
    assert updated.memo.metrics == fresh.memo.metrics
    assert updated.memo.metrics[target].reliability_6m == before + 5.0


def test_a_cold_build_copies_its_views_in_model_order_and_remembers_the_copies():
    """relays/build._in_model_order: the views a cold build hands out are the ones its memo holds, so the next
    build of the same lines keeps every one of them (the identity the later models and page keys rely on)."""
    doc = small()
    envelope, lines = lines_of(doc)
    cold = build_relays_lines(envelope, lines)
    assert cold.relays == build_relays_lines(envelope, lines).relays
    remembered = {id(view) for view, _ in cold.memo.values() if view is not None}
    assert {id(view) for view in cold.relays} <= remembered
    again = build_relays_lines(envelope, lines, cold)
    assert again.parsed == 0 and all(a is b for a, b in zip(again.relays, cold.relays))
    assert [r["fingerprint"] for r in cold.relays] == \
        [r["fingerprint"] for r in sorted(cold.relays, key=lambda r: (-r["consensus_weight"], r["fingerprint"]))]
