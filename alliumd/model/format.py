"""Pure text formatting for view models: units, percentages, times, durations.

Formatting happens once in the model so that templates only present strings,
and so that every page shows the same number the same way.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone

from ..core import timefmt

MISSING = "–"   # shown for unknown values

# the one parser of each upstream time format, under the names the models use
parse_onionoo_time = timefmt.parse_onionoo_time
parse_iso_time = timefmt.parse_iso_time

_BIT_UNITS = ("bit/s", "kbit/s", "Mbit/s", "Gbit/s", "Tbit/s")
_SCALED_BIT_UNITS = _BIT_UNITS[1:-1]     # a value is shown in the first in which it is below 1000


def bandwidth(bytes_per_second: int | float | None) -> str:
    """Bytes/s (what Onionoo reports) as bits/s with SI units: 10_000_000 → "80.0 Mbit/s"."""
    if not _is_number(bytes_per_second):
        return MISSING
    value = float(bytes_per_second) * 8
    if -1000 < value < 1000:
        return f"{value:.0f} bit/s"
    for unit in _SCALED_BIT_UNITS:          # divided step by step: the same digits as always
        value /= 1000
        if -1000 < value < 1000:
            return f"{value:.1f} {unit}"
    return f"{value / 1000:.1f} {_BIT_UNITS[-1]}"


def percent(fraction: int | float | None) -> str:
    """A 0..1 fraction as a percentage that keeps small relay shares visible.

    Relay shares are often below 0.01 %, so precision grows as the value
    shrinks (three significant digits) instead of rounding to "0.00 %".
    """
    if not _is_number(fraction):
        return MISSING
    pct = float(fraction) * 100
    if pct == 0:
        return "0%"
    if abs(pct) < 0.0001:
        return "<0.0001%"
    decimals = min(6, max(2, 2 - math.floor(math.log10(abs(pct)))))
    return f"{pct:.{decimals}f}%"


def count(value: int | None) -> str:
    """An integer with thousands separators: 10157 → "10,157"."""
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else MISSING


def counted(value: int | None, noun: str, plural: str | None = None) -> str:
    """A count with its noun in the right number: (1, "relay") → "1 relay", (2, …) → "2 relays"."""
    return f"{count(value)} {noun}" if value == 1 else f"{count(value)} {plural or noun + 's'}"


def from_millis(ms: object) -> datetime | None:
    """A Unix time in milliseconds (Onionoo's overload timestamps) as a UTC datetime."""
    if not _is_number(ms):
        return None
    try:
        return datetime.fromtimestamp(float(ms) / 1000, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None


def timestamp(dt: datetime | None) -> str:
    """A datetime as "YYYY-MM-DD HH:MM:SS UTC"."""
    return dt.strftime("%Y-%m-%d %H:%M:%S UTC") if dt else MISSING


def parse_timestamp(text: str | None) -> datetime | None:
    """The datetime a :func:`timestamp` text shows (a relay view's times); None for "–" or anything else."""
    if not text or not text.endswith(" UTC"):
        return None
    return parse_onionoo_time(text[:-4])


def date(dt: datetime | None) -> str:
    return dt.strftime("%Y-%m-%d") if dt else MISSING


def duration(seconds: int | float | None) -> str:
    """A span as its two largest units: "3 d 4 h", "5 h 12 m", "7 m"."""
    if not _is_number(seconds):
        return MISSING
    total = max(0, int(seconds)) // 60
    days, rest = divmod(total, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} m"
    return f"{minutes} m"


def seconds(value: int | float | None) -> str:
    """A short run time such as a render duration: "1.23 s"."""
    return f"{float(value):.2f} s" if _is_number(value) else MISSING


def ago(then: datetime | None, reference: datetime | None) -> str:
    """How long before ``reference`` (the data's publication time, never the clock) ``then`` was.

    Worded against the data, not as "… ago": a page must stay byte-stable while its data does
    not change, so it cannot count from now, and on old data "0 m ago" would be a plain lie.
    """
    if then is None or reference is None:
        return MISSING
    span = (reference - then).total_seconds()
    if span < 60:
        return "when the data was published" if span > -60 else "after the data was published"
    return duration(span) + " before the data was published"


def _is_number(value: object) -> bool:
    kind = type(value)
    if kind is int:                               # the common cases first (~300k calls a cold build)
        return True
    if kind is float:
        return math.isfinite(value)
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))
