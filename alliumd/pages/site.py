"""The site's page families and the models they share.

Paths are built from constants and validated fingerprints only, so no
operator-controlled string ever chooses where a page lands.  Views hold plain
data (dicts, lists, str, int, bool); templates turn them into HTML.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..model import format as fmt
from ..model.relays import RelayModel, build_relays
from ..renderer.registry import STATUS_INPUT, ModelSpec, Page, PageFamily, RenderInputs
from ..renderer.templates import template_dir
from ..sources import SOURCES

DETAILS = "onionoo_details"

INDEX_PATH = "index.html"
RELAYS_ALL_PATH = "relays/all.html"
STATUS_PATH = "status.html"
STYLE_PATH = "static/style.css"


def relay_path(fingerprint: str) -> str:
    return f"relay/{fingerprint}/index.html"


MODELS: list[ModelSpec] = [
    ModelSpec("relays", frozenset({DETAILS}), lambda inputs: build_relays(inputs.doc(DETAILS))),
]


def _relays(inputs: RenderInputs) -> RelayModel:
    return inputs.model("relays")


# -- expand functions --------------------------------------------------------------------

def expand_static(inputs: RenderInputs) -> Iterator[Page]:
    """The stylesheet, copied byte for byte from the templates package."""
    body = (template_dir() / "style.css").read_bytes()
    yield Page(STYLE_PATH, "style.css", {"body": body}, content_type="raw")


def expand_index(inputs: RenderInputs) -> Iterator[Page]:
    model = _relays(inputs)
    yield Page(INDEX_PATH, "index.mako", {"published": model.published, "summary": model.summary})


def expand_relays_all(inputs: RenderInputs) -> Iterator[Page]:
    model = _relays(inputs)
    yield Page(RELAYS_ALL_PATH, "relays_all.mako", {
        "published": model.published,
        "relays": model.relays,
        "count": fmt.count(len(model.relays)),
    })


def expand_relay(inputs: RenderInputs) -> Iterator[Page]:
    model = _relays(inputs)
    for relay in model.relays:
        yield Page(relay_path(relay["fingerprint"]), "relay.mako", {
            "published": model.published,
            "relay": relay,
            "family": family_members(relay, model.by_fingerprint),
        })


def family_members(relay: dict[str, Any], by_fingerprint: dict[str, dict]) -> list[dict[str, Any]]:
    """Family members with their nickname when they have a page, bare fingerprint otherwise."""
    members = []
    for fp in relay["family"]:
        other = by_fingerprint.get(fp)
        members.append({"fingerprint": fp, "present": other is not None,
                        "nickname": other["nickname"] if other else None})
    return members


def expand_status(inputs: RenderInputs) -> Iterator[Page]:
    yield Page(STATUS_PATH, "status.mako", status_view(inputs.status))


# -- the status view ---------------------------------------------------------------------

def status_view(status: Any) -> dict[str, Any]:
    """The daemon status snapshot as display strings, tolerant of missing keys.

    Process ids and memory figures are left out on purpose: they change on
    every snapshot and would rewrite the page without telling anyone anything.
    """
    status = status if isinstance(status, dict) else {}
    daemon = _dict(status.get("daemon"))
    renderer = _dict(status.get("renderer"))
    sources = _dict(status.get("sources"))
    order = {name: i for i, name in enumerate(SOURCES)}
    names = sorted(sources, key=lambda n: (order.get(n, len(order)), str(n)))
    return {
        "daemon_running": daemon.get("running") is True,
        "renderer": {
            "state": _text(renderer.get("state")),
            "last_render": _time(renderer.get("last_render")),
            "last_duration": fmt.seconds(renderer.get("last_duration")),
            "pages_written": fmt.count(renderer.get("pages_written")),
            "pages_unchanged": fmt.count(renderer.get("pages_unchanged")),
            "pages_deleted": fmt.count(renderer.get("pages_deleted")),
            "last_error": _text(renderer.get("last_error"), ""),
        },
        "sources": [_source_row(str(name), _dict(sources[name])) for name in names],
    }


def _source_row(name: str, src: dict[str, Any]) -> dict[str, Any]:
    spec = SOURCES.get(name)
    error = src.get("last_error")
    return {
        "name": name,
        "label": _text(src.get("label"), spec.label if spec else name),
        "enabled": "yes" if src.get("enabled") is True else "no",
        "state": _text(src.get("state")),
        "data_time": _time(src.get("data_time")),
        "origin": _text(src.get("origin") or src.get("source")),   # statusview names it "source"
        "stale": src.get("stale") is True,
        "last_success": _time(src.get("last_success")),
        "last_error": error if isinstance(error, str) and error else None,
        "last_error_at": _time(src.get("last_error_at")),
        "failures": fmt.count(src.get("failures")),
        "next_run": _time(src.get("next_run")),
    }


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _text(value: Any, default: str = fmt.MISSING) -> str:
    return value if isinstance(value, str) and value else default


def _time(value: Any) -> str:
    return fmt.timestamp(fmt.parse_iso_time(value)) if value is not None else fmt.MISSING


# -- declarations ------------------------------------------------------------------------

_DETAILS_ONLY = frozenset({DETAILS})

FAMILIES: list[PageFamily] = [
    PageFamily("static", frozenset(), expand_static, description="stylesheet"),
    PageFamily("index", _DETAILS_ONLY, expand_index, required=_DETAILS_ONLY,
               description="network overview"),
    PageFamily("relays_all", _DETAILS_ONLY, expand_relays_all, required=_DETAILS_ONLY,
               description="table of all relays"),
    PageFamily("relay", _DETAILS_ONLY, expand_relay, required=_DETAILS_ONLY,
               description="one page per relay"),
    PageFamily("status", frozenset({STATUS_INPUT}), expand_status,
               description="sources and renderer status"),
]
