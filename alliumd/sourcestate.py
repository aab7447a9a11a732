"""Durable per-source state, owned by that source's fetcher process.

Written atomically to ``state_dir/sources/<name>.json`` after every attempt,
so it survives restarts (no refetch storm, conditional GET validators kept)
and so ``alliumctl status`` can tell the truth even when the daemon is down.
Times are Unix epoch seconds; presentation (ISO 8601, ages) happens in ctl.
Every field is type- and range-checked on load (``check``): a damaged file
is moved aside by its owner (the fetcher) and a fresh record is used, so no
reader (supervisor, renderer, ``alliumctl``) ever acts on a wrong type.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

from . import atomic, quarantine

log = logging.getLogger("alliumd.sourcestate")
MAX_TIME = 4102444800.0          # 2100-01-01: anything later is damage, not a time
MAX_TEXT = 4096
_STATES = {"idle", "fetching", "backoff", "fatal", "stopped", "disabled"}
_ORIGINS = {"network", "cache", "sample"}
_SHA = re.compile(r"[0-9a-f]{64}")


@dataclass
class SourceRecord:
    name: str
    state: str = "idle"
    last_success: float | None = None     # last attempt that confirmed data (200 or 304)
    last_attempt: float | None = None
    last_status: int | None = None        # HTTP status of the last answer (200, 304, 503, ...)
    last_error: str | None = None         # most recent error, kept after later successes
    last_error_at: float | None = None
    next_run: float | None = None
    failures: int = 0                     # consecutive failed fetches
    bytes: int | None = None              # size of the published document
    sha256: str | None = None
    etag: str | None = None               # server validators, stored verbatim
    last_modified: str | None = None
    data_time: float | None = None        # when the upstream published the data
    origin: str | None = None             # "network" | "cache" | "sample"
    last_duration: float | None = None
    summary_format: int | None = None     # version of the derived summary in the cache, if any
    summary_sha256: str | None = None     # of the summary file as written (a damaged one is re-derived)
    future_by: float | None = None        # the upstream's published time was this far in the future (clamped)

    def to_json(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "SourceRecord":
        """A record from stored or reported JSON; ValueError naming the first bad field."""
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        names = {f.name for f in dataclasses.fields(cls)}
        fields = {k: v for k, v in data.items() if k in names}
        for key, value in fields.items():
            problem = _CHECKS[key](value)
            if problem:
                raise ValueError(f"{key}: {problem}")
        if not isinstance(fields.get("name"), str):
            raise ValueError("name: missing")
        return cls(**fields)


def _time(v):
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or not 0 <= v <= MAX_TIME:
        return f"not a time: {v!r:.40}"
    return None


def _count(lo: int, hi: int, optional: bool = True):
    def check(v):
        if v is None and optional:
            return None
        if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
            return f"not an integer in {lo}..{hi}: {v!r:.40}"
        return None
    return check


def _text(choices=None, pattern=None):
    def check(v):
        if v is None:
            return None
        if not isinstance(v, str) or len(v) > MAX_TEXT:
            return f"not a string: {v!r:.40}"
        if choices is not None and v not in choices:
            return f"not one of {sorted(choices)}: {v!r:.40}"
        if pattern is not None and not pattern.fullmatch(v):
            return f"malformed: {v!r:.40}"
        return None
    return check


def _duration(v):
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or not 0 <= v <= 1e10:
        return f"not a duration: {v!r:.40}"
    return None


_CHECKS = {
    "name": _text(), "state": _text(_STATES), "last_success": _time, "last_attempt": _time,
    "last_status": _count(0, 999), "last_error": _text(), "last_error_at": _time, "next_run": _time,
    "failures": _count(0, 10**9, optional=False), "bytes": _count(0, 2**62), "sha256": _text(pattern=_SHA),
    "etag": _text(), "last_modified": _text(), "data_time": _time, "origin": _text(_ORIGINS),
    "last_duration": _duration, "summary_format": _count(0, 10**6), "summary_sha256": _text(pattern=_SHA),
    "future_by": _duration,
}


def path_for(state_dir: str | os.PathLike, name: str) -> Path:
    return Path(state_dir) / "sources" / f"{name}.json"


def load(state_dir: str | os.PathLike, name: str, *, repair: bool = False) -> SourceRecord:
    """The stored record, or a fresh one if none exists or it is damaged.

    ``repair`` (only the source's own fetcher, the file's owner) moves a
    damaged file aside; other readers just ignore it.
    """
    path = path_for(state_dir, name)
    try:
        with open(path, "rb") as f:
            raw = f.read(1 << 20)
    except FileNotFoundError:
        return SourceRecord(name=name)
    except OSError as e:                     # e.g. a directory in its place
        problem = str(e)
    else:
        try:
            record = SourceRecord.from_json(json.loads(raw))
            if record.name != name:
                raise ValueError(f"name: {record.name!r} in the file of {name!r}")
            return record
        except (ValueError, RecursionError) as e:
            problem = str(e) or type(e).__name__
    if repair:
        quarantine.move_aside(path, problem)
    else:
        log.debug("ignoring damaged %s: %s", path, problem)
    return SourceRecord(name=name)


def save(state_dir: str | os.PathLike, record: SourceRecord) -> None:
    target = path_for(state_dir, record.name)
    quarantine.ensure_dir(target.parent)
    quarantine.ensure_not_dir(target)
    atomic.write_bytes(target, json.dumps(record.to_json(), sort_keys=True).encode(), fsync=True)
