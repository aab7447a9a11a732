"""``search.html`` (a form, the browse lists, and a small script) and ``search-index.json``.

The page itself holds no data, but it names the details document the index
was built from (its "Data:" line); the index reads details only.  Without JavaScript the page is still useful: it links every
browse listing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from ..model import groups as gm
from ..model.search import build_search_index
from .registry import ModelSpec, Page, PageFamily, RenderInputs
from . import common
from .common import DETAILS_ONLY
from .groups import groups_model


def expand_search_page(inputs: RenderInputs) -> Iterator[Page]:
    browse = [{"title": gm.LIST_TITLES[k], "href": common.list_path(k, "bandwidth")} for k in gm.LIST_KINDS]
    # the index's publication is in the view, not only in the chrome: the page is rewritten with its index
    yield Page(common.SEARCH_PATH, "search.mako", {"browse": browse, "index_path": common.SEARCH_INDEX_PATH,
                                                   "index_published": common.relays(inputs).published})


def expand_search_index(inputs: RenderInputs) -> Iterator[Page]:
    yield Page(common.SEARCH_INDEX_PATH, "search-index.json", inputs.model("search_index").view, content_type="json")


@dataclass(frozen=True)
class SearchIndex:
    view: dict
    memo: dict = field(repr=False, compare=False)      # per relay: what its entry was made from (model/search.py)


def build_index_model(inputs: RenderInputs) -> SearchIndex:
    """Built once per details version; a relay whose view, group keys and row are unchanged keeps its entry."""
    previous = inputs.previous("search_index")
    memo: dict = {}
    view = build_search_index(common.relays(inputs), groups_model(inputs),
                              previous.memo if previous is not None else None, memo)
    return SearchIndex(view, memo)


MODELS = [ModelSpec("search_index", DETAILS_ONLY, build_index_model)]


FAMILIES = [
    # the page holds no data, but it reads details for its "Data:" line: what it searches is the index
    # built from them, so it says when that was published (its view holds it: rewritten with the index)
    PageFamily("search_page", DETAILS_ONLY, expand_search_page, required=DETAILS_ONLY, description="search form",
               paths=(common.SEARCH_PATH,), nav=(80, "Search", common.SEARCH_PATH)),
    PageFamily("search_index", DETAILS_ONLY, expand_search_index, required=DETAILS_ONLY,
               description="search index for search.js", paths=(common.SEARCH_INDEX_PATH,)),
]
