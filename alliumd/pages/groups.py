"""Group entity pages: one page per family, AS, contact, country, platform, flag and first-seen day.

Each kind is its own family so that it reads only the sources it shows:
AS, country, platform and first-seen pages read details; flag pages add
uptime; contact and family pages add uptime and bandwidth.  Contact, family,
AS and country pages also publish their view model as ``index.json``.
A view holds only what its page shows, so an unrelated change elsewhere in
the network leaves it (and its bytes) untouched.

Contact pages also show their operator's AROI validation and read the
``aroi`` source.  Their page key is derived from their view's arguments
(which include the operator's validation status) and reused while those
are the same objects or equal: a new validator run re-renders only the
contacts whose status changed, without building the other views.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any


from ..model import aroi as aroi_model, groups as gm
from .pagekey import same_arguments
from .registry import Deferred, ModelSpec, Page, PageFamily, RenderInputs
from .templates import template_dir
from . import common, events as event_pages
from .group_text import group_text
from .common import BANDWIDTH, DETAILS, DETAILS_ONLY, UPTIME

GROUP_PATHS: dict[str, Callable[[str], str]] = {
    "family": common.family_path,
    "as": common.as_path,
    "contact": common.contact_path,
    "country": common.country_path,
    "platform": common.platform_path,
    "flag": common.flag_path,
    "first_seen": common.first_seen_path,
}
WITH_JSON = frozenset({"contact", "family", "as", "country"})
AROI = "aroi"
GROUP_CSS_PATH = "static/groups.css"
SEARCH_JS_PATH = "static/search.js"


def groups_model(inputs: RenderInputs) -> gm.GroupsModel:
    return inputs.model("groups")


def optional_model(inputs: RenderInputs, name: str) -> Any:
    """A model that may not be registered (yet) or may have no data: None means "no data"."""
    try:
        return inputs.model(name)
    except KeyError as e:
        if e.args == (name,):        # the model is not registered; any other KeyError is a bug
            return None
        raise


def group_href(kind: str, gid: str) -> str:
    return GROUP_PATHS[kind](gid)


CHART_KINDS = frozenset({"contact", "family"})


def with_uptime_chart(view: dict[str, Any]) -> dict[str, Any]:
    """``view`` plus its relays' uptime chart (None without uptime data).

    Derived from the view's own rows only, so whatever keys or hashes the
    view also covers the chart; the JSON page keeps the plain view.
    """
    return {**view, "uptime_chart": gm.uptime_chart(view["relays"])}


def html_view(view: dict[str, Any], *, chart: bool = False) -> dict[str, Any]:
    """An HTML page's view: ``view`` (with the uptime chart when ``chart``) and the page's wording of it
    (pages/group_text.py); the JSON page keeps the plain view."""
    view = with_uptime_chart(view) if chart else view
    return {**view, "shown": group_text(view)}


def contact_details(group: gm.Group, aroi: dict[str, Any] | None = None) -> dict[str, Any]:
    """The contact texts (shown as text), the AROI domain and the operator's AROI validation.

    The domain is a strict (punycode) domain, so its https link can only
    point at that host; ``aroi`` is ``model.aroi.operator_view`` (None
    without the AROI model).
    """
    domain = group.id if "." in group.id else None      # contact hashes are hex, domains have dots
    return {"aroi_domain": domain, "aroi_url": f"https://{domain}/" if domain else None,
            "texts": gm.contact_texts(group), "aroi": aroi}


def related_groups(groups: gm.GroupsModel, group: gm.Group) -> list[dict[str, Any]]:
    """A contact's families and a family's contacts, as links."""
    if group.kind == "contact":
        kind, ids = "family", group.families
    elif group.kind == "family":
        kind, ids = "contact", group.contacts
    else:
        return []
    out = []
    for gid in sorted(ids):
        other = groups.groups[kind][gid]
        out.append({"kind": kind, "href": group_href(kind, gid), "label": other.label, "relays": other.size})
    return out


# -- contact pages: keyed, with the operator's AROI status ----------------------------------------

def contact_view(group: gm.Group, rows: list[dict[str, Any]], history: dict[str, Any],
                 related: list[dict[str, Any]], aroi: dict[str, Any] | None, events: tuple = ()) -> dict[str, Any]:
    """A contact page's view from exactly what its key covers (see :func:`build_contact_pages`)."""
    return {"kind": group.kind, "id": group.id, "label": group.label, "summary": gm.summary(group),
            "history": history, "contact": contact_details(group, aroi), "related": related, "relays": rows,
            "events": event_pages.group_events_section(events, group.size, group.fingerprints, metrics=True)}


def contact_page_view(*args: Any) -> dict[str, Any]:
    """A contact's HTML view: :func:`contact_view` with the uptime chart and the page's wording."""
    return html_view(contact_view(*args), chart=True)


def build_contact_pages(inputs: RenderInputs) -> dict[str, tuple]:
    """Per contact: the arguments of its view (its page key is derived from them: pages/pagekey.py).

    A contact whose arguments are all the same objects (or equal) as last
    time keeps its old tuple (the groups and rows models share unchanged
    objects between versions), so the renderer reuses its key without
    hashing: an AROI-only change then costs a comparison per contact.
    """
    groups = groups_model(inputs)
    rows_model = inputs.model("group_rows_data")
    aroi = inputs.model(AROI)
    recent = inputs.model("history").contacts
    previous = inputs.previous("contact_pages") or {}
    out = {}
    for gid, group in groups.groups["contact"].items():
        rows = rows_model.rows_of(group)
        status = aroi_model.operator_view(aroi.operators.get(gid), aroi.validator_available)
        args = (group, rows, rows_model.summary(group), related_groups(groups, group), status, recent.get(gid, ()))
        old = previous.get(gid)
        out[gid] = old if old is not None and same_arguments(old, args) else args
    return out


def expand_contact(inputs: RenderInputs) -> Iterator[Page]:
    """Contact pages; the AROI source's stale and sample markers (not in the model: a stale flip
    changes no document) are added to each view here."""
    source = inputs.sources.get(AROI)
    markers = {"validator_stale": bool(source and source.stale), "validator_sample": bool(source and source.sample)}
    for gid, args in inputs.model("contact_pages").items():
        path = group_href("contact", gid)
        view_args = (*args[:4], {**args[4], **markers}, *args[5:])
        yield Page(path, "group.mako", Deferred(contact_page_view, view_args))
        yield Page(common.entity_json_path(path), "group.mako", Deferred(contact_view, view_args),
                   content_type="json")


def group_args(groups: gm.GroupsModel, group: gm.Group, rows_model: gm.HistoryRows | None,
               events: tuple | None) -> tuple:
    """What a (non-contact) group page shows, as the arguments of :func:`plain_group_view`.

    The group and its rows are the objects the models keep for unchanged
    groups and relays, so a group untouched by a new document gets equal
    arguments and keeps its derived key without its view being built.
    """
    if rows_model is not None:
        rows, history = rows_model.rows_of(group), rows_model.summary(group)
    else:
        rows, history = [groups.rows[fp] for fp in group.fingerprints], None
    return group, rows, history, related_groups(groups, group), events


def plain_group_view(group: gm.Group, rows: list[dict[str, Any]], history: dict[str, Any] | None,
                     related: list[dict[str, Any]], events: tuple | None) -> dict[str, Any]:
    """A family, AS, country, platform, flag or first-seen page (and its JSON) from :func:`group_args`."""
    view = {"kind": group.kind, "id": group.id, "label": group.label, "summary": gm.summary(group),
            "history": history, "contact": contact_details(group) if group.kind == "contact" else None,
            "related": related, "relays": rows}
    if events is not None:
        view["events"] = event_pages.group_events_section(events, group.size, group.fingerprints)
    return view


def html_group_view(*args: Any) -> dict[str, Any]:
    """:func:`plain_group_view` as the HTML page shows it (its wording, pages/group_text.py)."""
    return html_view(plain_group_view(*args))


def charted_group_view(*args: Any) -> dict[str, Any]:
    """:func:`html_group_view` with the relays' uptime chart (family and flag pages)."""
    return html_view(plain_group_view(*args), chart=True)


def _pages(inputs: RenderInputs, kind: str, *, history: bool = False) -> Iterator[Page]:
    groups = groups_model(inputs)
    rows = None
    if history:
        rows = inputs.model("group_rows_data" if kind in ("contact", "family") else "group_rows_uptime")
    recent = inputs.model("history").families if kind == "family" else None
    page_view = charted_group_view if history and kind in CHART_KINDS else html_group_view
    for group in groups.groups[kind].values():
        path = group_href(kind, group.id)
        args = group_args(groups, group, rows, recent.get(group.id, ()) if recent is not None else None)
        yield Page(path, "group.mako", Deferred(page_view, args))
        if kind in WITH_JSON:
            yield Page(common.entity_json_path(path), "group.mako", Deferred(plain_group_view, args),
                       content_type="json")


def expand_family(inputs: RenderInputs) -> Iterator[Page]:
    return _pages(inputs, "family", history=True)


def expand_flag(inputs: RenderInputs) -> Iterator[Page]:
    return _pages(inputs, "flag", history=True)


def expand_as(inputs: RenderInputs) -> Iterator[Page]:
    return _pages(inputs, "as")


def expand_country(inputs: RenderInputs) -> Iterator[Page]:
    return _pages(inputs, "country")


def expand_platform(inputs: RenderInputs) -> Iterator[Page]:
    return _pages(inputs, "platform")


def expand_first_seen(inputs: RenderInputs) -> Iterator[Page]:
    return _pages(inputs, "first_seen")


def expand_static(inputs: RenderInputs) -> Iterator[Page]:
    """The group/list stylesheet and the search script, byte for byte from the templates package."""
    for name, path in (("groups.css", GROUP_CSS_PATH), ("search.js", SEARCH_JS_PATH)):
        yield Page(path, name, {"body": (template_dir() / name).read_bytes()}, content_type="raw")


_HISTORY = frozenset({DETAILS, UPTIME, BANDWIDTH})
_CONTACT = _HISTORY | {AROI}

def build_rows(inputs: RenderInputs, name: str, *, total_data: bool) -> gm.HistoryRows:
    return gm.history_rows(groups_model(inputs), optional_model(inputs, "uptime"),
                           optional_model(inputs, "bandwidth") if total_data else None, total_data,
                           inputs.previous(name))


MODELS = [
    ModelSpec("groups", DETAILS_ONLY,
              lambda inputs: gm.build_groups(common.relays(inputs), inputs.previous("groups"))),
    # rows of the flag pages (6-month uptime) and of the contact and family pages (also total data)
    ModelSpec("group_rows_uptime", frozenset({DETAILS, UPTIME}),
              lambda inputs: build_rows(inputs, "group_rows_uptime", total_data=False)),
    ModelSpec("group_rows_data", frozenset({DETAILS, UPTIME, BANDWIDTH}),
              lambda inputs: build_rows(inputs, "group_rows_data", total_data=True)),
    ModelSpec("contact_pages", _CONTACT, build_contact_pages),
]

FAMILIES = [
    PageFamily("group_static", frozenset(), expand_static, description="group stylesheet and search script",
               paths=(GROUP_CSS_PATH, SEARCH_JS_PATH)),
    PageFamily("group_family", _HISTORY | {AROI}, expand_family, required=DETAILS_ONLY, chrome=_HISTORY,
               description="one page per family (relays linked by effective_family), with its members' events"),
    PageFamily("group_contact", _CONTACT, expand_contact, required=DETAILS_ONLY,
               description="one page per operator contact (AROI domain or contact hash)",
               chrome=_HISTORY),      # AROI: stated in the page's AROI section, so a validator run
                                      # rewrites only the contacts whose status changed
    PageFamily("group_as", DETAILS_ONLY, expand_as, required=DETAILS_ONLY, description="one page per AS"),
    PageFamily("group_country", DETAILS_ONLY, expand_country, required=DETAILS_ONLY,
               description="one page per country"),
    PageFamily("group_platform", DETAILS_ONLY, expand_platform, required=DETAILS_ONLY,
               description="one page per operating system", warm=True),
    PageFamily("group_flag", frozenset({DETAILS, UPTIME}), expand_flag, required=DETAILS_ONLY,
               description="one page per relay flag", warm=True),
    PageFamily("group_first_seen", DETAILS_ONLY, expand_first_seen, required=DETAILS_ONLY,
               description="one page per first-seen day"),
]
