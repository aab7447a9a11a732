"""``network-health.html``: the network health dashboard.

The dashboard is one model (alliumd.model.health), computed once per version
of its inputs; uptime and bandwidth are optional and their cards say so when
the data is missing.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..model.health import build_health
from ..renderer.registry import ModelSpec, Page, PageFamily, RenderInputs
from .common import BANDWIDTH, DETAILS, DETAILS_ONLY, HEALTH_PATH, UPTIME, relays as _relays
from .relays import optional_model

HEALTH_INPUTS = frozenset({DETAILS, UPTIME, BANDWIDTH})


def build_health_model(inputs: RenderInputs) -> dict:
    return build_health(_relays(inputs), optional_model(inputs, "uptime", UPTIME),
                        optional_model(inputs, "bandwidth", BANDWIDTH))


def expand_health(inputs: RenderInputs) -> Iterator[Page]:
    yield Page(HEALTH_PATH, "health.mako", inputs.model("health"))


MODELS = [ModelSpec("health", HEALTH_INPUTS, build_health_model)]

FAMILIES = [PageFamily("health", HEALTH_INPUTS, expand_health, required=DETAILS_ONLY,
                       description="network health dashboard")]
