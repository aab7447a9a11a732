"""The dashboard: the cards grouped by the sources they read, and their page order."""

from __future__ import annotations

from typing import Any

from .. import format as fmt
from ..relays import RelayModel
from .capacity import capacity_card, roles_card, uptime_card, utilization_card
from .common import _Network, _parse_view_time
from .diversity import geography_card, operators_card, platforms_card, providers_card, versions_card
from .growth import growth_card
from .policy import exit_policy_card

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
