"""CollecTor's index.json (pure): which consensus, votes and bandwidth files it lists, and which of them
one poll fetches (fetchers/collector.py downloads them).
"""

from __future__ import annotations

import bz2
import calendar
import gzip
import io
import json
import lzma
import re
import time
from dataclasses import dataclass

from ..summaries import votes
from . import InvalidDocument

DIRS = {"consensus": "recent/relay-descriptors/consensuses",
        "vote": "recent/relay-descriptors/votes",
        "bandwidth": "recent/relay-descriptors/bandwidths"}
VOTE_WINDOW = 24 * 3600          # an authority silent for longer is no longer listed

_TIME = r"(\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d)"
NAME_RES = {"consensus": re.compile(_TIME + r"-consensus"),
            "vote": re.compile(_TIME + r"-vote-([0-9A-F]{40})-([0-9A-F]{40})"),
            "bandwidth": re.compile(_TIME + r"-bandwidth-([0-9A-F]{64})")}


@dataclass(frozen=True)
class IndexFile:
    role: str                      # "consensus" | "vote" | "bandwidth"
    name: str                      # the file name (validated by NAME_RES)
    time: float                    # epoch from the name (valid-after, or the bandwidth file's time)
    size: int | None
    sha256: str | None             # lower hex of the served bytes, when the index says
    authority: str | None = None   # votes: the v3 identity in the name
    digest: str | None = None      # bandwidth files: the sha256 (upper hex) in the name

    @property
    def stamp(self) -> str:
        return self.name[:19]


def decompress(data: bytes, limit: int) -> bytes:
    """index.json as served, or its .gz/.xz/.bz2 copy (by magic), at most ``limit`` bytes decoded."""
    raw = io.BytesIO(data)
    if data[:2] == b"\x1f\x8b":
        reader = gzip.GzipFile(fileobj=raw)
    elif data[:6] == b"\xfd7zXZ\x00":
        reader = lzma.LZMAFile(raw)
    elif data[:3] == b"BZh":
        reader = bz2.BZ2File(raw)
    else:
        return data
    try:
        with reader:
            out = reader.read(limit + 1)
    except (OSError, EOFError, lzma.LZMAError) as e:
        raise InvalidDocument(f"index: corrupt compressed data ({e})") from None
    if len(out) > limit:
        raise InvalidDocument(f"index: decompresses to more than {limit} bytes")
    return out


def parse_index(data: bytes) -> list[IndexFile]:
    """The consensus, vote and bandwidth files an index.json lists (other directories ignored)."""
    try:
        index = json.loads(data)
    except (ValueError, UnicodeDecodeError) as e:
        raise InvalidDocument(f"index is not JSON: {str(e)[:120]}") from None
    if not isinstance(index, dict) or not isinstance(index.get("index_created"), str):
        raise InvalidDocument("not a CollecTor index (no index_created)")
    out: list[IndexFile] = []
    for role, path in DIRS.items():
        node = _directory(index, path.split("/"))
        for entry in (node or {}).get("files") or []:
            if isinstance(entry, dict):
                item = _index_file(role, entry)
                if item is not None:
                    out.append(item)
    return out


def _directory(node: dict, parts: list[str]) -> dict | None:
    for part in parts:
        subs = node.get("directories") if isinstance(node, dict) else None
        node = next((d for d in subs or [] if isinstance(d, dict) and d.get("path") == part), None)
        if node is None:
            return None
    return node


def _index_file(role: str, entry: dict) -> IndexFile | None:
    name = entry.get("path")
    m = NAME_RES[role].fullmatch(name) if isinstance(name, str) else None
    if m is None:
        return None                # other file kinds (e.g. a future naming) are not ours
    size = entry.get("size")
    sha = votes.sha256_hex(entry["sha256"]) if isinstance(entry.get("sha256"), str) else None
    when = _name_time(m.group(1))
    if when is None:
        return None
    return IndexFile(role, name, when, size if isinstance(size, int) and size >= 0 else None,
                     sha.lower() if sha else None,
                     authority=m.group(2) if role == "vote" else None,
                     digest=m.group(2) if role == "bandwidth" else None)


def _name_time(stamp: str) -> float | None:
    try:
        return float(calendar.timegm(time.strptime(stamp, "%Y-%m-%d-%H-%M-%S")))
    except ValueError:
        return None


@dataclass(frozen=True)
class Selection:
    consensus: IndexFile
    votes: list[IndexFile]             # one per authority, sorted by authority
    bandwidths: list[IndexFile]        # every bandwidth file listed (candidates)


def select(files: list[IndexFile]) -> Selection:
    """The newest consensus (hour T), each authority's vote for T (or its newest of the last day)."""
    consensuses = [f for f in files if f.role == "consensus"]
    if not consensuses:
        raise InvalidDocument("the index lists no consensus in recent/relay-descriptors/consensuses")
    consensus = max(consensuses, key=lambda f: (f.time, f.name))
    best: dict[str, IndexFile] = {}
    for f in files:
        if f.role != "vote" or f.time > consensus.time or f.time < consensus.time - VOTE_WINDOW:
            continue
        held = best.get(f.authority)
        if held is None or (f.time, f.name) > (held.time, held.name):
            best[f.authority] = f
    return Selection(consensus, [best[a] for a in sorted(best)],
                     sorted((f for f in files if f.role == "bandwidth"), key=lambda f: f.name))


def match_bandwidth(ref: votes.BandwidthRef | None, candidates: list[IndexFile]) -> IndexFile | None:
    """The bandwidth file a vote names: by digest, else by a unique creation time."""
    if ref is None:
        return None
    if ref.sha256:
        for f in candidates:
            if f.digest == ref.sha256:
                return f
    for stamp in ref.times:
        hits = [f for f in candidates if f.stamp == stamp]
        if len(hits) == 1:
            return hits[0]
    return None
