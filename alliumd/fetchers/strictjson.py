"""JSON the way every reader of a cache file parses it (orjson), for the stdlib fallback parser.

orjson, which reads relay lines in the fetcher and whole documents in the
renderer, refuses ``NaN``/``Infinity`` and lone UTF-16 surrogates; the
stdlib accepts both.  If the fallback accepted what the renderer refuses,
a relay would pass validation and then silently vanish from the site (its
pages deleted).  So the fallback parses leniently, then counts the relays
carrying such values, and the document is refused with that count.
"""

from __future__ import annotations

import json
import re
from typing import Any


class _NonStandard:
    """Stands in for NaN/Infinity/-Infinity while the relays are checked."""

    def __repr__(self) -> str:
        return "NaN/Infinity"


NONSTANDARD = _NonStandard()
_SUSPECT = re.compile(rb"NaN|Infinity|\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def loads(data: bytes | str) -> Any:
    """json.loads that keeps NaN/Infinity visible as :data:`NONSTANDARD` instead of floats."""
    return json.loads(data, parse_constant=lambda _: NONSTANDARD)


def suspect(data: bytes) -> bool:
    """Cheap pre-check: can ``data`` hold a non-standard constant or a surrogate escape at all?"""
    return _SUSPECT.search(data) is not None


def nonstandard(value: Any) -> bool:
    """True when ``value`` (parsed by :func:`loads`) holds NaN/Infinity or a lone surrogate."""
    stack = [value]
    while stack:
        v = stack.pop()
        if v is NONSTANDARD:
            return True
        if isinstance(v, str):
            try:
                v.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(v, dict):
            stack.extend(v.keys())
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
    return False
