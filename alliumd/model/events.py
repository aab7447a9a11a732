"""Network memory, the pure part: the previous state of every relay + a new publication → events.

The history store (alliumd/history/store.py) keeps one compact *state* per
relay (what the last publication said about it, plus a short series of its
consensus weights) and the events derived from them.  This module is the
diff: given the previous states, the relays of a new details publication
and its publication time, it returns the events and the new states.  It
never reads the clock or a file, so the same inputs always give the same
events, and diffing a publication against the states it produced gives
none (that is what makes a restart or a re-render record nothing twice).

Every event is a plain dict::

    {"uid", "time" (publication time, epoch s), "fp" (None: network event), "kind",
     "before", "after" (JSON-able values), "text" (a human sentence),
     "nickname", "contact", "family"  (the relay's contact and family ids, for feeds)}

Text that came from operators (versions, platforms, contacts) is cleaned of
control characters and shortened before it reaches a sentence; templates
escape it like any other value.
"""

from __future__ import annotations

import hashlib
import json
import statistics
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from operator import itemgetter
from typing import Any

from . import format as fmt

WEIGHT_SAMPLES = 24          # consensus weights kept per relay for its median (one per publication)
WEIGHT_MIN_SAMPLES = 3       # no weight events before this many samples
WEIGHT_BAND = 0.5            # an event when the weight leaves ±50 % of the median
SWING_SHARE = 0.03           # a network event when the running relay count moves by ≥ 3 % …
SWING_MIN = 10               # … and by at least this many relays
GROUP_DOWN_MIN = 5           # a family or AS of at least this many running relays …
GROUP_DOWN_SHARE = 0.5       # … of which at least half stopped running in one publication
THRESHOLD_CHANGE = 0.25      # an authority's flag threshold moving by ≥ 25 % is a network event
TEXT_LIMIT = 120             # longest operator text quoted in a sentence
SNAPSHOT_FORMAT = 1          # bump when snapshot() changes: the stored states are then a new baseline
FAMILY_PREFIX = 12           # family members are remembered by fingerprint prefix (a big family: 4x smaller)
TRACKED = ("n", "run", "flags", "ver", "plat", "rst", "addr", "ovl", "fam", "contact", "aroi", "cid", "fid", "as")
_tracked = itemgetter(*TRACKED)
_stored = itemgetter(*TRACKED, "cw", "cwh", "cwb")
CAUSE_FLAGS = frozenset({"Guard", "Stable", "Fast", "HSDir", "Running"})

# kinds (stable identifiers: they are in the store, the feeds and `alliumctl events --json`)
FIRST_SEEN, DOWN, UP = "first_seen", "down", "up"
FLAG_GAINED, FLAG_LOST = "flag_gained", "flag_lost"
VERSION, PLATFORM, RESTART, ADDRESS = "version", "platform", "restart", "address"
WEIGHT, OVERLOAD_START, OVERLOAD_END = "weight", "overload_started", "overload_ended"
FAMILY, CONTACT, AROI = "family", "contact", "aroi"
NET_SWING, NET_GROUP_DOWN, NET_THRESHOLD, NET_NOTICE = ("network_count", "network_group_down",
                                                         "authority_threshold", "consensus_health_notice")
RELAY_KINDS = (FIRST_SEEN, DOWN, UP, FLAG_GAINED, FLAG_LOST, VERSION, PLATFORM, RESTART, ADDRESS, WEIGHT,
               OVERLOAD_START, OVERLOAD_END, FAMILY, CONTACT, AROI)
NETWORK_KINDS = (NET_SWING, NET_GROUP_DOWN, NET_THRESHOLD, NET_NOTICE)
MISSING_TIMES = {None, "", "—", "-"}

Cause = Callable[[str, str, bool], "str | None"]      # (fingerprint, flag, gained) → cause text or None


def clean_text(value: Any, limit: int = TEXT_LIMIT) -> str:
    """Operator text fit for a sentence and an XML feed: no control or format characters, one line, capped."""
    text = "" if value is None else str(value)
    out = []
    for ch in text:
        cat = unicodedata.category(ch)
        if cat in ("Cc", "Cs", "Cf", "Co", "Cn") or ch in "\ufffe\uffff":
            out.append(" " if ch in "\t\n\r\x0b\x0c" else "")
        else:
            out.append(ch)
    text = " ".join("".join(out).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def time_text(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def iso(epoch: float) -> str:
    """RFC 3339 (what Atom's date constructs require)."""
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def event(time: float, fp: str | None, kind: str, before: Any, after: Any, text: str, *,
          nickname: str | None = None, contact: str | None = None, family: str | None = None) -> dict[str, Any]:
    """One event; ``uid`` is a digest of what it says, so recording it twice keeps one copy.

    The sentence is cleaned as a whole (operator text and vote-derived
    causes alike) so no control character reaches a page or a feed.
    """
    ident = json.dumps([fp, kind, round(time), before, after], sort_keys=True, default=str)
    uid = hashlib.blake2b(ident.encode(), digest_size=12).hexdigest()
    return {"uid": uid, "time": float(time), "fp": fp, "kind": kind, "before": before, "after": after,
            "text": clean_text(text, 400), "nickname": clean_text(nickname, 40) if nickname else None,
            "contact": contact, "family": family}


# -- relay states ----------------------------------------------------------------------------

def snapshot(relay: dict[str, Any], *, contact_id: str | None = None, family_id: str | None = None,
             aroi: str | None = None) -> dict[str, Any]:
    """What the history remembers of a relay view (alliumd.model.relays.relay_view) between publications."""
    get = relay.get
    restarted = get("last_restarted")
    family = get("family")
    # the relay model keeps flags and family sorted and addresses in the descriptor's order; its lists are
    # never modified, so a state may share them
    return {"n": get("nickname"), "run": get("running") is True, "flags": get("flags") or [],
            "ver": get("version"), "plat": get("platform"), "rst": None if restarted in MISSING_TIMES else restarted,
            "addr": get("or_addresses") or [], "cw": get("consensus_weight") or 0,
            "ovl": get("overload_general_timestamp") is not None,
            "fam": [fp[:FAMILY_PREFIX] for fp in family] if family else [], "contact": get("contact"),
            "aroi": aroi, "cid": contact_id, "fid": family_id, "as": get("as_number")}


def _median(values: list[int]) -> float | None:
    return statistics.median(values) if len(values) >= WEIGHT_MIN_SAMPLES else None


def _band(weight: int, median: float | None) -> str:
    if median is None or median <= 0:
        return "normal"
    if weight > median * (1 + WEIGHT_BAND):
        return "high"
    if weight < median * (1 - WEIGHT_BAND):
        return "low"
    return "normal"


def diff_relays(previous: dict[str, dict[str, Any]], current: dict[str, dict[str, Any]], published: float, *,
                cause: Cause | None = None, aroi_known: bool = True,
                ) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """(events, changed states) from the previous states and the current snapshots (fingerprint → snapshot).

    ``previous`` empty means the store is new: the publication becomes the
    baseline and records no event (10k "first seen" events would say
    nothing).  A relay missing from ``current`` that was running is "down";
    its state stays (marked not running) so that its return reads "back",
    not "first seen".  ``aroi_known`` False (no validator data) leaves AROI
    statuses as they were.  Only states that differ are returned.
    """
    events: list[dict[str, Any]] = []
    states: dict[str, dict[str, Any]] = {}
    baseline = not previous
    for fp, snap in current.items():
        old = previous.get(fp)
        state = dict(snap)
        if not aroi_known:
            state["aroi"] = old.get("aroi") if old else None
        samples = list(old.get("cwh") or []) if old else []
        band = old.get("cwb", "normal") if old else "normal"
        if snap["run"] and (old is None or old.get("t") != published):
            median = _median(samples)
            new_band = _band(snap["cw"], median)
            if old is not None and new_band != band:
                events.append(_weight_event(published, fp, snap, median, band, new_band))
            band = new_band
            samples = (samples + [snap["cw"]])[-WEIGHT_SAMPLES:]
        state["cwh"], state["cwb"], state["t"] = samples, band, published
        if old is None:
            if not baseline:
                events.append(_tagged(published, fp, snap, FIRST_SEEN, None, snap["run"],
                                      "first seen" + ("" if snap["run"] else " (not running)")))
        elif _differ(_tracked, old, state):                      # most relays: nothing to look at
            events.extend(relay_changes(old, state, fp, published, cause))
        if old is None or _differ(_stored, old, state):
            states[fp] = state
    for fp, old in previous.items():
        if fp in current or not old.get("run"):
            continue
        gone = {**old, "run": False, "flags": [f for f in old.get("flags") or [] if f != "Running"]}
        why = cause(fp, "Running", False) if cause else None
        events.append(_tagged(published, fp, old, DOWN, True, False,
                              "no longer running: gone from the details document" + (f" ({why})" if why else "")))
        states[fp] = gone
    return events, states


def _differ(getter: itemgetter, old: dict[str, Any], new: dict[str, Any]) -> bool:
    """Whether the fields ``getter`` picks differ (a state missing one, e.g. from an older alliumd, does)."""
    try:
        return getter(old) != getter(new)
    except KeyError:
        return True


def _tagged(time: float, fp: str, snap: dict[str, Any], kind: str, before: Any, after: Any, text: str):
    return event(time, fp, kind, before, after, text, nickname=snap.get("n"), contact=snap.get("cid"),
                 family=snap.get("fid"))


def _weight_event(time, fp, snap, median, band, new_band):
    weight = snap["cw"]
    if new_band == "normal":
        text = f"consensus weight {weight:,} is back within ±50 % of its median ({median:,.0f})"
    else:
        text = (f"consensus weight {weight:,} is {weight / median:.1f}× its median of {median:,.0f}"
                if new_band == "high" else
                f"consensus weight {weight:,} fell to {weight / median * 100:.0f} % of its median of {median:,.0f}")
    return _tagged(time, fp, snap, WEIGHT, {"band": band, "median": median}, {"band": new_band, "weight": weight},
                   text)


def relay_changes(old: dict[str, Any], new: dict[str, Any], fp: str, published: float,
                  cause: Cause | None = None) -> list[dict[str, Any]]:
    """The events between two states of one relay (both present in their publications)."""
    out = []

    def add(kind, before, after, text):
        out.append(_tagged(published, fp, new, kind, before, after, text))

    def why(flag: str, gained: bool) -> str:
        text = cause(fp, flag, gained) if cause and flag in CAUSE_FLAGS else None
        return f": {text}" if text else ""

    if old.get("run") != new["run"]:
        if new["run"]:
            add(UP, False, True, "back in the consensus (running again)" + why("Running", True))
        else:
            add(DOWN, True, False, "no longer running (not in the consensus)" + why("Running", False))
    # a relay going down or coming back keeps or drops its flags as a whole: that is the down/up event
    same_run = bool(old.get("run")) == new["run"] and new["run"]
    before, after = (set(old.get("flags") or []), set(new["flags"])) if same_run else (set(), set())
    for flag in sorted(after - before - {"Running"}):
        add(FLAG_GAINED, flag, flag, f"gained {flag}" + why(flag, True))
    for flag in sorted(before - after - {"Running"}):
        add(FLAG_LOST, flag, flag, f"lost {flag}" + why(flag, False))
    if old.get("ver") != new["ver"] and new["ver"] is not None:
        add(VERSION, old.get("ver"), new["ver"],
            f"version changed from {_quoted(old.get('ver'))} to {_quoted(new['ver'])}")
    if old.get("plat") != new["plat"] and new["plat"] is not None and not (
            old.get("ver") != new["ver"] and _platform_follows_version(old.get("plat"), new["plat"])):
        add(PLATFORM, old.get("plat"), new["plat"],
            f"platform changed from {_quoted(old.get('plat'))} to {_quoted(new['plat'])}")
    if new["rst"] is not None and old.get("rst") is not None and new["rst"] > old["rst"]:
        add(RESTART, old["rst"], new["rst"], f"restarted at {clean_text(new['rst'], 40)}")
    if old.get("addr") != new["addr"] and new["addr"]:
        add(ADDRESS, old.get("addr"), new["addr"],
            f"OR address changed from {_addresses(old.get('addr'))} to {_addresses(new['addr'])}")
    if bool(old.get("ovl")) != new["ovl"]:
        add(OVERLOAD_START if new["ovl"] else OVERLOAD_END, bool(old.get("ovl")), new["ovl"],
            "reports overload (general overload state)" if new["ovl"] else "overload ended")
    if old.get("fam") != new["fam"] and old.get("fam") is not None:
        joined, left = set(new["fam"]) - set(old["fam"]), set(old["fam"]) - set(new["fam"])
        parts = ([f"{len(joined)} joined"] if joined else []) + ([f"{len(left)} left"] if left else [])
        add(FAMILY, old["fam"], new["fam"],
            f"family changed: {', '.join(parts)} (now {len(new['fam']) + 1} relays)")
    if old.get("contact") != new["contact"]:
        add(CONTACT, old.get("contact"), new["contact"],
            f"contact changed from {_quoted(old.get('contact'))} to {_quoted(new['contact'])}")
    if old.get("aroi") != new["aroi"] and new["aroi"] is not None and old.get("aroi") is not None:
        add(AROI, old["aroi"], new["aroi"],
            f"AROI validation changed from {_aroi_word(old['aroi'])} to {_aroi_word(new['aroi'])}")
    return out


def _platform_follows_version(old: str | None, new: str) -> bool:
    """'Tor 0.4.8.1 on Linux' → 'Tor 0.4.8.2 on Linux' is the version event's news, not a second event."""
    return bool(old) and old.split(" on ", 1)[-1] == new.split(" on ", 1)[-1]


def _quoted(value: Any) -> str:
    return f"“{clean_text(value)}”" if value not in (None, "") else "(none)"


def _addresses(values: list[str] | None) -> str:
    return ", ".join(clean_text(v, 60) for v in values) if values else "(none)"


AROI_WORDS = {"validated": "validated", "unauthorized": "unauthorized", "misconfigured": "misconfigured",
              "unknown": "unknown", "incomplete": "incomplete", "not_configured": "not configured"}


def _aroi_word(code: str) -> str:
    return AROI_WORDS.get(code, clean_text(code, 30))


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
