"""The uptime model: the uptime summary → per-relay uptime, flag uptime and network statistics.

Rules follow allium (uptime_utils.py): an uptime is the mean of the
non-null points of a period, shown only with at least 30 points; the flag
uptime uses the highest-priority flag (Exit > Guard > Fast > Running) that the
relay holds in the details document *and* has a history for (a relay that lost
Guard shows its Fast uptime, never a Guard uptime: :func:`flag_uptime`); network statistics leave out relays at or below 1 %
(essentially offline, as allium does) and a relay whose 6-month uptime lies
2σ or more from the network mean is an outlier.  Everything comes from the
summary document (model/history.py), never from the clock.

Compact on purpose: an entry keeps its relay's summary text (see
model/history.py) instead of its parsed chart series (a 10k-relay network
would otherwise hold ~4 million float objects); :func:`series_of` parses it
where a chart is drawn, and the entry's ``digest`` is the cheap identity of
the relay's uptime data for incremental rendering.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from . import format as fmt
from ..core.jsonx import loads
from ..cache.names import UPTIME_SUMMARY_FORMAT
from .history import (FLAG_PRIORITY, PERIOD_KEYS, build_entries, is_summary, relay_items, series_last,
                      series_summary)

SOURCE = "onionoo_uptime"
MIN_POINTS = 30
OFFLINE_PCT = 1.0
PERCENTILES = (5, 25, 50, 75, 90, 95, 99)
OUTLIER_PERIOD = "6M"
OUTLIER_SIGMA = 2.0


@dataclass
class UptimeModel:
    published: str                         # relays_published as "YYYY-MM-DD HH:MM:SS UTC"
    relays: dict[str, dict[str, Any]]      # by fingerprint
    network: dict[str, dict[str, Any]]     # by period key
    changed: int = 0                       # entries that are not the previous model's objects (new or changed)


def build_uptime(doc: Any) -> UptimeModel | None:
    """Build the model from a parsed summary document; None when there is none (readable)."""
    if not is_summary(doc, SOURCE, UPTIME_SUMMARY_FORMAT):
        return None
    return build_uptime_from(doc, relay_items(doc["relays"]))


def build_uptime_from(envelope: dict[str, Any], items: Iterable[tuple[str, str]],
                      previous: UptimeModel | None = None) -> UptimeModel | None:
    """Build the model from the summary's envelope and (fingerprint, relay summary JSON) pairs.

    A relay whose summary text equals its text in ``previous`` keeps its
    entry object (only its outlier mark is recomputed): unchanged relays are
    recognised downstream by identity, and cost no parse here.
    """
    if not is_summary({**envelope, "relays": {}}, SOURCE, UPTIME_SUMMARY_FORMAT):
        return None
    before = previous.relays if previous is not None else {}
    relays = build_entries(items, before, relay_uptime)
    network = {p: distribution([r["uptime"][p] for r in relays.values()]) for p in PERIOD_KEYS}
    mark_outliers(relays, network[OUTLIER_PERIOD])
    return UptimeModel(published=fmt.timestamp(fmt.parse_onionoo_time(envelope.get("relays_published"))),
                       relays=relays, network=network,
                       changed=sum(1 for fp, entry in relays.items() if before.get(fp) is not entry))


def relay_uptime(raw: str) -> dict[str, Any] | None:
    """One relay's summary JSON → its model entry (None if the entry is malformed)."""
    try:
        summary = loads(raw)
        graphs = summary["uptime"]
        flags = summary["flags"]
        return {
            "uptime": {p: percent(graphs.get(p)) for p in PERIOD_KEYS},
            "flags": {f: [_shared(percent_pair(periods.get(p))) for p in PERIOD_KEYS]
                      for f, periods in flags.items()},
            "points": {p: graphs[p]["points"] if p in graphs else 0 for p in PERIOD_KEYS},
            "outlier": None,
        }
    except (KeyError, TypeError, AttributeError, ValueError):
        return None


def flag_uptime(entry: dict[str, Any] | None, current_flags: Iterable[str]) -> tuple[str | None, dict[str, Any]]:
    """(flag, {period: percent}) of the first FLAG_PRIORITY flag the relay holds now and has a history for.

    ``current_flags`` come from the details document: the uptime history
    keeps a flag the relay lost, and its uptime must not read as if it still
    held it.  (None, {}) when no priority flag qualifies.
    """
    flags = (entry or {}).get("flags") or {}
    held = set(current_flags)
    flag = next((f for f in FLAG_PRIORITY if f in held and f in flags), None)
    return flag, (dict(zip(PERIOD_KEYS, flags[flag])) if flag else {})


PERIOD_INDEX = {p: i for i, p in enumerate(PERIOD_KEYS)}


def flag_period(entry: dict[str, Any] | None, flag: str, period: str) -> float | None:
    """The uptime (percent) of ``flag`` over ``period`` in a relay's entry, None without enough data.

    An entry keeps each flag's periods as a list in PERIOD_KEYS order with
    shared number objects: ~12 flags per relay as dicts were a third of the
    uptime model's memory.
    """
    values = flag_histories(entry).get(flag)
    return values[PERIOD_INDEX[period]] if values else None


def flag_histories(entry: dict[str, Any] | None) -> dict[str, list]:
    """A relay entry's flag → its periods' uptimes (PERIOD_KEYS order); empty without any."""
    return (entry or {}).get("flags") or {}


_NUMBERS: dict[float, float] = {}


def _shared(value: float | None) -> float | None:
    """One object per distinct percentage (three decimals: at most 100,001 of them)."""
    if value is None:
        return None
    return _NUMBERS.setdefault(value, value)


def series_of(entry: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """A model entry's chart series per period (``{"first", "last", "interval", "values"}``)."""
    summary = series_summary(entry)
    if summary is None:
        return {}
    try:
        graphs = summary["uptime"]
        return {p: series(graphs[p]) for p in PERIOD_KEYS if p in graphs and "values" in graphs[p]}
    except (KeyError, TypeError, AttributeError, ValueError):
        return {}


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
    """"low"/"high" for relays whose OUTLIER_PERIOD uptime is ≥ 2σ from the network mean, else None.

    Every entry is (re)marked: entries reused from the previous model carry
    the previous network's marks, and one whose mark changes is replaced by
    a marked copy, never changed in place (the previous model, and the page
    keys derived from it, still hold the old object: pages/pagekey.py).
    """
    mean, std = stats["mean"], stats["std"]
    if mean is None or not std:
        low = high = None
    else:
        low, high = mean - OUTLIER_SIGMA * std, mean + OUTLIER_SIGMA * std
    for fp, relay in relays.items():
        value = relay["uptime"][OUTLIER_PERIOD]
        mark = None if value is None or low is None else "low" if value <= low else "high" if value >= high else None
        if relay.get("outlier") != mark:
            relays[fp] = {**relay, "outlier": mark}
