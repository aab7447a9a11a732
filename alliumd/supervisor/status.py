"""What the supervisor says about itself: the status snapshot, ``status.json`` and the systemd status line.

Read-only views of a running :class:`~alliumd.supervisor.daemon.Supervisor`
(its config, children and their lifecycles); ``alliumctl status`` gets the
snapshot over the control socket, or the file when the socket does not answer.
"""

from __future__ import annotations

import json
import logging
import os
from typing import TYPE_CHECKING

import psutil

from .. import __version__, atomic, sourcestate, statusview
from ..sourcestate import SourceRecord
from .lifecycle import ProcessState, shown

if TYPE_CHECKING:                       # pragma: no cover
    from .daemon import Supervisor

log = logging.getLogger("alliumd.supervisor")

RENDERER = "renderer"
STATUS_FLUSH = 30.0          # status.json is rewritten at least this often
STATUS_MIN_GAP = 0.5         # ... and at most this often


def snapshot(sup: "Supervisor") -> dict:
    now = sup.wall()
    sources = {}
    for name in sup.cfg.sources:
        child = sup.children.get(name)
        rec = None
        if child is not None and child.report.get("record"):
            try:
                rec = SourceRecord.from_json(child.report["record"])
            except ValueError as e:
                log.warning("%s reported an invalid record: %s", name, e)
        if rec is None:
            rec = sourcestate.load(sup.cfg.daemon.state_dir, name)
        state, note = shown(child.life, sup.clock(), child.last_exit) if child is not None else (None, None)
        sources[name] = statusview.source_entry(
            sup.cfg, rec, now, running=child is not None, pid=child.pid if child else None,
            restarts=child.tracker.restarts if child else 0, state=state,
            rss=rss(child.pid) if child else None, note=note)
    renderer = sup.children.get(RENDERER)
    return {
        "daemon": {"running": True, "pid": os.getpid(), "version": __version__,
                   "started_at": statusview.iso(sup.started_at), "uptime_s": round(now - sup.started_at, 1),
                   "config": str(sup.cfg.path), "loaded_at": statusview.iso(sup.loaded_at),
                   "last_reload_error": sup.reload_error,
                   "last_reload_error_at": statusview.iso(sup.reload_error_at),
                   "stopping": sup.stopping_since is not None, "rss_tree": rss(os.getpid(), tree=True)},
        "renderer": statusview.renderer_entry(
            renderer.report if renderer else None,
            running=bool(renderer and renderer.alive and not renderer.silent),
            pid=renderer.pid if renderer else None, rss=rss(renderer.pid) if renderer else None,
            restarts=renderer.tracker.restarts if renderer else 0),
        "sources": sources,
    }


def write_file(sup: "Supervisor", *, final: bool = False) -> None:
    """``run_dir/status.json``: what ``alliumctl status`` reads when the socket does not answer."""
    snap = snapshot(sup)
    if final:
        snap["daemon"]["running"] = False
    snap["updated_at"] = statusview.iso(sup.wall())
    snap["flush_interval"] = STATUS_FLUSH
    try:
        snap["daemon"]["create_time"] = psutil.Process().create_time()
    except psutil.Error:
        pass
    try:
        atomic.write_bytes(sup.cfg.daemon.run_dir / "status.json", json.dumps(snap).encode(), fsync=False)
    except OSError as e:          # e.g. a full run_dir: alliumctl still has the socket
        log.error("cannot write status.json: %s", e)


def summary(sup: "Supervisor") -> str:
    """One line for systemd's STATUS=: how many sources are in which state."""
    states: dict[str, int] = {}
    for name, child in sup.children.items():
        if name == RENDERER:
            continue
        state = "fatal" if child.life.state is ProcessState.FATAL \
            else child.report.get("record", {}).get("state", "starting")
        states[state] = states.get(state, 0) + 1
    text = ", ".join(f"{n} {s}" for s, n in sorted(states.items())) or "no sources"
    return f"{len(sup.cfg.enabled_sources)} sources ({text})"


def rss(pid: int | None, *, tree: bool = True) -> int | None:
    """Resident memory of a process and (by default) its descendants."""
    if pid is None:
        return None
    try:
        proc = psutil.Process(pid)
        procs = [proc] + (proc.children(recursive=True) if tree else [])
        return sum(p.memory_info().rss for p in procs if p.is_running())
    except psutil.Error:
        return None
