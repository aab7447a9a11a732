"""The 19 leaderboards (allium's ``aroileaders._rank_operators``): categories, ranking, badges, overview."""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ...core.gcpause import gc_paused
from .. import format as fmt
from ..groups import GroupsModel
from ..relays import RelayModel
from .metrics import MetricsMemo, OperatorMetrics, build_operator_metrics
from .rarity import EU_COUNTRIES
from .status import VALIDATED, AroiModel, _pct
from .views import _pct_text


def _data(value: float) -> str:
    units = ("B", "kB", "MB", "GB", "TB", "PB", "EB")
    size, unit = float(value), 0
    while size >= 999.5 and unit < len(units) - 1:
        size /= 1000
        unit += 1
    return f"{size:.0f} B" if unit == 0 else f"{size:.3g} {units[unit]}"


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else (plural or word + 's')}"


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip(", ") + "…"


@dataclass(frozen=True)
class Category:
    """One leaderboard: what it ranks, how the value reads, what else a row explains."""

    key: str
    title: str
    description: str
    metric: str                                        # an OperatorMetrics attribute; higher is better
    text: Callable[[OperatorMetrics], str]
    detail: Callable[[OperatorMetrics], str] = lambda m: ""
    tiebreakers: tuple[str, ...] = ()
    min_relays: int = 0                                # operators need more relays than this
    badges: tuple[str, str, str] | None = None         # titles of ranks 1–3


BIG_OPERATOR = 25          # allium: reliability and bandwidth masters/legends need more than 25 relays
TOP_KEPT = 50

CATEGORIES: tuple[Category, ...] = (
    Category("bandwidth", "Bandwidth Contributed", "observed bandwidth of the operator's running relays",
             "bandwidth", lambda m: fmt.bandwidth(m.bandwidth), lambda m: _plural(m.relays, "relay")),
    Category("consensus_weight", "Consensus Weight", "share of the network's consensus weight",
             "consensus_weight_fraction", lambda m: fmt.percent(m.consensus_weight_fraction),
             lambda m: _plural(m.relays, "relay")),
    Category("exit_authority", "Exit Authority Champions", "share of the exit relays' consensus weight",
             "exit_authority", lambda m: fmt.percent(m.exit_authority), lambda m: _plural(m.exit_count, "exit")),
    Category("guard_authority", "Guard Authority Champions", "share of the guard relays' consensus weight",
             "guard_authority", lambda m: fmt.percent(m.guard_authority),
             lambda m: _plural(m.guard_count, "guard")),
    Category("exit_operators", "Exit Operators", "running exit relays", "exit_count",
             lambda m: _plural(m.exit_count, "exit relay"), lambda m: fmt.bandwidth(m.bandwidth)),
    Category("guard_operators", "Guard Operators", "running guard relays (not exits)", "guard_count",
             lambda m: _plural(m.guard_count, "guard relay"), lambda m: fmt.bandwidth(m.bandwidth)),
    Category("reliability_masters", "Reliability Masters (6-Month Uptime)",
             "mean 6-month uptime of the operator's relays (more than 25 relays)", "reliability_6m",
             lambda m: f"{m.reliability_6m:.1f}%", lambda m: _plural(m.relays, "relay"), min_relays=BIG_OPERATOR),
    Category("legacy_titans", "Legacy Titans (5-Year Uptime)",
             "mean 5-year uptime of the operator's relays (more than 25 relays)", "reliability_5y",
             lambda m: f"{m.reliability_5y:.1f}%", lambda m: _plural(m.relays, "relay"), min_relays=BIG_OPERATOR),
    Category("most_diverse", "Most Diverse Operators",
             "countries ×3 + AS rarity ×0.4 + operating systems ×1", "diversity_score",
             lambda m: f"{m.diversity_score:.1f}",
             lambda m: f"{_plural(len(m.countries), 'country', 'countries')}, {len(m.platforms)} OS, "
                       f"{m.as_count} AS",
             badges=("Diversity Legend", "Diversity Master", "Diversity Champion")),
    Category("platform_diversity", "Platform Diversity (Non-Linux Heroes)", "relays not running Linux",
             "non_linux_count", lambda m: _plural(m.non_linux_count, "non-Linux relay"),
             lambda m: ", ".join(p for p in m.platforms if p != "Linux"),
             tiebreakers=("bandwidth",)),
    Category("non_eu_leaders", "Geographic Champions (Non-EU Leaders)", "relays outside the European Union",
             "non_eu_count", lambda m: f"{_plural(m.non_eu_count, 'relay')} ({m.non_eu_count * 100 // m.relays}%)",
             lambda m: _short(", ".join(c for c in m.countries if c not in EU_COUNTRIES)),
             tiebreakers=("bandwidth",)),
    Category("frontier_builders", "Frontier Builders (Rare Countries)", "distinct rare countries with relays",
             "rare_country_count", lambda m: _plural(len(m.rare_countries), "rare country", "rare countries"),
             lambda m: _short(", ".join(f"{n} in {c}" for c, n in m.rare_countries)),
             tiebreakers=("relays_in_rare_countries", "bandwidth"),
             badges=("Frontier Legend", "Frontier Master", "Frontier Champion")),
    Category("network_veterans", "Network Veterans",
             "days since the oldest relay was first seen, scaled by operator size", "veteran_score",
             lambda m: f"{m.veteran_score:,.0f}", lambda m: f"{m.veteran_days:,} days × {m.veteran_factor}"),
    Category("ipv4_leaders", "IPv4 Address Leaders", "distinct IPv4 addresses", "ipv4_count",
             lambda m: _plural(m.ipv4_count, "IPv4 address", "IPv4 addresses"),
             lambda m: _plural(m.relays, "relay"), badges=("IPv4 Legend", "IPv4 Master", "IPv4 Champion")),
    Category("ipv6_leaders", "IPv6 Address Leaders", "distinct IPv6 addresses", "ipv6_count",
             lambda m: _plural(m.ipv6_count, "IPv6 address", "IPv6 addresses"),
             lambda m: _plural(m.relays, "relay"), badges=("IPv6 Legend", "IPv6 Master", "IPv6 Champion")),
    Category("bandwidth_masters", "Bandwidth Served Masters (6-Month Historic)",
             "the operator's summed daily read rate averaged over the whole 6-month history (a day without "
             "data counts 0; a relay counts with 30 or more days of history; more than 25 relays)", "bandwidth_6m",
             lambda m: fmt.bandwidth(m.bandwidth_6m), lambda m: _plural(m.relays, "relay"),
             min_relays=BIG_OPERATOR),
    Category("bandwidth_legends", "Bandwidth Served Legends (5-Year Historic)",
             "the operator's summed read rate averaged over every point of the 5-year history (a point without "
             "data counts 0; a relay counts with 30 or more points of history; more than 25 relays)", "bandwidth_5y",
             lambda m: fmt.bandwidth(m.bandwidth_5y), lambda m: _plural(m.relays, "relay"),
             min_relays=BIG_OPERATOR),
    Category("validated_relays", "AROI Validation Champions", "relays whose AROI proof validates",
             "validated_count", lambda m: _plural(m.validated_count, "validated relay"),
             lambda m: f"of {_plural(m.relays, 'relay')}"),
    Category("total_data_champions", "Total Data Transferred Champions",
             "bytes read and written over the longest period with data", "total_data",
             lambda m: _data(m.total_data), lambda m: f"over {m.total_data_period}" if m.total_data_period else ""),
)
CATEGORY_BY_KEY = {c.key: c for c in CATEGORIES}
ENTRY_FIELDS = ("rank", "id", "label", "aroi_domain", "status", "relays", "value", "value_text", "detail",
                "badge", "bandwidth", "consensus_weight", "exit", "guard")


def _metric(m: OperatorMetrics, name: str) -> float:
    if name == "rare_country_count":
        return len(m.rare_countries)
    value = getattr(m, name)
    return value if value is not None else 0


def rank(operators: dict[str, OperatorMetrics], category: Category, n: int = TOP_KEPT) -> list[OperatorMetrics]:
    """The top ``n`` operators of a category: metric, tiebreakers, relay count (all descending), then id.

    Operators scoring nothing (no exits on the exit board, no IPv6 on the
    IPv6 board, no history data) are not ranked; allium listed them with 0.
    """
    eligible = [m for m in operators.values()
                if m.relays > category.min_relays and _metric(m, category.metric) > 0]
    return heapq.nsmallest(n, eligible, key=lambda m: (
        -_metric(m, category.metric), *(-_metric(m, t) for t in category.tiebreakers), -m.relays, m.id))


def _value(m: OperatorMetrics, name: str) -> int | float:
    """The ranked value as plain data, rounded so that invisible changes do not change views."""
    value = _metric(m, name)
    return value if isinstance(value, int) else round(value, 6 if value < 1 else 1)


# the champion badge of rank 1 on the boards allium has no top-three titles for
CHAMPIONS = {
    "bandwidth": "Bandwidth Champion", "consensus_weight": "Consensus Weight Champion",
    "exit_authority": "Exit Authority Champion", "guard_authority": "Guard Authority Champion",
    "exit_operators": "Exit Champion", "guard_operators": "Guard Champion",
    "reliability_masters": "Reliability Master", "legacy_titans": "Legacy Titan",
    "platform_diversity": "Non-Linux Hero", "non_eu_leaders": "Geographic Champion",
    "network_veterans": "Network Veteran", "bandwidth_masters": "Bandwidth Master",
    "bandwidth_legends": "Bandwidth Legend", "validated_relays": "AROI Champion",
    "total_data_champions": "Data Champion",
}


def badge(category: Category, position: int) -> str | None:
    """allium's titles for ranks 1–3 where it has them, else a champion badge for rank 1."""
    if category.badges:
        return category.badges[position - 1] if position <= 3 else None
    return CHAMPIONS.get(category.key) if position == 1 else None


def entry(m: OperatorMetrics, category: Category, position: int) -> dict[str, Any]:
    """One leaderboard row (plain data; ``id`` is the path-safe contact page id)."""
    return {"rank": position, "id": m.id, "label": m.label, "aroi_domain": m.aroi_domain, "status": m.status,
            "relays": m.relays, "value": _value(m, category.metric), "value_text": category.text(m),
            "detail": category.detail(m), "badge": badge(category, position), "bandwidth": fmt.bandwidth(m.bandwidth),
            "consensus_weight": fmt.percent(m.consensus_weight_fraction), "exit": m.exit_count,
            "guard": m.guard_count}


@dataclass
class LeaderboardModel:
    """The 19 leaderboards (top 50 each) and, per operator, the boards it is on."""

    published: str                          # the details document's relays_published
    categories: list[dict[str, Any]]        # CATEGORIES order: {"key", "title", "description", "entries"}
    ranks: dict[str, list[dict[str, Any]]]  # operator id → [{"category", "title", "rank"}], CATEGORIES order
    operators: int                          # operators considered (contact of 3+ characters)
    inputs: dict[str, bool]                 # which optional inputs were available: uptime, bandwidth, aroi
    overview: dict[str, Any] = field(default_factory=dict)   # leaderboard_overview: totals and top 3s
    memo: MetricsMemo = field(default_factory=MetricsMemo, repr=False)   # for the next build


def build_leaderboards(relays: RelayModel, groups: GroupsModel, uptime: Any = None, bandwidth: Any = None,
                       aroi: AroiModel | None = None, previous: LeaderboardModel | None = None,
                       versions: tuple = (), as_scores: dict[str, int] | None = None) -> LeaderboardModel:
    """All leaderboards from the relay, group, uptime, bandwidth and AROI models (the last three optional).

    ``previous`` and ``versions`` (the uptime and bandwidth documents' hashes) let operators whose relays
    did not change keep their figures (metrics.MetricsMemo).
    """
    with gc_paused():
        return _build_leaderboards(relays, groups, uptime, bandwidth, aroi,
                                   previous.memo if previous is not None else MetricsMemo(), versions, as_scores)


def _build_leaderboards(relays: RelayModel, groups: GroupsModel, uptime: Any, bandwidth: Any,
                        aroi: AroiModel | None, memo: MetricsMemo, versions: tuple,
                        as_scores: dict[str, int] | None = None) -> LeaderboardModel:
    operators = build_operator_metrics(relays, groups, uptime, bandwidth, aroi, memo, versions, as_scores)
    categories = []
    ranks: dict[str, list[dict[str, Any]]] = {}
    for category in CATEGORIES:
        top = rank(operators, category)
        categories.append({"key": category.key, "title": category.title, "description": category.description,
                           "entries": [entry(m, category, i) for i, m in enumerate(top, 1)]})
        for i, m in enumerate(top, 1):
            ranks.setdefault(m.id, []).append({"category": category.key, "title": category.title, "rank": i})
    return LeaderboardModel(published=relays.published, categories=categories, ranks=ranks,
                            operators=len(operators),
                            inputs={"uptime": uptime is not None, "bandwidth": bandwidth is not None,
                                    "aroi": aroi is not None and aroi.validator_available},
                            overview=leaderboard_overview(relays, groups, operators, aroi, categories), memo=memo)


def leaderboard_overview(relays: RelayModel, groups: GroupsModel, operators: dict[str, OperatorMetrics],
                         aroi: AroiModel | None, categories: list[dict[str, Any]]) -> dict[str, Any]:
    """The totals above the boards and the top three of every board (plain text rows).

    Relay and bandwidth totals cover running relays and say so; operator
    counts are the operators the boards consider (a contact of 3+ characters).
    """
    running = [r for r in relays.relays if r["running"]]
    n = len(running)
    scope = f"of {fmt.count(n)} running"
    observed = sum(r["observed_bandwidth"] or 0 for r in running)
    keys = groups.relay_keys
    ranked_running = sum(1 for r in running if keys[r["fingerprint"]]["contact"] in operators)
    validated = sum(1 for gid in operators if aroi is not None and aroi.validator_available
                    and (aroi.operators.get(gid) or {}).get("status") == VALIDATED)
    by_key = {c["key"]: c["entries"] for c in categories}
    top_bw = [operators[e["id"]] for e in by_key.get("bandwidth", [])[:3]]
    top_cw = [operators[e["id"]] for e in by_key.get("consensus_weight", [])[:3]]
    rows = [
        {"label": "Running relays", "value": fmt.count(n), "detail": f"{fmt.count(len(relays.relays))} listed"},
        {"label": "Run by a ranked operator", "value": fmt.count(ranked_running),
         "detail": f"{_pct_text(_pct(ranked_running, n))} {scope}"},
        {"label": "Operators ranked", "value": fmt.count(len(operators)), "detail": "a contact of 3 or more characters"},
        {"label": "Operators whose AROI validates", "value": fmt.count(validated) if aroi is not None
         and aroi.validator_available else fmt.MISSING, "detail": f"of {fmt.count(len(operators))} ranked"},
        {"label": "Observed bandwidth", "value": fmt.bandwidth(observed), "detail": scope},
        {"label": "Top 3 operators' observed bandwidth", "value": fmt.bandwidth(sum(m.bandwidth for m in top_bw)),
         "detail": f"{_pct_text(_pct(sum(m.bandwidth for m in top_bw), observed))} of the bandwidth {scope}"},
        {"label": "Top 3 operators' consensus weight",
         "value": fmt.percent(sum(m.consensus_weight_fraction for m in top_cw)), "detail": "of the network"},
    ]
    top3 = [{"key": c["key"], "title": c["title"],
             "entries": [{"id": e["id"], "label": e["label"], "value_text": e["value_text"]} for e in c["entries"][:3]]}
            for c in categories]
    return {"rows": rows, "top3": top3}
