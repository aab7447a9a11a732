"""The site: every page family and every shared model, in one registry.

Each page module declares its own families (template, inputs, paths); this
module only collects them, so adding a page kind is adding a module.
"""

from __future__ import annotations

from .registry import ModelSpec, PageFamily
from . import base_models
from . import aroi as aroi_pages, authorities as authority_pages, relays, static, status
from . import health as health_pages
from . import groups as group_pages, lists as list_pages, search as search_pages
from . import events as event_pages

MODELS: list[ModelSpec] = [
    *base_models.MODELS,
    *relays.MODELS, *health_pages.MODELS,
    *group_pages.MODELS, *list_pages.MODELS, *authority_pages.MODELS,
    *aroi_pages.MODELS, *event_pages.MODELS, *search_pages.MODELS,
]

FAMILIES: list[PageFamily] = [*static.FAMILIES, *relays.FAMILIES, *status.FAMILIES,
                             *group_pages.FAMILIES, *list_pages.FAMILIES, *search_pages.FAMILIES,
                             *health_pages.FAMILIES, *authority_pages.FAMILIES,
                             *aroi_pages.FAMILIES, *event_pages.FAMILIES]
