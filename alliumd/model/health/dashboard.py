"""The dashboard: the cards grouped by the sources they read, and their page order."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import format as fmt
from ..relays import RelayModel
from .capacity import capacity_card, roles_card, uptime_card, utilization_card
from .common import _Network
from .diversity import geography_card, operators_card, platforms_card, providers_card, versions_card
from .growth import growth_card
from .policy import exit_policy_card

# The cards by the sources they read, so that each part is recomputed only when its inputs change
# (an uptime document leaves the nine details-only cards as they are).

# The relay view fields each details-only card reads (besides how many running relays there are, in which
# order): a card whose fields are equal, relay by relay, to those of the running relays it was computed from
# is the same card.  tests/test_incremental_models.py checks these lists against what the cards read.
CARD_FIELDS: dict[str, tuple[str, ...]] = {
    "roles": ("role", "flags", "is_exit", "is_guard", "hibernating", "overload_general_timestamp", "measured"),
    "capacity": ("role", "advertised_bandwidth", "observed_bandwidth", "consensus_weight_fraction", "flags"),
    "operators": ("contact", "fingerprint", "family", "ipv6_addresses", "is_exit", "exit_policy_v6_summary"),
    "geography": ("country", "country_name", "consensus_weight", "consensus_weight_fraction"),
    "providers": ("as_number", "as_name", "consensus_weight", "consensus_weight_fraction"),
    "utilization": ("observed_bandwidth", "advertised_bandwidth", "consensus_weight", "consensus_weight_fraction",
                    "role", "measured", "country", "as_number", "as_name"),
    "versions": ("version_status", "recommended_version", "consensus_weight_fraction", "version"),
    "platforms": ("os", "consensus_weight_fraction"),
    "exits": ("is_exit", "exit_policy_summary", "exit_probability", "exit_policy", "exit_addresses",
              "or_addresses"),
}
BEFORE_UPTIME = ("roles", "capacity")
AFTER_UPTIME = ("operators", "geography", "providers", "utilization", "versions", "platforms", "exits")
_BUILDERS: dict[str, Callable[[RelayModel, _Network, list[dict[str, Any]]], dict[str, Any]]] = {
    "roles": lambda relays, net, running: roles_card(relays, running),
    "capacity": lambda relays, net, running: capacity_card(net, running),
    "operators": lambda relays, net, running: operators_card(running),
    "geography": lambda relays, net, running: geography_card(net, running),
    "providers": lambda relays, net, running: providers_card(net, running),
    "utilization": lambda relays, net, running: utilization_card(net, running),
    "versions": lambda relays, net, running: versions_card(net, running),
    "platforms": lambda relays, net, running: platforms_card(net, running),
    "exits": lambda relays, net, running: exit_policy_card(running),
}


class DetailsCards(dict):
    """The details-only part of the dashboard (``published``, ``running``, ``before_uptime``,
    ``after_uptime``) and what its cards were computed from, for the next build."""

    running: list = []                     # the running relay views, in model order
    listed: tuple = ()                     # (listed relays, downtime filter): the roles card reads them
    by_id: dict = {}                       # card id → card


def details_cards(relays: RelayModel, previous: DetailsCards | None = None) -> DetailsCards:
    """The cards computed from the details document alone.

    Given the ``previous`` cards, a card is kept when the running relays are as many as before and each
    one's fields the card reads (CARD_FIELDS) equal those of the relay at its place before: a relay whose
    view is the same object is not looked at, so a document in which one relay changed costs the cards
    that read what changed.
    """
    running = [r for r in relays.relays if r["running"]]
    listed = (len(relays.relays), relays.downtime_days)
    changed = _changed_pairs(previous.running, running) if previous is not None else None
    net = None
    by_id: dict[str, dict[str, Any]] = {}
    for card_id in (*BEFORE_UPTIME, *AFTER_UPTIME):
        if changed is not None and (card_id != "roles" or previous.listed == listed) \
                and all(_same_fields(old, new, CARD_FIELDS[card_id]) for old, new in changed):
            by_id[card_id] = previous.by_id[card_id]
            continue
        if net is None:
            net = _Network(running)
        by_id[card_id] = _BUILDERS[card_id](relays, net, running)
    out = DetailsCards(published=relays.published, running=fmt.count(len(running)),
                       before_uptime=[by_id[c] for c in BEFORE_UPTIME], after_uptime=[by_id[c] for c in AFTER_UPTIME])
    out.running, out.listed, out.by_id = running, listed, by_id
    return out


def _changed_pairs(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[tuple[dict, dict]] | None:
    """The (before, now) relay views at each place where they are not the same object; None when the number
    of running relays changed."""
    if len(old) != len(new):
        return None
    return [(a, b) for a, b in zip(old, new) if a is not b]


def _same_fields(old: dict[str, Any], new: dict[str, Any], fields: tuple[str, ...]) -> bool:
    """Equal values of the same type (1 and 1.0 are equal but may print differently)."""
    for f in fields:
        a, b = old[f], new[f]
        if a is not b and (type(a) is not type(b) or a != b):
            return False
    return True


def uptime_card_of(relays: RelayModel, uptime: Any) -> dict[str, Any]:
    return uptime_card([r for r in relays.relays if r["running"]], uptime)


def growth_card_of(relays: RelayModel, bandwidth: Any) -> dict[str, Any]:
    running = [r for r in relays.relays if r["running"]]
    return growth_card(running, fmt.parse_timestamp(relays.published), bandwidth)


def assemble(details: dict[str, Any], uptime: dict[str, Any], growth: dict[str, Any]) -> dict[str, Any]:
    """The dashboard in its card order."""
    return {"published": details["published"], "running": details["running"],
            "cards": [*details["before_uptime"], uptime, *details["after_uptime"], growth]}
