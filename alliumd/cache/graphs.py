"""The graph-history summary format: what the Onionoo history fetchers write and the models read.

A graph history is ``{"first", "last", "interval", "factor", "count", "values"}``
(https://metrics.torproject.org/onionoo.html#history): ``values`` are integers 0–999 or null, the real value is
``value * factor``, and ``count`` is never trusted (trimmed documents break
it), ``len(values)`` is.  The fetchers reduce each relay's histories to the
compact *summary* defined here while they stream the raw document (with
``summaries.histories``), and the models read only that summary.  Its version and its line layout belong to
the cache contract (``cache.names``, ``cache.layout``).

The summary document (``<source>.summary.json``; compact JSON, one relay per line so
that the renderer can read it relay by relay and recognise unchanged relays)::

    {"format": 2, "source": "onionoo_uptime" | "onionoo_bandwidth",
     "relays_published": "YYYY-MM-DD hh:mm:ss", ["alliumd_sample": …, "version": …, "build_revision": …,]
    "relays":{
    "FINGERPRINT":relay,                                      (sorted by fingerprint, one per line)
    …
    }}

    uptime relay:    {"uptime": {"1M": graph, "6M": …, "1Y": …, "5Y": …},    (periods present only)
                      "flags": {"Guard": {"1M": [mean, points], …}, …}}   (every UPTIME_FLAGS flag present;
                                                                          1M only for flags not in FLAG_PRIORITY)
    bandwidth relay: {"read": {"1M": graph, …}, "write": {…},
                      ["overload_ratelimits": {…}, "overload_fd_exhausted": {…}]}   (numbers only)
    graph:           {"mean": mean of the non-null points | null, "points": number of non-null points,
                      ["total": bytes moved = Σ value·factor·interval,]              (bandwidth)
                      "first": time of the first series point, "interval": seconds between series points,
                      "values": [series, ≤ 90 points], ["scale": bytes/s per unit]}  (bandwidth)

Uptime means and series values are fractions 0..1 (series: 3 decimals);
bandwidth means are bytes/s and series values integers 0–999 times
``scale``.  A series point is the mean of a bucket of ``k = ceil(n / 90)``
consecutive points (null when the whole bucket is null), placed at the
bucket's centre so that ``first`` keeps Onionoo's "midpoint" meaning; the
last point's time is ``first + (len(values) - 1) * interval``.
"""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache
from typing import Any

from ..core.timefmt import parse_onionoo_time


PERIODS = {"1_month": "1M", "6_months": "6M", "1_year": "1Y", "5_years": "5Y"}   # others (2014's
PERIOD_KEYS = tuple(PERIODS.values())                                             # 3_days…) are ignored
MAX_SERIES_POINTS = 90
MAX_VALUE = 999
# the flag whose uptime a relay page shows is the first of these the relay holds *now* and has a history
# for (allium's priority; model/uptime.py picks it against the details document's flags)
FLAG_PRIORITY = ("Exit", "Guard", "Fast", "Running")
# the flags whose uptime is summarised (means and point counts only, no series: the series of the
# five or six flags of a relay were most of the time it took to summarise the document); network
# health shows the 1-month uptime per flag, so the flags outside FLAG_PRIORITY keep only 1M.  A fixed
# list, so a hostile document cannot add keys.
UPTIME_FLAGS = ("Authority", "BadExit", "Exit", "Fast", "Guard", "HSDir", "MiddleOnly", "Running", "Stable",
                "StaleDesc", "V2Dir", "Valid")


def is_summary(doc: Any, source: str, summary_format: int) -> bool:
    """True for a summary document of ``source`` in the format this alliumd reads."""
    return (isinstance(doc, dict) and doc.get("source") == source and doc.get("format") == summary_format
            and isinstance(doc.get("relays"), dict))


def series_last(first: str, interval: int, n: int) -> str:
    """The time of the last of ``n`` series points (the summary stores only the first)."""
    return shift_time(first, (n - 1) * interval) if n else first


@lru_cache(maxsize=4096)
def shift_time(stamp: str, seconds: int) -> str:
    """'YYYY-MM-DD hh:mm:ss' plus ``seconds`` (cached: most relays share their period's first time)."""
    if not seconds:
        return stamp
    return (parse_onionoo_time(stamp) + timedelta(seconds=seconds)).strftime("%Y-%m-%d %H:%M:%S")


def decode_scaled(values: list, scale: float) -> list:
    return [None if v is None else v * scale for v in values]
