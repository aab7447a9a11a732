"""The status snapshot: one shape for ``alliumctl status --json``, ``status.json`` and ``status.html``.

Built from the per-source records plus whatever the caller knows about
processes (the supervisor knows pids and restarts; ``alliumctl`` with the
daemon down knows nothing and reports every source as stopped).
"""

from __future__ import annotations

from datetime import datetime, timezone

from .config import Config
from .sourcestate import SourceRecord
from .states import SourceState


def iso(t: float | None) -> str | None:
    if t is None:
        return None
    return datetime.fromtimestamp(t, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def source_entry(cfg: Config, rec: SourceRecord, now: float, *, running: bool, pid: int | None = None,
                 restarts: int = 0, state: str | None = None, rss: int | None = None,
                 note: str | None = None) -> dict:
    src = cfg.sources[rec.name]
    if not src.enabled:
        state = SourceState.DISABLED.value
    elif state is None:
        state = rec.state if running else SourceState.STOPPED.value
    data_age = now - rec.data_time if rec.data_time is not None else None
    return {
        "label": src.label, "enabled": src.enabled, "state": state, "pid": pid,
        "last_success": iso(rec.last_success), "last_attempt": iso(rec.last_attempt),
        "last_status": rec.last_status, "last_error": rec.last_error, "last_error_at": iso(rec.last_error_at),
        "next_run": iso(rec.next_run) if running and src.enabled else None,
        "failures": rec.failures, "restarts": restarts, "bytes": rec.bytes,
        "data_time": iso(rec.data_time), "data_age_s": round(data_age, 1) if data_age is not None else None,
        "stale": data_age is not None and data_age > src.max_age, "max_age": src.max_age,
        "source": rec.origin, "rss": rss, "note": note,
        "last_duration": round(rec.last_duration, 3) if rec.last_duration is not None else None,
    }


def renderer_entry(info: dict | None, *, running: bool, pid: int | None = None, rss: int | None = None,
                   restarts: int = 0) -> dict:
    info = dict(info or {})
    out = {"state": info.get("state", "down") if running else "down", "pid": pid,
           "last_render": info.get("last_render"), "last_duration": info.get("last_duration"),
           "pages_written": info.get("pages_written", 0), "pages_unchanged": info.get("pages_unchanged", 0),
           "pages_deleted": info.get("pages_deleted", 0), "queue": info.get("queue", 0),
           "last_error": info.get("last_error"), "restarts": restarts, "rss": rss,
           "changed": info.get("changed", []), "batch": info.get("batch", 0), "full": info.get("full", False)}
    if not running:
        out["state"] = "down"
    return out
