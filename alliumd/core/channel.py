"""The child channel: the supervisor and each child (fetcher, renderer) talk in JSON lines.

The supervisor writes commands on the child's stdin, the child writes reports
on its stdout (stderr is its log), one JSON object per line.  Framing and
the message shapes live here once, so the supervisor, ``alliumd --once``,
the fetchers and the renderer cannot drift apart.  Anything that is not a
JSON object on one line is dropped: a child's stray output is not a report.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

# commands (supervisor -> child)
REFRESH = "refresh"          # fetcher: fetch now
RENDER = "render"            # renderer: render what changed now
RENDER_ALL = "render_all"    # renderer: render every page now
STATUS = "status"            # renderer: render the status page (the supervisor's state changed)
SETTLED = "settled"          # renderer: as STATUS, and no fetch is in flight, so no publication is coming

# report events (child -> supervisor)
SOURCE = "source"
RENDERER = "renderer"
HEARTBEAT = "heartbeat"


def encode(message: dict[str, Any]) -> bytes:
    """One message as its line."""
    return (json.dumps(message, separators=(",", ":")) + "\n").encode()


def decode(line: bytes | str) -> dict[str, Any] | None:
    """The message on one line, or None when the line is not a JSON object."""
    try:
        msg = json.loads(line)
    except ValueError:
        return None
    return msg if isinstance(msg, dict) else None


class LineReader:
    """Reassembles messages from the chunks a pipe delivers (a line may arrive in pieces)."""

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, chunk: bytes) -> list[dict[str, Any]]:
        """The complete messages ``chunk`` finishes, in order."""
        *lines, self._buffer = (self._buffer + chunk).split(b"\n")
        return [msg for line in lines if (msg := decode(line)) is not None]


@dataclass(frozen=True)
class Command:
    cmd: str

    def message(self) -> dict[str, Any]:
        return {"cmd": self.cmd}

    @staticmethod
    def of(message: dict[str, Any]) -> str | None:
        cmd = message.get("cmd")
        return cmd if isinstance(cmd, str) else None


@dataclass(frozen=True)
class SourceReport:
    """A fetcher's source record (alliumd.sourcestate.SourceRecord.to_json) after a change."""
    record: dict[str, Any]

    def message(self) -> dict[str, Any]:
        return {"event": SOURCE, "record": self.record}

    @staticmethod
    def of(message: dict[str, Any]) -> SourceReport | None:
        record = message.get("record")
        return SourceReport(record) if message.get("event") == SOURCE and isinstance(record, dict) else None


@dataclass(frozen=True)
class RendererReport:
    """The renderer's state: ``rendering`` while a batch runs, ``idle`` with the batch's numbers."""
    fields: dict[str, Any]

    def message(self) -> dict[str, Any]:
        return {"event": RENDERER, **self.fields}

    @staticmethod
    def of(message: dict[str, Any]) -> RendererReport | None:
        if message.get("event") != RENDERER:
            return None
        return RendererReport({k: v for k, v in message.items() if k != "event"})


HEARTBEAT_MESSAGE = {"event": HEARTBEAT}
