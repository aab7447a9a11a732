"""The bandwidth model: the bandwidth summary → per-relay means, data totals and network totals.

As in allium (bandwidth_utils.py): a period's mean is over its non-null
points; the data a relay moved in a period is read + written bytes (each
point's rate times its interval); ``total_data`` is the total of the best
available period, 5Y → 1Y → 6M → 1M.  Everything comes from the summary
document (cache/graphs.py), never from the clock.

Like the uptime model, an entry keeps its relay's summary text
(model/history.py) and :func:`series_of` parses the chart series from it on
demand: parsed, the read and written series of a 10k-relay network are ~7
million numbers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from . import format as fmt
from ..core.jsonx import loads
from ..cache.names import BANDWIDTH_SUMMARY_FORMAT
from .history import (PERIOD_KEYS, build_entries, is_summary, relay_items,
                      series_last, series_summary)

SOURCE = "onionoo_bandwidth"
DIRECTIONS = ("read", "write")
TOTAL_FALLBACK = ("5Y", "1Y", "6M", "1M")


@dataclass
class BandwidthModel:
    published: str                         # relays_published as "YYYY-MM-DD HH:MM:SS UTC"
    relays: dict[str, dict[str, Any]]      # by fingerprint
    network: dict[str, dict[str, Any]]


def build_bandwidth(doc: Any) -> BandwidthModel | None:
    """Build the model from a parsed summary document; None when there is none (readable)."""
    if not is_summary(doc, SOURCE, BANDWIDTH_SUMMARY_FORMAT):
        return None
    return build_bandwidth_from(doc, relay_items(doc["relays"]))


def build_bandwidth_from(envelope: dict[str, Any], items: Iterable[tuple[str, str]],
                         previous: BandwidthModel | None = None) -> BandwidthModel | None:
    """Build the model from the summary's envelope and (fingerprint, relay summary JSON) pairs.

    A relay whose summary text equals its text in ``previous`` keeps its
    entry object (entries are never modified after the build).
    """
    if not is_summary({**envelope, "relays": {}}, SOURCE, BANDWIDTH_SUMMARY_FORMAT):
        return None
    relays = build_entries(items, previous.relays if previous is not None else {}, relay_bandwidth)
    return BandwidthModel(published=fmt.timestamp(fmt.parse_onionoo_time(envelope.get("relays_published"))),
                          relays=relays, network=network_totals(relays))


def relay_bandwidth(raw: str) -> dict[str, Any] | None:
    """One relay's summary JSON → its model entry (None if the entry is malformed)."""
    try:
        summary = loads(raw)
        out: dict[str, Any] = {}
        totals: dict[str, int | None] = {p: None for p in PERIOD_KEYS}
        for direction in DIRECTIONS:
            graphs = summary[direction]
            out[direction] = {p: graphs[p]["mean"] if p in graphs else None for p in PERIOD_KEYS}
            if direction == "read":          # what the mean is over: the leaderboards weigh rates by it
                out["read_points"] = {p: graphs[p]["points"] if p in graphs else 0 for p in PERIOD_KEYS}
            for p in PERIOD_KEYS:
                moved = graphs[p]["total"] if p in graphs else None
                if moved is not None:
                    totals[p] = (totals[p] or 0) + moved
        best = next((p for p in TOTAL_FALLBACK if totals[p] is not None), None)
        out.update({"total_bytes": totals, "total_data": totals[best] if best else None,
                    "total_data_period": best,
                    "overload_ratelimits": summary.get("overload_ratelimits"),
                    "overload_fd_exhausted": summary.get("overload_fd_exhausted")})
        return out
    except (KeyError, TypeError, AttributeError, ValueError):
        return None


def series_of(entry: dict[str, Any] | None) -> dict[str, dict[str, dict[str, Any]]]:
    """A model entry's chart series: ``{"read": {period: series}, "write": {…}}``."""
    summary = series_summary(entry)
    if summary is None:
        return {}
    try:
        return {d: {p: series(graphs[p]) for p in PERIOD_KEYS if p in graphs and "values" in graphs[p]}
                for d in DIRECTIONS if isinstance(graphs := summary[d], dict)}
    except (KeyError, TypeError, AttributeError, ValueError):
        return {}


def series(graph: dict) -> dict[str, Any]:
    values = graph["values"]
    return {"first": graph["first"], "last": series_last(graph["first"], graph["interval"], len(values)),
            "interval": graph["interval"], "values": values, "scale": graph["scale"]}


def network_totals(relays: dict[str, dict]) -> dict[str, Any]:
    """Sums over relays: bytes moved per period and the sum of relay means per direction."""
    def total(key: str, period: str) -> int | float | None:
        values = [r[key][period] for r in relays.values() if r[key][period] is not None]
        return sum(values) if values else None
    return {"relays": len(relays),
            # a period's length in history points: the longest read history in the document
            "period_points": {p: max((r["read_points"][p] for r in relays.values()), default=0) for p in PERIOD_KEYS},
            "total_bytes": {p: total("total_bytes", p) for p in PERIOD_KEYS},
            "read": {p: total("read", p) for p in PERIOD_KEYS},
            "write": {p: total("write", p) for p in PERIOD_KEYS}}
