"""Where a batch's page jobs run: in the renderer itself, or on the render workers.

The renderer expands families and decides which pages need work; the jobs
that remain are grouped into chunks (one family per chunk) and handed here.
Small batches (a status page, one changed relay) render in-process: no
worker start-up for a handful of pages.  Once a batch has queued
``PARALLEL_MIN`` jobs, or a rebuilt model announces that many
(``ModelSpec.workload``: the relay model counts the relays it parsed anew,
so a churning details document starts the workers while the renderer still
builds the models its pages need), the workers are started: one per core
but one, for the renderer is a rendering core too.  Chunks the workers have
no room for wait in a backlog they are fed from between families, while the
renderer builds the models of the families still to come, and the renderer
renders what is left of it once the expansion is over, newest first, while
the workers take it from the front.  (Rendering such a chunk at once, as
before, made the renderer, a batch's critical path, render pages while the
worker then idled through the later families' models: next-hour and churn
batches ~6 % slower in alternating in-process runs.)  Why not a worker per
core: a cold build once started the last worker too (the renderer built
models for seconds meanwhile), but pickling every chunk for a worker and
writing it down a pipe cost the renderer ~2 s of CPU in a 10k-relay cold
build, and the worker as much to read it; with its models built while the
sources download (``alliumd --once``, early.py) the renderer sat idle
waiting for the workers.  With the renderer as the last core such a build
took ~10 % less wall time and ~2 s less CPU (alternating in-process runs on
network-10k; without the models built early: as fast, ~2 s less CPU), and
the worker it spares held ~60 MB.  Until a worker reports ready, chunks wait
for it in the backlog while the renderer goes on expanding, so the start-up
overlaps work.  Each family's manifest entries are collected as its chunks
complete (in any order) and the family is finished when its expansion is
over and no chunk is outstanding.
"""

from __future__ import annotations

import collections
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..paths import UnsafePath
from .jobs import Chunk, ChunkResult, PageRenderer
from .pool import AHEAD, IN_FLIGHT, WorkerPool, default_size

log = logging.getLogger("alliumd.renderer")

CHUNK_SIZE = 48               # jobs per chunk: big enough to amortise pickling, small enough to balance
PARALLEL_MIN = 400            # jobs in a batch before a worker is worth starting
WORKER_LINGER = 0.0           # s an idle pool is kept once no batch waits (see Dispatcher.release_idle)


def parallel_threshold() -> int:
    """PARALLEL_MIN, or ``ALLIUMD_PARALLEL_MIN`` (tests set 0 to put every batch on the workers)."""
    env = os.environ.get("ALLIUMD_PARALLEL_MIN", "").strip()
    return int(env) if env.isdigit() else PARALLEL_MIN


@dataclass
class FamilyRun:
    """One family's pages in this batch."""

    name: str
    old: dict[str, list]                          # path -> [sha, view hash, key] from the manifest
    new: dict[str, list] = field(default_factory=dict)
    keys: dict[str, str | None] = field(default_factory=dict)     # keys of the jobs in flight
    key_entries: dict = field(default_factory=dict)   # its FamilyKeys.new (pagekey.py): deferred keys land there
    pending: int = 0                              # chunks not finished yet
    expanded: bool = False
    error: str | None = None
    written: int = 0
    unchanged: int = 0

    @property
    def finished(self) -> bool:
        return self.expanded and self.pending == 0


class Dispatcher:
    """Runs chunks in-process or on the worker pool; the pool outlives batches (it is the builder's)."""

    def __init__(self, output_dir: Path, *, workers: int | None = None, parallel_min: int | None = None,
                 template_dir: Path | None = None, compiled: Path | None = None):
        self.output_dir = Path(output_dir)
        self.template_dir = template_dir
        self.compiled = compiled
        size = default_size() if workers is None else workers          # rendering processes, this one too
        self.pool = WorkerPool(self.output_dir, size - 1, template_dir, compiled) if size > 1 else None
        self.parallel_min = parallel_threshold() if parallel_min is None else parallel_min   # (tests: 0)
        self._local: PageRenderer | None = None
        self.queued = 0                           # jobs dispatched in this batch
        # chunks kept for the workers while they start up (and those queued behind them), oldest first
        self.backlog: collections.deque[tuple[FamilyRun, Chunk, Callable]] = collections.deque()
        self.last_used: float | None = None       # monotonic end of the last batch that used the pool

    @property
    def local(self) -> PageRenderer:
        if self._local is None:
            self._local = PageRenderer(self.output_dir, self.template_dir, self.compiled)
        return self._local

    def prestart(self) -> None:
        """Start the workers ahead of a batch known to be large (they get ready while the caller waits)."""
        if self.pool is not None and not self.pool.started:
            self.pool.start()

    def begin_batch(self) -> None:
        self.queued = 0
        self.backlog.clear()                      # (drained by every batch that ended normally)

    def expect(self, jobs: int) -> None:
        """``jobs`` more are coming (a model announced its change): start the workers the batch will reach
        now, so they get ready while the renderer still builds models instead of after the jobs appear."""
        self._start_for(self.queued + jobs)

    def _start_for(self, jobs: int) -> None:
        """Start the workers once a batch reaches ``parallel_min`` jobs."""
        if self.pool is not None and jobs >= self.parallel_min and not self.pool.full:
            self.pool.start()

    def dispatch(self, run: FamilyRun, chunk: Chunk, on_done: Callable[[FamilyRun, ChunkResult], None]) -> None:
        if not chunk.jobs:
            return
        self.queued += len(chunk.jobs)
        run.pending += 1
        self._start_for(self.queued)
        if self._pool_in_use:
            if not (self._feed() and self._submit(run, chunk, on_done)):
                # the workers are starting or have no room: keep it for them and go on expanding (the
                # models of the families still to come are the renderer's part of the batch); what they
                # have not taken when the expansion ends is rendered here (drain)
                self.backlog.append((run, chunk, on_done))
            return
        on_done(run, self.local.run(chunk))

    @property
    def _pool_in_use(self) -> bool:
        """Workers run or are starting, and none died before it was ready (then everything renders here)."""
        return self.pool is not None and self.pool.started and not self.pool.broken

    def _submit(self, run: FamilyRun, chunk: Chunk, on_done: Callable, limit: int = IN_FLIGHT) -> bool:
        """Hand ``chunk`` to a worker that has fewer than ``limit`` queued; False if none takes it now."""
        def callback(result: ChunkResult, run: FamilyRun = run) -> None:
            on_done(run, result)
        return self.pool.submit(chunk, callback, limit)

    def _feed(self, limit: int = IN_FLIGHT) -> bool:
        """Hand the backlog to the workers, oldest first, as far as they take it; True once it is empty."""
        while self.backlog:
            if not self._submit(*self.backlog[0], limit):
                return False
            self.backlog.popleft()
        return True

    def poll(self, *, ahead: bool = False) -> None:
        """Deliver results that are ready, without waiting, and feed the workers from the backlog.

        ``ahead`` (between two families): give them more of it, written out at once, to render on while
        the renderer builds the next family's models (up to AHEAD chunks each), yet no more than their
        share of it, so that the renderer's part at the end is as large as each worker's."""
        if self.pool is not None and self.pool.started:
            self.pool.poll(0)
            if not ahead:
                self._feed()
                return
            workers = len(self.pool.workers)
            self._feed(min(AHEAD, IN_FLIGHT + len(self.backlog) // (workers + 1)))
            self.pool.hand_over()

    def drain(self) -> None:
        """The expansion is over: render the backlog here, newest first, while the workers take it from
        the front; then wait for what they have."""
        while self.backlog:
            if self._pool_in_use and self._feed():
                break
            run, chunk, on_done = self.backlog.pop()
            on_done(run, self.local.run(chunk))
        if self.pool is not None and self.pool.started:
            self.pool.drain()
            self.last_used = time.monotonic()

    def release_at(self) -> float | None:
        """When (monotonic) the idle workers are due to stop, or None while none runs."""
        if self.pool is None or not self.pool.started or self.last_used is None:
            return None
        return self.last_used + WORKER_LINGER

    def release_idle(self, now: float, *, work_waiting: bool = False) -> bool:
        """Stop the workers once a batch has drained them, unless more work already waits.

        Why at once: a daemon's large batches (a new Onionoo hour, a changed
        uptime or bandwidth document) come minutes to hours apart, and two idle
        workers hold ~110 MB; lingering (60 s before) kept that through the
        fetches and small batches that follow a large one, which is where the
        process tree peaked (the uptime fetcher reducing its 240 MB document
        next to idle workers).  A burst of large batches shows up as work
        already waiting when one ends (``work_waiting``: the renderer's event
        queue is not empty), and then the pool is kept for it.  A restart is
        cheap: a worker is ready in well under a second, and until it is the
        batch's chunks render in-process, so the start-up overlaps work.
        """
        due = self.release_at()
        if due is None or now < due or work_waiting or self.pool.busy:
            return False
        self.pool.close()
        self.last_used = None
        return True

    def delete(self, rel: str) -> bool:
        try:
            return self.local.writer.delete(rel)
        except (UnsafePath, OSError) as e:        # one page that cannot go must not stop the batch
            log.error("cannot delete %s: %s", rel, e)
            return False

    def exists(self, rel: str) -> bool:
        return self.local.writer.exists(rel)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()
        if self._local is not None:
            self._local.writer.close()
