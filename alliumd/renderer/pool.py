"""Render workers: rendering and writing pages on every core, fed compact chunks.

Why worker *processes*, and why these: Mako rendering and file creation are
CPU-bound Python, so threads would not help.  Forking the renderer is not an
option either: it runs a file-watcher thread and a command thread (forking
a threaded process copies whatever locks those hold), and a forked child
would count the renderer's whole memory in its RSS.  Each worker is
therefore a fresh ``python -m alliumd.renderer.worker`` (spawned with
``subprocess``, which execs at once and is safe from a threaded process),
started asynchronously when a batch turns out to be large, so it imports
and compiles templates while the renderer is still building models.  It
receives pickled chunks of jobs that carry only their pages' own data.

The pool is driven from the renderer's main thread only, through one
``selectors`` loop with non-blocking pipes in both directions, so neither
side can block the other however large a chunk is.  A worker that dies
fails its in-flight chunks (their families keep their old pages) and is
replaced on the next submit.  Workers die with the renderer
(``PR_SET_PDEATHSIG``) and exit on EOF when the pool is closed.
"""

from __future__ import annotations

import collections
import fcntl
import logging
import os
import pickle
import selectors
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from . import frames
from .jobs import Chunk, ChunkResult
from .worker import READY

log = logging.getLogger("alliumd.renderer")

WORKER_COMMAND = [sys.executable, "-m", "alliumd.renderer.worker"]   # tests swap in a failing one
# chunks queued per worker: enough to keep it rendering while the renderer builds a model between two
# families (health, leaderboards: 0.1-0.3 s, with no chunk handed out), few enough that the last ones do not
# keep the renderer waiting at the end of a batch (2: a 1 % churn batch took 4.1 s in-process, 6: 3.3-3.5 s)
IN_FLIGHT = 6
# queued per worker when the renderer turns from one family to the next, whose models may take it a second
# (the history store's in a cold build): the worker reads them ahead and renders on meanwhile (with 6, a
# 10k-relay cold build's worker ran dry after ~40 ms of small group pages and idled ~0.7 s)
AHEAD = 48
Callback = Callable[[ChunkResult], None]


def default_size() -> int:
    """How many processes render a large batch, the renderer among them: one per usable core
    (``ALLIUMD_RENDER_WORKERS`` overrides; 0 or 1: the renderer alone)."""
    env = os.environ.get("ALLIUMD_RENDER_WORKERS")
    if env is not None and env.strip().isdigit():
        return int(env)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:                  # pragma: no cover - not Linux
        return os.cpu_count() or 1


PIPE_SIZE = 1 << 20           # a chunk of relay jobs is ~150 kB: one write instead of a dozen


def _widen(fd: int) -> None:
    """Enlarge a pipe's buffer where Linux allows it (the default 64 kB is below one chunk)."""
    try:
        fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), PIPE_SIZE)
    except OSError:
        pass                      # over /proc/sys/fs/pipe-max-size for this user: keep the default


class _Worker:
    def __init__(self, output_dir: Path, template_dir: Path | None, compiled: Path | None):
        argv = [*WORKER_COMMAND, str(output_dir), str(os.getpid()), str(template_dir or ""), str(compiled or "")]
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, close_fds=True)
        os.set_blocking(self.proc.stdin.fileno(), False)
        os.set_blocking(self.proc.stdout.fileno(), False)
        _widen(self.proc.stdin.fileno())
        _widen(self.proc.stdout.fileno())     # results wait there while the renderer builds a model
        self.reader = frames.FrameReader()
        self.outgoing = bytearray()
        self.pending: collections.deque[tuple[Chunk, Callback]] = collections.deque()
        self.ready = False
        self.alive = True
        self.watching_stdin = False

    @property
    def load(self) -> int:
        return len(self.pending)


class WorkerPool:
    """A fixed number of render workers behind a submit/poll interface (main thread only)."""

    def __init__(self, output_dir: Path, size: int, template_dir: Path | None = None,
                 compiled: Path | None = None):
        self.output_dir = Path(output_dir)
        self.template_dir = template_dir
        self.compiled = compiled
        self.size = size
        self.workers: list[_Worker] = []
        self.selector = selectors.DefaultSelector()
        self.broken = False          # a worker died before it was ready: render in-process from now on

    # -- lifecycle -----------------------------------------------------------------------

    @property
    def started(self) -> bool:
        return bool(self.workers)

    @property
    def full(self) -> bool:
        """Every worker of the pool runs."""
        return len(self.workers) >= self.size

    def start(self) -> None:
        """Spawn the pool's workers; returns at once, they announce themselves when ready."""
        while len(self.workers) < self.size and not self.broken:
            self._spawn()

    def _spawn(self) -> None:
        worker = _Worker(self.output_dir, self.template_dir, self.compiled)
        self.workers.append(worker)
        self.selector.register(worker.proc.stdout, selectors.EVENT_READ, worker)

    def close(self) -> None:
        """Stop every worker: EOF first, then a kill for any that does not go within a second."""
        for worker in self.workers:
            self._unregister(worker)
            try:
                worker.proc.stdin.close()
            except OSError:
                pass
        deadline = time.monotonic() + 1.0
        for worker in self.workers:
            try:
                worker.proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                worker.proc.kill()
                worker.proc.wait()
            worker.proc.stdout.close()
        self.workers = []

    # -- work ----------------------------------------------------------------------------

    def ready(self) -> bool:
        """True when some worker has started up (before that, the caller renders in-process)."""
        self.poll(0)
        return not self.broken and any(w.ready and w.alive for w in self.workers)

    def hand_over(self, timeout: float = 5.0) -> None:
        """Write out every chunk still waiting in this process (the workers read ahead, so it goes at once):
        called before the renderer turns to a model, so the workers have all they were given meanwhile."""
        deadline = time.monotonic() + timeout
        while any(w.outgoing and w.alive for w in self.workers) and time.monotonic() < deadline:
            self.poll(0.05)

    def submit(self, chunk: Chunk, callback: Callback, limit: int = IN_FLIGHT) -> bool:
        """Queue ``chunk`` on the least loaded ready worker; False if none has room right now.

        It first takes in what the workers sent (a "ready", finished chunks): nothing else reads it while
        the renderer expands a family, and a worker whose news went unread looked busy or not started (a
        medium batch's worker sat idle after two chunks while the renderer rendered the rest)."""
        if self.broken:
            return False
        self.poll(0)
        self._replace_dead()
        candidates = [w for w in self.workers if w.ready and w.alive and w.load < limit]
        if not candidates:
            return False
        worker = min(candidates, key=lambda w: w.load)
        worker.pending.append((chunk, callback))
        worker.outgoing += frames.encode(pickle.dumps(chunk, protocol=pickle.HIGHEST_PROTOCOL))
        self._flush(worker)
        return True

    @property
    def busy(self) -> bool:
        return any(w.pending for w in self.workers)

    def poll(self, timeout: float | None) -> None:
        """Move bytes in both directions and deliver finished results (waits up to ``timeout``)."""
        for key, events in self.selector.select(timeout):
            worker: _Worker = key.data
            if events & selectors.EVENT_WRITE:
                self._flush(worker)
            if events & selectors.EVENT_READ:
                self._read(worker)

    def drain(self) -> None:
        """Wait until every submitted chunk has its result."""
        while self.busy:
            self.poll(1.0)

    # -- plumbing ------------------------------------------------------------------------

    def _flush(self, worker: _Worker) -> None:
        """Write what the worker's stdin takes now; watch it for more while bytes remain."""
        if worker.outgoing and worker.alive:
            try:
                sent = os.write(worker.proc.stdin.fileno(), worker.outgoing)
                del worker.outgoing[:sent]
            except BlockingIOError:
                pass
            except OSError:                       # EPIPE: the worker is gone
                self._died(worker)
                return
        wanted = bool(worker.outgoing)
        if wanted != worker.watching_stdin:
            if wanted:
                self.selector.register(worker.proc.stdin, selectors.EVENT_WRITE, worker)
            else:
                self.selector.unregister(worker.proc.stdin)
            worker.watching_stdin = wanted

    def _read(self, worker: _Worker) -> None:
        try:
            data = os.read(worker.proc.stdout.fileno(), 1 << 16)
        except BlockingIOError:
            return
        if not data:
            self._died(worker)
            return
        for frame in worker.reader.feed(data):
            if not worker.ready:
                worker.ready = frame == READY
                continue
            result: ChunkResult = pickle.loads(frame)
            chunk, callback = worker.pending.popleft()
            callback(result)

    def _died(self, worker: _Worker) -> None:
        if not worker.alive:
            return
        worker.alive = False
        self._unregister(worker)
        code = worker.proc.poll()
        if not worker.ready and not self.broken:
            self.broken = True                     # it cannot even start: do not respawn it per chunk
            log.error("render worker %d failed to start (exit %s); rendering in-process instead",
                      worker.proc.pid, code)
        log.error("render worker %d exited (%s) with %d chunks in flight", worker.proc.pid,
                  code if code is not None else "pipe closed", len(worker.pending))
        while worker.pending:
            chunk, callback = worker.pending.popleft()
            callback(ChunkResult(chunk.family, [], f"render worker {worker.proc.pid} died "
                                                   f"(exit {code}) while rendering"))

    def _unregister(self, worker: _Worker) -> None:
        for stream in (worker.proc.stdout, worker.proc.stdin):
            try:
                self.selector.unregister(stream)
            except (KeyError, ValueError):
                pass
        worker.watching_stdin = False

    def _replace_dead(self) -> None:
        dead = [w for w in self.workers if not w.alive]
        for worker in dead:
            self.workers.remove(worker)
            try:
                worker.proc.stdin.close()
            except OSError:
                pass
            worker.proc.kill()
            worker.proc.wait()
            worker.proc.stdout.close()
        if dead:
            self.start()

