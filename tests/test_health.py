"""The network health dashboard (alliumd.model.health): metrics on a real fixture and hand-made models."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone

from alliumd.model import format as fmt
from alliumd.model import charts, identity
from alliumd.model import health as hm
from alliumd.model.health import (EU, allows, os_family, policy_ports, relay_diagnostics)
from alliumd.model.relays import build_relays
from alliumd.pages import site
from test_relay_page import (bandwidth_model, check_html, load_doc, make_inputs, render, uptime_model,
                             with_models)

CARDS = ["roles", "capacity", "uptime", "operators", "geography", "providers", "utilization", "versions",
         "platforms", "exits", "growth"]


def build_health(relays, uptime=None, bandwidth=None) -> dict:
    """The dashboard model from its three parts, the models pages/health.py caches separately."""
    return hm.assemble(hm.details_cards(relays), hm.uptime_card_of(relays, uptime), hm.growth_card_of(relays, bandwidth))


def rows(card) -> dict[str, dict]:
    return {r["label"]: r for r in card["rows"]}


def cards(health) -> dict[str, dict]:
    return {c["id"]: c for c in health["cards"]}


def running_relays(doc):
    return [r for r in doc["relays"] if r.get("running")]


def test_eleven_cards_in_order_with_charts():
    health = build_health(build_relays(load_doc()))
    assert [c["id"] for c in health["cards"]] == CARDS
    by_id = cards(health)
    for card_id in ("roles", "capacity", "geography", "providers", "versions"):
        assert by_id[card_id]["charts"], card_id
    assert by_id["uptime"]["available"] is False and by_id["uptime"]["notes"] == ["No uptime data."]
    assert "No bandwidth history data" in " ".join(by_id["growth"]["notes"])


def test_role_and_flag_counts_match_the_document():
    doc = load_doc()
    running = running_relays(doc)
    by = rows(cards(build_health(build_relays(doc)))["roles"])
    exits = [r for r in running if "Exit" in r["flags"]]
    guards = [r for r in running if "Guard" in r["flags"] and "Exit" not in r["flags"]]
    assert by["Running relays"]["value"] == str(len(running))
    assert by["Listed relays"]["value"] == str(len(doc["relays"]))
    assert by["Exit relays"]["value"] == str(len(exits))
    assert by["Guard relays"]["value"] == str(len(guards))
    assert by["Middle relays"]["value"] == str(len(running) - len(exits) - len(guards))
    assert by["Stable flag"]["value"] == str(sum(1 for r in running if "Stable" in r["flags"]))


def test_operator_geography_and_provider_figures():
    doc = load_doc()
    running = running_relays(doc)
    health = cards(build_health(build_relays(doc)))
    ops = rows(health["operators"])
    aroi = [r for r in running if identity.aroi_domain(r.get("contact"))]
    assert ops["Relays with an AROI url (CIISS proof and url)"]["value"] == str(len(aroi))
    assert ops["Distinct AROI domains"]["value"] == str(len({identity.aroi_domain(r["contact"]) for r in aroi}))
    assert "AROI validation" not in ops          # the AROI card has it; no "not available" beside its figures
    assert f"cover the {len(running)} running relays" in health["operators"]["notes"][0]
    ipv6 = sum(1 for r in running if any(a.startswith("[") for a in r.get("or_addresses", [])))
    assert ops["Relays with an IPv6 OR address"]["value"] == str(ipv6)
    # shares are Onionoo's consensus_weight_fraction summed, as on the group pages (issue 14: one way)
    weights, shares = Counter(), Counter()
    for r in running:
        weights[r["country"]] += r["consensus_weight"]
        shares[r["country"]] += r.get("consensus_weight_fraction") or 0.0
    top = weights.most_common(1)[0]
    geo = health["geography"]
    assert geo["tables"][0]["rows"][0][2] == fmt.percent(shares[top[0]])
    eu = sum(w for cc, w in shares.items() if cc in EU)
    assert rows(geo)["EU"]["value"] == fmt.percent(eu)
    as_weights, as_shares = Counter(), Counter()
    for r in running:
        as_weights[r["as"]] += r["consensus_weight"]
        as_shares[r["as"]] += r.get("consensus_weight_fraction") or 0.0
    top3 = sum(as_shares[a] for a, _ in as_weights.most_common(3))
    assert rows(health["providers"])["Top 3 ASes by weight"]["value"] == fmt.percent(top3)
    assert geo["charts"][0]["rows"][0]["value_text"] == fmt.percent(shares[top[0]])


def test_versions_platforms_and_new_relays():
    doc = load_doc()
    running = running_relays(doc)
    health = cards(build_health(build_relays(doc)))
    versions = rows(health["versions"])
    recommended = sum(1 for r in running if r.get("recommended_version"))
    assert versions["Running a recommended version"]["value"] == str(recommended)
    assert versions["Version status: recommended"]["value"] == \
        str(sum(1 for r in running if r.get("version_status") == "recommended"))
    oses = Counter(r["platform"].split(" on ", 1)[1].split(" ")[0] for r in running if r.get("platform"))
    table = {row[0]: row[1] for row in health["platforms"]["tables"][0]["rows"]}
    assert table == {os: str(n) for os, n in oses.items()}
    published = datetime(2026, 8, 22, 11, tzinfo=timezone.utc)
    first_seen = [datetime.fromisoformat(r["first_seen"]).replace(tzinfo=timezone.utc) for r in running]
    growth = rows(health["growth"])
    # issue 16 #3: running relays only, like the rest of the page, and the row says so
    assert growth["New relays in the last 30 days"]["value"] == \
        str(sum(1 for t in first_seen if published - t <= timedelta(days=30)))
    assert growth["New relays in the last 30 days"]["detail"].startswith(f"of {len(running)} running")
    listed = [datetime.fromisoformat(r["first_seen"]).replace(tzinfo=timezone.utc) for r in doc["relays"]]
    assert sum(1 for t in listed if published - t <= timedelta(days=30)) > \
        int(growth["New relays in the last 30 days"]["value"])      # the fixture tells the two scopes apart


def test_exit_policy_figures():
    assert policy_ports("accept 80, 443, 1000-2000") == ("accept", [(80, 80), (443, 443), (1000, 2000)])
    assert policy_ports("reject 25, x, 135-139") == ("reject", [(25, 25), (135, 139)])
    assert policy_ports(None) is None and policy_ports("allow 80") is None
    assert allows(("accept", [(80, 80), (1000, 2000)]), 1500) and not allows(("accept", [(80, 80)]), 443)
    assert allows(("reject", [(25, 25)]), 443) and not allows(("reject", [(1, 65535)]), 80)
    doc = load_doc()
    exits = [r for r in running_relays(doc) if "Exit" in r["flags"]]
    exit_card = cards(build_health(build_relays(doc)))["exits"]

    def open_port(r, port):
        summary = r["exit_policy_summary"]
        action = "accept" if "accept" in summary else "reject"
        hit = any(int(a) <= port <= int(b or a) for a, _, b in (p.partition("-") for p in summary[action]))
        return hit if action == "accept" else not hit

    web = sum(1 for r in exits if open_port(r, 80) and open_port(r, 443))
    assert rows(exit_card)["Allowing web traffic (80 and 443)"]["value"] == str(web)
    ssh = next(row for row in exit_card["tables"][0]["rows"] if row[0] == "22 (SSH)")
    assert ssh[1] == str(sum(1 for r in exits if open_port(r, 22)))


def test_os_family():
    from alliumd.model.identity import os_family as canonical
    assert canonical("Linux") == "Linux" and canonical("Windows 8 [server]") == "Windows"
    assert canonical("GNU/kFreeBSD") == "kFreeBSD" and canonical(None) is None and canonical("") is None
    assert canonical("<script>x") == "Other"
    assert os_family("Linux") == "Linux" and os_family(None) is None


def test_uptime_and_total_data_with_hand_made_models():
    doc = load_doc()
    model = build_relays(doc)
    fps = [r["fingerprint"] for r in model.relays]
    up, bw = uptime_model(fps), bandwidth_model(fps)
    health = cards(build_health(model, up, bw))
    uptime = health["uptime"]
    assert uptime["available"]
    running = [r for r in model.relays if r["running"]]
    one_month = [up.relays[r["fingerprint"]]["uptime"]["1M"] for r in running]
    all_row = uptime["tables"][0]["rows"][0]
    assert all_row[0] == "All" and all_row[1] == f"{sum(one_month) / len(one_month):.1f}%"
    assert all_row[3] == str(len(one_month))
    assert uptime["tables"][1]["rows"][2] == ["50th", "96.0%"]
    low = sum(1 for r in running if up.relays[r["fingerprint"]]["outlier"] == "low")
    assert rows(uptime)["Low outliers (2σ below the 6-month mean)"]["value"] == str(low)
    totals = health["growth"]["tables"][0]["rows"]
    assert totals == [["past month", charts.data_size(10 ** 15)], ["past 6 months", charts.data_size(6 * 10 ** 15)]]


def test_health_is_a_memoized_model_of_three_inputs():
    [spec] = [m for m in site.MODELS if m.name == "health"]
    assert spec.inputs == frozenset({"onionoo_details", "onionoo_uptime", "onionoo_bandwidth"})
    [family] = [f for f in site.FAMILIES if f.name == "health"]
    # the page adds the AROI card (its own model, pages/aroi.py) and the authorities card (pages/authorities.py)
    assert family.inputs == spec.inputs | {"aroi", "collector", "consensus_health"}
    assert family.required == frozenset({"onionoo_details"})


def test_dashboard_page_renders_with_and_without_models():
    bare = render(make_inputs(load_doc()), families=("health",))["network-health.html"].decode()
    check_html(bare)
    # 11 cards + IPv4/dual-stack + Happy Families + AROI + authorities
    assert bare.count('class="hcard"') == 15 and "No uptime data." in bare
    assert "No AROI validator data: which operators validate is not known." in bare
    assert "No CollecTor votes: the authorities" in bare and "Happy Families key migration" in bare
    assert "No directory-authority data" in bare
    assert 'href="static/charts.css"' in bare and bare.count("<svg ") == 5
    full = render(with_models(), families=("health",))["network-health.html"].decode()
    check_html(full)
    assert "Uptime by role" in full and "Network total data (read and written)" in full
    assert "AROI operator validation" in full and "No AROI validator data yet" in full
    index = render(make_inputs(load_doc()), families=("index",))["index.html"].decode()
    for href in ("network-health.html", "relays/top.html", "lists/countries-by-bandwidth.html"):
        assert f'href="{href}"' in index


# -- one relay's health status ---------------------------------------------------------------

def test_relay_diagnostics_order_and_content():
    relay = dict(build_relays(load_doc()).relays[0])
    assert relay_diagnostics(relay, None, None) == []
    relay.update(running=False, hibernating=True, measured=False, recommended_version=False,
                 version_status="obsolete", version="0.4.5.1", flags=["BadExit", "StaleDesc", "MiddleOnly"],
                 unreachable_or_addresses=["[::]:9001"], overload_general="2026-08-20 00:00:00 UTC", contact=None)
    found = relay_diagnostics(relay, {"uptime": {"1M": 50.0, "6M": 60.0}, "outlier": "low"},
                              {"overload_ratelimits": {"timestamp": 1787356800000},
                               "overload_fd_exhausted": {"timestamp": 1787281200000}})
    severities = [d["severity"] for d in found]
    assert severities == sorted(severities, key=["error", "warning", "info"].index)
    text = " ".join(d["text"] for d in found)
    for expected in ("Not running", "BadExit", "Hibernating", "Overloaded", "rate limit", "file descriptors",
                     "[::]:9001", "0.4.5.1 is obsolete", "Not measured", "stale", "low outlier: 60.0%",
                     "MiddleOnly", "No contact information"):
        assert expected in text, expected
    low = relay_diagnostics(dict(build_relays(load_doc()).relays[0]), {"uptime": {"1M": 80.0}, "outlier": None}, None)
    assert low == [{"severity": "info", "text": "Low uptime: 80.0% over the past month."}]


def _sample_details() -> dict:
    import gzip
    import json
    from importlib.resources import files
    return json.loads(gzip.decompress(files("alliumd.sample").joinpath("onionoo_details.json.gz").read_bytes()))


def test_shares_are_computed_one_way_on_group_pages_and_the_health_page():
    """Issue 14: the sample's AS page said "1.98 % of the network" where network-health said 23.0 %."""
    from alliumd.model.groups import build_groups
    doc = _sample_details()
    running = [r for r in doc["relays"] if r.get("running")]
    for key in ("consensus_weight_fraction", "guard_probability", "middle_probability", "exit_probability"):
        assert abs(sum(r.get(key) or 0 for r in running) - 1) < 1e-6, key        # the sample is its own network
    relays = build_relays(doc)
    health = cards(build_health(relays))
    groups = build_groups(relays)
    by_as = {row[0].split(" ")[0]: row[2] for row in health["providers"]["tables"][0]["rows"]}
    assert len(by_as) == 10
    for gid, share in by_as.items():              # the AS page's "… of the network" is the group's fraction
        assert share == fmt.percent(groups.groups["as"][gid].weight_fraction), gid
    top3 = rows(health["providers"])["Top 3 ASes by weight"]["value"]
    assert top3 == fmt.percent(sum(groups.groups["as"][a].weight_fraction for a in list(by_as)[:3]))


def test_authorities_card_without_data_says_which_source_is_enabled():
    from alliumd.model.authorities import health_card
    card = health_card({}, feeds=[{"label": "CollecTor votes", "state": "no data yet"},
                                  {"label": "consensus-health", "state": "disabled"}])
    assert card["notes"] == ["No directory-authority data: CollecTor votes is enabled but has no data yet (its "
                             "last error is on the status page); consensus-health is disabled in the config."]
    assert "not enabled" not in card["notes"][0]


def test_the_uptime_card_is_kept_while_no_running_relays_role_flags_or_mark_change():
    """A details document that renames a relay keeps the card object; one that changes a flag rebuilds it."""
    import copy

    from alliumd.pages.registry import RenderInputs
    doc = load_doc()
    first = with_models(doc)
    card = first.model("health_uptime")
    cache = first._model_cache

    def next_inputs(changed, digest):
        inputs = with_models(changed)
        return RenderInputs(inputs._docs, {**inputs._hashes, "onionoo_details": digest}, inputs.sources,
                            inputs._models, cache, None, {"site_title": "Test"}, 0.0)

    renamed = copy.deepcopy(doc)
    renamed["relays"][0]["nickname"] = "Renamed"
    assert next_inputs(renamed, "d2").model("health_uptime") is card
    reflagged = copy.deepcopy(renamed)
    running = next(r for r in reflagged["relays"] if r.get("running") and "Stable" in r["flags"])
    running["flags"].remove("Stable")
    rebuilt = next_inputs(reflagged, "d3").model("health_uptime")
    assert rebuilt is not card and rebuilt.card == hm.uptime_card_of(build_relays(reflagged), with_models(reflagged)
                                                                       .model("uptime"))
