"""``search.html`` (a form, the browse lists, and a small script) and ``search-index.json``.

The page itself holds no data, so it reads no source; the index reads
details only.  Without JavaScript the page is still useful: it links every
browse listing.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..model import groups as gm
from ..model.search import build_search_index
from ..renderer.registry import Page, PageFamily, RenderInputs
from . import common
from .common import DETAILS_ONLY
from .groups import groups_model


def expand_search_page(inputs: RenderInputs) -> Iterator[Page]:
    browse = [{"title": gm.LIST_TITLES[k], "href": common.list_path(k, "bandwidth")} for k in gm.LIST_KINDS]
    yield Page(common.SEARCH_PATH, "search.mako", {"browse": browse, "index_path": common.SEARCH_INDEX_PATH})


def expand_search_index(inputs: RenderInputs) -> Iterator[Page]:
    view = build_search_index(common.relays(inputs), groups_model(inputs))
    yield Page(common.SEARCH_INDEX_PATH, "search-index.json", view, content_type="json")


FAMILIES = [
    # the page reads no source, but it links the listings and the index, which need details
    PageFamily("search_page", frozenset(), expand_search_page, required=DETAILS_ONLY, description="search form",
               paths=(common.SEARCH_PATH,), nav=(80, "Search", common.SEARCH_PATH)),
    PageFamily("search_index", DETAILS_ONLY, expand_search_index, required=DETAILS_ONLY,
               description="search index for search.js", paths=(common.SEARCH_INDEX_PATH,)),
]
