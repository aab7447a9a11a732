"""The renderer process loop: watch, debounce, render, report.

Run as ``python -m alliumd.renderer.main --config PATH [--once]``.  Events
come from three places onto one queue: the watchdog observer (a cache file
was published), the supervisor's commands on stdin (``render``,
``render_all``, ``status``, ``settled``), and timers (periodic rescan, a
source turning stale).  After the first event the loop waits for ``debounce``
seconds of quiet, at most ``max_delay``, so the Onionoo documents published
together render as one batch; ``settled`` (the supervisor knows no fetch is
in flight, so nothing more is coming) ends the wait at once.  If the
observer thread dies the process exits 70 and the supervisor respawns it
(crash-only); the startup rescan catches up.
"""

from __future__ import annotations

import argparse
import collections
import json
import logging
import os
import queue
import select
import signal
import sys
import threading
import time
from collections.abc import Iterable

from .. import atomic, childproc, config as configmod, logs, quarantine, sourcestate, statusview
from ..core import channel, exitcodes
from ..memory import release_free_memory
from ..pages.site import FAMILIES, MODELS
from .build import BatchResult, SiteBuilder
from ..pages.registry import STATUS_INPUT, Registry
from ..sources import SOURCES
from .watch import start_observer

log = logging.getLogger("alliumd.renderer")
PARENT_CHECK = 5.0
# the supervisor's graceful stop sends this instead of SIGTERM (which also means a restart on
# reload or the supervisor's death), so only a real stop puts "stopped" on status.html
DAEMON_STOPPING = signal.SIGUSR1
SETTLED = ("cmd", channel.SETTLED)
RETRY_FAILED = 30.0     # a family that failed (e.g. disk full) is rendered again after this long


class StdinLines:
    """The supervisor's lines on stdin, read from the raw file descriptor so that :meth:`waiting` can tell
    whether another one has arrived (a buffered reader may hold lines the descriptor no longer shows)."""

    def __init__(self, fd: int = 0):
        self.fd = fd
        self.lines: collections.deque[bytes] = collections.deque()
        self.partial = b""

    def __iter__(self) -> "StdinLines":
        return self

    def __next__(self) -> bytes:
        while not self.lines:
            if not self._read():
                raise StopIteration
        return self.lines.popleft()

    def waiting(self) -> bool:
        while not self.lines and select.select([self.fd], [], [], 0)[0]:
            if not self._read():
                return True                  # EOF is news too: render
        return bool(self.lines)

    def _read(self) -> bool:
        chunk = os.read(self.fd, 4096)
        if not chunk:
            if self.partial:
                self.lines.append(self.partial)
                self.partial = b""
            return bool(self.lines)
        *complete, self.partial = (self.partial + chunk).split(b"\n")
        self.lines.extend(line + b"\n" for line in complete)
        return True


def default_registry() -> Registry:
    return Registry(FAMILIES, MODELS)


class RendererProcess:
    def __init__(self, cfg: configmod.Config, registry: Registry | None = None, *, clock=time.time):
        self.cfg = cfg
        self.clock = clock
        self.info_path = cfg.daemon.state_dir / "renderer.json"
        self.info = self._load_info()
        last = self.info.get("last_batch")
        seq = last.get("batch") if isinstance(last, dict) else None
        self.batch_seq = seq if isinstance(seq, int) and not isinstance(seq, bool) and seq >= 0 else 0
        self.builder = SiteBuilder(cfg, registry or default_registry(), status_provider=self.status_snapshot,
                                   clock=clock)
        self.events: queue.Queue = queue.Queue()
        # what status.html says about the daemon: "running" (the daemon's renderer), "once"
        # (`alliumd --once`: nobody keeps the site fresh) or "stopped" (the daemon's graceful stop)
        self.daemon_state = "running"
        self.stopped_at: float | None = None
        self.last_render_at = time.monotonic()

    # -- status --------------------------------------------------------------------

    def _load_info(self) -> dict:
        """renderer.json, schema-checked: a damaged one is moved aside and started afresh."""
        try:
            with open(self.info_path, "rb") as f:
                info = json.loads(f.read(1 << 22))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, RecursionError) as e:
            problem = str(e) or type(e).__name__
        else:
            problem = "not an object" if not isinstance(info, dict) else next(
                (p for k in ("last_batch", "last_data_batch")
                 if k in info and (p := statusview.check_batch(info[k])) is not None), None)
            if problem is None:
                return info
        quarantine.move_aside(self.info_path, problem)
        return {}

    def status_snapshot(self) -> dict:
        """What ``status.html`` shows: source records and the last batch that rendered data pages."""
        now = self.clock()
        running = self.daemon_state == "running"
        records = {n: sourcestate.load(self.cfg.daemon.state_dir, n) for n in self.cfg.sources}
        return {"daemon": {"running": running, "state": self.daemon_state,
                           "stopped_at": statusview.iso(self.stopped_at)},
                "renderer": statusview.renderer_entry(self.info.get("last_data_batch"), running=True),
                "sources": {n: statusview.source_entry(self.cfg, r, now, running=running)
                            for n, r in records.items()}}

    def _batch_info(self, result: BatchResult) -> dict:
        # "batch" numbers the batches (ISO times have whole seconds): what a waiting client compares
        return {"state": "idle", "batch": self.batch_seq, "last_render": statusview.iso(self.clock()),
                "last_duration": round(result.duration, 3), "pages_written": result.written,
                "pages_unchanged": result.unchanged, "pages_deleted": result.deleted,
                "families": result.families, "changed": result.changed, "full": result.full,
                "site_pages": sum(len(v) for v in self.builder.manifest.outputs.values()),
                "last_error": "; ".join(result.errors) or None}

    def render(self, changed: set[str], *, full: bool = False, verify: bool = False,
               warm: bool = False) -> BatchResult:
        childproc.report(channel.RendererReport({"state": "rendering", "queue": self.events.qsize()}))
        self.batch_seq += 1
        self.last_render_at = time.monotonic()
        # status.html shows this batch's numbers, so it is rendered last, after the data pages
        result = self.builder.build(changed, full=full, defer=frozenset({"status"}), verify=verify, warm=warm)
        if result.families:
            self.info["last_data_batch"] = self._batch_info(result)
        if result.families or result.deferred:
            follow_up = self.builder.build({STATUS_INPUT}, rescan=False)     # this batch's status only
            result.families += follow_up.families
            result.written += follow_up.written
            result.unchanged += follow_up.unchanged
            result.duration += follow_up.duration
            result.errors += follow_up.errors
        log.info("batch: changed=%s families=%d written=%d unchanged=%d deleted=%d dur_ms=%d%s",
                 ",".join(result.changed) or "-", len(result.families), result.written, result.unchanged,
                 result.deleted, result.duration * 1000, " (every family)" if result.full else "")
        batch = self._batch_info(result)
        self.info["last_batch"] = batch
        try:
            self.info_path.parent.mkdir(parents=True, exist_ok=True)
            atomic.write_bytes(self.info_path, json.dumps(self.info).encode(), fsync=False)
        except OSError as e:            # e.g. disk full: the supervisor still gets the report
            log.error("cannot save %s: %s", self.info_path, e)
        childproc.report(channel.RendererReport({**batch, "queue": self.events.qsize()}))
        release_free_memory()          # a large batch's views and chunks are garbage now
        return result

    # -- modes ---------------------------------------------------------------------

    def get_ready(self, commands: Iterable[bytes], *, full: bool = False) -> None:
        """Before a --once render that the fetchers are still feeding, until ``commands`` (the supervisor's
        lines) says ``render`` or ends.

        A build with every page to write (no page made yet, or ``full``) starts its render workers now, so
        their start-up overlaps the fetch, and builds the models of each source announced ``final NAME``
        (its fetcher exited) meanwhile (early.py), unless every source is final by then or another line
        already waits: then the batch itself comes next and builds what it needs as its families need it,
        its first pages going to the workers at once.  A smaller build may not need those models at all."""
        cold = full or not any(self.builder.manifest.outputs.values())
        if cold:
            self.builder.dispatcher.prestart()
        fetched = {s.name for s in self.cfg.enabled_sources}
        final = set(SOURCES) - fetched                 # nothing fetches these
        waiting = getattr(commands, "waiting", lambda: False)
        for line in commands:
            word, _, name = line.decode("utf-8", "replace").strip().partition(" ")
            if word != "final":
                return
            if name in SOURCES and cold:
                final.add(name)
                if fetched <= final or waiting():
                    continue
                try:
                    built = self.builder.build_early(final, stop=waiting)
                except Exception:                # noqa: BLE001 - only a head start: the batch does it all again
                    log.warning("building models ahead of the batch failed; the batch builds them",
                                exc_info=True)
                    continue
                log.info("%s is final: built %s ahead of the batch", name, ", ".join(built) or "no model")

    def run_once(self, *, full: bool = False) -> int:
        self.daemon_state = "once"
        self.render({STATUS_INPUT}, full=full)
        index = self.cfg.daemon.output_dir / "index.html"
        return exitcodes.OK if index.exists() else exitcodes.FAILURE

    def render_stopped(self) -> None:
        """The daemon stops gracefully: status.html says so instead of "running" forever.

        Only the status page is rendered (no rescan), so a stop costs milliseconds even after
        a batch was interrupted; the supervisor's SIGKILL after ``graceful_timeout`` bounds it.
        """
        self.daemon_state = "stopped"
        self.stopped_at = self.clock()
        try:
            self.builder.build({STATUS_INPUT}, rescan=False)
        except Exception as e:          # noqa: BLE001 - the process is exiting; say why the page is old
            log.warning("could not render the stopped status page: %s", e)

    def _read_commands(self) -> None:
        """Stdin reader thread: commands from the supervisor onto the event queue.

        Reads the raw fd: a daemon thread blocked inside ``sys.stdin.buffer``
        would hold its lock and abort the interpreter at exit.
        """
        reader = channel.LineReader()
        while chunk := os.read(0, 4096):
            for msg in reader.feed(chunk):
                self.events.put(("cmd", channel.Command.of(msg)))
        self.events.put(("eof", None))

    def run_forever(self) -> int:
        rd = self.cfg.render
        observer = start_observer(self.cfg.daemon.cache_dir, self.events)
        threading.Thread(target=self._read_commands, name="commands", daemon=True).start()
        # The startup batch expands every family (writing only what changed, as after `render --all`):
        # it catches up with whatever changed while no renderer ran, and it builds every model now, so
        # the first change after a (re)start costs its delta, not a rebuild of all models.
        # It also renders the 10k-row tables once (writing nothing) to fill the row cache (PageFamily.warm).
        self.render({STATUS_INPUT}, full=True, warm=True)
        next_rescan = time.monotonic() + rd.rescan_interval
        while True:
            changed: set[str] = set()
            full = False
            if self.builder.dispatcher.release_idle(time.monotonic(), work_waiting=not self.events.empty()):
                log.info("render workers stopped: no batch waits; they start again for the next large batch")
            flip = self.builder.next_stale_flip(self.clock())
            release = self.builder.dispatcher.release_at()
            retry = self.last_render_at + RETRY_FAILED if self.builder.forced else None
            wake = min(next_rescan - time.monotonic(),
                       (retry - time.monotonic()) if retry is not None else PARENT_CHECK,
                       (flip - self.clock() + 0.5) if flip is not None else rd.rescan_interval, PARENT_CHECK,
                       (release - time.monotonic()) if release is not None else PARENT_CHECK)
            try:
                first = self.events.get(timeout=max(wake, 0.05))
            except queue.Empty:
                first = None
            if not observer.is_alive():
                log.error("the file watcher died; exiting so the supervisor restarts the renderer")
                return exitcodes.OBSERVER_DIED
            if not childproc.parent_alive():
                return exitcodes.PARENT_GONE
            if first is None:
                if time.monotonic() >= next_rescan:
                    next_rescan = time.monotonic() + rd.rescan_interval
                    # scan() inside build() finds missed events; verify: pages deleted behind our back
                    self.render(set(), verify=True)
                elif flip is not None and self.clock() >= flip:
                    self.render(set())                 # stale_flips() inside build() picks it up
                elif retry is not None and time.monotonic() >= retry:
                    self.render(set())                 # families that failed are in builder.forced
                continue
            batch = [first] + ([] if first == SETTLED else self._debounce())
            for kind, value in batch:
                if kind == "eof":
                    log.info("supervisor gone; exiting")
                    return exitcodes.PARENT_GONE
                if kind == "input":
                    # only a wake-up: scan() inside build() decides by content whether the source
                    # changed, so an event that arrives after a batch already took the change (a
                    # status batch's scan can see a file before its inotify event) renders nothing
                    continue
                elif value == "render_all":
                    full = True
                elif value in (channel.STATUS, channel.SETTLED):
                    changed.add(STATUS_INPUT)
            self.render(changed, full=full)

    def _debounce(self) -> list:
        return collect_quiet(self.events, self.cfg.render.debounce, self.cfg.render.max_delay)


def collect_quiet(events: queue.Queue, debounce: float, max_delay: float, *, monotonic=time.monotonic) -> list:
    """Collect further events until ``debounce`` s of quiet, at most ``max_delay`` s, or until the
    supervisor says no fetch is in flight (``settled``): the quiet is then known, not waited for."""
    start = monotonic()
    collected: list = []
    while True:
        remaining = min(debounce, max_delay - (monotonic() - start))
        if remaining <= 0:
            return collected
        try:
            collected.append(events.get(timeout=remaining))
        except queue.Empty:
            return collected
        if collected[-1] == SETTLED:
            return collected


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="alliumd-renderer", description=__doc__.splitlines()[0])
    ap.add_argument("--config", required=True)
    ap.add_argument("--once", action="store_true", help="render what changed, then exit")
    ap.add_argument("--full", action="store_true", help="with --once: rebuild every page")
    ap.add_argument("--wait", action="store_true",
                    help="with --once: get ready, then render when a line other than 'final SOURCE' "
                         "(or EOF) arrives on stdin")
    args = ap.parse_args(argv)
    logs.setup("renderer")
    childproc.become_child()
    signal.signal(DAEMON_STOPPING, childproc.terminate_handler)
    try:
        cfg = configmod.load(args.config)
    except configmod.ConfigError as e:
        log.error("%s", e)
        return exitcodes.CONFIG
    logs.setup("renderer", cfg.daemon.log_level)
    if not args.once:
        childproc.start_heartbeat(childproc.heartbeat_interval(cfg.daemon.renderer_timeout))
    proc = None
    try:
        proc = RendererProcess(cfg)
        if args.once and args.wait:
            proc.get_ready(StdinLines(), full=args.full)
        return proc.run_once(full=args.full) if args.once else proc.run_forever()
    except childproc.Terminated as e:
        if proc is not None and not args.once and str(e) == DAEMON_STOPPING.name:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)      # the final page first; SIGKILL bounds it
            proc.render_stopped()
        return exitcodes.OK
    finally:
        if proc is not None:
            proc.builder.close()


if __name__ == "__main__":
    childproc.exit_now(main())
