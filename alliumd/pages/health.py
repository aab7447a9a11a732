"""``network-health.html``: the network health dashboard.

The dashboard (alliumd.model.health) is models split by the sources they
read: the nine details-only cards, the uptime card, the growth card
(bandwidth totals), the validated operators' IPv4/dual-stack card (AROI) and
the Happy Families card (CollecTor), so a new document recomputes only its
own cards.  Uptime and bandwidth are optional and their cards say so when
the data is missing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from ..model import health as hm
from .registry import ModelSpec, Page, PageFamily, RenderInputs
from . import authorities as authority_pages
from .common import BANDWIDTH, DETAILS, DETAILS_ONLY, HEALTH_PATH, UPTIME, relays as _relays
from .relays import AROI, COLLECTOR, optional_model

HEALTH_INPUTS = frozenset({DETAILS, UPTIME, BANDWIDTH})


def build_health_model(inputs: RenderInputs) -> dict:
    return hm.assemble(inputs.model("health_details"), inputs.model("health_uptime").card,
                       inputs.model("health_growth"))


@dataclass(frozen=True)
class UptimeCard:
    """The uptime card and what it was computed from: the uptime document and the running relays (their
    fingerprint, role and flags are everything the card reads of the details document; the outlier marks
    come from the uptime document alone)."""

    basis: tuple                       # (uptime version, no uptime data?)
    running: list                      # the running relay views, in model order
    card: dict


def _same_running(old: list, new: list) -> bool:
    """Whether every running relay has the same fingerprint, role and flags (a relay view the models kept
    is the same object: compared by identity, the rest field by field)."""
    if len(old) != len(new):
        return False
    for a, b in zip(old, new):
        if a is not b and (a["fingerprint"] != b["fingerprint"] or a["role"] != b["role"]
                           or a["flags"] != b["flags"]):
            return False
    return True


def build_uptime_card(inputs: RenderInputs) -> UptimeCard:
    """A details document that changes no running relay's role or flags keeps the previous card."""
    relays, uptime = _relays(inputs), optional_model(inputs, "uptime", UPTIME)
    running = [r for r in relays.relays if r["running"]]
    basis = (inputs.version(UPTIME), uptime is None)
    previous = inputs.previous("health_uptime")
    if previous is not None and previous.basis == basis and _same_running(previous.running, running):
        return previous
    return UptimeCard(basis, running, hm.uptime_card(running, uptime))


def expand_health(inputs: RenderInputs) -> Iterator[Page]:
    health = inputs.model("health")
    cards = [{**card, "chart_ids": [f"{card['id']}{i}" for i in range(len(card["charts"]))]}   # SVG title ids
             for card in (*health["cards"], inputs.model("health_stacks"), inputs.model("health_happy_families"))]
    yield Page(HEALTH_PATH, "health.mako", {**health, "cards": cards, "aroi_card": inputs.model("aroi_health_card"),
                                            "authorities_card": authority_pages.health_card_view(inputs)})


MODELS = [
    ModelSpec("health_details", DETAILS_ONLY,
              lambda inputs: hm.details_cards(_relays(inputs), inputs.previous("health_details"))),
    ModelSpec("health_uptime", frozenset({DETAILS, UPTIME}), build_uptime_card),
    ModelSpec("health_growth", frozenset({DETAILS, BANDWIDTH}),
              lambda inputs: hm.growth_card_of(_relays(inputs), optional_model(inputs, "bandwidth", BANDWIDTH))),
    ModelSpec("health_stacks", frozenset({DETAILS, AROI}),
              lambda inputs: hm.validated_stack_card(_relays(inputs), inputs.model("groups").relay_keys,
                                                     inputs.model("aroi"))),
    ModelSpec("health_happy_families", frozenset({DETAILS, COLLECTOR}),
              lambda inputs: hm.happy_families_card(_relays(inputs), inputs.model("groups").relay_keys,
                                                    inputs.doc(COLLECTOR) if inputs.has(COLLECTOR) else None)),
    ModelSpec("health", HEALTH_INPUTS, build_health_model),
]

# aroi: the AROI card (its model is in pages/aroi.py); collector, consensus_health: the authorities card
FAMILIES = [PageFamily("health", HEALTH_INPUTS | {"aroi"} | authority_pages.INPUTS, expand_health,
                       required=DETAILS_ONLY, description="network health dashboard",
                       paths=(HEALTH_PATH,), nav=(50, "Network health", HEALTH_PATH))]
