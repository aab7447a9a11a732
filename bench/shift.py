"""Move a set of Onionoo/AROI documents in time, so the benchmark also runs on data of "now".

A renderer that compares the data's own time with the wall clock (stale
markers, downtime filters, "n days ago") could do more or less work on months-old
data than on fresh data; the benchmark therefore measures both.  Every
timestamp moves by the same whole number of hours, so the details document's
``relays_published`` lands on the current hour and the documents stay
consistent with each other (histories still end at the published time).

Shifted: ``"YYYY-MM-DD hh:mm:ss"`` (Onionoo), ``"YYYY-MM-DDThh:mm:ss[.f]"`` (the
AROI validator's metadata) and the millisecond ``overload_*_timestamp`` numbers.
"""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone

_ONIONOO = re.compile(rb'"(\d{4}-\d\d-\d\d)([ T])(\d\d:\d\d:\d\d)(\.\d+)?"')
_MILLIS = re.compile(rb'("overload_[a-z_]*timestamp":)(\d+)')
_PUBLISHED = re.compile(rb'"relays_published":"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)"')


def published(details: bytes) -> datetime:
    """The details document's ``relays_published`` (read from its head)."""
    m = _PUBLISHED.search(details, 0, 4096) or _PUBLISHED.search(details)
    if m is None:
        raise ValueError("details document has no relays_published")
    return datetime.strptime(m.group(1).decode(), "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc)


def hours_to_now(details: bytes, now: float | None = None) -> int:
    """Whole hours that move ``relays_published`` to the start of the current UTC hour."""
    now = time.time() if now is None else now
    target = datetime.fromtimestamp(now - now % 3600, timezone.utc)
    return round((target - published(details)).total_seconds() / 3600)


def shift(raw: bytes, hours: int) -> bytes:
    """``raw`` with every timestamp moved by ``hours``."""
    if hours == 0:
        return raw
    delta = timedelta(hours=hours)
    memo: dict[bytes, bytes] = {}

    def moved(m: re.Match) -> bytes:
        text = m.group(0)
        out = memo.get(text)
        if out is None:
            when = datetime.strptime((m.group(1) + b" " + m.group(3)).decode(), "%Y-%m-%d %H:%M:%S") + delta
            out = (b'"' + when.strftime("%Y-%m-%d").encode() + m.group(2) + when.strftime("%H:%M:%S").encode()
                   + (m.group(4) or b"") + b'"')
            memo[text] = out
        return out

    raw = _ONIONOO.sub(moved, raw)
    ms = hours * 3_600_000
    return _MILLIS.sub(lambda m: m.group(1) + str(int(m.group(2)) + ms).encode(), raw)
