"""The supervisor loop (``alliumd --config PATH``).

Single-threaded, so forking children is always safe: one ``selectors`` loop
waits on a signal wakeup socket, the control socket and every child's report
pipe, with a timeout that is the time to the next deadline (a respawn, a
kill, a watchdog ping, a status flush).  Signal handlers do nothing; the
wakeup fd carries the signal number and the loop dispatches it to one small
``handle_<name>`` method (gunicorn's arbiter pattern).
"""

from __future__ import annotations

import json
import logging
import os
import selectors
import signal
import socket
import time

import psutil

from .. import __version__, atomic, config as configmod, sourcestate, statusview
from ..core import exitcodes
from ..sourcestate import SourceRecord
from ..states import fetch_backstop
from ..core import control
from . import lock, reconcile
from .children import Child
from .sdnotify import Notifier

log = logging.getLogger("alliumd.supervisor")

SIGNAL_NAMES = {signal.SIGTERM: "term", signal.SIGINT: "int", signal.SIGHUP: "hup", signal.SIGCHLD: "chld"}
STATUS_FLUSH = 30.0          # status.json is rewritten at least this often
STATUS_MIN_GAP = 0.5         # ... and at most this often
RENDERER = "renderer"
MAX_CLIENTS = 64             # open control connections; beyond this, accepting pauses
CLIENT_TIMEOUT = 5.0         # a control client must send its whole request within this
BUSY_CLIENT_TIMEOUT = 0.5    # ... or within this while all MAX_CLIENTS slots are taken


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
        self._conns: dict[socket.socket, list] = {}     # conn -> [bytes so far, accepted at]
        self.accept_paused = False

    # -- start-up ----------------------------------------------------------------

    def run(self) -> int:
        d = self.cfg.daemon
        self.lock_fd = lock.acquire(d.run_dir)
        for path in (d.cache_dir, d.output_dir, d.state_dir):
            path.mkdir(parents=True, exist_ok=True)
        atomic.sweep_tmp(d.cache_dir)
        self._setup_signals()
        self.listener = control.listen(d.run_dir)
        self.selector.register(self.listener, selectors.EVENT_READ, self._accept)
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
        child.fatal, child.fatal_reason = False, None
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
                child.terminate()
            else:
                del self.children[name]
        self.children[RENDERER].send({"cmd": "status"})

    def _restart(self, name: str, fresh: Child) -> None:
        """Replace a child with one started from the new config (counters are kept)."""
        child = self.children[name]
        child.spec, child.args = fresh.spec, fresh.args
        if child.alive:
            child.restart_when_stopped = True
            child.terminate()
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
        if child.restart_when_stopped and self.stopping_since is None:
            child.restart_when_stopped = False
            self._spawn(child, first=True)
            return
        if child.stopping or self.stopping_since is not None:
            log.info("%s stopped (%s)", child.name, child.last_exit)
            if child.name != RENDERER and child.name not in {s.name for s in self.cfg.enabled_sources}:
                del self.children[child.name]
            return
        decision = child.tracker.exited(now, returncode, config_error_code=exitcodes.CONFIG)
        if decision.action == "respawn":
            child.respawn_at = decision.at
            log.warning("%s %s; respawning in %.1fs", child.name, child.last_exit, decision.at - now)
        else:
            child.fatal, child.fatal_reason, child.respawn_at = True, decision.reason, decision.at
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
        deadlines += [c.respawn_at for c in self.children.values() if c.respawn_at is not None]
        deadlines += [c.busy_since + fetch_backstop(self.cfg.sources[n].timeout, self.cfg.sources[n].retries)
                      for n, c in self.children.items() if c.busy_since is not None and n in self.cfg.sources]
        if self.notifier.watchdog_interval:
            deadlines.append(self.next_watchdog)
        renderer = self.children.get(RENDERER)
        if renderer is not None and renderer.alive and renderer.silenced_pid != renderer.pid \
                and renderer.last_heard is not None:
            deadlines.append(renderer.last_heard + self.cfg.daemon.renderer_timeout)
        if self._conns:
            deadlines.append(min(at for _, at in self._conns.values()) + self._client_timeout())
        if self.stopping_since is not None:
            deadlines.append(now + 0.1)
        return min(deadlines)

    def _tick(self) -> None:
        now = self.clock()
        self._expire_clients(now)
        if self.stopping_since is None:
            for child in list(self.children.values()):
                if child.respawn_at is not None and now >= child.respawn_at and not child.alive:
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
            child.respawn_at = None
            if child.name != RENDERER and child.alive:
                child.terminate()
        self._advance_stop(self.stopping_since)

    def _advance_stop(self, now: float) -> None:
        """Fetchers first, then the renderer, then SIGKILL whatever outlives the grace period."""
        elapsed = now - self.stopping_since
        budget = self.cfg.daemon.graceful_timeout
        renderer = self.children.get(RENDERER)
        fetchers_alive = any(c.alive for n, c in self.children.items() if n != RENDERER)
        if renderer is not None and not self.renderer_stop_sent and (not fetchers_alive or elapsed > budget / 2):
            self.renderer_stop_sent = True
            renderer.stop_signal(signal.SIGUSR1)       # renders "stopped" on status.html, then exits
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
        running = {n for n, c in self.children.items() if n != RENDERER and not c.stopping}
        plan = reconcile.plan(self.cfg, new, running)
        self.cfg, self.loaded_at, self.reload_error, self.reload_error_at = new, self.wall(), None, None
        for name, child in self.children.items():       # a fixed config may cure a configuration error
            if child.fatal and child.respawn_at is None and name not in plan.restart + plan.stop:
                child.respawn_at = self.clock()
        self._apply(plan)
        log.info("reloaded: start=%s stop=%s restart=%s renderer=%s", plan.start, plan.stop, plan.restart,
                 "restart" if plan.restart_renderer else "kept")
        self.status_dirty = True
        self.notifier.ready(self._summary())
        return {"reloaded": True, "start": plan.start, "stop": plan.stop, "restart": plan.restart,
                "restart_renderer": plan.restart_renderer}

    # -- control socket ------------------------------------------------------------

    def _accept(self, listener) -> None:
        """Accept up to MAX_CLIENTS clients; beyond that, later ones wait in the backlog."""
        while len(self._conns) < MAX_CLIENTS:
            try:
                conn, _ = listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:                 # EMFILE/ENFILE/ENOBUFS: wait for a slot
                log.warning("control socket: accept failed: %s", e)
                if self._conns:
                    self._pause_accept()
                return
            conn.setblocking(False)
            self._conns[conn] = [b"", self.clock()]
            self.selector.register(conn, selectors.EVENT_READ, self._on_request)
        self._pause_accept()

    def _pause_accept(self) -> None:
        if not self.accept_paused:
            self.accept_paused = True
            self.selector.unregister(self.listener)

    def _client_timeout(self) -> float:
        return BUSY_CLIENT_TIMEOUT if self.accept_paused else CLIENT_TIMEOUT

    def _drop(self, conn: socket.socket, reply: dict | None = None) -> None:
        """Forget a client: unregister, optionally answer, close; resume accepting."""
        self._conns.pop(conn, None)
        try:
            self.selector.unregister(conn)
        except (KeyError, ValueError):
            pass
        try:
            if reply is not None:
                conn.setblocking(True)
                conn.settimeout(2.0)
                conn.sendall(control.encode(reply))
        except OSError:
            pass
        finally:
            conn.close()
        if self.accept_paused and len(self._conns) < MAX_CLIENTS:
            self.accept_paused = False
            self.selector.register(self.listener, selectors.EVENT_READ, self._accept)

    def _expire_clients(self, now: float) -> None:
        for conn, (_, at) in list(self._conns.items()):
            if now - at > self._client_timeout():
                self._drop(conn)

    def _on_request(self, conn: socket.socket) -> None:
        """One request per connection; whatever it holds, it can never end the supervisor."""
        try:
            chunk = conn.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        entry = self._conns.get(conn)
        if entry is None:
            self._drop(conn)
            return
        data = entry[0] + chunk
        if chunk and b"\0" not in data and len(data) <= control.MAX_REQUEST:
            entry[0] = data
            return
        try:
            if b"\0" not in data:
                raise ValueError("request not terminated or too large")
            request = control.decode(data.split(b"\0", 1)[0])
            reply = {"parameters": self.dispatch(request, control.peer_uid(conn))}
        except PermissionError as e:
            reply = {"error": "PermissionDenied", "message": str(e)}
        except (ValueError, LookupError) as e:
            reply = {"error": "InvalidRequest", "message": str(e)}
        except Exception as e:                   # a bug must cost one request, not the daemon
            log.exception("control request failed")
            reply = {"error": "InternalError", "message": f"{type(e).__name__}: {e}"}
        self._drop(conn, reply)

    def dispatch(self, request: dict, uid: int) -> dict:
        method, params = control.validate(request)
        if method in control.MUTATING and not control.may_mutate(uid):
            raise PermissionError(f"{method} needs root or the daemon's user")
        if method == "Status":
            return self.snapshot()
        if method == "Reload":
            return self.reload()
        if method == "Refresh":
            return self.refresh(params["source"])
        if method == "Render":
            renderer = self.children[RENDERER]
            renderer.send({"cmd": "render_all" if params.get("all") else "render"})
            return {"queued": True, "all": bool(params.get("all"))}
        if method == "Stop":
            self.begin_stop("alliumctl stop")
            return {"stopping": True}
        raise LookupError(f"unknown method {method!r}")

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

    # -- status ----------------------------------------------------------------------

    def snapshot(self) -> dict:
        now = self.wall()
        sources = {}
        for name in self.cfg.sources:
            child = self.children.get(name)
            rec = None
            if child is not None and child.report.get("record"):
                try:
                    rec = SourceRecord.from_json(child.report["record"])
                except ValueError as e:
                    log.warning("%s reported an invalid record: %s", name, e)
            if rec is None:
                rec = sourcestate.load(self.cfg.daemon.state_dir, name)
            state = note = None
            if child is not None:
                if child.fatal:
                    state, note = "fatal", child.fatal_reason
                elif child.respawn_at is not None:
                    state = "backoff"
                    note = f"process {child.last_exit}; respawn in {max(0, child.respawn_at - self.clock()):.0f}s"
                elif child.stopping:
                    state = "stopped"
            sources[name] = statusview.source_entry(
                self.cfg, rec, now, running=child is not None, pid=child.pid if child else None,
                restarts=child.tracker.restarts if child else 0, state=state,
                rss=_rss(child.pid) if child else None, note=note)
        renderer = self.children.get(RENDERER)
        return {
            "daemon": {"running": True, "pid": os.getpid(), "version": __version__,
                       "started_at": statusview.iso(self.started_at), "uptime_s": round(now - self.started_at, 1),
                       "config": str(self.cfg.path), "loaded_at": statusview.iso(self.loaded_at),
                       "last_reload_error": self.reload_error,
                       "last_reload_error_at": statusview.iso(self.reload_error_at),
                       "stopping": self.stopping_since is not None, "rss_tree": _rss(os.getpid(), tree=True)},
            "renderer": statusview.renderer_entry(
                renderer.report if renderer else None,
                running=bool(renderer and renderer.alive and not renderer.silent),
                pid=renderer.pid if renderer else None, rss=_rss(renderer.pid) if renderer else None,
                restarts=renderer.tracker.restarts if renderer else 0),
            "sources": sources,
        }

    def write_status_file(self, *, final: bool = False) -> None:
        """``run_dir/status.json``: what ``alliumctl status`` reads when the socket does not answer."""
        snap = self.snapshot()
        if final:
            snap["daemon"]["running"] = False
        snap["updated_at"] = statusview.iso(self.wall())
        snap["flush_interval"] = STATUS_FLUSH
        try:
            snap["daemon"]["create_time"] = psutil.Process().create_time()
        except psutil.Error:
            pass
        try:
            atomic.write_bytes(self.cfg.daemon.run_dir / "status.json", json.dumps(snap).encode(), fsync=False)
        except OSError as e:          # e.g. a full run_dir: alliumctl still has the socket
            log.error("cannot write status.json: %s", e)
        self.last_status_write = self.clock()
        self.status_dirty = False

    def _summary(self) -> str:
        states = {}
        for name, child in self.children.items():
            if name == RENDERER:
                continue
            state = "fatal" if child.fatal else child.report.get("record", {}).get("state", "starting")
            states[state] = states.get(state, 0) + 1
        text = ", ".join(f"{n} {s}" for s, n in sorted(states.items())) or "no sources"
        return f"{len(self.cfg.enabled_sources)} sources ({text})"


def _rss(pid: int | None, *, tree: bool = True) -> int | None:
    """Resident memory of a process and (by default) its descendants."""
    if pid is None:
        return None
    try:
        proc = psutil.Process(pid)
        procs = [proc] + (proc.children(recursive=True) if tree else [])
        return sum(p.memory_info().rss for p in procs if p.is_running())
    except psutil.Error:
        return None
