"""What the health cards share: the constants, network totals and the card/row/table builders."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import timedelta
from typing import Any

from .. import format as fmt

EU = frozenset("at be bg hr cy cz dk ee fi fr de gr hu ie it lv lt lu mt nl pl pt ro sk si es se".split())
FIVE_EYES = frozenset("us gb ca au nz".split())
FOURTEEN_EYES = FIVE_EYES | frozenset("dk fr nl no be de it es se".split())
RARE_COUNTRY_MAX = 5          # a country with at most this many running relays counts as rare
COUNT_FLAGS = ("Fast", "Stable", "HSDir", "V2Dir", "BadExit", "MiddleOnly", "StaleDesc", "Authority")
VERSION_STATUSES = ("recommended", "new in series", "experimental", "unrecommended", "obsolete")
EXIT_PORTS = ((80, "HTTP"), (443, "HTTPS"), (22, "SSH"), (53, "DNS"), (993, "IMAPS"), (5222, "XMPP"),
              (6667, "IRC"), (25, "SMTP"))
NEW_WINDOWS = (("24 hours", timedelta(days=1)), ("30 days", timedelta(days=30)),
               ("6 months", timedelta(days=182)), ("1 year", timedelta(days=365)))
TOP_N = 10
UNDERWEIGHTED = 0.5           # weight/bandwidth below this fraction of the median ratio
TOP_AS_RATIOS = 5


class _Network:
    """Network totals every card shares (computed once)."""

    def __init__(self, running: list[dict[str, Any]]):
        self.count = len(running)
        self.weight = sum(r["consensus_weight"] for r in running)
        self.fraction = _fraction(running)
        self.advertised = sum(r["advertised_bandwidth"] or 0 for r in running)
        self.observed = sum(r["observed_bandwidth"] or 0 for r in running)

    @staticmethod
    def weight_share(fraction: float) -> str:
        """A share of the network's consensus weight, from Onionoo's ``consensus_weight_fraction``
        summed over the relays: the one way every page (relay, group, list, AROI) computes it."""
        return fmt.percent(fraction)

    def relay_share(self, count: int) -> str:
        return _pct(count, self.count)


def os_family(os_name: str | None) -> str | None:
    """The relay model's ``os`` is already a canonical family (see identity.os_family)."""
    return os_name or None


def _uptime(entries: dict, fp: str, period: str) -> float | None:
    entry = entries.get(fp)
    value = ((entry or {}).get("uptime") or {}).get(period) if isinstance(entry, dict) else None
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _group(relays: Iterable[dict[str, Any]], key: Callable[[dict], Any]) -> dict[Any, list[dict[str, Any]]]:
    groups: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for r in relays:
        groups[key(r)].append(r)
    return groups


def _weights(groups: dict[Any, list[dict[str, Any]]]) -> dict[Any, int]:
    return {k: sum(r["consensus_weight"] for r in v) for k, v in groups.items() if k}


def _fractions(groups: dict[Any, list[dict[str, Any]]]) -> dict[Any, float]:
    return {k: _fraction(v) for k, v in groups.items() if k}


def _fraction(relays: Iterable[dict[str, Any]]) -> float:
    """Summed as groups.py sums a group's ``weight_fraction`` (a relay without one counts 0)."""
    return sum(r["consensus_weight_fraction"] or 0.0 for r in relays)


def _ranked(weights: dict[Any, int]) -> list[tuple[Any, int]]:
    return sorted(weights.items(), key=lambda kv: (-kv[1], kv[0]))


def _sum_where(weights: dict[Any, int], pred: Callable[[Any], bool]) -> int:
    return sum(w for k, w in weights.items() if pred(k))


def _hhi(weights: Iterable[int], total: int) -> str:
    """Herfindahl-Hirschman index, 0-10,000 (above 2,500 is "highly concentrated")."""
    if not total:
        return fmt.MISSING
    return fmt.count(round(sum((100 * w / total) ** 2 for w in weights)))


def _pct(part: float, whole: float) -> str:
    return f"{100 * part / whole:.1f}%" if whole else fmt.MISSING


def _pct_value(value: float | None) -> str:
    return f"{value:.1f}%" if value is not None else fmt.MISSING


def _ratio(part: float, whole: float) -> str:
    return f"{part / whole:.2f}" if whole else fmt.MISSING


def _number(value: float | None) -> str:
    return f"{value:,.0f}" if value is not None else fmt.MISSING


def _row(label: str, value: str, detail: str | None = None) -> dict[str, Any]:
    return {"label": label, "value": value, "detail": detail}


def _table(caption: str, head: Sequence[str], rows: list[list[str]]) -> dict[str, Any]:
    return {"caption": caption, "head": list(head), "rows": rows}


def _card(card_id: str, title: str, rows: list[dict[str, Any]], *, tables: Sequence = (),
          figures: Sequence = (), available: bool = True, note: str | None = None,
          notes: Sequence[str] = ()) -> dict[str, Any]:
    """One dashboard card; ``figures`` are chart view models (None entries are dropped)."""
    return {"id": card_id, "title": title, "available": available, "rows": rows, "tables": list(tables),
            "charts": [c for c in figures if c], "notes": [note, *notes] if note else list(notes)}


def _listed_note(downtime_days: float) -> str:
    if downtime_days <= 0:
        return "every relay the details document lists"
    return f"including relays seen in the last {downtime_days:g} days"
