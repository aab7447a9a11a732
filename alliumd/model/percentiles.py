"""Where a relay stands in the network: percentile ranks by bisect over sorted arrays.

The network arrays are sorted once per details version; each relay's rank is
then one bisect.  Ranks are whole numbers (0-99: the share of the population
strictly below the relay), so a small change elsewhere in the network rarely
changes what a relay page shows, and so rarely rewrites it.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from typing import Any

DISTRIBUTION_POINTS = (5, 25, 50, 75, 90, 95, 99)
POSITIONS = ("guard", "middle", "exit")


def rank(sorted_values: Sequence[float], value: float | None) -> int | None:
    """Whole-number percentile rank: the percentage of ``sorted_values`` strictly below ``value``."""
    if value is None or not sorted_values:
        return None
    return (100 * bisect_left(sorted_values, value)) // len(sorted_values)


def percentile(sorted_values: Sequence[float], p: float) -> float | None:
    """The p-th percentile (0-100) with linear interpolation between closest ranks."""
    if not sorted_values:
        return None
    pos = (len(sorted_values) - 1) * p / 100
    low = math.floor(pos)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (pos - low)


def distribution(values: Iterable[float], points: Sequence[int] = DISTRIBUTION_POINTS) -> dict[str, float] | None:
    """``{"5": v, "25": v, ...}`` of the given values, or None when there are none."""
    ordered = sorted(values)
    if not ordered:
        return None
    return {str(p): percentile(ordered, p) for p in points}


def mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def median(values: Iterable[float]) -> float | None:
    return percentile(sorted(values), 50)


def ordinal(n: int | None) -> str | None:
    """1 → "1st", 12 → "12th", 23 → "23rd"."""
    if n is None:
        return None
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def relay_percentiles(relays: Iterable[dict[str, Any]]) -> dict[str, dict[str, int | None]]:
    """Per fingerprint: consensus weight rank among running relays, and per position
    (guard/middle/exit) the rank of the selection probability among running relays
    that can be chosen for that position (probability > 0); None where it does not apply.

    ``relays`` are relay views of alliumd.model.relays.  Relays that are not
    running get no ranks: they are not in the consensus.
    """
    running = [r for r in relays if r["running"]]
    weights = sorted(r["consensus_weight"] for r in running)
    positional = {pos: sorted(p for r in running if (p := r[f"{pos}_probability"]) is not None and p > 0)
                  for pos in POSITIONS}
    out: dict[str, dict[str, int | None]] = {}
    for r in running:
        ranks: dict[str, int | None] = {"consensus_weight": rank(weights, r["consensus_weight"])}
        for pos in POSITIONS:
            p = r[f"{pos}_probability"]
            ranks[pos] = rank(positional[pos], p) if p is not None and p > 0 else None
        out[r["fingerprint"]] = ranks
    return out
