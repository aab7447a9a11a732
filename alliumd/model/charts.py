"""Chart geometry for inline SVG: time series and bar values → plain view models.

Pure and deterministic: the same data always yields the same strings
(coordinates rounded to one decimal, trailing ".0" dropped), so a page's
bytes change only when its data does.  templates/charts.mako only draws what
is computed here; every label is plain text that Mako escapes.  Sizes are in
SVG user units: the SVG scales to its container, the text stays legible.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

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


@lru_cache(maxsize=128)
def _x_positions(n: int) -> tuple[str, ...]:
    """x of n evenly spaced points across the whole plot (a single point sits in the middle)."""
    return _spread(n, LEFT, RIGHT)


def _spread(n: int, x0: float, x1: float) -> tuple[str, ...]:
    texts = _coordinate_texts()
    x0, x1 = min(max(x0, LEFT), RIGHT), min(max(x1, LEFT), RIGHT)
    if n == 1:
        return (texts[int((x0 + x1) * 5 + 0.5)],)
    step = (x1 - x0) / (n - 1)
    return tuple([texts[int((x0 + i * step) * 10 + 0.5)] for i in range(n)])


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

@dataclass
class _Line:
    """One parsed series: its values (float or None), the non-null ones, and its time span."""

    label: str
    values: list
    present: list
    total: float
    first: datetime | None
    last: datetime | None


def _parse_line(label: str, series: Any) -> _Line:
    series = series if isinstance(series, dict) else {}
    values = series.get("values")
    values = values if isinstance(values, list) else []
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
    return _Line(label, values, present, total, _time(series.get("first")), _time(series.get("last")))


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
    "values"}``: evenly spaced points from ``first`` to ``last`` (Onionoo
    "YYYY-MM-DD hh:mm:ss").  Bands without a value are left out.
    """
    parsed = []
    for kind, raw in bands:
        lines = [_parse_line(label, series) for label, series in raw]
        if any(ln.present for ln in lines):
            parsed.append((kind, lines))
    if not parsed:
        return None
    spans = [(ln.first, ln.last) for _, lines in parsed for ln in lines if ln.present and ln.first and ln.last]
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
    when = f" ({fmt.date(start)} to {fmt.date(end)})" if start and end else ""
    period_label = PERIOD_LABELS.get(period, period)
    return {
        "title": title, "period": period, "period_label": period_label,
        "caption": f"{title}, {period_label}: {', '.join(units)}",
        "summary": f"{title}, {period_label}{when}: {'; '.join(summary)}.",
        "width": WIDTH, "height": bottom + X_LABEL_DY + BELOW_LABELS, "y_label_x": Y_LABEL_X,
        "x_label_y": bottom + X_LABEL_DY, "marks": marks, "x_ticks": x_ticks, "bands": out_bands,
        "legend": legend if len(legend) > 1 else [],
    }


def _band(kind: str, lines: list[_Line], top: int, bottom: int, start: datetime | None,
          end: datetime | None, first_cls: int) -> tuple[dict[str, Any], str]:
    """One band's grid, y labels and polylines, and its unit."""
    if kind == "uptime":
        unit, factor, ceiling, step = "%", 100.0, 100.0, 100.0
    else:
        peak = max(max(ln.present) for ln in lines if ln.present) * 8
        unit, div = scaled_unit(peak, _RATE_UNITS)
        factor = 8 / div
        step = _nice_step(peak / div) if peak > 0 else 1.0
        ceiling = step * max(1, math.ceil(peak / div / step - 1e-9))
    grid, y_ticks = _value_axis(top, bottom, ceiling, step, "%" if kind == "uptime" else "")
    drawn = [{"label": ln.label, "cls": f"s{first_cls + i}",
              "segments": _segments(_line_xs(len(ln.values), ln.first, ln.last, start, end),
                                    _y_coordinates(ln, top, bottom, factor, ceiling))}
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


@lru_cache(maxsize=1)
def _coordinate_texts() -> tuple[str, ...]:
    """Every coordinate from 0 to WIDTH at one decimal, indexed by tenths (formatting is the hot path)."""
    return tuple(_num(i / 10) for i in range(WIDTH * 10 + 1))


def _y_coordinates(line: _Line, top: int, bottom: int, factor: float, ceiling: float) -> list[str | None]:
    """Values (× ``factor`` = axis units, clamped to [0, ceiling]) as y coordinate texts."""
    values = line.values
    if line.present and (min(line.present) < 0 or max(line.present) * factor > ceiling):
        limit = ceiling / factor
        values = [None if v is None else min(limit, max(0.0, v)) for v in values]
    texts = _coordinate_texts()
    k = factor * (bottom - top) / ceiling * 10
    base = bottom * 10 + 0.5
    if len(line.present) < len(values):
        return [None if v is None else texts[int(base - v * k)] for v in values]
    return [texts[int(base - v * k)] for v in values]       # no gaps (most lines): no test per value


def _segments(xs: Sequence[str], ys: Sequence[str | None]) -> list[str]:
    """Polyline point strings, one per run of non-null points.

    Interior points of a horizontal stretch are dropped (lossless at one
    decimal): an uptime line at 100% for a month is two points, not ninety.
    A lone point becomes a short horizontal dash so that it stays visible.
    """
    n = len(ys)
    x_commas = _with_commas(xs if isinstance(xs, tuple) else tuple(xs))
    if None not in ys:
        return [_run(x_commas, ys)] if n > 1 else [_dash(xs[0], ys[0])] if n else []
    gaps = [i for i, y in enumerate(ys) if y is None]
    bounds = [-1, *gaps, n]
    segments = []
    for a, b in zip(bounds, bounds[1:]):
        a += 1
        if b - a == 1:
            segments.append(_dash(xs[a], ys[a]))
        elif b - a > 1:
            segments.append(_run(x_commas[a:b], ys[a:b]))
    return segments


def _dash(x_text: str, y: str) -> str:
    x = float(x_text)
    return f"{_num(max(LEFT, x - 1.5))},{y} {_num(min(RIGHT, x + 1.5))},{y}"


def _run(x_commas: Sequence[str], ys: Sequence[str]) -> str:
    """One run of ≥ 2 points as "x,y x,y …", each point level with both neighbours left out."""
    inner = [x + y1 for x, y0, y1, y2 in zip(x_commas[1:-1], ys, ys[1:], ys[2:]) if not y0 == y1 == y2]
    return " ".join([x_commas[0] + ys[0], *inner, x_commas[-1] + ys[-1]])


@lru_cache(maxsize=1024)
def _with_commas(xs: tuple[str, ...]) -> tuple[str, ...]:
    """x texts with the comma that follows them in a point (the x tuples are shared and cached; their
    texts come from one table, so a cached tuple holds references, not 90 new strings)."""
    return tuple(map(_comma_texts().__getitem__, xs))


@lru_cache(maxsize=1)
def _comma_texts() -> dict[str, str]:
    return {text: text + "," for text in _coordinate_texts()}


@lru_cache(maxsize=1024)
def _line_xs(n: int, first: datetime | None, last: datetime | None, start: datetime | None,
             end: datetime | None) -> tuple[str, ...]:
    """x of a line's points: its own time span placed on the chart's span (spans repeat across relays)."""
    if first is None or last is None or start is None or end is None or end <= start or \
            (first == start and last == end):
        return _x_positions(n)
    span = (end - start).total_seconds()
    x0 = LEFT + (first - start).total_seconds() / span * (RIGHT - LEFT)
    x1 = LEFT + (last - start).total_seconds() / span * (RIGHT - LEFT)
    return _spread(n, x0, x1)


def _line_summary(kind: str, line: _Line) -> str:
    """What one line shows, in words (part of the chart's accessible name)."""
    name = line.label.lower()
    if not line.present:
        return f"{name}: no data"
    mean = line.total / len(line.present)
    if kind == "uptime":
        return f"{name} mean {mean * 100:.1f}%, lowest {min(line.present) * 100:.1f}%"
    return f"{name} mean {fmt.bandwidth(mean)}, peak {fmt.bandwidth(max(line.present))}"


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
