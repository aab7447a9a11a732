"""JSON for every process, once: orjson (a dependency: 2-3x faster on the 10-250 MB documents and
summaries), with the stdlib as the fallback writing the same compact JSON."""

from __future__ import annotations

import json
from typing import Any, Callable


def _stdlib_dumps(obj: Any) -> bytes:
    """Compact JSON with the stdlib (what orjson writes, for the fallback and for tests)."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


try:
    import orjson

    loads: Callable[[bytes | str], Any] = orjson.loads
    dumps: Callable[[Any], bytes] = orjson.dumps
    _VIEW_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
except ImportError:                    # pragma: no cover - depends on the environment
    orjson = None
    loads = json.loads
    dumps = _stdlib_dumps

stdlib_dumps = _stdlib_dumps


def view_bytes(view: Any) -> bytes:
    """Deterministic compact JSON for ``<page>.json`` outputs and view hashes (views are plain data)."""
    if orjson is not None:
        try:
            return orjson.dumps(view, default=str, option=_VIEW_OPTIONS)
        except TypeError:              # e.g. a lone surrogate: the stdlib decides what happens
            pass
    return json.dumps(view, ensure_ascii=False, separators=(",", ":"), default=str).encode("utf-8")
