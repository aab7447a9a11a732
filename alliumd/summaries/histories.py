"""Onionoo graph histories → the compact summary of ``cache.graphs`` (pure; the fetchers call it).

A graph history is ``{"first", "last", "interval", "factor", "count", "values"}``
(https://metrics.torproject.org/onionoo.html#history): ``values`` are integers 0–999 or null, the real value is
``value * factor``, and ``count`` is never trusted (trimmed documents break
it), ``len(values)`` is.  The fetchers reduce each relay's histories while
they stream the raw document; the summary's shape is documented in
``cache.graphs``.
"""

from __future__ import annotations

import math
from typing import Any, Callable

from ..cache.graphs import (FLAG_PRIORITY, MAX_SERIES_POINTS, MAX_VALUE, PERIODS, UPTIME_FLAGS,  # noqa: F401
                            decode_scaled, series_last, shift_time)
from ..core.jsonx import dumps
from ..core.timefmt import parse_onionoo_time


class BadGraph(ValueError):
    """A graph history object that breaks the format; the document carrying it is invalid."""


# -- one graph -------------------------------------------------------------------------

def graph_summary(graph: Any, *, series: Callable[[list, float], dict] | None = None,
                  with_total: bool = False, digits: int = 5, few_values: bool = True) -> dict[str, Any]:
    """Validate one graph history and summarise it.

    ``series(bucket_means, factor)`` encodes the downsampled values (None:
    keep no series); ``digits`` rounds ``mean``.  ``few_values``: the values
    repeat (uptime: a handful of distinct ones), so they are checked through
    their set; bandwidth values seldom repeat, and building that set was waste.
    """
    if not isinstance(graph, dict):
        raise BadGraph("graph history is not an object")
    values, factor, interval = graph.get("values"), graph.get("factor"), graph.get("interval")
    first, last = graph.get("first"), graph.get("last")
    if not isinstance(values, list):
        raise BadGraph("'values' missing or not a list")
    if not _is_number(factor) or factor < 0:
        raise BadGraph(f"'factor' is not a non-negative number: {str(factor)[:40]!r}")
    if type(interval) is not int or interval <= 0:
        raise BadGraph(f"'interval' is not a positive integer: {str(interval)[:40]!r}")
    if not (isinstance(first, str) and isinstance(last, str) and _is_time(first) and _is_time(last)):
        raise BadGraph(f"'first'/'last' not 'YYYY-MM-DD hh:mm:ss': {str(first)[:40]!r}, {str(last)[:40]!r}")
    if few_values:
        distinct = _distinct(values)
        nulls = None in distinct
    else:
        nulls = None in values
    present = [v for v in values if v is not None] if nulls else values
    points = len(present)
    raw_sum = _checked_sum(present, distinct if few_values else present)
    out: dict[str, Any] = {"mean": _round(raw_sum / points * factor, digits) if points else None,
                           "points": points}
    if with_total:
        out["total"] = round(raw_sum * factor * interval) if points else None
    if series is not None and values:
        k = -(-len(values) // MAX_SERIES_POINTS)
        out["first"] = shift_time(first, (k - 1) * interval // 2)
        out["interval"] = k * interval
        out.update(series(bucket_means(values, k, has_null=bool(nulls)), factor))
    return out


def _is_time(stamp: str) -> bool:
    return parse_onionoo_time(stamp) is not None          # memoised there: most relays share their times


def _round(x: float, digits: int) -> int | float:
    return round(x) if digits == 0 else round(x, digits)


def _distinct(values: list) -> set:
    try:
        return set(values)              # one C pass; uptime histories hold a handful of distinct values
    except TypeError:
        raise BadGraph("'values' holds something other than integers and nulls") from None


def _checked_sum(present: list, distinct: set | list) -> int:
    """Sum of the non-null values (``distinct``: their set, or the same list); every one must be an
    integer 0–999."""
    if not present:
        return 0
    if isinstance(distinct, set):
        distinct.discard(None)
    try:
        total, low, high = sum(present), min(distinct), max(distinct)
    except TypeError:
        raise BadGraph("'values' holds something other than integers and nulls") from None
    if type(total) is not int:
        raise BadGraph("'values' holds non-integers")
    if low < 0 or high > MAX_VALUE:
        raise BadGraph(f"'values' outside 0–{MAX_VALUE}: {low}…{high}")
    return total


def bucket_means(values: list, k: int, *, has_null: bool = True) -> list:
    """Means of consecutive buckets of ``k`` values (non-null values only; None for an all-null bucket)."""
    if k == 1:
        return list(values)
    if not has_null:
        full = len(values) // k * k
        means = [s / k for s in map(sum, zip(*[iter(values[:full])] * k))]
        rest = values[full:]
        if rest:
            means.append(sum(rest) / len(rest))
        return means
    # per bucket: the sum of its values (nulls as 0) over the number of non-null ones, with the
    # bucketing done by zip/map in C rather than a Python list per bucket (the summary's hot loop)
    full = len(values) // k * k
    zeroed = [0 if v is None else v for v in values]
    present = [v is not None for v in values]
    sums = list(map(sum, zip(*[iter(zeroed[:full])] * k)))
    counts = list(map(sum, zip(*[iter(present[:full])] * k)))
    if full < len(values):
        sums.append(sum(zeroed[full:]))
        counts.append(sum(present[full:]))
    return [s / c if c else None for s, c in zip(sums, counts)]


# -- series encodings ------------------------------------------------------------------

def fraction_series(means: list, factor: float) -> dict[str, list]:
    """Uptime: fractions 0..1 with 3 decimals (0.1 %: a chart pixel), 0 and 1 written as ints.

    Bucket means of uptime repeat endlessly (999.0, 0.0, …): each is converted
    once per factor and looked up by ``dict.get`` in C for a whole series."""
    memo = _FRACTIONS.get(factor)
    if memo is None:
        if len(_FRACTIONS) >= 64:
            _FRACTIONS.clear()
        memo = _FRACTIONS[factor] = {}
    out = list(map(memo.get, means))
    if None in out and out.count(None) != means.count(None):        # means not seen before
        for i, mean in enumerate(means):
            if out[i] is None and mean is not None:
                out[i] = _fraction(mean, factor)
                if len(memo) < 8192:
                    memo[mean] = out[i]
    return {"values": out}


_FRACTIONS: dict[float, dict] = {}      # factor → {bucket mean: fraction}


def _fraction(mean: float, factor: float) -> int | float:
    r = round(mean * factor, 3)
    return int(r) if r == 0 or r == 1 else r


def scaled_series(means: list, factor: float) -> dict[str, Any]:
    """Bandwidth: integers 0–999 times ``scale`` (bytes/s), Onionoo's own encoding at chart resolution."""
    present = [m for m in means if m is not None] if None in means else means
    high = max(present) if present else 0
    top = high * factor
    if top <= 0:
        return {"scale": 0, "values": [None if m is None else 0 for m in means]}
    scale = float(f"{top / MAX_VALUE:.6g}")
    if high == MAX_VALUE and type(high) is int:   # Onionoo's own integers, not bucket means: kept as they are
        return {"scale": scale, "values": list(means)}
    unit = factor * MAX_VALUE / top          # raw mean → 0..999
    return {"scale": scale, "values": [None if m is None else round(m * unit) for m in means]}


# -- one relay -------------------------------------------------------------------------

def period_summaries(histories: Any, what: str, **graph_kw) -> dict[str, dict]:
    """``{"1_month": graph, …}`` → ``{"1M": summary, …}``; missing periods are simply absent."""
    if histories is None:
        return {}
    if not isinstance(histories, dict):
        raise BadGraph(f"{what} is not an object")
    out = {}
    for period, key in PERIODS.items():
        graph = histories.get(period)
        if graph is not None:
            try:
                out[key] = graph_summary(graph, **graph_kw)
            except BadGraph as e:
                raise BadGraph(f"{what}.{period}: {e}") from None
    return out


def uptime_relay(obj: dict) -> dict[str, Any]:
    """An uptime document's relay object → its summary: overall uptime and each flag's uptime."""
    uptime = period_summaries(obj.get("uptime"), "uptime", series=fraction_series)
    flags_in = obj.get("flags")
    flags: dict[str, dict] = {}
    if flags_in is not None:
        if not isinstance(flags_in, dict):
            raise BadGraph("flags is not an object")
        seen = _SeenGraphs(obj.get("uptime"), uptime)
        for flag in UPTIME_FLAGS:
            histories = flags_in.get(flag)
            if histories is not None:
                if flag not in FLAG_PRIORITY and isinstance(histories, dict):
                    histories = {k: histories[k] for k in ("1_month",) if k in histories}   # health shows 1M only
                flags[flag] = seen.mean_points(histories, f"flags.{flag}")
    return {"uptime": uptime, "flags": flags}


class _SeenGraphs:
    """A relay's graph histories summarised so far, per period, for its flags' ``[mean, points]``.

    Why: most of a relay's flag histories equal its uptime history or another
    flag's, value for value (a stable relay is Running, Valid, Fast, V2Dir… in
    every hour it is up); 76 % of network-10k's.  A graph is known by its JSON
    text (serialised in C, ~1 µs against ~10 µs to summarise it), not by
    ``==``: ``999.0 == 999`` and ``14400.0 == 14400``, but only integers are
    valid, so a graph merely equal to a valid one must be checked on its own.
    The same text is the same graph: the same summary, and valid.
    """

    def __init__(self, uptime_in: Any, uptime: dict[str, dict]) -> None:
        self.by_period: dict[str, dict[bytes, dict]] = {}
        if isinstance(uptime_in, dict):
            for period, key in PERIODS.items():
                if key in uptime and (text := _graph_text(uptime_in[period])) is not None:
                    self.by_period[period] = {text: uptime[key]}

    def mean_points(self, histories: Any, what: str) -> dict[str, list]:
        if not isinstance(histories, dict):
            raise BadGraph(f"{what} is not an object")          # as period_summaries says it
        out = {}
        for period, key in PERIODS.items():
            graph = histories.get(period)
            if graph is None:
                continue
            known = self.by_period.setdefault(period, {})
            text = _graph_text(graph)
            summary = known.get(text) if text is not None else None
            if summary is None:
                summary = period_summaries({period: graph}, what)[key]
                if text is not None:
                    known[text] = summary
            out[key] = [summary["mean"], summary["points"]]
        return out


def _graph_text(graph: Any) -> bytes | None:
    """A graph's JSON text, or None for one that cannot be written (it is then summarised, and refused)."""
    try:
        return dumps(graph)
    except (TypeError, ValueError):
        return None


def bandwidth_relay(obj: dict) -> dict[str, Any]:
    """A bandwidth document's relay object → its summary: read/write histories and overload objects."""
    kw = {"series": scaled_series, "with_total": True, "digits": 0, "few_values": False}
    out = {"read": period_summaries(obj.get("read_history"), "read_history", **kw),
           "write": period_summaries(obj.get("write_history"), "write_history", **kw)}
    for key in ("overload_ratelimits", "overload_fd_exhausted"):
        kept = overload(obj.get(key))
        if kept is not None:
            out[key] = kept
    return out


def overload(value: Any) -> dict[str, int | float] | None:
    """Onionoo's overload objects hold numbers only (limits, counts, a ms timestamp); keep just those."""
    if not isinstance(value, dict):
        return None
    kept = {str(k)[:40]: v for k, v in list(value.items())[:16] if _is_number(v)}
    return kept or None


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
