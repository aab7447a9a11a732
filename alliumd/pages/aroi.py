"""The home page and ``aroi/leaderboards.html``: the 19 AROI operator leaderboards, and the AROI models.

Leaderboards are computed once per input version (details, uptime,
bandwidth, AROI validator) by ``model/aroi/``; this module only turns them
into views.  Ranks 1–10 are shown, 11–20 and 21–25 sit in native
``<details>`` disclosures, so "pagination" works without JavaScript.

``index.html`` is the network overview (pages/relays.py builds it) followed by
the same boards, so it reads what the boards read; without validator data
it still renders and says so.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..model import aroi as aroi_model
from ..model.format import counted
from .registry import ModelSpec, Page, PageFamily, RenderInputs
from . import relays as relay_pages
from .common import BANDWIDTH, DETAILS, INDEX_PATH, UPTIME, contact_path

AROI = "aroi"
LEADERBOARDS_PATH = "aroi/leaderboards.html"
SHOWN = 25


def _optional(inputs: RenderInputs, name: str, source: str) -> Any:
    return inputs.model(name) if inputs.has(source) else None


def build_aroi_model(inputs: RenderInputs):
    validator = _optional(inputs, "aroi_validator", AROI)
    return aroi_model.build_aroi(inputs.model("relays"), inputs.model("groups"), validator,
                                 inputs.previous("aroi"))


def build_leaderboards(inputs: RenderInputs):
    return aroi_model.build_leaderboards(inputs.model("relays"), inputs.model("groups"),
                                         _optional(inputs, "uptime", UPTIME),
                                         _optional(inputs, "bandwidth", BANDWIDTH), inputs.model("aroi"),
                                         inputs.previous("leaderboards"),
                                         (inputs.version(UPTIME), inputs.version(BANDWIDTH)),
                                         {a: v["score"] for a, v in inputs.model("as_rarity").scores.items()})


def _entry_view(e: dict[str, Any]) -> dict[str, Any]:
    return {"rank": e["rank"], "href": contact_path(e["id"]), "label": e["label"],
            "aroi_domain": e["aroi_domain"], "status": e["status"],
            "status_text": aroi_model.STATUS_LABELS[e["status"]][0] if e["status"] in aroi_model.STATUS_LABELS
            else None, "relays": e["relays"],
            "value": e["value_text"], "detail": e["detail"], "badge": e["badge"]}


def _category_view(c: dict[str, Any]) -> dict[str, Any]:
    """A board: ranks 1–10 (``first``), then the folded parts (ranks 11–20, 21–25) with their labels."""
    entries = [_entry_view(e) for e in c["entries"][:SHOWN]]
    more = [{"label": f"Ranks {start + 1}–{min(end, len(entries))}", "entries": entries[start:end]}
            for start, end in ((10, 20), (20, SHOWN)) if len(entries) > start]
    return {"key": c["key"], "title": c["title"], "description": c["description"], "entries": entries,
            "first": entries[:10], "more": more}


def leaderboards_view(model) -> dict[str, Any]:
    return {"categories": [_category_view(c) for c in model.categories], "category_count": len(model.categories),
            "operators": model.operators, "inputs": dict(model.inputs),
            "overview": {"rows": model.overview["rows"],
                         "top3": [{**c, "entries": [{**e, "href": contact_path(e["id"])} for e in c["entries"]],
                                   "blanks": [None] * (3 - len(c["entries"]))}
                                  for c in model.overview["top3"]]}}


def expand_leaderboards(inputs: RenderInputs) -> Iterator[Page]:
    yield Page(LEADERBOARDS_PATH, "leaderboards.mako", leaderboards_view(inputs.model("leaderboards")))


def expand_index(inputs: RenderInputs) -> Iterator[Page]:
    """The network overview (pages/relays.py) and the leaderboards: the one family writing index.html."""
    overview = next(iter(relay_pages.expand_index(inputs))).view
    boards = leaderboards_view(inputs.model("leaderboards"))
    boards["lead"] = (f"{counted(boards['operators'], 'operator')} ranked in {boards['category_count']} categories, "
                      "top 25 each; ranks 11–25 open below each board.")
    yield Page(INDEX_PATH, "index.mako", {**overview, "leaderboards": boards, "leaderboards_path": LEADERBOARDS_PATH})


def build_health_card(inputs: RenderInputs) -> dict[str, Any]:
    return aroi_model.health_card(inputs.model("aroi"))


LEADERBOARD_INPUTS = frozenset({DETAILS, UPTIME, BANDWIDTH, AROI})
MODELS = [
    ModelSpec("aroi_validator", frozenset({AROI}), lambda inputs: aroi_model.build_validator(inputs.doc(AROI))),
    ModelSpec("aroi", frozenset({DETAILS, AROI}), build_aroi_model),
    ModelSpec("leaderboards", LEADERBOARD_INPUTS, build_leaderboards),
    ModelSpec("aroi_health_card", frozenset({DETAILS, AROI}), build_health_card),
]
FAMILIES = [PageFamily("leaderboards", LEADERBOARD_INPUTS, expand_leaderboards, required=frozenset({DETAILS}),
                       description="AROI operator leaderboards", paths=(LEADERBOARDS_PATH,),
                       nav=(20, "Leaderboards", LEADERBOARDS_PATH)),
            PageFamily("index", LEADERBOARD_INPUTS, expand_index, required=frozenset({DETAILS}),
                       description="network overview and AROI leaderboards", paths=(INDEX_PATH,),
                       nav=(10, "Overview", INDEX_PATH))]
