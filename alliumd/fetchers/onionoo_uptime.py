"""Onionoo uptime: validated while streamed, reduced to the summary the renderer reads.

The full document is ~240 MB (every relay's uptime and per-flag uptime
histories); the summary keeps per period the mean, the number of points and
a ≤ 90-point series, and per flag the mean and points (summaries/histories.py).
"""

from __future__ import annotations

from pathlib import Path

from ..cache import names
from ..summaries import histories as history
from . import DocInfo
from .onionoo_stream import LineMemo, summarise

SOURCE = "onionoo_uptime"
SUMMARY_FORMAT = names.UPTIME_SUMMARY_FORMAT


def validate(path: Path, max_bytes: int | None = None) -> DocInfo:
    """``path``: the document as stored (gzip or plain JSON, fetchers/stored.py)."""
    return summarise(path, source=SOURCE, summary_format=SUMMARY_FORMAT, relay_summary=history.uptime_relay,
                     limit=max_bytes)


def line_memo() -> LineMemo:
    """This source's memo of the previous document's relay lines (the runtime keeps it across restarts)."""
    return LineMemo.of(SOURCE, SUMMARY_FORMAT)
