"""Cards: operators, geography, network providers, Tor versions, platforms."""

from __future__ import annotations

from collections import Counter
from typing import Any

from .. import charts, format as fmt, identity
from .common import (EU, FIVE_EYES, FOURTEEN_EYES, RARE_COUNTRY_MAX, TOP_N, VERSION_STATUSES, _Network, _card,
                     _fraction, _fractions, _group, _hhi, _pct, _ranked, _row, _sum_where, _table, _weights,
                     os_family)


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
