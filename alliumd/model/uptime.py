"""The uptime model: the uptime summary → per-relay uptime, flag uptime and network statistics.

Rules follow allium (uptime_utils.py): an uptime is the mean of the
non-null points of a period, shown only with at least 30 points; the flag
uptime uses the highest-priority flag the relay has a history for (Exit >
Guard > Fast > Running); network statistics leave out relays at or below 1 %
(essentially offline, as allium does) and a relay whose 6-month uptime lies
2σ or more from the network mean is an outlier.  Everything comes from the
summary document (model/history.py), never from the clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .. import paths
from . import format as fmt
from .history import PERIOD_KEYS, UPTIME_SUMMARY_FORMAT, gc_paused, is_summary, series_last

SOURCE = "onionoo_uptime"
MIN_POINTS = 30
FLAG_PRIORITY = ("Exit", "Guard", "Fast", "Running")
OFFLINE_PCT = 1.0
PERCENTILES = (5, 25, 50, 75, 90, 95, 99)
OUTLIER_PERIOD = "6M"
OUTLIER_SIGMA = 2.0


@dataclass
class UptimeModel:
    published: str                         # relays_published as "YYYY-MM-DD HH:MM:SS UTC"
    relays: dict[str, dict[str, Any]]      # by fingerprint
    network: dict[str, dict[str, Any]]     # by period key


def build_uptime(doc: Any) -> UptimeModel | None:
    """Build the model; None when there is no (readable) uptime summary."""
    if not is_summary(doc, SOURCE, UPTIME_SUMMARY_FORMAT):
        return None
    relays = {}
    with gc_paused():
        for fp, summary in doc["relays"].items():
            view = relay_uptime(summary) if paths.is_fingerprint(fp) else None
            if view is not None:
                relays[fp] = view
    network = {p: distribution([r["uptime"][p] for r in relays.values()]) for p in PERIOD_KEYS}
    mark_outliers(relays, network[OUTLIER_PERIOD])
    return UptimeModel(published=fmt.timestamp(fmt.parse_onionoo_time(doc.get("relays_published"))),
                       relays=relays, network=network)


def relay_uptime(summary: Any) -> dict[str, Any] | None:
    """One relay's summary → its model entry (None if the entry is malformed)."""
    try:
        graphs = summary["uptime"]
        flags = summary["flags"]
        flag = next((f for f in FLAG_PRIORITY if f in flags), None)
        flag_periods = flags[flag] if flag else {}
        return {
            "uptime": {p: percent(graphs.get(p)) for p in PERIOD_KEYS},
            "flag": flag,
            "flag_uptime": {p: percent_pair(flag_periods.get(p)) for p in PERIOD_KEYS},
            "points": {p: graphs[p]["points"] if p in graphs else 0 for p in PERIOD_KEYS},
            "series": {p: series(graphs[p]) for p in PERIOD_KEYS if p in graphs and "values" in graphs[p]},
            "outlier": None,
        }
    except (KeyError, TypeError, AttributeError):
        return None


def percent(graph: dict | None) -> float | None:
    """A period's uptime in percent, or None with fewer than MIN_POINTS points."""
    if not graph or graph["points"] < MIN_POINTS or graph["mean"] is None:
        return None
    return round(graph["mean"] * 100, 3)


def percent_pair(pair: list | None) -> float | None:
    """A flag period stored as [mean, points] → percent or None."""
    if not pair or pair[1] < MIN_POINTS or pair[0] is None:
        return None
    return round(pair[0] * 100, 3)


def series(graph: dict) -> dict[str, Any]:
    values = graph["values"]
    return {"first": graph["first"], "last": series_last(graph["first"], graph["interval"], len(values)),
            "interval": graph["interval"], "values": values}


def distribution(values: list[float | None]) -> dict[str, Any]:
    """count, mean, std (population) and percentiles of the relays above OFFLINE_PCT."""
    kept = sorted(v for v in values if v is not None and v > OFFLINE_PCT)
    if not kept:
        return {"count": 0, "mean": None, "std": None, "percentiles": {str(p): None for p in PERCENTILES}}
    mean = math.fsum(kept) / len(kept)
    std = math.sqrt(math.fsum((v - mean) ** 2 for v in kept) / len(kept))
    return {"count": len(kept), "mean": round(mean, 4), "std": round(std, 4),
            "percentiles": {str(p): round(percentile(kept, p), 4) for p in PERCENTILES}}


def percentile(ordered: list[float], p: float) -> float:
    """Linear interpolation between closest ranks (numpy's default) over a sorted list."""
    pos = (len(ordered) - 1) * p / 100
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def mark_outliers(relays: dict[str, dict], stats: dict[str, Any]) -> None:
    """"low"/"high" for relays whose OUTLIER_PERIOD uptime is ≥ 2σ from the network mean."""
    mean, std = stats["mean"], stats["std"]
    if mean is None or not std:
        return
    low, high = mean - OUTLIER_SIGMA * std, mean + OUTLIER_SIGMA * std
    for relay in relays.values():
        value = relay["uptime"][OUTLIER_PERIOD]
        if value is not None:
            relay["outlier"] = "low" if value <= low else "high" if value >= high else None
