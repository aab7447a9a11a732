"""Network events (relay-count swings, groups going down, threshold moves, notices), roll-ups and the
uptime-history backfill.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any

from .. import format as fmt
from .common import (ADDRESS, AROI, CONTACT, DOWN, FAMILY, FIRST_SEEN, FLAG_GAINED, FLAG_LOST, GROUP_DOWN_MIN,
                     GROUP_DOWN_SHARE, NET_GROUP_DOWN, NET_NOTICE, NET_SWING, NET_THRESHOLD, OVERLOAD_END,
                     OVERLOAD_START, PLATFORM, RESTART, SWING_MIN, SWING_SHARE, THRESHOLD_CHANGE, UP, VERSION, WEIGHT,
                     clean_text, event, time_text)


# -- network events ---------------------------------------------------------------------------

def network_changes(previous: dict[str, dict[str, Any]], states: dict[str, dict[str, Any]],
                    relay_events: Iterable[dict[str, Any]], published: float, *,
                    family_labels: dict[str, str] | None = None,
                    as_labels: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Notable changes of the whole network in one publication: running-count swings, big groups going down.

    ``states`` are the changed states :func:`diff_relays` returned; the
    running counts come from ``previous`` updated with them.
    """
    if not previous:
        return []
    out = []
    before = sum(1 for s in previous.values() if s.get("run"))
    after = before + sum((1 if s.get("run") else 0) - (1 if previous.get(fp, {}).get("run") else 0)
                         for fp, s in states.items())
    delta = after - before
    if before and abs(delta) >= max(SWING_MIN, before * SWING_SHARE):
        out.append(event(published, None, NET_SWING, before, after,
                         f"running relays {'fell' if delta < 0 else 'rose'} from {before:,} to {after:,} "
                         f"({delta / before * 100:+.1f} %)"))
    down = [e for e in relay_events if e["kind"] == DOWN]
    for key, labels, word in (("fid", family_labels or {}, "family"), ("as", as_labels or {}, "AS")):
        running = Counter(s.get(key) for s in previous.values() if s.get("run") and s.get(key))
        lost = Counter(previous[e["fp"]].get(key) for e in down if previous.get(e["fp"], {}).get(key))
        for gid, n in sorted(lost.items()):
            if running[gid] >= GROUP_DOWN_MIN and n >= running[gid] * GROUP_DOWN_SHARE:
                label = clean_text(labels.get(gid) or gid, 60)
                out.append(event(published, None, NET_GROUP_DOWN, running[gid], running[gid] - n,
                                 f"{word} {label}: {n} of {running[gid]} running relays stopped running",
                                 family=gid if key == "fid" else None))
    return out


def threshold_changes(previous: dict[str, dict[str, float]] | None, current: dict[str, dict[str, float]],
                      published: float) -> list[dict[str, Any]]:
    """Authorities' flag thresholds (nickname → {key: value}) that moved by ≥ 25 %, appeared or went."""
    if not previous:
        return []
    out = []
    for nick in sorted(current.keys() | previous.keys()):
        old, new = previous.get(nick) or {}, current.get(nick) or {}
        for key in sorted(old.keys() | new.keys()):
            a, b = old.get(key), new.get(key)
            if a == b or (a is not None and b is not None and abs(b - a) < abs(a) * THRESHOLD_CHANGE):
                continue
            who = clean_text(nick, 40)
            text = (f"{who} no longer publishes {key}" if b is None else
                    f"{who} now publishes {key} = {_threshold_text(key, b)}" if a is None else
                    f"{who} changed {key} from {_threshold_text(key, a)} to {_threshold_text(key, b)}")
            out.append(event(published, None, NET_THRESHOLD, {nick: {key: a}}, {nick: {key: b}}, text))
    return out


def _threshold_text(key: str, value: float) -> str:
    if key == "guard-wfu":
        return f"{value * 100:.1f} %"
    if key in ("guard-tk", "stable-mtbf", "stable-uptime"):
        return f"{value / 86400:.1f} days"
    if key in ("fast-speed", "guard-bw-inc-exits", "guard-bw-exc-exits"):
        return f"{value / 1000:,.0f} kB/s"
    return f"{value:g}"


def notice_changes(previous: list[str] | None, current: list[str], published: float) -> list[dict[str, Any]]:
    """consensus-health notices (plain texts) that appeared or cleared since the previous page."""
    if previous is None:
        return []
    out = []
    for text in sorted(set(current) - set(previous)):
        out.append(event(published, None, NET_NOTICE, None, text, f"consensus-health: {clean_text(text, 200)}"))
    for text in sorted(set(previous) - set(current)):
        out.append(event(published, None, NET_NOTICE, text, None,
                         f"consensus-health notice cleared: {clean_text(text, 200)}"))
    return out


# -- roll-ups ---------------------------------------------------------------------------------

def rollups(events: Iterable[dict[str, Any]], members: int, limit: int = 10) -> list[dict[str, Any]]:
    """Group a contact's or family's events by hour and what happened: "3 of 40 relays lost Guard
    between 13:00 and 14:00" (newest first; a change seen at one relay only is listed too)."""
    groups: dict[tuple, set[str]] = defaultdict(set)
    for e in events:
        if e["fp"] is None:
            continue
        hour = int(e["time"] // 3600 * 3600)
        groups[(hour, e["kind"], e["after"] if e["kind"] in (FLAG_GAINED, FLAG_LOST) else None)].add(e["fp"])
    out = []
    for (hour, kind, flag), fps in sorted(groups.items(), key=lambda kv: (-kv[0][0], -len(kv[1]), kv[0][1])):
        start, end = time_text(hour)[11:16], time_text(hour + 3600)[11:16]
        day = time_text(hour)[:10]
        what = ROLLUP_WORDS.get(kind, kind).format(flag=flag)
        out.append({"hour": hour, "kind": kind, "relays": len(fps),
                    "text": f"{len(fps)} of {members} relays {what} between {start} and {end} UTC on {day}"})
        if len(out) >= limit:
            break
    return out


ROLLUP_WORDS = {FIRST_SEEN: "were first seen", DOWN: "stopped running", UP: "came back",
                FLAG_GAINED: "gained {flag}", FLAG_LOST: "lost {flag}", VERSION: "changed version",
                PLATFORM: "changed platform", RESTART: "restarted", ADDRESS: "changed address",
                WEIGHT: "had a consensus weight change", OVERLOAD_START: "reported overload",
                OVERLOAD_END: "ended overload", FAMILY: "changed family", CONTACT: "changed contact",
                AROI: "changed AROI validation"}


# -- backfill ---------------------------------------------------------------------------------

BACKFILL_UP = 0.999          # a series point this high: running the whole bucket
BACKFILL_PERIOD = "1M"       # the finest series the uptime summary keeps (~8-hour points)


def backfill_uptime(fp: str, graph: dict[str, Any] | None, before: float, *, nickname: str | None = None,
                    contact: str | None = None, family: str | None = None) -> list[dict[str, Any]]:
    """"down"/"up" events from a relay's uptime series, where it is unambiguous (pure).

    Only a point of a whole bucket running (≥ 99.9 %) followed by one of a
    whole bucket down (0), or the reverse, is a transition; partial points
    say neither when nor whether.  The event time is the start of the first
    point in the new state (a bucket's series time is its midpoint).  Events
    at or after ``before`` (the first publication the store diffed) are left
    out: from there on the store records them itself.
    """
    if not isinstance(graph, dict):
        return []
    values, interval = graph.get("values"), graph.get("interval")
    first = _epoch(graph.get("first"))
    if not isinstance(values, list) or not isinstance(interval, (int, float)) or interval <= 0 or first is None:
        return []
    if 0 not in values:           # every transition has a point at 0 (most relays have none: one C scan)
        return []
    out = []
    for i in range(1, len(values)):
        a, b = values[i - 1], values[i]
        if not isinstance(a, (int, float)) or not isinstance(b, (int, float)):
            continue
        when = first + i * interval - interval / 2
        if when >= before:
            break
        if a >= BACKFILL_UP and b == 0:
            out.append(event(when, fp, DOWN, True, False, "went down (from Onionoo's uptime history)",
                             nickname=nickname, contact=contact, family=family))
        elif a == 0 and b >= BACKFILL_UP:
            out.append(event(when, fp, UP, False, True, "came back (from Onionoo's uptime history)",
                             nickname=nickname, contact=contact, family=family))
    return out


def _epoch(text: Any) -> float | None:
    when = fmt.parse_onionoo_time(text)
    return when.timestamp() if when is not None else None
