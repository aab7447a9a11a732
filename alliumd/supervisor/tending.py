"""The supervisor's children (Supervisor's part): create, spawn, restart after a reload, read their
reports, and decide what an exit means (respawn with backoff, give up, or the end of a stop).

Each child's state is its lifecycle (lifecycle.py); this module feeds it events.
"""

from __future__ import annotations

import logging
import selectors

from ..core import channel, exitcodes
from . import reconcile
from .children import Child
from .lifecycle import Event, ProcessState
from .status import RENDERER

log = logging.getLogger("alliumd.supervisor")


class ChildTending:
    """Children of a Supervisor (``cfg``, ``children``, ``selector``, ``clock``, ``stopping_since``…)."""

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
                    renderer.send({"cmd": channel.STATUS if self._fetching() else channel.SETTLED})

    def _fetching(self) -> bool:
        """Whether a fetch is in flight: its publication may follow, so the renderer keeps debouncing."""
        return any(c.busy_since is not None for c in self.children.values())    # (set for fetchers only)

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
