"""Relay events: a relay's remembered state, and the events between its previous and its new state."""

from __future__ import annotations

import statistics
from operator import itemgetter
from collections.abc import Container
from typing import Any

from .common import (ADDRESS, AROI, CAUSE_FLAGS, CONTACT, DOWN, FAMILY, FAMILY_PREFIX, FIRST_SEEN, FLAG_GAINED,
                     FLAG_LOST, MISSING_TIMES, OVERLOAD_END, OVERLOAD_START, PLATFORM, RESTART, UP, VERSION, WEIGHT,
                     WEIGHT_BAND, WEIGHT_MIN_SAMPLES, WEIGHT_SAMPLES, Cause, _stored, _tracked, clean_text, event)


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
                cause: Cause | None = None, aroi_known: bool = True, present: Container[str] = (),
                ) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """(events, changed states) from the previous states and the current snapshots (fingerprint → snapshot).

    ``previous`` empty means the store is new: the publication becomes the
    baseline and records no event (10k "first seen" events would say
    nothing).  A relay missing from ``current`` that was running is "down";
    its state stays (marked not running) so that its return reads "back",
    not "first seen".  ``aroi_known`` False (no validator data) leaves AROI
    statuses as they were.  Only states that differ are returned.  ``present``: relays of the publication
    left out of ``current`` because their state cannot change (history/record.py ``Unchanged``).
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
        if fp in current or fp in present or not old.get("run"):
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
