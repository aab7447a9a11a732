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
The grammar is onionoo_lines.py; this module reads and summarises with it.
"""

from __future__ import annotations

import collections
import hashlib
import multiprocessing
import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import paths
from ..core import jsonx
from ..cache.layout import summary_document, summary_relays
from ..cache.names import SAMPLE_KEY
from ..core.gcpause import gc_paused
from ..summaries.histories import BadGraph
from . import DocInfo, InvalidDocument, stored
from .onionoo_lines import Streamed, _NotLineOriented, _read_lines, _read_whole, _relay_object

dumps = jsonx.dumps      # module name: tests swap in the stdlib writer


def read(path: Path, reduce: Callable[[Any, int], Any], limit: int | None = None) -> Streamed:
    """Read ``path``; ``reduce(relay_object, index)`` returns what to keep (None: nothing).

    Raises InvalidDocument for a broken document, a broken envelope or
    whatever ``reduce`` refuses.
    """
    with gc_paused():
        try:
            return _read_lines(path, reduce, limit=limit)
        except _NotLineOriented:
            return _read_whole(path, reduce, limit)


# -- the summarised history documents (uptime, bandwidth) ----------------------------------

def summarise(path: Path, *, source: str, summary_format: int,
              relay_summary: Callable[[dict], dict], workers: int | None = None,
              limit: int | None = None) -> DocInfo:
    """Validate a history document and build its compact summary (the render document).

    Every relay needs a 40-hex fingerprint and well-formed graphs; an empty
    relay list is refused like a broken one (it would wipe every chart).
    Bridges are never read: their ``fingerprint`` is a hashed one.  A relay
    line identical to one of the previous document keeps that line's summary
    (:class:`LineMemo`); the others are parsed and summarised, by ``workers``
    processes (default: see :func:`parallelism`) when there are many.  ``limit``: at most this
    many bytes once inflated (a gzip-stored document, fetchers/stored.py).
    """
    workers = parallelism(path) if workers is None else workers
    memo = LineMemo.of(source, summary_format)
    streamed = read_summaries(path, relay_summary, workers, memo, limit)
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
        return fp, exact_copy(dumps(relay_summary(obj)))   # serialised at once: bytes are ~7x smaller than objects
    except BadGraph as e:
        raise InvalidDocument(f"relay {fp}: {e}") from None


def exact_copy(data: bytes) -> bytes:
    """``data`` in an allocation of its own size, for a result that is kept.

    Why: orjson writes into a ~128 kB buffer and shrinks it in place, which
    leaves a hole behind each result that the next one's buffer does not fit
    in; a fetcher keeping 10k relay summaries (its line memo, the document
    it joins) held ~190 MB of heap for 21 MB of bandwidth summaries, 68 MB
    with copies (network-10k), at the moment the process tree peaks.
    """
    return bytes(memoryview(data))


# -- reuse and the parallel path -------------------------------------------------------------

PARALLEL_BYTES = 64_000_000        # documents larger than this are summarised by several processes (3+ cores)
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
    """How many processes summarise ``path``: 1, or one per core but one (at most 4) for a large document
    on a machine with more than two cores.

    The uptime document (~240 MB) spends 3–5 s parsing JSON and summarising
    graphs in one process; every other document is small enough that
    starting processes would not pay.  While it is summarised, the other
    fetchers and the renderer (building the models of the sources that are
    final, renderer/early.py) keep a core busy, so a pool pays only with
    cores to spare: with two, its processes competed with them and the pipes
    to them cost CPU.  Cold ``alliumd --once`` of network-10k on two cores,
    three alternating pairs, a pool of two against one process: wall 20.23 /
    19.75 / 21.28 s against 19.70 / 18.68 / 20.71 s, CPU 38.8 / 37.9 / 40.9 s
    against 37.1 / 35.6 / 38.2 s.
    """
    try:
        large = stored.inflated_size(path) > PARALLEL_BYTES
        cores = len(os.sched_getaffinity(0))
    except (OSError, AttributeError):
        return 1
    return min(cores - 1, 4) if large and cores > 2 else 1


def _summarise_batch(relay_summary: Callable[[dict], dict], indices: list[int], bodies: list[bytes]) -> list:
    """Worker side: parse and summarise relay lines; gc paused as in the fetcher."""
    with gc_paused():
        return [_summarise_relay(relay_summary, _relay_object(body), i) for i, body in zip(indices, bodies)]


def read_summaries(path: Path, relay_summary: Callable[[dict], dict], workers: int,
                   memo: LineMemo | None = None, limit: int | None = None) -> Streamed:
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
                                  relay_line=relay_line, limit=limit)
                flush()
                collect(0)
            except _NotLineOriented:
                return _read_whole(path, lambda obj, i: _summarise_relay(relay_summary, obj, i), limit)
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
