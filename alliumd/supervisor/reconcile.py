"""Reconcile: what to start, stop and restart when the config changes (pure).

Used at start-up (old = None), on SIGHUP and nowhere else.  A source whose
settings are unchanged keeps running untouched (its schedule and backoff
counters survive a reload); a changed one is restarted; the renderer is
restarted only if its own inputs changed: render settings, paths, or which
sources are enabled (pages say whether a source without data is disabled).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..config import Config


@dataclass
class Plan:
    start: list[str] = field(default_factory=list)
    stop: list[str] = field(default_factory=list)
    restart: list[str] = field(default_factory=list)
    restart_renderer: bool = False

    @property
    def empty(self) -> bool:
        return not (self.start or self.stop or self.restart or self.restart_renderer)


def plan(old: Config | None, new: Config, running: set[str]) -> Plan:
    """Compare the desired sources of ``new`` with ``running`` (names of live source children)."""
    p = Plan()
    desired = {s.name for s in new.enabled_sources}
    daemon_changed = old is not None and old.daemon != new.daemon
    for name in sorted(desired - running):
        p.start.append(name)
    for name in sorted(running - desired):
        p.stop.append(name)
    for name in sorted(desired & running):
        if daemon_changed or old is None or old.sources.get(name) != new.sources[name]:
            p.restart.append(name)
    p.restart_renderer = old is not None and (daemon_changed or old.render != new.render
                                              or {s.name for s in old.enabled_sources} != desired)
    return p
