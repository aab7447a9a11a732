"""Cards: relay age, new relays and network total data; the AROI-validated stacks; Happy Families migration."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .. import charts, format as fmt, health_extra as extra
from ..relays import RelayModel
from .common import NEW_WINDOWS, _card, _pct, _row, _table


def growth_card(running: list[dict[str, Any]], published: datetime | None,
                bandwidth: Any) -> dict[str, Any]:
    rows = []
    ages = extra.relay_ages(running, published, fmt.parse_timestamp)
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
    first_seen = [t for r in running if (t := fmt.parse_timestamp(r["first_seen"])) is not None]
    return {label: sum(1 for t in first_seen if published - t <= window) for label, window in NEW_WINDOWS}


def validated_stack_card(relays: RelayModel, keys: dict[str, dict[str, Any]], aroi: Any) -> dict[str, Any]:
    """IPv4-only vs dual-stack running relays of operators whose AROI validates (needs the AROI model)."""
    running = [r for r in relays.relays if r["running"]]
    if aroi is None or not getattr(aroi, "validator_available", False):
        return _card("stacks", "IPv4 and IPv6 among validated operators", [], available=False,
                     note="No AROI validator data: which operators validate is not known.")
    from ..aroi import VALIDATED
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
