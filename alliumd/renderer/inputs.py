"""Cache files as render inputs: signatures, content hashes, parsed documents, relay lines.

A signature (inode, size, mtime_ns) is cheap to read and changes on every
atomic publish; only when it changes is the file hashed, and only when the
hash changes is the input considered changed (early cutoff: a republished
identical file renders nothing).

Documents are parsed with orjson when it is installed (2-3x faster than the
stdlib on the 10-20 MB cache files; the stdlib is the fallback).  Large
documents in Onionoo's layout (envelope members on their own lines, one
relay per line) can also be read line by line with :func:`split_lines`, so a
model can be built relay by relay without first materialising the whole
document, and can tell which relays' lines changed since last time.
"""

from __future__ import annotations

import calendar
import hashlib
import os
import re
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..core.jsonx import loads
from ..fetchers.onionoo import SAMPLE_KEY

SMALL_DOCUMENT = 2_000_000             # below this, describing a document parses all of it
_HEAD_LIMIT = 1 << 20                  # the envelope of a large document is in its first MB


def signature(path: Path) -> list[int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return [st.st_ino, st.st_size, st.st_mtime_ns]


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def load_document(path: Path) -> Any:
    with open(path, "rb") as f:
        data = f.read()
    try:
        return loads(data)
    except ValueError as e:            # orjson.JSONDecodeError and json.JSONDecodeError are ValueErrors
        raise ValueError(str(e)) from None


def looks_complete(path: Path) -> bool:
    """A cheap availability test: the file exists and is one JSON object from ``{`` to ``}``.

    Fetchers validate every document before publishing it, so a published
    file that starts and ends like an object is a document; the full parse
    (when a model needs it) still turns a corrupt one into "no data".
    """
    try:
        with open(path, "rb") as f:
            head = f.read(64).lstrip()
            size = os.fstat(f.fileno()).st_size
            f.seek(max(0, size - 64))
            tail = f.read().rstrip()
    except (FileNotFoundError, IsADirectoryError):
        return False
    return head[:1] == b"{" and tail[-1:] == b"}"


def describe(path: Path) -> tuple[float | None, bool] | None:
    """(data time, is sample) of a cache file from its envelope; None if it is not readable JSON.

    A large document in Onionoo's layout is described from its first lines
    (the envelope precedes the relay lines); anything else is parsed whole.
    """
    try:
        size = os.stat(path).st_size
    except FileNotFoundError:
        return None
    if size > SMALL_DOCUMENT:
        head = _envelope_head(path)
        if head is not None and "relays_published" in head:
            return document_time(head), SAMPLE_KEY in head
    try:
        doc = load_document(path)
    except (ValueError, FileNotFoundError):
        return None
    return document_time(doc), is_sample(doc)


_OPENER = re.compile(rb'^"[A-Za-z0-9_]+":[\[{]$')


def _envelope_head(path: Path) -> dict[str, Any] | None:
    """The top-level members on the lines before the first ``"name":[`` / ``"name":{`` line."""
    with open(path, "rb") as f:
        head = f.read(_HEAD_LIMIT)
    lines = head.split(b"\n")
    members = []
    for line in lines[:-1]:                       # the last line may be cut
        s = line.strip()
        if _OPENER.match(s):
            break
        members.append(s)
    else:
        return None
    body = b"".join(members).strip()
    if not body.startswith(b"{"):
        return None
    try:
        head_doc = loads(body.rstrip(b",") + b"}")
    except ValueError:
        return None
    return head_doc if isinstance(head_doc, dict) else None


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


def document_time(doc: Any) -> float | None:
    """When the upstream published this document, if it says (Onionoo or AROI validator)."""
    if not isinstance(doc, dict):
        return None
    value = doc.get("relays_published")
    if isinstance(value, str):
        try:
            return float(calendar.timegm(time.strptime(value, "%Y-%m-%d %H:%M:%S")))
        except ValueError:
            return None
    meta = doc.get("metadata")
    if isinstance(meta, dict) and isinstance(meta.get("timestamp"), str):
        try:
            dt = datetime.fromisoformat(meta["timestamp"])
        except ValueError:
            return None
        return (dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)).timestamp()
    return None


def is_sample(doc: Any) -> bool:
    return isinstance(doc, dict) and SAMPLE_KEY in doc
