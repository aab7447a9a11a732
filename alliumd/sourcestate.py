"""Durable per-source state, owned by that source's fetcher process.

Written atomically to ``state_dir/sources/<name>.json`` after every attempt,
so it survives restarts (no refetch storm, conditional GET validators kept)
and so ``alliumctl status`` can tell the truth even when the daemon is down.
Times are Unix epoch seconds; presentation (ISO 8601, ages) happens in ctl.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path

from . import atomic


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

    def to_json(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "SourceRecord":
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def path_for(state_dir: str | os.PathLike, name: str) -> Path:
    return Path(state_dir) / "sources" / f"{name}.json"


def load(state_dir: str | os.PathLike, name: str) -> SourceRecord:
    """The stored record, or a fresh one if none exists or it is unreadable."""
    try:
        with open(path_for(state_dir, name), "rb") as f:
            data = json.load(f)
        if isinstance(data, dict) and data.get("name") == name:
            return SourceRecord.from_json(data)
    except (OSError, ValueError, TypeError):
        pass
    return SourceRecord(name=name)


def save(state_dir: str | os.PathLike, record: SourceRecord) -> None:
    target = path_for(state_dir, record.name)
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_bytes(target, json.dumps(record.to_json(), sort_keys=True).encode(), fsync=True)
