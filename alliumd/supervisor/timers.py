"""Time-driven work of the supervisor loop (Supervisor's part): the next deadline the loop sleeps until,
and what is due then: respawns, killing a silent renderer or a stuck fetcher, watchdog pings, status writes.
"""

from __future__ import annotations

import logging
import signal

from ..states import fetch_backstop
from .children import Child
from .lifecycle import due
from .status import RENDERER, STATUS_FLUSH, STATUS_MIN_GAP

log = logging.getLogger("alliumd.supervisor")


class Timers:
    """Deadlines of a Supervisor (``cfg``, ``children``, ``notifier``, ``control``, status times…)."""

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
