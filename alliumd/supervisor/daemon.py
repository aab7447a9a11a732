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
from ..states import fetch_backstop
from . import lock, reconcile, rpc, status
from .children import Child
from .lifecycle import Event, ProcessState, due
from .sdnotify import Notifier

log = logging.getLogger("alliumd.supervisor")

SIGNAL_NAMES = {signal.SIGTERM: "term", signal.SIGINT: "int", signal.SIGHUP: "hup", signal.SIGCHLD: "chld"}
STATUS_FLUSH, STATUS_MIN_GAP, RENDERER = status.STATUS_FLUSH, status.STATUS_MIN_GAP, status.RENDERER


class Supervisor:
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

    # -- children ----------------------------------------------------------------

    def _source_child(self, name: str) -> Child:
        return Child(name, "alliumd.fetchers.runtime", ["--config", str(self.cfg.path), "--source", name],
                     spec=(self.cfg.daemon, self.cfg.sources[name]))

    def _renderer_child(self) -> Child:
        return Child(RENDERER, "alliumd.renderer.main", ["--config", str(self.cfg.path)],
                     spec=(self.cfg.daemon, self.cfg.render))

    def _spawn(self, child: Child, *, first: bool) -> None:
        child.spawn(self.clock(), first=first)
        child.last_heard = self.clock()
        self.selector.register(child.proc.stdout, selectors.EVENT_READ, lambda f, c=child: self._on_output(c))
        self.status_dirty = True

    def _apply(self, plan: reconcile.Plan) -> None:
        if RENDERER not in self.children:
            self.children[RENDERER] = self._renderer_child()
            self._spawn(self.children[RENDERER], first=True)
        elif plan.restart_renderer:
            self._restart(RENDERER, self._renderer_child())
        for name in plan.start:
            self.children[name] = self._source_child(name)
            self._spawn(self.children[name], first=True)
        for name in plan.restart:
            self._restart(name, self._source_child(name))
        for name in plan.stop:
            child = self.children[name]
            if child.alive:
                child.terminate(self.clock())
            else:
                del self.children[name]
        self.children[RENDERER].send({"cmd": "status"})

    def _restart(self, name: str, fresh: Child) -> None:
        """Replace a child with one started from the new config (counters are kept)."""
        child = self.children[name]
        child.spec, child.args = fresh.spec, fresh.args
        if child.alive:
            child.restart_when_stopped = True
            child.terminate(self.clock())
        else:
            self._spawn(child, first=True)

    def _on_output(self, child: Child) -> None:
        reports, eof = child.read_reports()
        for report in reports:
            self._on_report(child, report)
        if eof:
            self._unregister(child)

    def _unregister(self, child: Child) -> None:
        try:
            self.selector.unregister(child.proc.stdout)
        except (KeyError, ValueError, AttributeError):
            pass

    def _on_report(self, child: Child, report: dict) -> None:
        child.last_heard = self.clock()
        if child.life.state is ProcessState.STARTING:
            child.event(Event.HEARD, child.last_heard)
        if child.silent:
            log.info("%s is heard from again", child.name)
            child.silent = False
            self.status_dirty = True
        if report.get("event") == "heartbeat":
            return
        previous = child.report
        child.report = report
        self.status_dirty = True
        if child.name != RENDERER and report.get("event") == "source":
            fetching = report["record"].get("state") == "fetching"
            child.busy_since = (child.busy_since or self.clock()) if fetching else None
            if (previous or {}).get("record", {}).get("state") != report["record"].get("state") \
                    or report["record"].get("state") != "fetching":
                renderer = self.children.get(RENDERER)
                if renderer is not None:
                    renderer.send({"cmd": "status"})

    def _on_exit(self, child: Child) -> None:
        self._on_output(child)
        self._unregister(child)
        child.close_pipes()
        now = self.clock()
        returncode = child.proc.returncode
        child.last_exit = exitcodes.describe(returncode)
        self.status_dirty = True
        expected = child.life.state is ProcessState.STOPPING
        if expected or self.stopping_since is not None:
            child.event(Event.EXITED, now)          # STOPPING → STOPPED; ended by itself while stopping → EXITED
        if expected and child.restart_when_stopped and self.stopping_since is None:
            child.restart_when_stopped = False
            self._spawn(child, first=True)
            return
        if expected or self.stopping_since is not None:
            log.info("%s stopped (%s)", child.name, child.last_exit)
            if child.name != RENDERER and child.name not in {s.name for s in self.cfg.enabled_sources}:
                del self.children[child.name]
            return
        decision = child.tracker.exited(now, returncode, config_error_code=exitcodes.CONFIG)
        if decision.action == "respawn":
            child.event(Event.CRASHED, now, at=decision.at)
            log.warning("%s %s; respawning in %.1fs", child.name, child.last_exit, decision.at - now)
        else:
            child.event(Event.GAVE_UP, now, at=decision.at, reason=decision.reason)
            log.error("%s %s; %s", child.name, child.last_exit, decision.reason)
            self.notifier.status(self._summary())
        renderer = self.children.get(RENDERER)
        if renderer is not None and child is not renderer:
            renderer.send({"cmd": "status"})

    def _alive(self) -> bool:
        return any(c.alive for c in self.children.values())

    # -- time-driven work ----------------------------------------------------------

    def _next_deadline(self) -> float:
        now = self.clock()
        deadlines = [now + STATUS_FLUSH, self.last_status_write + STATUS_FLUSH]
        if self.status_dirty:
            deadlines.append(self.last_status_write + STATUS_MIN_GAP)
        deadlines += [c.life.respawn_at for c in self.children.values() if c.life.respawn_at is not None]
        deadlines += [c.busy_since + fetch_backstop(self.cfg.sources[n].timeout, self.cfg.sources[n].retries)
                      for n, c in self.children.items() if c.busy_since is not None and n in self.cfg.sources]
        if self.notifier.watchdog_interval:
            deadlines.append(self.next_watchdog)
        renderer = self.children.get(RENDERER)
        if renderer is not None and renderer.alive and renderer.silenced_pid != renderer.pid \
                and renderer.last_heard is not None:
            deadlines.append(renderer.last_heard + self.cfg.daemon.renderer_timeout)
        client_deadline = self.control.deadline() if self.control is not None else None
        if client_deadline is not None:
            deadlines.append(client_deadline)
        if self.stopping_since is not None:
            deadlines.append(now + 0.1)
        return min(deadlines)

    def _tick(self) -> None:
        now = self.clock()
        if self.control is not None:
            self.control.expire(now)
        if self.stopping_since is None:
            for child in list(self.children.values()):
                if due(child.life, now) and not child.alive:
                    self._spawn(child, first=False)
                self._enforce_backstop(child, now)
            self._enforce_heartbeat(now)
        else:
            self._advance_stop(now)
        renderer = self.children.get(RENDERER)
        if self.notifier.watchdog_interval and now >= self.next_watchdog:
            # a silent renderer starves systemd's watchdog: if restarting it does not help, systemd acts
            if renderer is None or not renderer.silent:
                self.notifier.watchdog()
            self.next_watchdog = now + self.notifier.watchdog_interval
        if (self.status_dirty and now - self.last_status_write >= STATUS_MIN_GAP) \
                or now - self.last_status_write >= STATUS_FLUSH:
            self.write_status_file()

    def _enforce_heartbeat(self, now: float) -> None:
        """Kill a renderer silent beyond ``renderer_timeout`` (stopped, frozen); it is respawned."""
        child = self.children.get(RENDERER)
        limit = self.cfg.daemon.renderer_timeout
        if child is None or not child.alive or child.last_heard is None or now - child.last_heard <= limit \
                or child.silenced_pid == child.pid:
            return
        log.error("renderer silent for %.1fs (limit %.0fs); stopping the watchdog and killing it",
                  now - child.last_heard, limit)
        child.silent, child.silenced_pid = True, child.pid
        child.report = {**child.report, "last_error": f"no heartbeat for {now - child.last_heard:.0f}s; restarted"}
        self.status_dirty = True
        child.signal_group(signal.SIGKILL)

    def _enforce_backstop(self, child: Child, now: float) -> None:
        """Kill a fetcher stuck in one fetch far beyond its own deadlines (it is respawned)."""
        src = self.cfg.sources.get(child.name)
        if src is None or child.busy_since is None or not child.alive:
            return
        limit = fetch_backstop(src.timeout, src.retries)
        if now - child.busy_since > limit:
            log.error("%s stuck in one fetch for %.0fs (limit %.0fs); killing it", child.name,
                      now - child.busy_since, limit)
            child.busy_since = None
            child.signal_group(signal.SIGKILL)

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
