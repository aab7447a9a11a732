"""Onionoo's line layout, read strictly (onionoo_stream.py's reader): the envelope members on their own
lines and one relay object per line, every line parsed and the commas between them checked.  Anything
else raises _NotLineOriented and the document is read by one full parse (``_read_whole``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core import jsonx
from . import InvalidDocument
from . import stored, strictjson
from .onionoo import check_envelope

loads = jsonx.loads      # module name: tests swap in the stdlib reader

RELAYS = "relays"
SKIPPED_ARRAYS = frozenset({"bridges"})     # parsed by nobody: shape-checked only, never kept
_OPENER_RE = re.compile(rb'^("(?:[^"\\]|\\.)*")\s*:\s*\[$')


class _NotLineOriented(Exception):
    """Internal: the layout is not Onionoo's; read the document with a full parse."""


@dataclass
class Streamed:
    """What a read produced: the envelope, the reduced relays and how the document was read."""

    published: float                          # relays_published as epoch seconds
    envelope: dict[str, Any]                  # top-level members other than relays and bridges
    relays: list[Any] = field(default_factory=list)   # reduce() results, None results dropped
    seen: int = 0                             # relay objects read
    line_oriented: bool = True


def _read_whole(path: Path, reduce: Callable[[Any, int], Any], limit: int | None = None) -> Streamed:
    """The fallback: one full parse.  The stdlib here, not orjson: on the 242 MB bench uptime
    document it peaks at 2.3 GB instead of 3.4 GB (it shares repeated keys), for 5.6 s instead
    of 4.4 s; memory is what could kill the fetcher."""
    data = stored.read_all(path, limit)
    try:
        doc = strictjson.loads(data)
    except (ValueError, UnicodeDecodeError) as e:
        raise InvalidDocument(f"not valid JSON: {str(e)[:120]}") from None
    except RecursionError:
        raise InvalidDocument("not valid JSON: nested too deeply") from None
    if strictjson.suspect(data):
        _refuse_nonstandard(doc)
    published = check_envelope(doc)
    envelope = {k: v for k, v in doc.items() if k != RELAYS and k not in SKIPPED_ARRAYS}
    out = Streamed(published, envelope, line_oriented=False)
    for i, obj in enumerate(doc[RELAYS]):
        _keep(out, reduce(obj, i))
    out.seen = len(doc[RELAYS])
    return out


def _refuse_nonstandard(doc: Any) -> None:
    """Count the relays holding NaN/Infinity or a lone surrogate and refuse the document (see strictjson)."""
    relays = doc.get(RELAYS) if isinstance(doc, dict) else None
    relays = relays if isinstance(relays, list) else []
    bad = [i for i, r in enumerate(relays) if strictjson.nonstandard(r)]
    envelope = {k: v for k, v in doc.items() if k != RELAYS} if isinstance(doc, dict) else doc
    if bad or strictjson.nonstandard(envelope):
        first = relays[bad[0]] if bad else None
        fp = first.get("fingerprint") if isinstance(first, dict) else None
        raise InvalidDocument(
            f"{len(bad)} of {len(relays)} relays hold NaN/Infinity or a lone surrogate, which the renderer "
            f"cannot read (first: relays[{bad[0] if bad else '-'}] {str(fp)[:40] if fp else ''})".rstrip()
            + "; refused so that no relay page is silently lost")


def _keep(out: Streamed, item: Any) -> None:
    if item is not None:
        out.relays.append(item)


def _read_lines(path: Path, reduce: Callable[[Any, int], Any],
                relay_line: Callable[[bytes], None] | None = None, limit: int | None = None) -> Streamed:
    """The fast path; raises _NotLineOriented as soon as a line breaks Onionoo's layout.

    Each relay line's JSON goes to ``relay_line`` when given (the parallel
    path parses it elsewhere; ``out.seen`` is its count), else it is parsed
    here and reduced.  A gzip-stored document is inflated as it is read, at most ``limit`` bytes.
    """
    envelope: dict[str, Any] = {}
    out = Streamed(0.0, envelope)
    relays_seen = False
    state = "start"            # start → members ⇄ array → end
    array_key = ""
    members = elements = 0     # members of the top object so far; elements of the open array
    more = False               # the previous member/element ended with a comma
    for raw in stored.lines(path, limit):
        s = raw.strip()
        if not s:
            continue
        if state == "start":
            if not s.startswith(b"{"):
                raise _NotLineOriented
            state, s = "members", s[1:].lstrip()
            if not s:
                continue
        if state == "members":
            if s == b"}":
                if more:
                    raise _NotLineOriented
                state = "end"
                continue
            body, more = _item(s, members, more)
            members += 1
            opener = _OPENER_RE.match(body)
            if opener:
                array_key = _member_key(opener.group(1))
                if more or (array_key == RELAYS and relays_seen):
                    raise _NotLineOriented
                if array_key == RELAYS:
                    relays_seen = True
                    _check_version_early(envelope)
                state, elements = "array", 0
                continue
            for key, value in _parse_members(body).items():
                if key == RELAYS:
                    if not isinstance(value, list) or relays_seen:
                        raise _NotLineOriented          # let the full parse decide
                    relays_seen = True
                    _check_version_early(envelope)
                    for obj in value:
                        _keep(out, reduce(obj, out.seen))
                        out.seen += 1
                elif key not in SKIPPED_ARRAYS:
                    envelope[key] = value
            continue
        if state == "array":
            if s.startswith(b"]"):
                if elements and more:
                    raise _NotLineOriented
                rest = s[1:].strip()
                if rest in (b",", b""):
                    state, more = "members", rest == b","
                elif rest == b"}":
                    state = "end"
                else:
                    raise _NotLineOriented
                continue
            body, more = _item(s, elements, more)
            elements += 1
            if array_key == RELAYS:
                if relay_line is not None:
                    relay_line(body)
                else:
                    _keep(out, reduce(_relay_object(body), out.seen))
                out.seen += 1
            elif not (body.startswith(b"{") and body.endswith(b"}")):
                raise _NotLineOriented
            continue
        raise _NotLineOriented     # anything after the closing brace
    if state != "end":
        raise _NotLineOriented
    if not relays_seen:
        raise InvalidDocument("'relays' missing or not a list")
    out.published = check_envelope({**envelope, RELAYS: []})
    return out


def _item(line: bytes, before: int, more: bool) -> tuple[bytes, bool]:
    """A member or element line after ``before`` others: (its text without its comma, whether one follows).
    The one before it must have ended in a comma."""
    if before and not more:
        raise _NotLineOriented
    more = line.endswith(b",")
    return (line[:-1] if more else line), more


def _parsed(text: bytes) -> Any:
    """One JSON value of a line; text that is not JSON means "not Onionoo's layout"."""
    try:
        return loads(text)
    except ValueError:
        raise _NotLineOriented from None


def _relay_object(body: bytes) -> dict:
    """One relay line's object; a line that is not one JSON object means "not Onionoo's layout"."""
    obj = _parsed(body)
    if not isinstance(obj, dict):
        raise _NotLineOriented
    return obj


def _member_key(token: bytes) -> str:
    return _parsed(token)


def _parse_members(body: bytes) -> dict[str, Any]:
    """``"key":value`` (one or more members on one line) → dict."""
    try:
        members = loads(b"{" + body + b"}")
    except ValueError:
        raise _NotLineOriented from None
    if not isinstance(members, dict):
        raise _NotLineOriented
    return members


def _check_version_early(envelope: dict[str, Any]) -> None:
    """Refuse another protocol major before reading its relays with this major's rules."""
    if "version" in envelope:
        check_envelope({"version": envelope["version"], RELAYS: [], "relays_published": "2000-01-01 00:00:00"})
