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

# The order a batch expands its families in (the navigation has its own: PageFamily.nav).  A family builds
# the models it needs when it expands, and its pages go to the render workers as it does; so the families
# that need only the cheap models of the details document (relays, groups: ~1.6 s of a 10k-relay cold build)
# come first, then those that add the uptime and bandwidth documents but not the history store (contact
# metrics, the flag pages, the health and leaderboard pages), then the history store (whose model records
# the publication: ~1 s of the renderer's time in a cold build, during which the workers render what came
# before) and the feeds, and only then the relay pages, whose models (percentiles, extras) the renderer builds
# while the workers render what came before (with the relay pages first, both workers of that build waited
# ~4.7 s for their first chunk).
EXPANSION_ORDER = (
    "static", "relays_all", "status", "group_static",
    "group_as", "group_country", "group_platform", "group_first_seen", "lists", "search_page", "search_index",
    "contact_metrics", "group_flag", "top", "lists_total_data", "health", "authorities", "leaderboards", "index",
    "events", "relay_feeds", "contact_feeds", "family_feeds",
    "relay", "relay_metrics", "group_family", "group_contact",
)
_DECLARED = {f.name: f for f in (*static.FAMILIES, *relays.FAMILIES, *status.FAMILIES,
                                 *group_pages.FAMILIES, *list_pages.FAMILIES, *search_pages.FAMILIES,
                                 *health_pages.FAMILIES, *authority_pages.FAMILIES,
                                 *aroi_pages.FAMILIES, *event_pages.FAMILIES)}
if sorted(_DECLARED) != sorted(EXPANSION_ORDER):           # a family left out would never be rendered
    raise ImportError(f"EXPANSION_ORDER must name every family once: {sorted(set(_DECLARED) ^ set(EXPANSION_ORDER))}")
FAMILIES: list[PageFamily] = [_DECLARED[name] for name in EXPANSION_ORDER]
