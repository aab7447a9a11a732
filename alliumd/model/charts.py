"""Chart geometry for inline SVG: time series and bar values → plain view models.

Pure and deterministic: the same data always yields the same strings
(axis coordinates rounded to one decimal, trailing ".0" dropped; a line's
points in its own units, see "time charts" below), so a page's bytes change
only when its data does.  templates/charts.mako only draws what
is computed here; every label is plain text that Mako escapes.  Sizes are in
SVG user units: the SVG scales to its container, the text stays legible.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import lru_cache
from itertools import compress, islice
from operator import ne
from typing import Any, NamedTuple

from . import format as fmt

MAX_POINTS = 90          # longer series are bucket-averaged down to this
PERIODS = ("1M", "6M", "1Y", "5Y")
PERIOD_LABELS = {"1M": "past month", "6M": "past 6 months", "1Y": "past year", "5Y": "past 5 years"}

# time charts: the box width and the plot's horizontal extent; 534 = 89 × 6, so
# a full 90-point series lands on whole x units (shorter coordinates)
WIDTH, LEFT, RIGHT = 600, 48, 582
Y_LABEL_X = LEFT - 4
TICK = 4
TOP, BAND_GAP, X_LABEL_DY, BELOW_LABELS = 8, 14, 16, 6
BAND_HEIGHTS = {"bandwidth": 100, "uptime": 24}
BAND_FIRST_CLASS = {"bandwidth": 0, "uptime": 2}      # line classes s0, s1 (read, written), s2 (uptime)

# horizontal bar charts
# a label of BAR_LABEL_MAX characters at CHAR_W (11 px type, wide capitals) must fit left of
# its bar (right-aligned at BAR_LABEL_W - 6), or the SVG clips it on the left
BAR_WIDTH, BAR_ROW, BAR_LABEL_W, BAR_VALUE_W = 530, 20, 210, 80
BAR_LABEL_MAX = 26
CHAR_W = 7.5

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_RATE_UNITS = (("bit/s", 1.0), ("kbit/s", 1e3), ("Mbit/s", 1e6), ("Gbit/s", 1e9), ("Tbit/s", 1e12))
_DATA_UNITS = (("B", 1.0), ("kB", 1e3), ("MB", 1e6), ("GB", 1e9), ("TB", 1e12), ("PB", 1e15), ("EB", 1e18))


# -- units --------------------------------------------------------------------------------

def scaled_unit(max_value: float, units: Sequence[tuple[str, float]]) -> tuple[str, float]:
    """The largest unit in which ``max_value`` is at least 1 (the first unit for 0)."""
    chosen = units[0]
    for unit in units:
        if max_value >= unit[1]:
            chosen = unit
    return chosen


def data_size(n_bytes: float | None) -> str:
    """An amount of data in SI bytes: 1_234_000_000_000 → "1.23 TB"."""
    if not isinstance(n_bytes, (int, float)) or isinstance(n_bytes, bool) or not math.isfinite(n_bytes):
        return fmt.MISSING
    name, div = scaled_unit(abs(n_bytes), _DATA_UNITS)
    return f"{n_bytes:.0f} B" if div == 1 else f"{n_bytes / div:.3g} {name}"


def _num(value: float) -> str:
    """A coordinate or tick value with one decimal, "12" rather than "12.0"."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _tick_text(value: float) -> str:
    return f"{round(value, 6):g}"


def _nice_step(max_value: float, ticks: int = 4) -> float:
    """A 1/2/2.5/5 × 10^k step giving at most ``ticks`` intervals up to ``max_value``."""
    raw = max_value / ticks
    magnitude = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if m * magnitude >= raw:
            return m * magnitude
    return 10 * magnitude


# -- time axis ----------------------------------------------------------------------------

def _add_months(dt: datetime, months: int) -> datetime:
    index = dt.month - 1 + months
    return dt.replace(year=dt.year + index // 12, month=index % 12 + 1, day=1)


def time_ticks(start: datetime, end: datetime) -> list[tuple[datetime, str]]:
    """Calendar-aligned ticks (days, months or years at 00:00 UTC) inside [start, end], at most 6."""
    span_days = (end - start).total_seconds() / 86400
    midnight = start.replace(hour=0, minute=0, second=0, microsecond=0)
    if span_days <= 62:
        step = next(s for s in (1, 2, 7, 14, 31) if span_days / s <= 6)
        first = midnight if midnight >= start else midnight + timedelta(days=1)
        ticks, t = [], first
        while t <= end:
            ticks.append((t, f"{_MONTHS[t.month - 1]} {t.day}"))
            t += timedelta(days=step)
        return ticks
    month_start = midnight.replace(day=1)
    first = month_start if month_start >= start else _add_months(month_start, 1)
    if span_days <= 3 * 366:
        step = next(s for s in (1, 2, 3, 6, 12) if span_days / (30.4 * s) <= 6)
        ticks, t = [], first
        while t <= end:
            ticks.append((t, f"{_MONTHS[t.month - 1]} {t.year}"))
            t = _add_months(t, step)
        return ticks
    step = next((s for s in (1, 2, 5, 10) if span_days / (365.25 * s) <= 6), math.ceil(span_days / 365.25 / 6))
    year = first.year if first.month == 1 else first.year + 1
    return [(t, str(y)) for y in range(year, end.year + 1, step)
            if (t := datetime(y, 1, 1, tzinfo=start.tzinfo)) <= end]


def downsample(values: Sequence[float | None], limit: int = MAX_POINTS) -> list[float | None]:
    """Bucket means of non-null values (None for an all-null bucket); unchanged when short enough."""
    n = len(values)
    if n <= limit:
        return list(values)
    out: list[float | None] = []
    for b in range(limit):
        bucket = [v for v in values[b * n // limit:(b + 1) * n // limit] if v is not None]
        out.append(sum(bucket) / len(bucket) if bucket else None)
    return out


# -- time charts ----------------------------------------------------------------------------
#
# A line's points are written in the line's own units, not in chart coordinates: x is the point's
# index, y its value as the summary stores it (bandwidth: Onionoo's integers 0–999 of the line's
# ``scale``; uptime: a fraction), and the polyline's ``transform`` places them on the plot
# (charts.css keeps the stroke from scaling with it).  Why: a coordinate computed and formatted per
# point was most of a relay page's cost (up to 90 points × 3 lines × 4 periods, 10k relays), while a
# value's text is a table lookup and a line's points one join.

LINE_UNITS_MAX = 1000            # values above this (a series without "scale") are rescaled to 0–999
DASH = 1.5                       # half the width of the dash that draws a lone point, in plot units

_INDEX_TEXTS = tuple(str(i) for i in range(MAX_POINTS))


class _Line(NamedTuple):
    """One parsed series: numbers (or None) of ``scale`` each, their count, sum and range, its time span."""

    label: str
    values: list
    count: int
    total: float
    low: float
    high: float
    scale: float
    first: datetime | None
    last: datetime | None


def _parse_line(label: str, series: Any) -> _Line:
    series = series if isinstance(series, dict) else {}
    values = series.get("values")
    values = values if isinstance(values, list) else []
    scale = series.get("scale", 1)
    if (type(scale) is not int and type(scale) is not float) or not 0 <= scale < 1e300:
        values = []                                           # a scale that is no number: nothing to draw
    elif scale == 0:                                          # Onionoo's encoding of a line of zeros
        values, scale = [None if v is None else 0 for v in _values(values)], 1
    if len(values) > MAX_POINTS:
        values = downsample(_values(values))
    present = [v for v in values if v is not None] if None in values else values
    try:                                  # fast path: fsum runs in C and rejects non-numbers
        total = math.fsum(present)
        valid = math.isfinite(total)
    except (TypeError, OverflowError):
        valid = False
    if not valid:
        values = _values(values)
        present = [v for v in values if v is not None]
        total = math.fsum(present)
    low, high = (min(present), max(present)) if present else (0, 0)
    return _Line(label, values, len(present), total, low, high, scale,
                 _time(series.get("first")), _time(series.get("last")))


def _time(text: Any) -> datetime | None:
    return _parse_time(text) if isinstance(text, str) else None


@lru_cache(maxsize=1024)
def _parse_time(text: str) -> datetime | None:
    """Series start/end times (they repeat across relays: every history ends near the document time)."""
    return fmt.parse_onionoo_time(text)


def _values(raw: list) -> list[float | None]:
    """Finite ints and floats; anything else (bool, NaN, infinities, strings) is a gap."""
    return [v if (type(v) is float or type(v) is int) and -1e300 < v < 1e300 else None for v in raw]


def time_chart(*, title: str, period: str,
               bands: Sequence[tuple[str, Sequence[tuple[str, Any]]]]) -> dict[str, Any] | None:
    """A time-series chart view model: stacked bands sharing one time axis; None without data.

    ``bands`` are (kind, lines), kind "bandwidth" (bytes/s, drawn in bit/s with
    an SI unit chosen from the peak) or "uptime" (fractions 0..1, drawn as
    0-100 %); lines are (label, series) with series ``{"first", "last",
    "values"}`` and optionally ``"scale"`` (a value is ``values[i] × scale``):
    evenly spaced points from ``first`` to ``last`` (Onionoo "YYYY-MM-DD
    hh:mm:ss").  Bands without a value are left out.
    """
    parsed = []
    for kind, raw in bands:
        lines = [_parse_line(label, series) for label, series in raw]
        if any(ln.count for ln in lines):
            parsed.append((kind, lines))
    if not parsed:
        return None
    spans = [(ln.first, ln.last) for _, lines in parsed for ln in lines if ln.count and ln.first and ln.last]
    start = min(f for f, _ in spans) if spans else None
    end = max(t for _, t in spans) if spans else None
    out_bands, legend, summary, units = [], [], [], []
    top = TOP
    for kind, lines in parsed:
        bottom = top + BAND_HEIGHTS[kind]
        band, unit = _band(kind, lines, top, bottom, start, end, first_cls=BAND_FIRST_CLASS[kind])
        out_bands.append(band)
        units.append(f"{kind} ({unit})")
        legend += [{"label": ln["label"], "cls": ln["cls"]} for ln in band["lines"]]
        summary += [_line_summary(kind, ln) for ln in lines]
        top = bottom + BAND_GAP
    bottom = top - BAND_GAP
    marks, x_ticks = _time_axis(bottom, start, end) if start and end and end > start else ("", [])
    when = f" ({_date(start)} to {_date(end)})" if start and end else ""
    period_label = PERIOD_LABELS.get(period, period)
    return {
        "title": title, "period": period, "period_label": period_label,
        "caption": f"{title}, {period_label}: {', '.join(units)}",
        "summary": f"{title}, {period_label}{when}: {'; '.join(summary)}.",
        "width": WIDTH, "height": bottom + X_LABEL_DY + BELOW_LABELS, "y_label_x": Y_LABEL_X,
        "x_label_y": bottom + X_LABEL_DY, "marks": marks, "x_ticks": x_ticks, "bands": out_bands,
        "legend": legend if len(legend) > 1 else [],
    }


@lru_cache(maxsize=256)
def _date(dt: datetime) -> str:
    return fmt.date(dt)


def _band(kind: str, lines: list[_Line], top: int, bottom: int, start: datetime | None,
          end: datetime | None, first_cls: int) -> tuple[dict[str, Any], str]:
    """One band's grid, y labels and polylines, and its unit."""
    if kind == "uptime":
        unit, factor, ceiling, step = "%", 100.0, 100.0, 100.0
    else:
        peak = max(ln.high * ln.scale for ln in lines if ln.count) * 8
        unit, div = scaled_unit(peak, _RATE_UNITS)
        factor = 8 / div
        step = _nice_step(peak / div) if peak > 0 else 1.0
        ceiling = step * max(1, math.ceil(peak / div / step - 1e-9))
    grid, y_ticks = _value_axis(top, bottom, ceiling, step, "%" if kind == "uptime" else "")
    per_value = (bottom - top) / ceiling * factor             # plot units per value unit
    level_runs = kind == "uptime"                             # bandwidth lines are seldom level for long
    drawn = [_drawn(ln, f"s{first_cls + i}", bottom, per_value, ceiling / factor, start, end, level_runs)
             for i, ln in enumerate(lines)]
    return {"grid": grid, "y_ticks": y_ticks, "lines": drawn}, unit


@lru_cache(maxsize=256)
def _value_axis(top: int, bottom: int, ceiling: float, step: float, suffix: str
                ) -> tuple[str, list[dict[str, str]]]:
    """Grid path and y tick labels (shared by every chart with the same scale; read-only)."""
    scale = (bottom - top) / ceiling
    ticks = [{"y": _num(bottom - i * step * scale), "label": _tick_text(i * step) + suffix}
             for i in range(int(round(ceiling / step)) + 1)]
    return "".join(f"M{LEFT} {t['y']}H{RIGHT}" for t in ticks), ticks


@lru_cache(maxsize=256)
def _time_axis(bottom: int, start: datetime, end: datetime) -> tuple[str, list[dict[str, str]]]:
    """Tick-mark path and x tick labels for a time span (most relays share their spans; read-only)."""
    span = (end - start).total_seconds()
    try:
        calendar = time_ticks(start, end)
    except (ValueError, OverflowError):          # a span touching year 1 or 9999: no ticks
        calendar = []
    ticks = []
    for t, label in calendar:
        x = LEFT + (t - start).total_seconds() / span * (RIGHT - LEFT)
        half = len(label) * CHAR_W / 2            # a centred label near an edge is moved inside the box
        ticks.append({"x": _num(x), "lx": _num(min(max(x, half), WIDTH - half)), "label": label})
    return "".join(f"M{t['x']} {bottom}v{TICK}" for t in ticks), ticks


def _drawn(line: _Line, cls: str, bottom: int, per_value: float, limit: float, start: datetime | None,
           end: datetime | None, level_runs: bool) -> dict[str, Any]:
    """One line's polylines and the transform that places its points (index, value) on the plot.

    Values are clamped to [0, ``limit``] (the axis' value range) and a line in
    other units than the summaries' (above LINE_UNITS_MAX) is rescaled, so
    that every point's text stays short.
    """
    values, scale, n = line.values, line.scale, len(line.values)
    if line.count and (line.low < 0 or line.high * scale > limit or line.high > LINE_UNITS_MAX):
        values, scale = _in_line_units(values, scale, limit)
    sx, tx, sx_text, tx_text = _x_placement(n, line.first, line.last, start, end)
    sy = scale * per_value or 0.001                                  # a singular transform draws nothing
    return {"label": line.label, "cls": cls, "transform": f"matrix({sx_text} 0 0 {-sy:.4g} {tx_text} {bottom})",
            "segments": _segments(values, sx, tx, level_runs) if line.count else []}


def _in_line_units(values: list, scale: float, limit: float) -> tuple[list, float]:
    """Values clamped to [0, limit / scale], then rescaled to integers 0–999 when larger than LINE_UNITS_MAX."""
    top = limit / scale
    values = [None if v is None else min(top, max(0.0, v)) for v in values]
    high = max((v for v in values if v is not None), default=0.0)
    if high > LINE_UNITS_MAX:
        unit = high / 999
        values = [None if v is None else round(v / unit) for v in values]       # like Onionoo's integers
        scale *= unit
    return values, scale


@lru_cache(maxsize=1024)
def _x_placement(n: int, first: datetime | None, last: datetime | None, start: datetime | None,
                 end: datetime | None) -> tuple[float, float, str, str]:
    """x scale and offset of a line's n points (index i at tx + i × sx), and their texts: the line's own time
    span placed on the chart's (spans repeat across relays)."""
    if first is None or last is None or start is None or end is None or end <= start or \
            (first == start and last == end):
        x0, x1 = float(LEFT), float(RIGHT)
    else:
        span = (end - start).total_seconds()
        x0 = min(max(LEFT + (first - start).total_seconds() / span * (RIGHT - LEFT), LEFT), RIGHT)
        x1 = min(max(LEFT + (last - start).total_seconds() / span * (RIGHT - LEFT), LEFT), RIGHT)
    sx = ((x1 - x0) / (n - 1) if n > 1 else 1.0) or 0.001           # a singular transform draws nothing
    tx = x0 if n > 1 else (x0 + x1) / 2
    return sx, tx, f"{sx:.4g}", f"{tx:.4g}"


class _ValueTexts(dict):
    """A value's text in a polyline ("999", "0.5"; None stays None).  A miss is formatted once:
    summaries hold integers 0–999 and uptime fractions of three decimals, a few thousand values."""

    LIMIT = 65536

    def __missing__(self, value: float) -> str:
        text = f"{value:.4g}"
        if len(self) < self.LIMIT:
            self[value] = text
        return text


_TEXTS = _ValueTexts({None: None})


def _segments(values: list, sx: float, tx: float, level_runs: bool) -> list[str]:
    """Polyline point lists "index value index value …", one per run of non-null values.

    With ``level_runs`` (uptime lines) the interior points of a horizontal
    stretch are dropped (lossless): an uptime line at 100% for a month is two
    points, not ninety.  A lone point becomes a short horizontal dash so that
    it stays visible.
    """
    n = len(values)
    texts = list(map(_TEXTS.__getitem__, values))
    if None not in texts:
        if n == 1:
            return [_dash(0, texts[0], sx, tx)]
        return [_run(0, texts, level_runs)] if n else []
    segments = []
    gaps = [i for i, t in enumerate(texts) if t is None]
    for a, b in zip([-1, *gaps], [*gaps, n]):
        a += 1
        if b - a == 1:
            segments.append(_dash(a, texts[a], sx, tx))
        elif b - a > 1:
            segments.append(_run(a, texts[a:b], level_runs))
    return segments


def _run(offset: int, ys: list[str], level_runs: bool) -> str:
    """Points ``offset``, ``offset + 1``, … as "i y i y …" (SVG separates numbers by spaces or commas:
    the list is interleaved by two slice assignments and joined once, no string per point)."""
    n = len(ys)
    xs = _INDEX_TEXTS[offset:offset + n]
    if ys.count(ys[0]) == n:                                  # a level line: its two ends
        return f"{xs[0]} {ys[0]} {xs[-1]} {ys[0]}"
    if level_runs:
        changes = list(compress(range(n - 1), map(ne, ys, islice(ys, 1, None))))     # i: ys[i] != ys[i + 1]
        if len(changes) < n - 2:          # points level with both neighbours: keep the ends of each stretch
            keep = sorted({0, n - 1, *changes, *[i + 1 for i in changes]})
            xs, ys = list(map(xs.__getitem__, keep)), list(map(ys.__getitem__, keep))
    flat = [""] * (2 * len(ys))
    flat[0::2] = xs
    flat[1::2] = ys
    return " ".join(flat)


def _dash(i: int, y: str, sx: float, tx: float) -> str:
    """A lone point i as a dash of ±DASH plot units, kept inside the plot (in the line's index units)."""
    left = max(i - DASH / sx, (LEFT - tx) / sx)
    right = min(i + DASH / sx, (RIGHT - tx) / sx)
    return f"{left:.4g} {y} {right:.4g} {y}"


def _line_summary(kind: str, line: _Line) -> str:
    """What one line shows, in words (part of the chart's accessible name)."""
    name = line.label.lower()
    if not line.count:
        return f"{name}: no data"
    mean = line.total / line.count * line.scale
    if kind == "uptime":
        return f"{name} mean {mean * 100:.1f}%, lowest {line.low * line.scale * 100:.1f}%"
    return f"{name} mean {fmt.bandwidth(mean)}, peak {fmt.bandwidth(line.high * line.scale)}"


def relay_history_charts(uptime_series: dict[str, Any] | None, bandwidth_series: dict[str, Any] | None
                         ) -> list[dict[str, Any]]:
    """A relay's history: per period with data, one chart of bandwidth (read, written) over uptime.

    ``uptime_series`` is ``{period: series}`` (model.uptime.series_of),
    ``bandwidth_series`` is ``{"read": {period: series}, "write": {…}}``
    (model.bandwidth.series_of).
    """
    series = bandwidth_series or {}
    read, write = series.get("read") or {}, series.get("write") or {}
    uptime = uptime_series or {}
    charts = (time_chart(title="History", period=period,
                         bands=[("bandwidth", [("Read", read.get(period)), ("Written", write.get(period))]),
                                ("uptime", [("Uptime", uptime.get(period))])])
              for period in PERIODS)
    return [c for c in charts if c]


# -- bar charts ---------------------------------------------------------------------------

def _short(label: str) -> str:
    return label if len(label) <= BAR_LABEL_MAX else label[:BAR_LABEL_MAX - 1] + "…"


def bar_chart(title: str, rows: Sequence[tuple[str, float, str]], *, max_value: float | None = None
              ) -> dict[str, Any] | None:
    """Horizontal bars: ``rows`` are (label, value, value text); None without rows.

    Bars are scaled to ``max_value`` (default: the largest value), so shares
    can be drawn against 100%.
    """
    if not rows:
        return None
    top = max_value if max_value is not None else max(v for _, v, _ in rows)
    span = BAR_WIDTH - BAR_LABEL_W - BAR_VALUE_W
    out_rows = []
    for i, (label, value, text) in enumerate(rows):
        w = span * max(0.0, value) / top if top > 0 else 0.0
        out_rows.append({"label": _short(label), "value_text": text, "y": _num(i * BAR_ROW + 3),
                         "text_y": _num(i * BAR_ROW + 15), "w": _num(w),
                         "value_x": _num(BAR_LABEL_W + w + 4)})
    summary = f"{title}: " + ", ".join(f"{label} {text}" for label, _, text in rows) + "."
    return {"title": title, "summary": summary, "width": BAR_WIDTH, "height": len(rows) * BAR_ROW + 4,
            "label_x": BAR_LABEL_W - 6, "bar_x": BAR_LABEL_W, "rows": out_rows}
