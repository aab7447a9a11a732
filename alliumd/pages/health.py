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
    """The uptime card and what it was computed from: the uptime document and, per running relay, its
    fingerprint, role, flags and outlier mark (everything the card reads of the details document)."""

    basis: tuple
    card: dict


def build_uptime_card(inputs: RenderInputs) -> UptimeCard:
    """A details document that changes no running relay's role, flags or mark keeps the previous card."""
    relays, uptime = _relays(inputs), optional_model(inputs, "uptime", UPTIME)
    entries = uptime.relays if uptime is not None else {}
    running = [r for r in relays.relays if r["running"]]
    marks = {fp: entry.get("outlier") for fp, entry in entries.items() if entry.get("outlier")}
    basis = (inputs.version(UPTIME), uptime is None,
             tuple((r["fingerprint"], r["role"], tuple(r["flags"]), marks.get(r["fingerprint"])) for r in running))
    previous = inputs.previous("health_uptime")
    if previous is not None and previous.basis == basis:
        return previous
    return UptimeCard(basis, hm.uptime_card(running, uptime))


def expand_health(inputs: RenderInputs) -> Iterator[Page]:
    health = inputs.model("health")
    cards = [{**card, "chart_ids": [f"{card['id']}{i}" for i in range(len(card["charts"]))]}   # SVG title ids
             for card in (*health["cards"], inputs.model("health_stacks"), inputs.model("health_happy_families"))]
    yield Page(HEALTH_PATH, "health.mako", {**health, "cards": cards, "aroi_card": inputs.model("aroi_health_card"),
                                            "authorities_card": authority_pages.health_card_view(inputs)})


MODELS = [
    ModelSpec("health_details", DETAILS_ONLY, lambda inputs: hm.details_cards(_relays(inputs))),
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
