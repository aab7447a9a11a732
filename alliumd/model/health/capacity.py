"""Cards: relay counts by role, bandwidth capacity, relay uptime, bandwidth utilization."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from .. import charts, format as fmt, health_extra as extra
from ..percentiles import mean, median, percentile
from ..relays import ROLES, RelayModel
from .common import (COUNT_FLAGS, EU, TOP_AS_RATIOS, UNDERWEIGHTED, _Network, _card, _fraction, _group, _listed_note,
                     _number, _pct, _pct_value, _ranked, _ratio, _row, _table, _uptime, _weights)


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
    # each running relay's (role, 1-month, 6-month uptime), read once for the four rows
    figures = [(r["role"], _uptime(entries, r["fingerprint"], "1M"), _uptime(entries, r["fingerprint"], "6M"))
               for r in running]
    table_rows = []
    for label, role in (("All", None), *((role.capitalize(), role) for role in ROLES)):
        members = figures if role is None else [f for f in figures if f[0] == role]
        cells = [label]
        for column in (1, 2):
            values = [u for f in members if (u := f[column]) is not None]
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
