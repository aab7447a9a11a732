"""Uptime and bandwidth at a glance for group pages: relay rows with history, group means, the uptime chart."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ...core.gcpause import gc_paused
from .. import charts, format as fmt
from .model import Group, GroupsModel


def uptime_text(pct: Any) -> str:
    """A 0–100 uptime percentage with one decimal: 99.94 → "99.9%"."""
    if not isinstance(pct, (int, float)) or isinstance(pct, bool) or pct != pct:
        return fmt.MISSING
    return f"{pct:.1f}%"


_DATA_UNITS = ("B", "kB", "MB", "GB", "TB", "PB", "EB")


def data_size(value: Any) -> str:
    """A byte count with SI units and three significant digits: 1_234_000_000 → "1.23 GB"."""
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value != value or value < 0:
        return fmt.MISSING
    size, unit = float(value), 0
    while size >= 999.5 and unit < len(_DATA_UNITS) - 1:
        size /= 1000
        unit += 1
    return f"{size:.0f} B" if unit == 0 else f"{size:.3g} {_DATA_UNITS[unit]}"


def uptime_value(pct: Any) -> float | None:
    """A 0–100 uptime percentage as a number rounded like :func:`uptime_text` (None if unknown).

    Rounded so that a row (and the page key of a view holding it) changes
    only when its shown uptime does.
    """
    if not isinstance(pct, (int, float)) or isinstance(pct, bool) or not math.isfinite(pct):
        return None
    return round(min(100.0, max(0.0, float(pct))), 1)


def relay_uptime(uptime_model: Any, fingerprint: str, period: str = "6M") -> float | None:
    entry = uptime_model.relays.get(fingerprint) if uptime_model is not None else None
    value = entry.get("uptime", {}).get(period) if isinstance(entry, dict) else None
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def relay_total_data(bandwidth_model: Any, fingerprint: str) -> tuple[int | None, str | None]:
    entry = bandwidth_model.relays.get(fingerprint) if bandwidth_model is not None else None
    if not isinstance(entry, dict):
        return None, None
    value = entry.get("total_data")
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return None, None
    return int(value), entry.get("total_data_period")


def rows_with_history(groups: GroupsModel, fingerprints: Iterable[str], uptime_model: Any,
                      bandwidth_model: Any, total_data: bool) -> list[dict[str, Any]]:
    """Table rows plus the relay's 6-month uptime and, if ``total_data``, the data it moved."""
    return [history_row(groups.rows[fp], fp, uptime_model, bandwidth_model, total_data) for fp in fingerprints]


def history_row(row: dict[str, Any], fp: str, uptime_model: Any, bandwidth_model: Any,
                total_data: bool) -> dict[str, Any]:
    """A copy of a relay's table row with its 6-month uptime (and its total data)."""
    row = dict(row)
    uptime = relay_uptime(uptime_model, fp)
    row["uptime"] = uptime_text(uptime)
    row["uptime_pct"] = uptime_value(uptime)
    if total_data:
        total, period = relay_total_data(bandwidth_model, fp)
        row["total_data"] = data_size(total)
        row["total_data_period"] = period if total is not None and isinstance(period, str) else None
    return row


def history_summary(group: Group, uptime_model: Any, bandwidth_model: Any) -> dict[str, Any]:
    """Mean 6-month uptime and total data of a group's relays, with how many relays had data."""
    uptimes = [u for u in (relay_uptime(uptime_model, fp) for fp in group.fingerprints) if u is not None]
    totals = [t for t, _ in (relay_total_data(bandwidth_model, fp) for fp in group.fingerprints)
              if t is not None]
    return _history_summary(uptimes, totals, uptime_model is not None, bandwidth_model is not None)


def _history_summary(uptimes: list[float], totals: list[int], uptime_available: bool,
                     bandwidth_available: bool) -> dict[str, Any]:
    return {
        "uptime_available": uptime_available,
        "uptime_mean": uptime_text(sum(uptimes) / len(uptimes)) if uptimes else fmt.MISSING,
        "uptime_relays": len(uptimes),
        "bandwidth_available": bandwidth_available,
        "total_data": data_size(sum(totals)) if totals else fmt.MISSING,
        "total_data_relays": len(totals),
    }


@dataclass
class HistoryRows:
    """Every relay's group-table row with its history, built once and shared by every group page.

    A group page then only collects references (its view is a list of
    shared rows), instead of copying a row per page: the flag pages alone
    list every relay several times over.
    """

    rows: dict[str, dict[str, Any]]          # fingerprint → row with "uptime" (and "total_data…")
    uptime: dict[str, float | None]          # fingerprint → 6-month uptime %
    total: dict[str, int | None]             # fingerprint → total data (bytes)
    uptime_available: bool
    bandwidth_available: bool
    # fingerprint → the (table row, uptime entry, bandwidth entry) objects a row was made from
    sources: dict[str, tuple] = field(default_factory=dict, repr=False)

    def rows_of(self, group: Group) -> list[dict[str, Any]]:
        rows = self.rows
        return [rows[fp] for fp in group.fingerprints]

    def summary(self, group: Group) -> dict[str, Any]:
        """Same as :func:`history_summary`, from the precomputed numbers."""
        uptime, total = self.uptime, self.total
        uptimes = [u for u in map(uptime.__getitem__, group.fingerprints) if u is not None]
        totals = [t for t in map(total.__getitem__, group.fingerprints) if t is not None]
        return _history_summary(uptimes, totals, self.uptime_available, self.bandwidth_available)


UPTIME_CHART_LIMIT = 50       # relays drawn in a group page's uptime chart (the heaviest by weight)
UPTIME_CHART_TITLE = "Uptime per relay, past 6 months"


def uptime_chart(rows: list[dict[str, Any]], limit: int = UPTIME_CHART_LIMIT) -> dict[str, Any] | None:
    """One bar per relay (0–100 %) from history rows, the first ``limit`` of them; None without data.

    ``rows`` are a group view's rows (relay model order: consensus weight,
    highest first), so the chart is a pure function of the view and adds
    nothing to its page key.  The view model is :func:`charts.bar_chart`'s
    plus ``shown`` and ``relays`` (how many were drawn of how many).
    """
    shown = rows[:limit]
    if not any(r.get("uptime_pct") is not None for r in shown):
        return None
    bars = [(r["nickname"], pct or 0.0, r["uptime"] if pct is not None else "no data")
            for r, pct in ((r, r.get("uptime_pct")) for r in shown)]
    chart = charts.bar_chart(UPTIME_CHART_TITLE, bars, max_value=100.0)
    chart.update(shown=len(shown), relays=len(rows))
    return chart


def history_rows(groups: GroupsModel, uptime_model: Any, bandwidth_model: Any, total_data: bool,
                 previous: HistoryRows | None = None) -> HistoryRows:
    """:func:`history_row` for every relay, with the numbers behind :func:`history_summary`.

    A relay whose row and uptime and bandwidth entries are the very objects
    ``previous`` was made from keeps its row (the models share unchanged
    relays' objects from one version to the next).
    """
    up = uptime_model.relays if uptime_model is not None else {}
    bw = bandwidth_model.relays if bandwidth_model is not None else {}
    known = previous.sources if previous is not None and \
        (previous.uptime_available, previous.bandwidth_available) == (uptime_model is not None,
                                                                      bandwidth_model is not None) else {}
    out = HistoryRows({}, {}, {}, uptime_model is not None, bandwidth_model is not None)
    with gc_paused():
        for fp, row in groups.rows.items():
            u, b = up.get(fp), bw.get(fp)
            old = known.get(fp)
            if old is not None and old[0] is row and old[1] is u and old[2] is b:
                out.rows[fp], out.uptime[fp], out.total[fp] = previous.rows[fp], previous.uptime[fp], \
                    previous.total[fp]
                out.sources[fp] = old
            else:
                out.rows[fp] = history_row(row, fp, uptime_model, bandwidth_model, total_data)
                out.uptime[fp] = relay_uptime(uptime_model, fp)
                out.total[fp] = relay_total_data(bandwidth_model, fp)[0]
                out.sources[fp] = (row, u, b)
    return out
