"""Group views: a group's figures and contact texts, and the sorted listing variants."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from .. import format as fmt
from .common import CONTACT_TEXT_LIMIT, LIST_KINDS, clean_text
from .glance import data_size, relay_total_data
from .model import Group, GroupsModel


def summary(group: Group) -> dict[str, Any]:
    """The group's figures as shown on its page (display strings, rounded like the page shows them)."""
    return {
        "relays": group.size,
        "running": group.running,
        "exit": group.role_count["exit"],
        "guard": group.role_count["guard"],
        "middle": group.role_count["middle"],
        "observed_bandwidth": fmt.bandwidth(group.bandwidth),
        "advertised_bandwidth": fmt.bandwidth(group.advertised),
        "consensus_weight": group.consensus_weight,
        "consensus_weight_fraction": fmt.percent(group.weight_fraction),
        "guard_probability": fmt.percent(group.probability["guard"]),
        "middle_probability": fmt.percent(group.probability["middle"]),
        "exit_probability": fmt.percent(group.probability["exit"]),
        "unique_as": group.unique_as,
        "unique_countries": group.unique_countries,
        "unique_contacts": group.unique_contacts,
        "unique_families": group.unique_families,
        "first_seen": group.first_seen[:10] if group.first_seen else fmt.MISSING,
        "platforms": _tally(group.platforms),
        "versions": _tally(group.versions),
    }


def _tally(counter: Counter) -> list[dict[str, Any]]:
    """[{"name", "count"}] most frequent first; unknown values are counted as "unknown"."""
    merged: Counter = Counter()
    for value, n in counter.items():
        merged[clean_text(value, 40) or "unknown"] += n
    return [{"name": name, "count": n} for name, n in sorted(merged.items(), key=lambda kv: (-kv[1], kv[0]))]


def contact_texts(group: Group) -> list[str]:
    """The distinct contact strings of a contact group, most used first (text only, never links)."""
    texts = [clean_text(c, CONTACT_TEXT_LIMIT) for c, _ in
             sorted(group.names.items(), key=lambda kv: (-kv[1], str(kv[0])))]
    return [t for t in texts if t]


# -- sorted listings ------------------------------------------------------------------------

@dataclass(frozen=True)
class Variant:
    """One sort order of the listing pages: its URL word, what it measures and how to show it."""

    name: str
    title: str
    key: Callable[[Group, dict[str, int]], Any]
    text: Callable[[Any], str]
    ascending: bool = False
    needs_bandwidth: bool = False


def _role_share(role: str) -> Callable[[Group, dict[str, int]], float]:
    return lambda g, net: g.role_weight[role] / net[role] if net.get(role) else 0.0


def _count(value: Any) -> str:
    return fmt.count(value)


VARIANTS: tuple[Variant, ...] = (
    Variant("bandwidth", "observed bandwidth", lambda g, n: g.bandwidth, fmt.bandwidth),
    Variant("overall-bandwidth", "observed bandwidth (all roles)", lambda g, n: g.bandwidth, fmt.bandwidth),
    Variant("guard-bandwidth", "observed bandwidth of guard relays", lambda g, n: g.role_bandwidth["guard"],
            fmt.bandwidth),
    Variant("middle-bandwidth", "observed bandwidth of middle relays", lambda g, n: g.role_bandwidth["middle"],
            fmt.bandwidth),
    Variant("exit-bandwidth", "observed bandwidth of exit relays", lambda g, n: g.role_bandwidth["exit"],
            fmt.bandwidth),
    Variant("bandwidth-mean", "mean observed bandwidth per running relay",
            lambda g, n: g.bandwidth / g.running if g.running else 0, fmt.bandwidth),
    Variant("consensus-weight", "share of consensus weight", lambda g, n: g.weight_fraction, fmt.percent),
    Variant("guard-consensus-weight", "share of the guard relays' consensus weight", _role_share("guard"),
            fmt.percent),
    Variant("middle-consensus-weight", "share of the middle relays' consensus weight", _role_share("middle"),
            fmt.percent),
    Variant("exit-consensus-weight", "share of the exit relays' consensus weight", _role_share("exit"),
            fmt.percent),
    Variant("exit-count", "running exit relays", lambda g, n: g.role_count["exit"], _count),
    Variant("guard-count", "running guard relays", lambda g, n: g.role_count["guard"], _count),
    Variant("middle-count", "running middle relays", lambda g, n: g.role_count["middle"], _count),
    Variant("unique-as-count", "distinct autonomous systems", lambda g, n: g.unique_as, _count),
    Variant("unique-contact-count", "distinct contacts", lambda g, n: g.unique_contacts, _count),
    Variant("unique-family-count", "distinct families", lambda g, n: g.unique_families, _count),
    Variant("first-seen", "first seen (oldest first)", lambda g, n: g.first_seen,
            lambda v: v[:10] if v else fmt.MISSING, ascending=True),
    Variant("total-data", "data transferred (read + written)", lambda g, n: 0, data_size, needs_bandwidth=True),
)
VARIANT_BY_NAME = {v.name: v for v in VARIANTS}


def sorted_groups(groups: GroupsModel, kind: str, variant: Variant,
                  values: dict[str, Any] | None = None) -> list[tuple[Group, Any]]:
    """Groups of ``kind`` ordered by ``variant`` (ties by id), each with its sort value.

    ``values`` overrides the variant's own key (total data comes from the
    bandwidth model); a group without a value sorts last.
    """
    net = groups.network_role_weight
    by_id = groups.groups[kind].values()              # in id order: the stable sorts below keep it for ties
    if values is not None:
        items = [(group, values.get(group.id)) for group in by_id]
    else:
        key = variant.key
        items = [(group, key(group, net)) for group in by_id]
    present = [gv for gv in items if gv[1] is not None]
    present.sort(key=itemgetter(1), reverse=not variant.ascending)
    if len(present) < len(items):
        present += [gv for gv in items if gv[1] is None]
    return present


def group_total_data(groups: GroupsModel, bandwidth_model: Any) -> dict[str, dict[str, int | None]]:
    """Kind → id → bytes its relays moved, each over its longest available period (allium's fallback)."""
    if bandwidth_model is None:
        return {}
    per_relay = {fp: relay_total_data(bandwidth_model, fp)[0] for fp in groups.rows}
    out: dict[str, dict[str, int | None]] = {}
    for kind in LIST_KINDS.values():
        totals: dict[str, int | None] = {}
        for gid, group in groups.groups[kind].items():
            known = [per_relay[fp] for fp in group.fingerprints if per_relay[fp] is not None]
            totals[gid] = sum(known) if known else None
        out[kind] = totals
    return out
