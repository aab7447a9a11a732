"""The bandwidth model: the bandwidth summary → per-relay means, data totals and network totals.

As in allium (bandwidth_utils.py): a period's mean is over its non-null
points; the data a relay moved in a period is read + written bytes (each
point's rate times its interval); ``total_data`` is the total of the best
available period, 5Y → 1Y → 6M → 1M.  Everything comes from the summary
document (model/history.py), never from the clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import paths
from . import format as fmt
from .history import BANDWIDTH_SUMMARY_FORMAT, PERIOD_KEYS, decode_scaled, gc_paused, is_summary, series_last

SOURCE = "onionoo_bandwidth"
DIRECTIONS = ("read", "write")
TOTAL_FALLBACK = ("5Y", "1Y", "6M", "1M")


@dataclass
class BandwidthModel:
    published: str                         # relays_published as "YYYY-MM-DD HH:MM:SS UTC"
    relays: dict[str, dict[str, Any]]      # by fingerprint
    network: dict[str, dict[str, Any]]


def build_bandwidth(doc: Any) -> BandwidthModel | None:
    """Build the model; None when there is no (readable) bandwidth summary."""
    if not is_summary(doc, SOURCE, BANDWIDTH_SUMMARY_FORMAT):
        return None
    relays = {}
    with gc_paused():
        for fp, summary in doc["relays"].items():
            view = relay_bandwidth(summary) if paths.is_fingerprint(fp) else None
            if view is not None:
                relays[fp] = view
    return BandwidthModel(published=fmt.timestamp(fmt.parse_onionoo_time(doc.get("relays_published"))),
                          relays=relays, network=network_totals(relays))


def relay_bandwidth(summary: Any) -> dict[str, Any] | None:
    """One relay's summary → its model entry (None if the entry is malformed)."""
    try:
        out: dict[str, Any] = {}
        totals: dict[str, int | None] = {p: None for p in PERIOD_KEYS}
        series_out: dict[str, dict] = {}
        for direction in DIRECTIONS:
            graphs = summary[direction]
            out[direction] = {p: graphs[p]["mean"] if p in graphs else None for p in PERIOD_KEYS}
            for p in PERIOD_KEYS:
                moved = graphs[p]["total"] if p in graphs else None
                if moved is not None:
                    totals[p] = (totals[p] or 0) + moved
            series_out[direction] = {p: series(graphs[p]) for p in PERIOD_KEYS
                                     if p in graphs and "values" in graphs[p]}
        best = next((p for p in TOTAL_FALLBACK if totals[p] is not None), None)
        out.update({"total_bytes": totals, "total_data": totals[best] if best else None,
                    "total_data_period": best, "series": series_out,
                    "overload_ratelimits": summary.get("overload_ratelimits"),
                    "overload_fd_exhausted": summary.get("overload_fd_exhausted")})
        return out
    except (KeyError, TypeError, AttributeError):
        return None


def series(graph: dict) -> dict[str, Any]:
    values = graph["values"]
    return {"first": graph["first"], "last": series_last(graph["first"], graph["interval"], len(values)),
            "interval": graph["interval"], "values": decode_scaled(values, graph["scale"])}


def network_totals(relays: dict[str, dict]) -> dict[str, Any]:
    """Sums over relays: bytes moved per period and the sum of relay means per direction."""
    def total(key: str, period: str) -> int | float | None:
        values = [r[key][period] for r in relays.values() if r[key][period] is not None]
        return sum(values) if values else None
    return {"relays": len(relays),
            "total_bytes": {p: total("total_bytes", p) for p in PERIOD_KEYS},
            "read": {p: total("read", p) for p in PERIOD_KEYS},
            "write": {p: total("write", p) for p in PERIOD_KEYS}}
