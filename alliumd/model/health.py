"""The network health dashboard: eleven cards of network-wide metrics.

Pure: computed once per input version from the relay model and the (optional)
uptime and bandwidth models; reference times come from the details document.
Figures cover running relays unless a row says otherwise.  Each card is plain
data (rows of label/value text, small tables, chart view models) so that the
template only lays it out.  Every pass over the relays is linear.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from . import charts, format as fmt, health_extra as extra, identity
from .percentiles import mean, median, percentile
from .relays import ROLES, RelayModel

EU = frozenset("at be bg hr cy cz dk ee fi fr de gr hu ie it lv lt lu mt nl pl pt ro sk si es se".split())
FIVE_EYES = frozenset("us gb ca au nz".split())
FOURTEEN_EYES = FIVE_EYES | frozenset("dk fr nl no be de it es se".split())
RARE_COUNTRY_MAX = 5          # a country with at most this many running relays counts as rare
COUNT_FLAGS = ("Fast", "Stable", "HSDir", "V2Dir", "BadExit", "MiddleOnly", "StaleDesc", "Authority")
VERSION_STATUSES = ("recommended", "new in series", "experimental", "unrecommended", "obsolete")
EXIT_PORTS = ((80, "HTTP"), (443, "HTTPS"), (22, "SSH"), (53, "DNS"), (993, "IMAPS"), (5222, "XMPP"),
              (6667, "IRC"), (25, "SMTP"))
NEW_WINDOWS = (("24 hours", timedelta(days=1)), ("30 days", timedelta(days=30)),
               ("6 months", timedelta(days=182)), ("1 year", timedelta(days=365)))
TOP_N = 10
UNDERWEIGHTED = 0.5           # weight/bandwidth below this fraction of the median ratio
TOP_AS_RATIOS = 5


# The cards by the sources they read, so that each part is recomputed only when its inputs change
# (an uptime document leaves the nine details-only cards as they are).

def details_cards(relays: RelayModel) -> dict[str, Any]:
    """The cards computed from the details document alone."""
    running = [r for r in relays.relays if r["running"]]
    net = _Network(running)
    return {
        "published": relays.published,
        "running": fmt.count(len(running)),
        "before_uptime": [roles_card(relays, running), capacity_card(net, running)],
        "after_uptime": [operators_card(running), geography_card(net, running), providers_card(net, running),
                         utilization_card(net, running), versions_card(net, running),
                         platforms_card(net, running), exit_policy_card(running)],
    }


def uptime_card_of(relays: RelayModel, uptime: Any) -> dict[str, Any]:
    return uptime_card([r for r in relays.relays if r["running"]], uptime)


def growth_card_of(relays: RelayModel, bandwidth: Any) -> dict[str, Any]:
    running = [r for r in relays.relays if r["running"]]
    return growth_card(running, _parse_view_time(relays.published), bandwidth)


def assemble(details: dict[str, Any], uptime: dict[str, Any], growth: dict[str, Any]) -> dict[str, Any]:
    """The dashboard in its card order."""
    return {"published": details["published"], "running": details["running"],
            "cards": [*details["before_uptime"], uptime, *details["after_uptime"], growth]}


class _Network:
    """Network totals every card shares (computed once)."""

    def __init__(self, running: list[dict[str, Any]]):
        self.count = len(running)
        self.weight = sum(r["consensus_weight"] for r in running)
        self.fraction = _fraction(running)
        self.advertised = sum(r["advertised_bandwidth"] or 0 for r in running)
        self.observed = sum(r["observed_bandwidth"] or 0 for r in running)

    @staticmethod
    def weight_share(fraction: float) -> str:
        """A share of the network's consensus weight, from Onionoo's ``consensus_weight_fraction``
        summed over the relays: the one way every page (relay, group, list, AROI) computes it."""
        return fmt.percent(fraction)

    def relay_share(self, count: int) -> str:
        return _pct(count, self.count)


# -- cards --------------------------------------------------------------------------------

def roles_card(relays: RelayModel, running: list[dict[str, Any]]) -> dict[str, Any]:
    by_role = Counter(r["role"] for r in running)
    flags = Counter(f for r in running for f in r["flags"])
    n = len(running)
    rows = [_row("Running relays", fmt.count(n)),
            _row("Listed relays", fmt.count(len(relays.relays)), _listed_note(relays.downtime_days)),
            *(_row(f"{role.capitalize()} relays", fmt.count(by_role[role]), _pct(by_role[role], n))
              for role in ROLES),
            _row("Guard and Exit", fmt.count(sum(1 for r in running if r["is_exit"] and r["is_guard"])),
                 "counted as exits above"),
            *(_row(f"{flag} flag", fmt.count(flags[flag]), _pct(flags[flag], n)) for flag in COUNT_FLAGS),
            _row("Hibernating", fmt.count(sum(1 for r in running if r["hibernating"]))),
            _row("Overloaded", fmt.count(extra.overloaded(running)),
                 f"of {fmt.count(n)} running: a general overload in the descriptor (Onionoo)"),
            _row("Not measured by bandwidth authorities",
                 fmt.count(sum(1 for r in running if r["measured"] is False)))]
    chart = charts.bar_chart("Running relays by role",
                             [(role.capitalize(), by_role[role], fmt.count(by_role[role])) for role in ROLES])
    return _card("roles", "Relay counts by role", rows, figures=[chart],
                 note="Each relay counts once: exit before guard before middle.")


def capacity_card(net: _Network, running: list[dict[str, Any]]) -> dict[str, Any]:
    groups = _group(running, lambda r: r["role"])
    table_rows, bars = [], []
    for role in ROLES:
        members = groups.get(role, [])
        adv = sum(r["advertised_bandwidth"] or 0 for r in members)
        obs = sum(r["observed_bandwidth"] or 0 for r in members)
        table_rows.append([role.capitalize(), fmt.bandwidth(adv), _pct(adv, net.advertised), fmt.bandwidth(obs),
                           net.weight_share(_fraction(members))])
        bars.append((role.capitalize(), adv, fmt.bandwidth(adv)))
    advertised = [r["advertised_bandwidth"] for r in running if r["advertised_bandwidth"] is not None]
    rows = [_row("Advertised bandwidth", fmt.bandwidth(net.advertised)),
            _row("Observed bandwidth", fmt.bandwidth(net.observed)),
            _row("Mean advertised per relay", fmt.bandwidth(mean(advertised))),
            _row("Median advertised per relay", fmt.bandwidth(median(advertised)))]
    table = _table("Bandwidth by role",
                   ["Role", "Advertised", "Share", "Observed", "Consensus weight share"], table_rows)
    per_flag = _table(f"Observed bandwidth per flag (of {fmt.count(net.count)} running)",
                      ["Flag", "Relays", "Mean", "Median"],
                      [[f["flag"], fmt.count(f["relays"]), fmt.bandwidth(f["mean"]), fmt.bandwidth(f["median"])]
                       for f in extra.flag_bandwidth(running)])
    return _card("capacity", "Bandwidth capacity", rows, tables=[table, per_flag],
                 figures=[charts.bar_chart("Advertised bandwidth by role", bars)])


def uptime_card(running: list[dict[str, Any]], uptime: Any) -> dict[str, Any]:
    if uptime is None:
        return _card("uptime", "Relay uptime", [], available=False, note="No uptime data.")
    entries = uptime.relays
    table_rows = []
    for label, members in (("All", running), *((role.capitalize(), [r for r in running if r["role"] == role])
                                               for role in ROLES)):
        cells = [label]
        for period in ("1M", "6M"):
            values = [u for r in members if (u := _uptime(entries, r["fingerprint"], period)) is not None]
            cells += [_pct_value(mean(values)), _pct_value(median(values)), fmt.count(len(values))]
        table_rows.append(cells)
    rows = []
    six = (uptime.network or {}).get("6M") or {}
    if six:
        rows += [_row("Network mean (6 months)", _pct_value(six.get("mean"))),
                 _row("Standard deviation (6 months)", _pct_value(six.get("std")))]
    outliers = Counter((entries.get(r["fingerprint"]) or {}).get("outlier") for r in running)
    rows += [_row("Low outliers (2σ below the 6-month mean)", fmt.count(outliers["low"])),
             _row("High outliers (2σ above the 6-month mean)", fmt.count(outliers["high"]))]
    tables = [_table("Uptime by role", ["Role", "1M mean", "1M median", "relays", "6M mean", "6M median",
                                        "relays"], table_rows)]
    points = six.get("percentiles") or {}
    if points:
        tables.append(_table("Network uptime percentiles (6 months)", ["Percentile", "Uptime"],
                             [[f"{p}th", _pct_value(points[p])] for p in sorted(points, key=int)]))
    per_flag = extra.flag_uptime(running, entries, "1M")
    tables.append(_table(f"1-month uptime per flag (of {fmt.count(len(running))} running)",
                         ["Flag", "Relays holding it", "With 30+ points", "Mean", "Median"],
                         [[f["flag"], fmt.count(f["held"]), fmt.count(f["relays"]), _pct_value(f["mean"]),
                           _pct_value(f["median"])] for f in per_flag]))
    return _card("uptime", "Relay uptime", rows, tables=tables,
                 note="Uptime is the mean of a relay's uptime history; relays with fewer than 30 data points "
                      "are left out.")


def operators_card(running: list[dict[str, Any]]) -> dict[str, Any]:
    n = len(running)
    contacts = [r["contact"] for r in running]
    with_contact = sum(1 for c in contacts if c and c.strip())
    distinct = set(contacts)                      # thousands of relays share a few thousand contacts
    domain_of = {c: identity.aroi_domain(c) for c in distinct}
    domains = [domain_of[c] for c in contacts]
    with_aroi = sum(1 for d in domains if d)
    operators = {identity.contact_id(c) for c in distinct} - {None}
    # identity.family_id([fingerprint, *family]) for a relay view, whose family is sorted, valid and
    # without the relay itself: the smaller of the relay and its first member
    family_ids = [min(r["fingerprint"], r["family"][0]) if r["family"] else None for r in running]
    in_family = sum(1 for f in family_ids if f)
    ipv6 = sum(1 for r in running if r["ipv6_addresses"])
    exits = [r for r in running if r["is_exit"]]
    ipv6_exits = sum(1 for r in exits if (r["exit_policy_v6_summary"] or "").startswith("accept"))
    rows = [_row("Relays with contact information", fmt.count(with_contact), _pct(with_contact, n)),
            _row("Relays with an AROI url (CIISS proof and url)", fmt.count(with_aroi), _pct(with_aroi, n)),
            _row("Distinct AROI domains", fmt.count(len({d for d in domains if d}))),
            _row("Distinct operators (by contact)", fmt.count(len(operators))),
            _row("Relays in a family of two or more", fmt.count(in_family), _pct(in_family, n)),
            _row("Families of two or more", fmt.count(len({f for f in family_ids if f}))),
            _row("Relays with an IPv6 OR address", fmt.count(ipv6), _pct(ipv6, n)),
            _row("Exits allowing IPv6 exit traffic", fmt.count(ipv6_exits), _pct(ipv6_exits, len(exits)))]
    return _card("operators", "Operator participation", rows,
                 note=f"Counts and shares cover the {fmt.counted(n, 'running relay')}. AROI validation is in "
                      "the AROI operator validation card, which counts every listed relay (running or "
                      "recently down), so its figures differ from these.")


def geography_card(net: _Network, running: list[dict[str, Any]]) -> dict[str, Any]:
    groups = _group(running, lambda r: r["country"])
    names = {r["country"]: r["country_name"] or r["country"].upper() for r in running if r["country"]}
    weights = _weights(groups)
    shares = _fractions(groups)
    ranked = _ranked(weights)
    eu = _sum_where(shares, lambda cc: cc in EU)
    eu_relays = sum(len(groups[cc]) for cc in groups if cc in EU)
    rare = [cc for cc in groups if cc and len(groups[cc]) <= RARE_COUNTRY_MAX]
    rows = [_row("Countries", fmt.count(len([cc for cc in groups if cc]))),
            _row("Top 3 countries by weight", ", ".join(names[cc] for cc, _ in ranked[:3]) or fmt.MISSING,
                 net.weight_share(sum(shares[cc] for cc, _ in ranked[:3]))),
            _row("EU", net.weight_share(eu), fmt.counted(eu_relays, "relay")),
            _row("Outside the EU", net.weight_share(net.fraction - eu),
                 fmt.counted(net.count - eu_relays, "relay")),
            _row("Five Eyes countries", net.weight_share(_sum_where(shares, lambda cc: cc in FIVE_EYES))),
            _row("Fourteen Eyes countries",
                 net.weight_share(_sum_where(shares, lambda cc: cc in FOURTEEN_EYES))),
            _row(f"Rare countries (≤ {RARE_COUNTRY_MAX} relays)", fmt.count(len(rare)),
                 f"{fmt.count(sum(len(groups[cc]) for cc in rare))} relays"),
            _row("Concentration (HHI of weight)", _hhi(weights.values(), net.weight)),
            _row("Relays with an unknown country", fmt.count(len(groups.get(None, []))))]
    top = [(names[cc], w, net.weight_share(shares[cc])) for cc, w in ranked[:TOP_N]]
    table = _table("Top countries", ["Country", "Relays", "Weight share"],
                   [[names[cc], fmt.count(len(groups[cc])), net.weight_share(shares[cc])] for cc, _ in ranked[:TOP_N]])
    chart = charts.bar_chart("Consensus weight share by country", top, max_value=max(net.weight, 1))
    return _card("geography", "Geographic participation", rows, tables=[table], figures=[chart],
                 note="Shares are of the consensus weight of running relays.")


def providers_card(net: _Network, running: list[dict[str, Any]]) -> dict[str, Any]:
    groups = _group(running, lambda r: r["as_number"])
    names = {}
    for r in running:
        if r["as_number"] and r["as_number"] not in names:
            names[r["as_number"]] = f"{r['as_number']} {r['as_name']}" if r["as_name"] else r["as_number"]
    weights = _weights(groups)
    shares = _fractions(groups)
    ranked = _ranked(weights)
    by_relays = sorted((len(v) for k, v in groups.items() if k), reverse=True)
    rows = [_row("Autonomous systems", fmt.count(len([a for a in groups if a]))),
            *(_row(f"Top {k} ASes by weight", net.weight_share(sum(shares[a] for a, _ in ranked[:k])),
                   f"{net.relay_share(sum(by_relays[:k]))} of relays in the top {k} by relays")
              for k in (3, 5, 10)),
            _row("Concentration (HHI of weight)", _hhi(weights.values(), net.weight)),
            _row("Relays with an unknown AS", fmt.count(len(groups.get(None, []))))]
    table = _table("Top autonomous systems", ["AS", "Relays", "Weight share"],
                   [[names[a], fmt.count(len(groups[a])), net.weight_share(shares[a])] for a, _ in ranked[:TOP_N]])
    chart = charts.bar_chart("Consensus weight share by AS",
                             [(names[a], w, net.weight_share(shares[a])) for a, w in ranked[:TOP_N]],
                             max_value=max(net.weight, 1))
    return _card("providers", "Provider (AS) concentration", rows, tables=[table], figures=[chart])


def utilization_card(net: _Network, running: list[dict[str, Any]]) -> dict[str, Any]:
    """Consensus weight per Mbit/s of observed bandwidth (weights are bandwidth-authority measurements).

    Per Mbit/s like every other rate on the site (bytes/s × 8 / 10⁶), not per MB/s.
    """
    def ratio(members: Iterable[dict[str, Any]]) -> float | None:
        members = list(members)
        observed = sum(r["observed_bandwidth"] or 0 for r in members)
        return sum(r["consensus_weight"] for r in members) / (observed * 8 / 1e6) if observed else None

    relay_ratios = sorted(r["consensus_weight"] / (r["observed_bandwidth"] * 8 / 1e6) for r in running
                          if r["observed_bandwidth"])
    typical = percentile(relay_ratios, 50)
    under = sum(1 for x in relay_ratios if typical and x < UNDERWEIGHTED * typical)
    unmeasured = _fraction(r for r in running if r["measured"] is False)
    rows = [_row("Weight per observed Mbit/s, network", _number(ratio(running))),
            *(_row(f"Weight per observed Mbit/s, {role}s", _number(ratio(r for r in running if r["role"] == role)))
              for role in ROLES),
            _row("Median relay weight per observed Mbit/s", _number(typical)),
            _row(f"Relays below {UNDERWEIGHTED:g}× the median ratio", fmt.count(under),
                 _pct(under, len(relay_ratios))),
            _row("Observed / advertised bandwidth", _ratio(net.observed, net.advertised)),
            _row("Weight share of unmeasured relays", net.weight_share(unmeasured))]
    eu = [r for r in running if r["country"] in EU]
    non_eu = [r for r in running if r["country"] not in EU]
    rows += [_row("Weight per observed Mbit/s, EU", _number(extra.weight_per_mbit(eu)),
                  f"{fmt.count(len(eu))} of {fmt.count(net.count)} running"),
             _row("Weight per observed Mbit/s, outside the EU", _number(extra.weight_per_mbit(non_eu)),
                  f"{fmt.count(len(non_eu))} of {fmt.count(net.count)} running")]
    by_as = _group(running, lambda r: r["as_number"])
    top = _ranked(_weights(by_as))[:TOP_AS_RATIOS]
    names = {a: f"{a} {by_as[a][0]['as_name']}" if by_as[a][0]["as_name"] else a for a, _ in top}
    table = _table(f"Weight per observed Mbit/s, top {TOP_AS_RATIOS} ASes by weight (of "
                   f"{fmt.count(net.count)} running)", ["AS", "Relays", "Weight per Mbit/s"],
                   [[names[a], fmt.count(len(by_as[a])), _number(extra.weight_per_mbit(by_as[a]))] for a, _ in top])
    return _card("utilization", "Consensus weight and bandwidth utilization", rows, tables=[table])


def versions_card(net: _Network, running: list[dict[str, Any]]) -> dict[str, Any]:
    statuses = _group(running, lambda r: r["version_status"])
    recommended = [r for r in running if r["recommended_version"]]
    rows = [_row("Running a recommended version", fmt.count(len(recommended)),
                 f"{net.relay_share(len(recommended))} of relays, "
                 f"{net.weight_share(_fraction(recommended))} of weight")]
    others = sorted(s for s in statuses if s and s not in VERSION_STATUSES)
    for status in [s for s in (*VERSION_STATUSES, *others, None) if s in statuses]:
        members = statuses[status]
        rows.append(_row(f"Version status: {status or 'unknown'}", fmt.count(len(members)),
                         net.relay_share(len(members))))
    versions = Counter(r["version"] or "unknown" for r in running)
    top = sorted(versions.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_N]
    chart = charts.bar_chart("Running relays by Tor version", [(v, c, fmt.count(c)) for v, c in top])
    rows.append(_row("Distinct versions", fmt.count(len(versions))))
    return _card("versions", "Version compliance", rows, figures=[chart])


def platforms_card(net: _Network, running: list[dict[str, Any]]) -> dict[str, Any]:
    groups = _group(running, lambda r: os_family(r["os"]))
    ranked = sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0] or ""))
    non_linux = [r for k, v in groups.items() if k != "Linux" for r in v]
    rows = [_row("Operating systems", fmt.count(len([k for k in groups if k]))),
            _row("Not on Linux", fmt.count(len(non_linux)),
                 f"{net.relay_share(len(non_linux))} of relays, "
                 f"{net.weight_share(_fraction(non_linux))} of weight")]
    table = _table("Relays by operating system", ["OS", "Relays", "Relay share", "Weight share"],
                   [[k or "unknown", fmt.count(len(v)), net.relay_share(len(v)),
                     net.weight_share(_fraction(v))] for k, v in ranked])
    return _card("platforms", "Operating system diversity", rows, tables=[table])


def exit_policy_card(running: list[dict[str, Any]]) -> dict[str, Any]:
    exits = [r for r in running if r["is_exit"]]
    parsed: dict[str | None, Any] = {}           # exits share a few hundred distinct summaries
    policies = [parsed[s] if (s := r["exit_policy_summary"]) in parsed else parsed.setdefault(s, policy_ports(s))
                for r in exits]
    n = len(exits)
    weight = sum(r["exit_probability"] or 0 for r in exits)

    answers: dict[tuple[int, int], bool] = {}     # (policy object, port): each distinct policy asked once

    def allows_port(p: Any, port: int) -> bool:
        known = answers.get((id(p), port))
        if known is None:
            known = answers[id(p), port] = bool(p) and allows(p, port)
        return known

    def allowing(port: int) -> tuple[int, float]:
        hits = [r for r, p in zip(exits, policies) if allows_port(p, port)]
        return len(hits), sum(r["exit_probability"] or 0 for r in hits)

    web = [r for r, p in zip(exits, policies) if allows_port(p, 80) and allows_port(p, 443)]
    web_only = sum(1 for p in policies if p and p[0] == "accept" and _only(p, {80, 443}))
    reject_lists = sum(1 for p in policies if p and p[0] == "reject")
    rows = [_row("Exit relays", fmt.count(n)),
            _row("Allowing web traffic (80 and 443)", fmt.count(len(web)),
                 f"{_pct(len(web), n)} of exits, "
                 f"{_pct(sum(r['exit_probability'] or 0 for r in web), weight)} of exit probability"),
            _row("Web only (80/443)", fmt.count(web_only), _pct(web_only, n)),
            _row("Open policies (a reject list)", fmt.count(reject_lists), _pct(reject_lists, n)),
            _row("Allowing every port", fmt.count(sum(1 for p in policies if p and _all_ports(p)))),
            _row("Without a policy summary", fmt.count(sum(1 for p in policies if p is None)))]
    ip = extra.exit_ip_restrictions(exits)
    rows += [_row("Rejecting private networks", fmt.count(ip["private"]),
                  f"{_pct(ip['private'], n)} of exits (reject private:* or its expansion)"),
             _row("Restricted by destination address", fmt.count(ip["restricted"]),
                  f"{_pct(ip['restricted'], n)} of exits: a rule for particular public addresses (not their own)"),
             _row("Rejecting particular addresses", fmt.count(ip["reject_specific"]), _pct(ip["reject_specific"], n)),
             _row("Accepting particular addresses", fmt.count(ip["accept_specific"]),
                  _pct(ip["accept_specific"], n))]
    table_rows = []
    for port, name in EXIT_PORTS:
        count, prob = allowing(port)
        table_rows.append([f"{port} ({name})", fmt.count(count), _pct(count, n), _pct(prob, weight)])
    table = _table("Exits allowing common ports", ["Port", "Exits", "Share of exits", "Exit probability"],
                   table_rows)
    return _card("exits", "Exit policies", rows, tables=[table],
                 note=f"Of the {fmt.counted(n, 'running exit')}; the address rules come from each exit's full "
                      "policy, the ports from its summary.")


def growth_card(running: list[dict[str, Any]], published: datetime | None,
                bandwidth: Any) -> dict[str, Any]:
    rows = []
    ages = extra.relay_ages(running, published, _parse_view_time)
    if ages["count"]:
        scope = f"of {fmt.count(len(running))} running, days since first seen"
        rows += [_row("Relay age, mean", f"{ages['mean']:,.0f} days", scope),
                 _row("Relay age, median", f"{ages['median']:,.0f} days", scope)]
    if published is not None:
        new = new_relay_counts(running, published)
        for label, _ in NEW_WINDOWS:
            rows.append(_row(f"New relays in the last {label}", fmt.count(new[label]),
                             f"of {fmt.count(len(running))} running, first seen in that time"))
    tables, figures, notes = [], [], []
    totals = ((getattr(bandwidth, "network", None) or {}).get("total_bytes") or {}) if bandwidth else {}
    if totals:
        periods = [p for p in charts.PERIODS if totals.get(p) is not None]
        tables.append(_table("Network total data (read and written)", ["Period", "Data"],
                             [[charts.PERIOD_LABELS[p], charts.data_size(totals[p])] for p in periods]))
    else:
        notes.append("No bandwidth history data: network total data is not available.")
    notes.append(f"New relays are counted back from the data's publication time, {fmt.timestamp(published)}.")
    return _card("growth", "Relay age, new relays and network total data", rows, tables=tables, figures=figures,
                 notes=notes)


def new_relay_counts(running: list[dict[str, Any]], published: datetime) -> dict[str, int]:
    """Running relays first seen within each NEW_WINDOWS span before ``published`` (the data's time).

    Running relays only, like every other figure on the page: counting listed
    relays here would mix in relays that are down under a "running" heading.
    """
    first_seen = [t for r in running if (t := _parse_view_time(r["first_seen"])) is not None]
    return {label: sum(1 for t in first_seen if published - t <= window) for label, window in NEW_WINDOWS}


def validated_stack_card(relays: RelayModel, keys: dict[str, dict[str, Any]], aroi: Any) -> dict[str, Any]:
    """IPv4-only vs dual-stack running relays of operators whose AROI validates (needs the AROI model)."""
    running = [r for r in relays.relays if r["running"]]
    if aroi is None or not getattr(aroi, "validator_available", False):
        return _card("stacks", "IPv4 and IPv6 among validated operators", [], available=False,
                     note="No AROI validator data: which operators validate is not known.")
    from .aroi import VALIDATED
    stacks = extra.validated_stacks(running, keys, aroi.operators, VALIDATED)
    total = sum(c["relays"] for c in stacks.values())
    rows, table_rows = [], []
    for kind, label in (("ipv4_only", "IPv4 only"), ("dual_stack", "Dual-stack (IPv4 and IPv6)")):
        c = stacks[kind]
        rows.append(_row(label, fmt.counted(c["relays"], "relay"),
                         f"{_pct(c['relays'], total)} of {fmt.count(total)} running relays of validated operators; "
                         f"{fmt.counted(c['operators'], 'operator')}"))
        country, country_n = c["top_country"]
        as_number, as_n = c["top_as"]
        table_rows.append([label, f"{country} ({fmt.count(country_n)})" if country else fmt.MISSING,
                           f"{as_number} ({fmt.count(as_n)})" if as_number else fmt.MISSING])
    return _card("stacks", "IPv4 and IPv6 among validated operators", rows,
                 tables=[_table("Top country and AS by relays", ["Class", "Top country", "Top AS"], table_rows)],
                 note=f"Running relays (of {fmt.count(len(running))} running) of the operators whose AROI "
                      "validates (an operator validates when any of its relays does); dual-stack: the relay has "
                      "an IPv6 OR address too. An operator with both kinds counts in both rows.")


def happy_families_card(relays: RelayModel, keys: dict[str, dict[str, Any]], collector: Any) -> dict[str, Any]:
    """The Happy Families migration panel: family-key adoption (details) and the authorities' side (CollecTor)."""
    running = [r for r in relays.relays if r["running"]]
    hf = extra.happy_families(running, keys, collector)
    n = hf["running"]
    rows = [_row("Relays with a Happy Families key", fmt.count(hf["keyed"]),
                 f"{_pct(hf['keyed'], n)} of {fmt.count(n)} running (Onionoo family_ids)"),
            _row("Relays with a MyFamily list only", fmt.count(hf["my_family_only"]),
                 f"{_pct(hf['my_family_only'], n)} of {fmt.count(n)} running"),
            _row("Operators with a keyed relay", fmt.count(hf["operators_keyed"]),
                 f"of {fmt.count(hf['operators'])} operators with running relays"),
            _row("Observed bandwidth of keyed relays", fmt.bandwidth(hf["observed_keyed"]),
                 f"{_pct(hf['observed_keyed'], hf['observed'])} of the running relays' observed bandwidth"),
            *(_row(f"Keyed {role} relays", fmt.count(c)) for role, c in hf["roles"].items())]
    tables = []
    if hf["versions"]:
        tables.append(_table("Tor versions of keyed relays", ["Version", "Relays"],
                             [[v, fmt.count(c)] for v, c in hf["versions"]]))
    notes = []
    if hf["authorities"] is None:
        notes.append("No CollecTor votes: the authorities' consensus methods and family parameters are not shown.")
    else:
        rows.append(_row("Consensus method", fmt.MISSING if hf["consensus_method"] is None
                         else str(hf["consensus_method"])))
        for param in extra.FAMILY_PARAMS:
            value = hf["consensus_params"][param]
            rows.append(_row(f"Consensus parameter {param}", "not set" if value is None else f"{value:g}"))
        tables.append(_table("Authorities", ["Authority", "Highest consensus method", *extra.FAMILY_PARAMS],
                             [[a["nickname"] or fmt.MISSING, fmt.MISSING if a["max_method"] is None
                               else str(a["max_method"]),
                               *("not voted" if a[p] is None else f"{a[p]:g}" for p in extra.FAMILY_PARAMS)]
                              for a in hf["authorities"]]))
    if not hf["keyed"]:
        notes.append("No running relay publishes a Happy Families key in this details document.")
    return _card("happy-families", "Happy Families key migration", rows, tables=tables, notes=notes)


# -- exit policy summaries ------------------------------------------------------------------

def policy_ports(summary: str | None) -> tuple[str, list[tuple[int, int]]] | None:
    """Parse alliumd.model.relays' summary text ("accept 80, 443, 1000-2000") into (action, ranges)."""
    if not summary:
        return None
    action, _, rest = summary.partition(" ")
    if action not in ("accept", "reject"):
        return None
    ranges = []
    for item in rest.split(","):
        low, _, high = item.strip().partition("-")
        try:
            a = int(low)
            b = int(high) if high else a
        except ValueError:
            continue
        ranges.append((a, b))
    return action, ranges


def allows(policy: tuple[str, list[tuple[int, int]]], port: int) -> bool:
    action, ranges = policy
    listed = any(a <= port <= b for a, b in ranges)
    return listed if action == "accept" else not listed


def _only(policy, ports: set[int]) -> bool:
    return all(a == b and a in ports for a, b in policy[1])


def _all_ports(policy) -> bool:
    action, ranges = policy
    return (action == "accept" and (1, 65535) in ranges) or (action == "reject" and not ranges)


# -- helpers --------------------------------------------------------------------------------

def os_family(os_name: str | None) -> str | None:
    """The relay model's ``os`` is already a canonical family (see identity.os_family)."""
    return os_name or None


def _parse_view_time(text: str | None) -> datetime | None:
    """A relay-model timestamp ("YYYY-MM-DD HH:MM:SS UTC") back to a datetime."""
    if not text or not text.endswith(" UTC"):
        return None
    return fmt.parse_onionoo_time(text[:-4])


def _uptime(entries: dict, fp: str, period: str) -> float | None:
    entry = entries.get(fp)
    value = ((entry or {}).get("uptime") or {}).get(period) if isinstance(entry, dict) else None
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _group(relays: Iterable[dict[str, Any]], key: Callable[[dict], Any]) -> dict[Any, list[dict[str, Any]]]:
    groups: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for r in relays:
        groups[key(r)].append(r)
    return groups


def _weights(groups: dict[Any, list[dict[str, Any]]]) -> dict[Any, int]:
    return {k: sum(r["consensus_weight"] for r in v) for k, v in groups.items() if k}


def _fractions(groups: dict[Any, list[dict[str, Any]]]) -> dict[Any, float]:
    return {k: _fraction(v) for k, v in groups.items() if k}


def _fraction(relays: Iterable[dict[str, Any]]) -> float:
    """Summed as groups.py sums a group's ``weight_fraction`` (a relay without one counts 0)."""
    return sum(r["consensus_weight_fraction"] or 0.0 for r in relays)


def _ranked(weights: dict[Any, int]) -> list[tuple[Any, int]]:
    return sorted(weights.items(), key=lambda kv: (-kv[1], kv[0]))


def _sum_where(weights: dict[Any, int], pred: Callable[[Any], bool]) -> int:
    return sum(w for k, w in weights.items() if pred(k))


def _hhi(weights: Iterable[int], total: int) -> str:
    """Herfindahl-Hirschman index, 0-10,000 (above 2,500 is "highly concentrated")."""
    if not total:
        return fmt.MISSING
    return fmt.count(round(sum((100 * w / total) ** 2 for w in weights)))


def _pct(part: float, whole: float) -> str:
    return f"{100 * part / whole:.1f}%" if whole else fmt.MISSING


def _pct_value(value: float | None) -> str:
    return f"{value:.1f}%" if value is not None else fmt.MISSING


def _ratio(part: float, whole: float) -> str:
    return f"{part / whole:.2f}" if whole else fmt.MISSING


def _number(value: float | None) -> str:
    return f"{value:,.0f}" if value is not None else fmt.MISSING


def _row(label: str, value: str, detail: str | None = None) -> dict[str, Any]:
    return {"label": label, "value": value, "detail": detail}


def _table(caption: str, head: Sequence[str], rows: list[list[str]]) -> dict[str, Any]:
    return {"caption": caption, "head": list(head), "rows": rows}


def _card(card_id: str, title: str, rows: list[dict[str, Any]], *, tables: Sequence = (),
          figures: Sequence = (), available: bool = True, note: str | None = None,
          notes: Sequence[str] = ()) -> dict[str, Any]:
    """One dashboard card; ``figures`` are chart view models (None entries are dropped)."""
    return {"id": card_id, "title": title, "available": available, "rows": rows, "tables": list(tables),
            "charts": [c for c in figures if c], "notes": [note, *notes] if note else list(notes)}


# -- one relay's health status ------------------------------------------------------------

LOW_UPTIME = 90.0             # a month below this uptime (percent) is worth a note


def relay_diagnostics(relay: dict[str, Any], uptime_entry: dict[str, Any] | None,
                      bandwidth_entry: dict[str, Any] | None) -> list[dict[str, str]]:
    """A relay's problems, most severe first: ``[{"severity": "error"|"warning"|"info", "text"}]``.

    ``relay`` is a relay view of alliumd.model.relays; the entries are the
    relay's records in the uptime and bandwidth models (None without data).
    Texts are plain; operator-supplied parts (the version) are escaped by the template.
    """
    issues: list[tuple[str, str]] = []
    flags = set(relay["flags"])
    if not relay["running"]:
        issues.append(("error", f"Not running: last seen {relay['last_seen']}."))
    if "BadExit" in flags:
        issues.append(("error", "Flagged BadExit: clients do not use it as an exit."))
    if relay["hibernating"]:
        issues.append(("warning", "Hibernating: it reached its accounting limit."))
    if relay["overload_general"]:
        issues.append(("warning", f"Overloaded (general overload reported {relay['overload_general']})."))
    limits = _overload_object((bandwidth_entry or {}).get("overload_ratelimits"))
    if limits:
        issues.append(("warning", f"Hit its bandwidth rate limit (reported {limits['timestamp']})."))
    fd = _overload_object((bandwidth_entry or {}).get("overload_fd_exhausted"))
    if fd:
        issues.append(("warning", f"Ran out of file descriptors (reported {fd['timestamp']})."))
    if relay["unreachable_or_addresses"]:
        issues.append(("warning", "Unreachable OR address: " + ", ".join(relay["unreachable_or_addresses"]) + "."))
    if relay["recommended_version"] is False:
        status = relay["version_status"] or "not recommended"
        issues.append(("warning", f"Tor version {relay['version'] or 'unknown'} is {status}: please upgrade."))
    if relay["measured"] is False:
        issues.append(("warning", "Not measured by the bandwidth authorities: its consensus weight stays low."))
    if "StaleDesc" in flags:
        issues.append(("warning", "Its descriptor is stale (not republished for more than 18 hours)."))
    uptime = (uptime_entry or {}).get("uptime") or {}
    if (uptime_entry or {}).get("outlier") == "low":
        issues.append(("warning", f"Uptime is a low outlier: {_pct_value(uptime.get('6M'))} over 6 months, "
                                  "two standard deviations below the network mean."))
    elif isinstance(uptime.get("1M"), (int, float)) and uptime["1M"] < LOW_UPTIME:
        issues.append(("info", f"Low uptime: {_pct_value(uptime['1M'])} over the past month."))
    if "MiddleOnly" in flags:
        issues.append(("info", "Restricted to the middle position (MiddleOnly)."))
    if not relay["contact"]:
        issues.append(("info", "No contact information: operators cannot be reached about problems."))
    order = {"error": 0, "warning": 1, "info": 2}
    return [{"severity": s, "text": t} for s, t in sorted(issues, key=lambda i: order[i[0]])]


def overload_view(bandwidth_entry: dict[str, Any] | None) -> dict[str, Any]:
    """The bandwidth document's overload objects as display text (None when absent)."""
    entry = bandwidth_entry or {}
    return {"ratelimits": _overload_object(entry.get("overload_ratelimits")),
            "fd_exhausted": _overload_object(entry.get("overload_fd_exhausted"))}


def _overload_object(obj: Any) -> dict[str, str] | None:
    """{"timestamp": ms, "rate-limit": B/s, "burst-limit", "read-count", "write-count"} → texts."""
    if not isinstance(obj, dict):
        return None
    out = {"timestamp": fmt.timestamp(fmt.from_millis(obj.get("timestamp")))}
    for key, name in (("rate-limit", "rate_limit"), ("burst-limit", "burst_limit")):
        if key in obj:
            out[name] = fmt.bandwidth(obj[key])
    for key, name in (("read-count", "read_count"), ("write-count", "write_count")):
        if key in obj:
            out[name] = fmt.count(obj[key])
    return out


def _listed_note(downtime_days: float) -> str:
    if downtime_days <= 0:
        return "every relay the details document lists"
    return f"including relays seen in the last {downtime_days:g} days"
