"""Gathering status and printing it.

The truth comes from the daemon over the control socket.  When the socket
does not answer, ``run_dir/status.json`` tells whether a daemon process is
still alive (pid + create_time checked with psutil: then it is
unresponsive, "unknown"), and otherwise the durable per-source state files
tell what the sources last did while every process shows as stopped.
"""

from __future__ import annotations

import json
import time
from datetime import datetime

import psutil

from .. import sourcestate, statusview
from ..core import exitcodes
from ..config import Config
from ..core import control
from .check import _age


def gather(cfg: Config) -> tuple[dict, int]:
    """Return (snapshot, LSB status exit code)."""
    run_dir = cfg.daemon.run_dir
    try:
        return control.call(run_dir, "Status"), exitcodes.STATUS_RUNNING
    except control.ControlError as e:
        return offline_snapshot(cfg, note=f"daemon answered with an error: {e}"), exitcodes.STATUS_UNKNOWN
    except ConnectionError as e:
        reason = str(e)
    saved = _read_status_file(cfg)
    if saved and _daemon_alive(saved.get("daemon", {})):
        saved["daemon"]["running"] = True
        saved["daemon"]["note"] = f"daemon process alive but not answering ({reason}); showing {saved.get('updated_at')}"
        return saved, exitcodes.STATUS_UNKNOWN
    return offline_snapshot(cfg), exitcodes.STATUS_NOT_RUNNING


def _read_status_file(cfg: Config) -> dict | None:
    """The daemon's last status.json, or None when it is missing or damaged (never trusted blindly)."""
    try:
        with open(cfg.daemon.run_dir / "status.json", "rb") as f:
            data = json.loads(f.read(1 << 22))
    except (OSError, ValueError, RecursionError):
        return None
    return data if statusview.check_snapshot(data) is None else None


def _daemon_alive(daemon: dict) -> bool:
    pid, created = daemon.get("pid"), daemon.get("create_time")
    if not pid or not daemon.get("running"):
        return False
    try:
        proc = psutil.Process(pid)
        return created is None or abs(proc.create_time() - created) < 1.0
    except psutil.Error:
        return False


def offline_snapshot(cfg: Config, note: str | None = None) -> dict:
    now = time.time()
    try:
        with open(cfg.daemon.state_dir / "renderer.json", "rb") as f:
            renderer_info = json.loads(f.read(1 << 22)).get("last_batch")
    except (OSError, ValueError, AttributeError, RecursionError):
        renderer_info = None
    if statusview.check_batch(renderer_info) is not None:
        renderer_info = None
    return {
        "daemon": {"running": False, "pid": None, "config": str(cfg.path), "note": note},
        "renderer": statusview.renderer_entry(renderer_info, running=False),
        "sources": {name: statusview.source_entry(cfg, sourcestate.load(cfg.daemon.state_dir, name), now,
                                                  running=False)
                    for name in cfg.sources},
    }


# -- the table -------------------------------------------------------------------------

def _ago(iso: str | None, now: float) -> str:
    if not iso:
        return "-"
    t = datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
    delta = now - t
    return f"{_age(delta)} ago" if delta >= 0 else f"in {_age(-delta)}"


def _mb(n: int | None) -> str:
    return f"{n / 1e6:.0f} MB" if n else "-"


def format_table(snap: dict, now: float | None = None) -> str:
    now = time.time() if now is None else now
    d, r = snap.get("daemon", {}), snap.get("renderer", {})
    lines = []
    if d.get("running"):
        lines.append(f"alliumd: running, pid {d.get('pid')}, up {_age(d.get('uptime_s'))}, "
                     f"config {d.get('config')} (loaded {_ago(d.get('loaded_at'), now)})")
        if d.get("last_reload_error"):
            lines.append(f"  last reload error ({_ago(d.get('last_reload_error_at'), now)}): "
                         f"{d['last_reload_error']}")
    else:
        lines.append(f"alliumd: not running (config {d.get('config')})")
    if d.get("note"):
        lines.append(f"  note: {d['note']}")
    render_line = f"renderer: {r.get('state')}"
    if r.get("pid"):
        render_line += f", pid {r['pid']}, {_mb(r.get('rss'))}"
    if r.get("last_render"):
        render_line += (f", last render {_ago(r['last_render'], now)} in {r.get('last_duration') or 0:.2f}s: "
                        f"{r.get('pages_written', 0)} written, {r.get('pages_unchanged', 0)} unchanged, "
                        f"{r.get('pages_deleted', 0)} deleted")
    render_line += f", queue {r.get('queue', 0)}"
    if r.get("restarts"):
        render_line += f", restarts {r['restarts']}"
    lines.append(render_line)
    if r.get("last_error"):
        lines.append(f"  last render error: {r['last_error']}")
    header = ("SOURCE", "STATE", "PID", "DATA", "LAST OK", "LAST ERROR", "NEXT RUN", "FAILS", "RESTARTS", "RSS")
    rows = [header]
    notes = []
    for name, s in snap.get("sources", {}).items():
        last_ok = "-"
        if s.get("last_success"):
            last_ok = f"{_ago(s['last_success'], now)} ({s.get('last_status') or '-'})"
        last_err = "-"
        if s.get("last_error"):
            last_err = f"{_ago(s.get('last_error_at'), now)}: {s['last_error']}"
            if len(last_err) > 60:
                last_err = last_err[:57] + "..."
        data = "-"
        if s.get("data_age_s") is not None:
            data = f"{_age(s['data_age_s'])} old {s.get('source') or ''}".strip()
            if s.get("stale"):
                data += " STALE"
        rows.append((name, s.get("state", "?"), str(s.get("pid") or "-"), data, last_ok, last_err,
                     _ago(s.get("next_run"), now), str(s.get("failures", 0)), str(s.get("restarts", 0)),
                     _mb(s.get("rss"))))
        if s.get("note"):
            notes.append(f"  {name}: {s['note']}")
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines.append("")
    lines += ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    return "\n".join(lines + notes)
