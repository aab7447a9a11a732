"""Sorted listings (``lists/<kind>-by-<variant>.html``) and the top relays (``relays/top.html``).

Five kinds × allium's 18 sort variants.  Seventeen variants read details
only; ``total-data`` is its own family because it also reads bandwidth.
The top page sorts by consensus weight, says so, and reads uptime for its
uptime column.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..model import format as fmt, groups as gm
from .registry import Deferred, ModelSpec, Page, PageFamily, RenderInputs
from . import common
from .common import BANDWIDTH, DETAILS, DETAILS_ONLY, UPTIME
from .groups import group_href, groups_model, optional_model

TOP_COUNT = 500


def list_nav() -> dict[str, Any]:
    """Links between listings: every kind (by bandwidth) and every variant."""
    return {"kinds": [{"kind": k, "title": gm.LIST_TITLES[k]} for k in gm.LIST_KINDS],
            "variants": [{"variant": v.name, "title": v.title} for v in gm.VARIANTS]}


def list_row(group: gm.Group) -> dict[str, Any]:
    """A group's row in every listing of its kind (the sorted value is added per listing)."""
    return {
        "href": group_href(group.kind, group.id),
        "label": group.label,
        "relays": f"{group.running:,} / {group.size:,}",
        "roles": " / ".join(f"{group.role_count[role]:,}" for role in ("exit", "guard", "middle")),
        "bandwidth": fmt.bandwidth(group.bandwidth),
        "consensus_weight_fraction": fmt.percent(group.weight_fraction),
    }


@dataclass(frozen=True)
class ListRows:
    """Kind → group id → row (shared by the 18 listings of a kind) and the groups they were made from."""

    rows: dict[str, dict[str, dict[str, Any]]]
    groups: dict[str, dict[str, gm.Group]]


def build_list_rows(inputs: RenderInputs) -> ListRows:
    """Rows of every listed group; a group object kept by the groups model (not re-aggregated) keeps its row."""
    groups = groups_model(inputs)
    previous = inputs.previous("list_rows")
    rows = {}
    for kind in gm.LIST_KINDS.values():
        old_groups = previous.groups.get(kind, {}) if previous is not None else {}
        old_rows = previous.rows.get(kind, {}) if previous is not None else {}
        by_id = {gid: old_rows[gid] if old_groups.get(gid) is g else list_row(g)
                 for gid, g in groups.groups[kind].items()}
        rows[kind] = by_id
    return ListRows(rows, {kind: groups.groups[kind] for kind in rows})


# listings whose sorted column repeats a fixed column: that column is left out (one number, one column)
REPEATS = {"bandwidth": "observed", "overall-bandwidth": "observed", "consensus-weight": "share"}


def list_view(list_kind: str, variant_name: str, shown: list[tuple[dict[str, Any], Any]],
              available: bool = True) -> dict[str, Any]:
    """A listing's view: ``shown`` is its (row, sort value) pairs in order (see :func:`list_page`)."""
    variant = gm.VARIANT_BY_NAME[variant_name]
    # (the kind's shared row, this listing's sorted value): list.mako reuses a row's HTML by its identity
    rows = [(row, variant.text(v) if v is not None else fmt.MISSING) for row, v in shown]
    return {
        "list_kind": list_kind,
        "kind_title": gm.LIST_TITLES[list_kind],
        "variant": variant.name,
        "variant_title": variant.title,
        "sorted_title": variant.title.capitalize(),
        "entries": fmt.counted(len(rows), "entry", "entries"),
        "ascending": variant.ascending,
        "show_observed": REPEATS.get(variant.name) != "observed",
        "show_share": REPEATS.get(variant.name) != "share",
        "available": available,
        "rows": rows,
        "nav": list_nav(),
    }


def list_page(groups: gm.GroupsModel, rows: ListRows, list_kind: str, variant: gm.Variant,
              values: dict[str, Any] | None = None, available: bool = True) -> Page:
    """One listing as a deferred page: its (row, sort value) pairs in order.

    A new details document changes few listings (one relay's change moves no
    group in most of the 85), and the rows of unchanged groups are the same
    objects as last time, so the derived key (pages/pagekey.py) is reused by
    an equality check instead of hashing thousands of rows, and the view is
    built only for listings that changed.
    """
    kind = gm.LIST_KINDS[list_kind]
    order = gm.sorted_groups(groups, kind, variant, values) if available else []
    base = rows.rows[kind]
    shown = [(base[g.id], v) for g, v in order]
    return Page(common.list_path(list_kind, variant.name), "list.mako",
                Deferred(list_view, (list_kind, variant.name, shown, available)))


def expand_lists(inputs: RenderInputs) -> Iterator[Page]:
    groups = groups_model(inputs)
    rows = inputs.model("list_rows")
    for variant in gm.VARIANTS:
        if variant.needs_bandwidth:
            continue
        for list_kind in gm.LIST_KINDS:
            yield list_page(groups, rows, list_kind, variant)


def expand_total_data_lists(inputs: RenderInputs) -> Iterator[Page]:
    groups = groups_model(inputs)
    rows = inputs.model("list_rows")
    totals = inputs.model("group_total_data")
    for variant in gm.VARIANTS:
        if not variant.needs_bandwidth:
            continue
        for list_kind, kind in gm.LIST_KINDS.items():
            yield list_page(groups, rows, list_kind, variant, totals.get(kind, {}), available=bool(totals))


def build_group_total_data(inputs: RenderInputs) -> dict[str, dict[str, int | None]]:
    """Per kind and group: total data of its relays ({} without bandwidth data)."""
    return gm.group_total_data(groups_model(inputs), optional_model(inputs, "bandwidth"))


def top_view(groups: gm.GroupsModel, relays: list[dict[str, Any]], uptime: Any) -> dict[str, Any]:
    top = [r for r in relays if r["running"]][:TOP_COUNT]       # the model is sorted by weight
    rows = []
    for relay in top:
        row = dict(groups.rows[relay["fingerprint"]])
        row["consensus_weight_fraction"] = relay["consensus_weight_fraction_text"]
        row["uptime"] = gm.uptime_text(gm.relay_uptime(uptime, relay["fingerprint"]))
        row["consensus_weight_text"] = fmt.count(relay["consensus_weight"])
        rows.append(row)
    return {"measure": "consensus weight", "limit": TOP_COUNT, "uptime_available": uptime is not None,
            "rows": rows, "shown_count": fmt.count(len(rows))}


def expand_top(inputs: RenderInputs) -> Iterator[Page]:
    yield Page(common.TOP_PATH, "top.mako",
               top_view(groups_model(inputs), common.relays(inputs).relays, optional_model(inputs, "uptime")))


def list_paths(*, total_data: bool) -> tuple[str, ...]:
    """Every listing of the variants that do (or do not) need bandwidth: each is written, even when empty."""
    return tuple(common.list_path(k, v.name) for v in gm.VARIANTS if v.needs_bandwidth == total_data
                 for k in gm.LIST_KINDS)


MODELS = [ModelSpec("group_total_data", frozenset({DETAILS, BANDWIDTH}), build_group_total_data),
          ModelSpec("list_rows", DETAILS_ONLY, build_list_rows)]

FAMILIES = [
    PageFamily("lists", DETAILS_ONLY, expand_lists, required=DETAILS_ONLY,
               description="groups sorted by 17 measures (5 kinds)", paths=list_paths(total_data=False),
               nav=(70, "Browse", common.list_path("families", "bandwidth")), warm=True),
    PageFamily("lists_total_data", frozenset({DETAILS, BANDWIDTH}), expand_total_data_lists,
               required=DETAILS_ONLY, description="groups sorted by total data (5 kinds)",
               paths=list_paths(total_data=True)),
    PageFamily("top", frozenset({DETAILS, UPTIME}), expand_top, required=DETAILS_ONLY,
               description="top 500 running relays by consensus weight", paths=(common.TOP_PATH,),
               nav=(30, "Top relays", common.TOP_PATH)),
]
