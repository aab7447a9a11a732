"""consensus-health: the abbreviated depictor page, reduced to a plain-text summary.

The raw page is kept as the cached document (``consensus_health.json``
holds the HTML as served); the renderer reads only the summary
(summaries/consensus_health.py).  A page that is not recognisably a
consensus-health page (an error page, a captive portal, a redesign) is
refused, so the last good cache and summary stay in place.
"""

from __future__ import annotations

from pathlib import Path

from ..summaries import consensus_health
from . import DocInfo, InvalidDocument
from .onionoo_stream import dumps

SUMMARY_FORMAT = consensus_health.FORMAT


def validate(path: Path) -> DocInfo:
    try:
        summary = consensus_health.parse_page(Path(path).read_bytes())
    except consensus_health.UnrecognizedPage as e:
        raise InvalidDocument(str(e)) from None
    return DocInfo(data_time=consensus_health.data_time(summary), items=len(summary["authorities"]),
                   summary=dumps(summary))
