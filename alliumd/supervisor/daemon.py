"""The supervisor loop (``alliumd --config PATH``).

Single-threaded, so forking children is always safe: one ``selectors`` loop
waits on a signal wakeup socket, the control socket and every child's report
pipe, with a timeout that is the time to the next deadline (a respawn, a
kill, a watchdog ping, a status flush).  Signal handlers do nothing; the
wakeup fd carries the signal number and the loop dispatches it to one small
``handle_<name>`` method (gunicorn's arbiter pattern).  Each child's state
is its :class:`~alliumd.supervisor.lifecycle.Lifecycle` (a transition table);
the control socket's clients and requests are :mod:`alliumd.supervisor.rpc`.
"""

from __future__ import annotations

import logging
import os
import selectors
import signal
import socket
import time

from .. import __version__, atomic, config as configmod
from ..core import control, exitcodes
from . import lock, reconcile, rpc, status
from .children import Child
from .lifecycle import Event, ProcessState
from .sdnotify import Notifier
from .tending import ChildTending
from .timers import Timers

log = logging.getLogger("alliumd.supervisor")

SIGNAL_NAMES = {signal.SIGTERM: "term", signal.SIGINT: "int", signal.SIGHUP: "hup", signal.SIGCHLD: "chld"}
STATUS_FLUSH, STATUS_MIN_GAP, RENDERER = status.STATUS_FLUSH, status.STATUS_MIN_GAP, status.RENDERER


class Supervisor(ChildTending, Timers):
    """The loop, signals, stopping, reload and the control methods; children are tending.py's part,
    deadlines timers.py's."""

    def __init__(self, cfg: configmod.Config, *, notifier: Notifier | None = None,
                 clock=time.monotonic, wall=time.time):
        self.cfg = cfg
        self.notifier = notifier or Notifier()
        self.clock = clock
        self.wall = wall
        self.children: dict[str, Child] = {}
        self.selector = selectors.DefaultSelector()
        self.started_at = wall()
        self.loaded_at = wall()
        self.reload_error: str | None = None
        self.reload_error_at: float | None = None
        self.stopping_since: float | None = None
        self.renderer_stop_sent = False
        self.status_dirty = True
        self.last_status_write = 0.0
        self.next_watchdog = clock()
        self.control: rpc.ControlServer | None = None

    # -- start-up ----------------------------------------------------------------

    def run(self) -> int:
        d = self.cfg.daemon
        self.lock_fd = lock.acquire(d.run_dir)
        for path in (d.cache_dir, d.output_dir, d.state_dir):
            path.mkdir(parents=True, exist_ok=True)
        atomic.sweep_tmp(d.cache_dir)
        self._setup_signals()
        self.control = rpc.ControlServer(self.selector, control.listen(d.run_dir), self, self.clock)
        self._apply(reconcile.plan(None, self.cfg, set()))
        self.notifier.ready(self._summary())
        log.info("alliumd %s started pid=%d config=%s sources=%s", __version__, os.getpid(), self.cfg.path,
                 ",".join(s.name for s in self.cfg.enabled_sources) or "-")
        try:
            while not (self.stopping_since is not None and not self._alive()):
                timeout = max(0.0, self._next_deadline() - self.clock())
                for key, _ in self.selector.select(timeout):
                    key.data(key.fileobj)
                self._tick()
        finally:
            self._shutdown()
        return exitcodes.OK

    def _setup_signals(self) -> None:
        self.wake_r, self.wake_w = socket.socketpair()
        for s in (self.wake_r, self.wake_w):
            s.setblocking(False)
        signal.set_wakeup_fd(self.wake_w.fileno(), warn_on_full_buffer=False)
        for signum in SIGNAL_NAMES:
            signal.signal(signum, lambda *_: None)      # the byte in the wakeup fd is the whole point
        self.selector.register(self.wake_r, selectors.EVENT_READ, self._on_wakeup)

    def _on_wakeup(self, sock) -> None:
        try:
            data = sock.recv(512)
        except BlockingIOError:
            return
        for signum in dict.fromkeys(data):               # each signal once per wake-up, in order
            name = SIGNAL_NAMES.get(signum)
            if name:
                getattr(self, f"handle_{name}")()

    # -- signals -----------------------------------------------------------------

    def handle_term(self) -> None:
        self.begin_stop("SIGTERM")

    def handle_int(self) -> None:
        self.begin_stop("SIGINT")

    def handle_hup(self) -> None:
        self.reload()

    def handle_chld(self) -> None:
        for child in list(self.children.values()):
            if child.proc is not None and child.proc.returncode is None and child.proc.poll() is not None:
                self._on_exit(child)

    # -- stopping ------------------------------------------------------------------

    def begin_stop(self, why: str) -> None:
        if self.stopping_since is not None:
            return
        log.info("stopping (%s)", why)
        self.stopping_since = self.clock()
        self.notifier.stopping()
        for child in self.children.values():
            if child.life.state in (ProcessState.BACKOFF, ProcessState.FATAL):
                child.event(Event.CANCEL, self.stopping_since)      # no respawn from now on
            if child.name != RENDERER and child.alive:
                child.terminate(self.stopping_since)
        self._advance_stop(self.stopping_since)

    def _advance_stop(self, now: float) -> None:
        """Fetchers first, then the renderer, then SIGKILL whatever outlives the grace period."""
        elapsed = now - self.stopping_since
        budget = self.cfg.daemon.graceful_timeout
        renderer = self.children.get(RENDERER)
        fetchers_alive = any(c.alive for n, c in self.children.items() if n != RENDERER)
        if renderer is not None and not self.renderer_stop_sent and (not fetchers_alive or elapsed > budget / 2):
            self.renderer_stop_sent = True
            renderer.stop_signal(signal.SIGUSR1, now)  # renders "stopped" on status.html, then exits
        if elapsed > budget:
            for child in self.children.values():
                if child.alive:
                    log.warning("%s did not stop within %.0fs; killing it", child.name, budget)
                    child.signal_group(signal.SIGKILL)
            self.handle_chld()

    def _shutdown(self) -> None:
        for child in self.children.values():
            if child.proc is not None:
                try:
                    child.proc.wait(timeout=5)
                except Exception:
                    child.signal_group(signal.SIGKILL)
        self.write_status_file(final=True)
        try:
            (self.cfg.daemon.run_dir / control.SOCKET_NAME).unlink()
        except FileNotFoundError:
            pass
        log.info("stopped")

    # -- reload ----------------------------------------------------------------------

    def reload(self) -> dict:
        """Re-read the config and reconcile; a bad config keeps the old one running."""
        if self.stopping_since is not None:
            return {"reloaded": False, "error": "stopping"}
        self.notifier.reloading()
        try:
            new = configmod.load(self.cfg.path)
            if new.daemon.run_dir != self.cfg.daemon.run_dir:
                raise configmod.ConfigError(self.cfg.path, ["[daemon] run_dir: cannot change on reload; "
                                                            "restart alliumd instead"])
        except configmod.ConfigError as e:
            self.reload_error, self.reload_error_at = str(e), self.wall()
            log.error("reload failed, keeping the running config: %s", e)
            self.status_dirty = True
            self.notifier.ready(f"reload failed: {e.problems[0]}; {self._summary()}")
            return {"reloaded": False, "error": str(e)}
        running = {n for n, c in self.children.items()
                   if n != RENDERER and c.life.state not in (ProcessState.STOPPING, ProcessState.STOPPED)}
        plan = reconcile.plan(self.cfg, new, running)
        self.cfg, self.loaded_at, self.reload_error, self.reload_error_at = new, self.wall(), None, None
        for name, child in self.children.items():       # a fixed config may cure a configuration error
            if child.life.state is ProcessState.FATAL and child.life.respawn_at is None \
                    and name not in plan.restart + plan.stop:
                child.event(Event.RETRY, self.clock(), at=self.clock())
        self._apply(plan)
        log.info("reloaded: start=%s stop=%s restart=%s renderer=%s", plan.start, plan.stop, plan.restart,
                 "restart" if plan.restart_renderer else "kept")
        self.status_dirty = True
        self.notifier.ready(self._summary())
        return {"reloaded": True, "start": plan.start, "stop": plan.stop, "restart": plan.restart,
                "restart_renderer": plan.restart_renderer}

    # -- control methods (rpc.dispatch) -----------------------------------------------

    def render(self, everything: bool) -> dict:
        self.children[RENDERER].send({"cmd": "render_all" if everything else "render"})
        return {"queued": True, "all": everything}

    def refresh(self, name: str) -> dict:
        """Fetch now, even during failure backoff or a Retry-After window."""
        if name not in self.cfg.sources:
            raise LookupError(f"unknown source {name!r} (known: {', '.join(self.cfg.sources)})")
        child = self.children.get(name)
        if child is None or not self.cfg.sources[name].enabled:
            raise LookupError(f"source {name} is disabled")
        if self.stopping_since is not None:
            raise LookupError("alliumd is stopping")
        if child.alive:
            child.send({"cmd": "refresh"})
        else:
            child.tracker.reset()
            self._spawn(child, first=False)      # a fresh fetcher fetches at once unless data is fresh
            child.send({"cmd": "refresh"})
        return {"refreshing": name}

    # -- status (status.py) ---------------------------------------------------------

    def snapshot(self) -> dict:
        return status.snapshot(self)

    def write_status_file(self, *, final: bool = False) -> None:
        status.write_file(self, final=final)
        self.last_status_write = self.clock()
        self.status_dirty = False

    def _summary(self) -> str:
        return status.summary(self)
