"""Read a large Onionoo document relay by relay, reducing each relay as it goes.

The full uptime document is ~240 MB of JSON: ``json.load`` would build
gigabytes of Python objects just to throw most of them away.  Onionoo writes
its envelope keys on their own lines and one relay object per line, so the
reader parses one line at a time and hands each relay object to ``reduce``;
memory stays at one line plus the reductions.

A document in any other layout (pretty-printed, all on one line) is detected
by a strict line grammar and read with a full parse instead, which is always
correct, only costlier.  The grammar is strict: every envelope and relay line
is parsed, the commas between members and elements are checked, and anything
unexpected (including trailing content) means the fallback; only the lines of
the bridges array, which nobody reads, are merely shape-checked (``{…}``).
"""

from __future__ import annotations

import collections
import hashlib
import multiprocessing
import os
import re
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import paths
from ..core import jsonx
from ..cache.layout import summary_document, summary_relays
from ..cache.names import SAMPLE_KEY
from ..core.gcpause import gc_paused
from ..summaries.histories import BadGraph
from . import DocInfo, InvalidDocument
from . import strictjson
from .onionoo import check_envelope



loads, dumps = jsonx.loads, jsonx.dumps      # module names: tests swap in the stdlib writer

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


def read(path: Path, reduce: Callable[[Any, int], Any]) -> Streamed:
    """Read ``path``; ``reduce(relay_object, index)`` returns what to keep (None: nothing).

    Raises InvalidDocument for a broken document, a broken envelope or
    whatever ``reduce`` refuses.
    """
    with gc_paused():
        try:
            return _read_lines(path, reduce)
        except _NotLineOriented:
            return _read_whole(path, reduce)


def _read_whole(path: Path, reduce: Callable[[Any, int], Any]) -> Streamed:
    """The fallback: one full parse.  The stdlib here, not orjson: on the 242 MB bench uptime
    document it peaks at 2.3 GB instead of 3.4 GB (it shares repeated keys), for 5.6 s instead
    of 4.4 s; memory is what could kill the fetcher."""
    data = Path(path).read_bytes()
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
                relay_line: Callable[[bytes], None] | None = None) -> Streamed:
    """The fast path; raises _NotLineOriented as soon as a line breaks Onionoo's layout.

    Each relay line's JSON goes to ``relay_line`` when given (the parallel
    path parses it elsewhere; ``out.seen`` is its count), else it is parsed
    here and reduced.
    """
    envelope: dict[str, Any] = {}
    out = Streamed(0.0, envelope)
    relays_seen = False
    state = "start"            # start → members ⇄ array → end
    array_key = ""
    members = elements = 0     # members of the top object so far; elements of the open array
    more = False               # the previous member/element ended with a comma
    with open(path, "rb") as f:
        for raw in f:
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
                if members and not more:
                    raise _NotLineOriented
                members += 1
                more = s.endswith(b",")
                body = s[:-1] if more else s
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
                if elements and not more:
                    raise _NotLineOriented
                elements += 1
                more = s.endswith(b",")
                body = s[:-1] if more else s
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


def _relay_object(body: bytes) -> dict:
    """One relay line's object; a line that is not one JSON object means "not Onionoo's layout"."""
    try:
        obj = loads(body)
    except ValueError:
        raise _NotLineOriented from None
    if not isinstance(obj, dict):
        raise _NotLineOriented
    return obj


def _member_key(token: bytes) -> str:
    try:
        key = loads(token)
    except ValueError:
        raise _NotLineOriented from None
    return key


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


# -- the summarised history documents (uptime, bandwidth) ----------------------------------

def summarise(path: Path, *, source: str, summary_format: int,
              relay_summary: Callable[[dict], dict], workers: int | None = None) -> DocInfo:
    """Validate a history document and build its compact summary (the render document).

    Every relay needs a 40-hex fingerprint and well-formed graphs; an empty
    relay list is refused like a broken one (it would wipe every chart).
    Bridges are never read: their ``fingerprint`` is a hashed one.  A relay
    line identical to one of the previous document keeps that line's summary
    (:class:`LineMemo`); the others are parsed and summarised, by ``workers``
    processes (default: see :func:`parallelism`) when there are many.
    """
    workers = parallelism(path) if workers is None else workers
    memo = LineMemo.of(source, summary_format)
    streamed = read_summaries(path, relay_summary, workers, memo)
    relays: dict[str, bytes] = {}
    for fp, summary in streamed.relays:
        relays.setdefault(fp, summary)          # a duplicate keeps the first object, like details
    if not relays:
        raise InvalidDocument("'relays' is empty")
    env = streamed.envelope
    head: dict[str, Any] = {"format": summary_format, "source": source,
                            "relays_published": env["relays_published"]}
    for key in (SAMPLE_KEY, "version", "build_revision"):
        if isinstance(env.get(key), str):
            head[key] = env[key]
    return DocInfo(data_time=streamed.published, items=len(relays), is_sample=SAMPLE_KEY in env,
                   summary=summary_document(head, relays))


def _summarise_relay(relay_summary: Callable[[dict], dict], obj: Any, index: int) -> tuple[str, bytes]:
    if not isinstance(obj, dict):
        raise InvalidDocument(f"relays[{index}] is not an object")
    fp = obj.get("fingerprint")
    if not paths.is_fingerprint(fp):
        raise InvalidDocument(f"relays[{index}] has no valid 40-hex fingerprint: {str(fp)[:50]!r}")
    try:
        return fp, dumps(relay_summary(obj))     # serialised at once: bytes are ~7x smaller than objects
    except BadGraph as e:
        raise InvalidDocument(f"relay {fp}: {e}") from None


# -- reuse and the parallel path -------------------------------------------------------------

PARALLEL_BYTES = 64_000_000        # documents larger than this are summarised by several processes
BATCH_LINES = 256                  # relay lines per task (a few MB of uptime JSON)
SERIAL_CHANGED_LINES = 1024        # with a previous document, this many changed lines stay in-process


class LineMemo:
    """The summaries of the previous document's relay lines, by the SHA-256 of each line's bytes.

    A fetcher is one long-running process per source, and between two
    publications most relay lines of a history document are byte-identical
    (its graphs gain a point every 4 hours to 10 days): hashing a 20 kB line
    costs ~25 µs, parsing and summarising it ~300 µs.  The summary is a pure
    function of the line (and the summary format, part of the key), so a hit
    is exact.  Only the last document's lines are kept (~1 kB per relay).
    """

    _by_source: dict[tuple[str, int], "LineMemo"] = {}

    def __init__(self) -> None:
        self.previous: dict[bytes, tuple[str, bytes]] = {}

    @classmethod
    def of(cls, source: str, summary_format: int) -> "LineMemo":
        return cls._by_source.setdefault((source, summary_format), cls())

    @classmethod
    def forget_all(cls) -> None:
        cls._by_source.clear()

    # The memo outlives a restart as a small index next to the summary it points into: per relay
    # line its digest and fingerprint (72 bytes), after the SHA-256 of that summary document, so
    # an index whose summary was replaced (a sample, a re-derivation) is recognised and ignored.

    def export(self, summary: bytes) -> bytes:
        """The index of this memo's lines into ``summary`` (the document they were published in)."""
        return hashlib.sha256(summary).digest() + b"".join(
            digest + fp.encode("ascii") for digest, (fp, _) in self.previous.items())

    def restore(self, index: bytes, summary: bytes) -> int:
        """Refill an empty memo from ``export``'s ``index`` and its ``summary``; the lines restored."""
        if len(index) < 32 or (len(index) - 32) % 72 or index[:32] != hashlib.sha256(summary).digest():
            return 0
        items = summary_relays(summary)
        restored = {}
        for i in range(32, len(index), 72):
            fp = index[i + 32:i + 72]
            body = items.get(fp)
            if body is not None:
                restored[index[i:i + 32]] = (fp.decode("ascii"), body)
        self.previous = restored
        return len(restored)


def parallelism(path: Path) -> int:
    """How many processes summarise ``path``: 1, or one per core for a large document.

    The uptime document (~240 MB) spends ~3 s parsing JSON and summarising
    graphs in one process; every other document is small enough that
    starting processes would not pay.
    """
    try:
        large = os.path.getsize(path) > PARALLEL_BYTES
        cores = len(os.sched_getaffinity(0))
    except (OSError, AttributeError):
        return 1
    return min(cores, 4) if large else 1


def _summarise_batch(relay_summary: Callable[[dict], dict], indices: list[int], bodies: list[bytes]) -> list:
    """Worker side: parse and summarise relay lines; gc paused as in the fetcher."""
    with gc_paused():
        return [_summarise_relay(relay_summary, _relay_object(body), i) for i, body in zip(indices, bodies)]


def read_summaries(path: Path, relay_summary: Callable[[dict], dict], workers: int,
                   memo: LineMemo | None = None) -> Streamed:
    """Read ``path`` line by line into ``(fingerprint, summary)`` per relay, in document order.

    Lines the memo knows keep their summary.  The others are summarised in
    batches: in this process while there are few (with a previous document,
    up to SERIAL_CHANGED_LINES; always when ``workers`` is 1), else by a pool
    of ``workers`` forked processes, created at that point.  Forking is safe:
    a fetcher is single-threaded (its HTTP session runs no threads) until the
    pool starts its helper threads, and no fork follows.  At most two batches
    per worker are in flight, so memory stays bounded.  Any grammar surprise
    falls back to the serial full parse.  On success the memo holds this
    document's lines.
    """
    memo = memo if memo is not None else LineMemo()
    previous, current = memo.previous, {}
    slots: list = []                         # per relay line: (fp, summary), None until computed
    pending: collections.deque = collections.deque()
    batch: list[tuple[int, bytes, bytes]] = []     # (slot, digest, line)
    changed = 0
    pool = None

    def store(items: list[tuple[int, bytes, bytes]], results: list) -> None:
        for (slot, digest, _), result in zip(items, results):
            slots[slot] = current[digest] = result

    def collect(limit: int) -> None:
        while len(pending) > limit:
            items, result = pending.popleft()
            store(items, result.get())

    def flush() -> None:
        nonlocal pool
        if not batch:
            return
        items = batch[:]
        batch.clear()
        if pool is None and (workers <= 1 or (previous and changed <= SERIAL_CHANGED_LINES)):
            store(items, [_summarise_relay(relay_summary, _relay_object(line), slot) for slot, _, line in items])
            return
        if pool is None:
            pool = multiprocessing.get_context("fork").Pool(processes=workers, initializer=_worker_signals)
        pending.append((items, pool.apply_async(_summarise_batch, (relay_summary, [i[0] for i in items],
                                                                   [i[2] for i in items]))))
        collect(2 * workers)

    def relay_line(line: bytes) -> None:
        nonlocal changed
        digest = hashlib.sha256(line).digest()
        known = previous.get(digest)
        slots.append(known)
        if known is not None:
            current[digest] = known
            return
        changed += 1
        batch.append((len(slots) - 1, digest, line))
        if len(batch) >= BATCH_LINES:
            flush()

    try:
        with gc_paused():
            try:
                # relays inline on an envelope line (a tiny document) are summarised as they come
                out = _read_lines(path, lambda obj, i: _summarise_relay(relay_summary, obj, i),
                                  relay_line=relay_line)
                flush()
                collect(0)
            except _NotLineOriented:
                return _read_whole(path, lambda obj, i: _summarise_relay(relay_summary, obj, i))
        if pool is not None:
            pool.close()                   # normal end: workers finish and exit on their own
            pool.join()
    finally:
        if pool is not None:
            pool.terminate()               # any other end (an invalid relay, SIGTERM): stop them now
    out.relays = slots if not out.relays else [*out.relays, *slots]
    memo.previous = current
    return out


def _worker_signals() -> None:
    """Pool workers die plainly on SIGTERM: the fetcher's handler raises an exception (to clean up
    temp files), which inside a pool worker could unwind at a point that leaves the pool's shared
    queue lock taken; the fetcher itself stops them.  SIGINT is the fetcher's to handle."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
