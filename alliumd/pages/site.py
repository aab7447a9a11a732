"""The site: every page family and every shared model, in one registry.

Each page module declares its own families (template, inputs, paths); this
module only collects them, so adding a page kind is adding a module.
"""

from __future__ import annotations

from ..model.bandwidth import build_bandwidth
from ..model.relays import build_relays
from ..model.uptime import build_uptime
from ..renderer.registry import ModelSpec, PageFamily
from . import aroi as aroi_pages, authorities as authority_pages, relays, static, status
from . import health as health_pages
from . import groups as group_pages, lists as list_pages, search as search_pages
from .common import DETAILS, DETAILS_ONLY

MODELS: list[ModelSpec] = [
    ModelSpec("relays", DETAILS_ONLY, lambda inputs: build_relays(inputs.doc(DETAILS))),
    ModelSpec("uptime", frozenset({"onionoo_uptime"}), lambda inputs: build_uptime(inputs.doc("onionoo_uptime"))),
    ModelSpec("bandwidth", frozenset({"onionoo_bandwidth"}),
              lambda inputs: build_bandwidth(inputs.doc("onionoo_bandwidth"))),
    *relays.MODELS, *health_pages.MODELS,
    *group_pages.MODELS, *list_pages.MODELS, *authority_pages.MODELS,
    *aroi_pages.MODELS,
]

FAMILIES: list[PageFamily] = [*static.FAMILIES, *relays.FAMILIES, *status.FAMILIES,
                             *group_pages.FAMILIES, *list_pages.FAMILIES, *search_pages.FAMILIES,
                             *health_pages.FAMILIES, *authority_pages.FAMILIES,
                             *aroi_pages.FAMILIES]
