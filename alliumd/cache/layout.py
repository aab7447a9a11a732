"""Onionoo's line layout, written and read here only: envelope members, then one item per line.

Onionoo's documents put the envelope members on their own lines and one
relay per line; alliumd's summaries (``<source>.summary.json``) are written
the same way (:func:`summary_document`), one ``"FINGERPRINT":relay`` line per
relay, sorted.  The renderer reads both line by line (:func:`split_lines`),
so a model can be built relay by relay without first materialising the
whole document, and can tell which relays' lines changed since last time;
a fetcher reads its previous summary's lines (:func:`summary_relays`) to
reuse the summaries of unchanged relays.

    {"format": 2, "source": "onionoo_uptime", "relays_published": "…", …
    "relays":{
    "FINGERPRINT":relay,
    …
    }}
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..core.jsonx import dumps, loads


def summary_document(head: dict[str, Any], relays: dict[str, bytes]) -> bytes:
    """The summary document: ``head`` members, then one ``"FP":relay`` line per relay, sorted.

    Joined once from the relays' own bytes objects: a line per relay, then
    the body, then the document would be three copies of an uptime summary
    (~12 MB each) at the fetcher's peak.
    """
    parts = [dumps(head)[:-1], b',\n"relays":{\n']
    separator = b'"'
    for fp in sorted(relays):
        parts += (separator, fp.encode(), b'":', relays[fp])
        separator = b',\n"'
    parts.append(b"\n}}")
    return b"".join(parts)


def summary_relays(doc: bytes) -> dict[bytes, bytes]:
    """A summary document's relays as written by :func:`summary_document`: fingerprint → relay JSON (bytes).

    Lines of any other shape are skipped: a caller that needs the whole
    document valid parses it; this serves lookups of known relays.
    """
    relays = {}
    for line in doc.split(b"\n"):
        line = line[:-1] if line.endswith(b",") else line
        if line[:1] == b'"' and line[41:43] == b'":':
            relays[line[1:41]] = line[43:]
    return relays


def split_item(item: bytes | memoryview) -> tuple[str, str] | None:
    """One summary line ``"FINGERPRINT":{…}`` → (fingerprint, relay JSON); None if it is not one."""
    if item[:1] != b'"' or item[41:43] != b'":':
        return None
    try:
        return str(item[1:41], "ascii"), str(item[43:], "utf-8")
    except UnicodeDecodeError:
        return None


@dataclass
class Lines:
    """A document in Onionoo's layout: its envelope and the raw JSON of each item of one member.

    For an array member an item is one element (``{...}``); for an object
    member it is one ``"key":value`` pair.  Items are unparsed slices of the
    file's bytes (memoryviews: no copies), so a model can parse them one at
    a time and recognise unchanged ones.
    """

    envelope: dict[str, Any]
    items: list[memoryview]


_SPACE = frozenset(b" \t\r")


def split_lines(data: bytes, member: str) -> Lines | None:
    """Split ``data`` by lines if it has Onionoo's layout for ``member``; None otherwise.

    The layout: ``{`` plus envelope members on the first lines, then a line
    ``"<member>":[`` (or ``{``), one item per line (a trailing comma between
    items), a line starting with ``]`` (or ``}``), and envelope members after
    it.  Anything else returns None and the caller parses the whole document,
    which is always correct, only slower.  Items are not parsed here.
    """
    opener = b'"' + member.encode() + b'":'
    start = data.find(b"\n" + opener)
    if start < 0:
        return None
    line_end = data.find(b"\n", start + 1)
    if line_end < 0:
        return None
    open_line = data[start + 1:line_end].strip()
    if open_line not in (opener + b"[", opener + b"{"):
        return None
    closer = b"]" if open_line.endswith(b"[") else b"}"
    close = data.find(b"\n" + closer, line_end)
    if close < 0:
        return None
    items = _items(data, line_end + 1, close)
    if items is None:
        return None
    tail = data[close + 1:].strip()          # "]}" or "],\n...more members...}"
    head = data[:start].strip()
    if not head.startswith(b"{") or not tail.startswith(closer):
        return None
    rest = tail[1:].strip()
    if rest == b"}":
        rest_members = b""
    elif rest.startswith(b","):
        rest_members = rest[1:].strip()
        if not rest_members.endswith(b"}"):
            return None
        rest_members = rest_members[:-1]
    else:
        return None
    head_members = head[1:].strip()
    if head_members and not head_members.endswith(b","):
        return None
    envelope_json = b"{" + head_members.rstrip(b",") + (b"," if head_members and rest_members else b"") + \
        rest_members + b"}"
    try:
        envelope = loads(envelope_json)
    except ValueError:
        return None
    if not isinstance(envelope, dict) or member in envelope:
        return None
    envelope.pop("bridges", None)           # parsed with the envelope, needed by no model
    return Lines(envelope, items)


def _items(data: bytes, start: int, end: int) -> list[memoryview] | None:
    """The lines of ``data[start:end]`` without their separating commas; None on a layout surprise."""
    view = memoryview(data)
    items: list[memoryview] = []
    pos = start
    while pos < end:
        newline = data.find(b"\n", pos, end)
        stop = end if newline < 0 else newline
        a, b = pos, stop
        while a < b and data[a] in _SPACE:
            a += 1
        while b > a and data[b - 1] in _SPACE:
            b -= 1
        last = newline < 0
        if a == b:
            return None                     # a blank line
        if not last:
            if data[b - 1] != 0x2C:         # ","
                return None
            b -= 1
        elif data[b - 1] == 0x2C:
            return None
        items.append(view[a:b])
        pos = stop + 1
    return items
