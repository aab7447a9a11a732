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
    if rec.future_by:
        clamp = f"upstream published time was {rec.future_by:.0f}s in the future; counted from the fetch"
        note = f"{note}; {clamp}" if note else clamp
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


# -- checking snapshots read back from disk ------------------------------------------------
# renderer.json and status.json are read by processes that did not write them (a restarted renderer,
# alliumctl with the daemon down); a damaged one must be recognised, never formatted into a traceback.

_NUM = (int, float)
_BATCH = {"state": str, "batch": int, "last_render": "iso", "last_duration": _NUM, "pages_written": int,
          "pages_unchanged": int, "pages_deleted": int, "families": list, "changed": list, "full": bool,
          "site_pages": int, "last_error": str, "queue": int}
_DAEMON = {"running": bool, "pid": int, "create_time": _NUM, "uptime_s": _NUM, "config": str, "note": str,
           "started_at": "iso", "loaded_at": "iso", "last_reload_error": str, "last_reload_error_at": "iso",
           "rss_tree": int}
_SOURCE = {"state": str, "pid": int, "last_success": "iso", "last_attempt": "iso", "last_status": int,
           "last_error": str, "last_error_at": "iso", "next_run": "iso", "failures": int, "restarts": int,
           "bytes": int, "data_age_s": _NUM, "stale": bool, "max_age": _NUM, "source": str, "rss": int,
           "note": str, "enabled": bool, "data_time": "iso", "last_duration": _NUM}


def _check_fields(entry, schema: dict, where: str) -> str | None:
    if not isinstance(entry, dict):
        return f"{where}: not an object"
    for key, kind in schema.items():
        value = entry.get(key)
        if value is None:
            continue
        if kind == "iso":
            try:
                datetime.fromisoformat(value.replace("Z", "+00:00"))
            except (AttributeError, TypeError, ValueError):
                return f"{where}.{key}: not an ISO time"
        elif isinstance(value, bool) and kind is not bool:
            return f"{where}.{key}: wrong type"
        elif not isinstance(value, kind) or (isinstance(value, float) and value != value):
            return f"{where}.{key}: wrong type"
    return None


def check_batch(info) -> str | None:
    """None when a stored renderer batch record has the expected shape, else what is wrong."""
    return _check_fields(info, _BATCH, "batch")


def check_snapshot(snap) -> str | None:
    """None when a stored status snapshot (``status.json``) has the expected shape, else what is wrong."""
    if not isinstance(snap, dict):
        return "not an object"
    problem = (_check_fields(snap.get("daemon"), _DAEMON, "daemon")
               or _check_fields(snap.get("renderer"), {**_BATCH, "rss": int, "restarts": int}, "renderer"))
    if problem:
        return problem
    sources = snap.get("sources")
    if not isinstance(sources, dict):
        return "sources: not an object"
    for name, entry in sources.items():
        problem = _check_fields(entry, _SOURCE, f"sources.{name}")
        if problem:
            return problem
    return None
