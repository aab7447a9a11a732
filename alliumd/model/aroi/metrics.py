"""Per-operator leaderboard metrics: everything any category ranks or shows, computed once per build."""

from __future__ import annotations

import dataclasses
import functools
import ipaddress
import operator
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .. import format as fmt
from ..groups import GroupsModel, clean_text
from ..relays import RelayModel
from .rarity import EU_COUNTRIES, as_rarity_scores, rare_countries, veteran_factor
from .status import VALIDATED, AroiModel


@dataclass(slots=True)
class OperatorMetrics:
    """Everything any category ranks or shows for one operator (one contact group)."""

    id: str
    label: str
    aroi_domain: str | None
    relays: int
    bandwidth: int = 0                   # observed, running relays (as contact pages show it)
    consensus_weight_fraction: float = 0.0
    exit_authority: float = 0.0          # share of the network's exit consensus weight
    guard_authority: float = 0.0
    exit_count: int = 0
    guard_count: int = 0
    reliability_6m: float | None = None  # mean 6-month uptime % of relays with enough data
    reliability_5y: float | None = None
    bandwidth_6m: float | None = None    # summed read rate averaged over the whole 6-month history, bytes/s
    bandwidth_5y: float | None = None
    countries: list[str] = field(default_factory=list)        # upper-case codes
    platforms: list[str] = field(default_factory=list)        # OS families
    as_count: int = 0
    as_rarity: int = 0
    diversity_score: float = 0.0
    non_linux_count: int = 0
    non_eu_count: int = 0
    rare_countries: list[tuple[str, int]] = field(default_factory=list)   # (code, relays) most first
    relays_in_rare_countries: int = 0
    veteran_days: int = 0
    veteran_factor: float = 1.0
    veteran_score: float = 0.0
    ipv4_count: int = 0
    ipv6_count: int = 0
    validated_count: int = 0
    total_data: int = 0
    total_data_period: str | None = None
    status: str | None = None            # operator validation status (None without the AROI model)


# every field's value in declaration order: copying an operator's metrics this way is a C call and __init__
_ALL_FIELDS = operator.attrgetter(*(f.name for f in dataclasses.fields(OperatorMetrics)))


@dataclass
class MetricsMemo:
    """What the per-operator metrics of one build were computed from, for the next build.

    An operator whose contact group is the very same object (the groups
    model shares a group none of whose relays changed), whose network-wide
    inputs (rare countries, AS rarity scores, the bandwidth periods) are
    unchanged and whose relays' uptime and bandwidth entries are the very
    same objects (the uptime and bandwidth models keep the entry of a relay
    whose summary did not change: a new uptime document changes a few
    percent of them) keeps its history and spread figures; only the cheap
    figures that read the whole network (weight authority), the validator or
    the document time (the veteran days, for a new hour) are computed again.
    """

    context: tuple = ()
    reference: datetime | None = None                             # the publication the veteran days count to
    groups: dict[str, Any] = field(default_factory=dict)          # operator id → its contact group object
    metrics: dict[str, "OperatorMetrics"] = field(default_factory=dict)
    versions: tuple = ()                                          # the uptime and bandwidth documents read
    entries: dict[str, tuple] = field(default_factory=dict)       # operator id → its relays' history entries


def build_operator_metrics(relays: RelayModel, groups: GroupsModel, uptime: Any = None, bandwidth: Any = None,
                           aroi: AroiModel | None = None, memo: MetricsMemo | None = None,
                           versions: tuple = (), as_scores: dict[str, int] | None = None) -> dict[str, OperatorMetrics]:
    """Metrics of every operator with a contact (allium skips contacts shorter than 3 characters).

    ``memo`` (the previous build's, filled in for the next one) lets unchanged operators keep their figures;
    ``versions`` names the uptime and bandwidth documents they were read from (their content hashes);
    ``as_scores`` (AS id → score) the network's AS rarity scores when the caller has them.
    """
    by_fp = relays.by_fingerprint
    keys = groups.relay_keys
    network = len(relays.relays)
    country_counts = Counter(r["country"].upper() for r in relays.relays if r["country"])
    rare = rare_countries(country_counts, network)
    if as_scores is None:
        as_scores = {a: v["score"] for a, v in as_rarity_scores(relays.relays, keys).items()}
    reference = fmt.parse_onionoo_time(relays.published[:19])
    net_weight = groups.network_role_weight
    uptime_relays = uptime.relays if uptime is not None else {}
    bandwidth_relays = bandwidth.relays if bandwidth is not None else {}
    period_points = (bandwidth.network.get("period_points") or {}) if bandwidth is not None else {}
    statuses = aroi.relays if aroi is not None else {}
    # not the publication time: only the veteran figures count to it (worked out again for a new one)
    context = (uptime is None, bandwidth is None, period_points, rare, as_scores)
    reusable = memo is not None and bool(versions) and memo.context == context
    old_groups, old_metrics = (memo.groups, memo.metrics) if reusable else ({}, {})
    # the same documents: every kept group's entries are the same; other documents: compare them per operator
    old_entries = None if not reusable or memo.versions == versions else memo.entries
    entries: dict[str, tuple] = {}
    out: dict[str, OperatorMetrics] = {}
    for gid, group in groups.groups["contact"].items():
        members = [by_fp[fp] for fp in group.fingerprints]
        contact = members[0]["contact"] or ""
        if len(contact.strip()) < 3:
            continue
        read = entries[gid] = (*(uptime_relays.get(fp) for fp in group.fingerprints),
                               *(bandwidth_relays.get(fp) for fp in group.fingerprints))
        if old_groups.get(gid) is group and (old_entries is None or _same_objects(old_entries.get(gid), read)):
            m = OperatorMetrics(*_ALL_FIELDS(old_metrics[gid]))        # a shallow copy (as dataclasses.replace)
            if memo.reference != reference:
                m.veteran_days, m.veteran_factor, m.veteran_score = 0, 1.0, 0.0
                _veteran_metrics(m, members, reference)
        else:
            domain = keys[group.fingerprints[0]]["aroi"]
            m = OperatorMetrics(id=gid, label=domain or clean_text(contact, 40) or gid, aroi_domain=domain,
                                relays=group.size, bandwidth=group.bandwidth,
                                consensus_weight_fraction=group.weight_fraction,
                                exit_count=group.role_count["exit"], guard_count=group.role_count["guard"])
            _history_metrics(m, group.fingerprints, uptime_relays, bandwidth_relays, period_points)
            _spread_metrics(m, members, keys, rare, as_scores)
            _veteran_metrics(m, members, reference)
        m.exit_authority = group.role_weight["exit"] / net_weight["exit"] if net_weight.get("exit") else 0.0
        m.guard_authority = group.role_weight["guard"] / net_weight["guard"] if net_weight.get("guard") else 0.0
        m.validated_count = sum(1 for fp in group.fingerprints if statuses.get(fp, {}).get("status") == VALIDATED)
        m.status = aroi.operators[gid]["status"] if aroi is not None and gid in aroi.operators else None
        out[gid] = m
    if memo is not None:
        memo.context = context
        memo.reference = reference
        memo.groups = {gid: groups.groups["contact"][gid] for gid in out}
        memo.metrics = out
        memo.versions = versions
        memo.entries = entries
    return out


def _same_objects(old: tuple | None, new: tuple) -> bool:
    """Every element the very same object (entries are never changed in place)."""
    if old is None or len(old) != len(new):
        return False
    for a, b in zip(old, new):
        if a is not b:
            return False
    return True


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _history_metrics(m: OperatorMetrics, fps: list[str], uptime: dict, bandwidth: dict,
                     period_points: dict[str, int] | None = None) -> None:
    """Uptime means, bandwidth served per period and total data (read + written, best period: 5Y → 1M)."""
    up = [uptime[fp]["uptime"] for fp in fps if fp in uptime]
    m.reliability_6m = _mean([u["6M"] for u in up if u["6M"] is not None])
    m.reliability_5y = _mean([u["5Y"] for u in up if u["5Y"] is not None])
    bw = [bandwidth[fp] for fp in fps if fp in bandwidth]
    for period, attr in (("6M", "bandwidth_6m"), ("5Y", "bandwidth_5y")):
        setattr(m, attr, served_rate(bw, period, (period_points or {}).get(period, 0)))
    for period in ("5Y", "1Y", "6M", "1M"):
        moved = sum(b["total_bytes"][period] or 0 for b in bw)
        if moved > 0:
            m.total_data, m.total_data_period = moved, period
            break


SERVED_MIN_POINTS = 30      # as for uptime: a history of fewer points says too little about the period


def served_rate(entries: list[dict], period: str, period_points: int) -> float | None:
    """An operator's read rate summed point by point over its relays, averaged over the whole period.

    Σ over relays of (mean rate × points with data) / the period's length in
    points: a point where a relay had no data counts 0, so a relay of a few
    weeks counts for those weeks only, never as if it had served the whole
    period (summing each relay's own mean did that).  A relay's history
    counts only with at least SERVED_MIN_POINTS points.  None: nothing counts.
    """
    if period_points <= 0:
        return None
    served = [b["read"][period] * b["read_points"][period] for b in entries
              if b["read"][period] is not None and b.get("read_points", {}).get(period, 0) >= SERVED_MIN_POINTS]
    return sum(served) / period_points if served else None


def _spread_metrics(m: OperatorMetrics, members: list[dict], keys: dict, rare: frozenset[str],
                    as_scores: dict[str, int]) -> None:
    """Countries, platforms, networks, addresses: how widely an operator spreads its relays."""
    countries: Counter = Counter(r["country"].upper() for r in members if r["country"])
    platforms = {r["os"] for r in members if r["os"]}
    as_ids = {keys[r["fingerprint"]]["as"] for r in members} - {None}
    m.countries, m.platforms, m.as_count = sorted(countries), sorted(platforms), len(as_ids)
    m.as_rarity = sum(as_scores.get(a, 0) for a in as_ids)
    m.diversity_score = round(len(countries) * 3.0 + (m.as_rarity / 2.5 if as_ids else 0.0)
                              + len(platforms) * 1.0, 4)
    m.non_linux_count = sum(1 for r in members if r["os"] and r["os"] != "Linux")
    m.non_eu_count = sum(n for code, n in countries.items() if code not in EU_COUNTRIES)
    m.rare_countries = sorted(((c, n) for c, n in countries.items() if c in rare), key=lambda cn: (-cn[1], cn[0]))
    m.relays_in_rare_countries = sum(n for _, n in m.rare_countries)
    v4: set[str] = set()
    v6: set[str] = set()
    for r in members:
        v4.update(filter(None, map(_ipv4, r["ipv4_addresses"])))
        v6.update(filter(None, map(_ipv6, r["ipv6_addresses"])))
    m.ipv4_count, m.ipv6_count = len(v4), len(v6)


@functools.lru_cache(maxsize=1 << 16)      # addresses repeat from one model rebuild to the next
def _ipv4(address: str) -> str | None:
    try:
        return str(ipaddress.IPv4Address(address.rsplit(":", 1)[0]))
    except ValueError:
        return None


@functools.lru_cache(maxsize=1 << 16)
def _ipv6(address: str) -> str | None:
    if not address.startswith("[") or "]" not in address:
        return None
    try:
        return ipaddress.IPv6Address(address[1:address.index("]")]).compressed
    except ValueError:
        return None


def _veteran_metrics(m: OperatorMetrics, members: list[dict], reference: datetime | None) -> None:
    """Days since the operator's oldest relay was first seen (from the document's time, never the clock)."""
    first = min((t for t in (fmt.parse_onionoo_time(r["first_seen"][:19]) for r in members) if t), default=None)
    if first is None or reference is None:
        return
    m.veteran_days = max(0, (reference - first).days)
    m.veteran_factor = veteran_factor(m.relays)
    m.veteran_score = round(m.veteran_days * m.veteran_factor, 2)
