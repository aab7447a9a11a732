"""The site: every page family and every shared model, in one registry.

Each page module declares its own families (template, inputs, paths); this
module only collects them, so adding a page kind is adding a module.
"""

from __future__ import annotations

from ..model.relays import build_relays
from ..renderer.registry import ModelSpec, PageFamily
from . import relays, static, status
from .common import DETAILS, DETAILS_ONLY

MODELS: list[ModelSpec] = [
    ModelSpec("relays", DETAILS_ONLY, lambda inputs: build_relays(inputs.doc(DETAILS))),
]

FAMILIES: list[PageFamily] = [*static.FAMILIES, *relays.FAMILIES, *status.FAMILIES]
