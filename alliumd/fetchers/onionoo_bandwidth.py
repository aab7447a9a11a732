"""Onionoo bandwidth: validated while streamed, reduced to the summary the renderer reads.

Per relay the summary keeps, for read and write history and each period, the
mean bytes/s, the bytes moved, the number of points and a ≤ 90-point series,
plus the two overload objects (summaries/histories.py).
"""

from __future__ import annotations

from pathlib import Path

from ..cache import names
from ..summaries import histories as history
from . import DocInfo
from .onionoo_stream import LineMemo, summarise

SOURCE = "onionoo_bandwidth"
SUMMARY_FORMAT = names.BANDWIDTH_SUMMARY_FORMAT


def validate(path: Path, max_bytes: int | None = None) -> DocInfo:
    """``path``: the document as stored (gzip or plain JSON, fetchers/stored.py)."""
    return summarise(path, source=SOURCE, summary_format=SUMMARY_FORMAT, relay_summary=history.bandwidth_relay,
                     limit=max_bytes)


def line_memo() -> LineMemo:
    """This source's memo of the previous document's relay lines (the runtime keeps it across restarts)."""
    return LineMemo.of(SOURCE, SUMMARY_FORMAT)
