"""``status.html``: every source's state and the renderer's last run."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..model import format as fmt
from .registry import STATUS_INPUT, Page, PageFamily, RenderInputs
from ..sources import SOURCES
from .common import STATUS_PATH

STATUS_FAMILY = "status"         # the family that reads only STATUS_INPUT (the renderer skips its manifest save)


def expand_status(inputs: RenderInputs) -> Iterator[Page]:
    yield Page(STATUS_PATH, "status.mako", status_view(inputs.status))


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
        "daemon_state": _daemon_state(daemon),
        "stopped_at": _time(daemon.get("stopped_at")),
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
        "last_error": error if isinstance(error, str) and error else None,
        "last_error_at": _time(src.get("last_error_at")),
        "failures": fmt.count(src.get("failures")),
    }


def _daemon_state(daemon: dict[str, Any]) -> str:
    """"running", "once" (a one-shot ``alliumd --once``), "stopped" (graceful stop) or "unknown".

    The page outlives the process that wrote it, so it must not claim a daemon runs
    when the last writer was a one-shot run or a daemon that has since stopped.
    """
    state = daemon.get("state")
    if state in ("once", "stopped"):
        return state
    return "running" if daemon.get("running") is True else "unknown"


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _text(value: Any, default: str = fmt.MISSING) -> str:
    return value if isinstance(value, str) and value else default


def _time(value: Any) -> str:
    return fmt.timestamp(fmt.parse_iso_time(value)) if value is not None else fmt.MISSING


FAMILIES = [PageFamily(STATUS_FAMILY, frozenset({STATUS_INPUT}), expand_status,
                       description="sources and renderer status", paths=(STATUS_PATH,),
                       nav=(90, "Status", STATUS_PATH))]
