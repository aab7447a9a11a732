"""One publication into the store: snapshots from the renderer's models, the diff, one transaction.

Called by the renderer's ``history`` model (pages/events.py) whenever
details, collector, AROI or consensus-health data changed.  The previous
states come from the store, not from the previous in-memory model, so a
restarted renderer continues where it stopped and a publication it has
already recorded adds nothing (its diff against the states it produced is
empty).  Event time is the source's publication time; ``now`` only drives
retention.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..model import events as ev
from ..model.event_causes import flag_cause
from ..core.jsonx import loads
from .store import HistoryStore

log = logging.getLogger("alliumd.history")


@dataclass
class Publication:
    """What one batch hands over: the relays (views) and the per-relay and network extras."""

    details_time: float | None                       # None: no (real) details data: nothing is recorded
    relays: list[dict[str, Any]]
    keys: dict[str, dict[str, Any]] = field(default_factory=dict)     # fp → groups.relay_keys entry
    aroi: dict[str, str] | None = None               # fp → AROI status code (None: no validator data)
    aroi_time: float | None = None
    vote_context: dict[str, Any] | None = None       # consensus_eval.build_context of the CollecTor summary
    vote_rows: dict[str, Any] = field(default_factory=dict)         # fp → row (dict or compact JSON text)
    thresholds: dict[str, dict[str, float]] | None = None          # authority → flag thresholds
    votes_time: float | None = None
    notices: list[str] | None = None                 # consensus-health notices (texts)
    notices_time: float | None = None
    family_labels: dict[str, str] = field(default_factory=dict)
    as_labels: dict[str, str] = field(default_factory=dict)


@dataclass
class Unchanged:
    """What the last diff read of each relay and the state it left: the next publication skips a relay
    whose view, group keys and AROI status are the same objects and whose stored state is that state.

    Sound because the diff of a relay is a function of (stored state, snapshot, publication time, whether
    AROI data is known), and a state the diff produced is its own fixpoint for the same snapshot and time:
    re-diffing it yields no event and no new state.  For a new publication time such a relay is diffed
    again (its weight samples and time move), with the stored state standing in for its snapshot: a state
    is its snapshot plus what the diff sets anew.  A few hundred bytes per relay, no copies.
    """

    published: float | None = None
    aroi_known: bool = False
    relays: dict[str, tuple] = field(default_factory=dict)      # fp → (relay view, keys, AROI status, state)


@dataclass
class Recorded:
    added: int = 0
    touched_relays: set[str] = field(default_factory=set)
    touched_contacts: set[str] = field(default_factory=set)
    touched_families: set[str] = field(default_factory=set)
    network: bool = False
    baseline: bool = False                          # the store started from this publication
    unchanged: Unchanged | None = None               # for the next publication (see Unchanged)


def cause_from_votes(context: dict[str, Any] | None, rows: dict[str, Any]) -> Callable[[str, str, bool], str | None]:
    def cause(fp: str, flag: str, gained: bool) -> str | None:
        if context is None:
            return None
        row = rows.get(fp)
        if isinstance(row, (str, bytes)):
            row = loads(row)
        try:
            return flag_cause(context, row, flag, gained)
        except (TypeError, ValueError, KeyError, IndexError):      # a malformed row costs its cause only
            return None
    return cause


def _snapshot(pub: Publication, relay: dict[str, Any], fp: str) -> tuple[dict[str, Any], Any, str | None]:
    keys = pub.keys.get(fp) or {}
    aroi = pub.aroi.get(fp) if pub.aroi is not None else None
    return ev.snapshot(relay, contact_id=keys.get("contact"), family_id=keys.get("family"), aroi=aroi), keys, aroi


def record(store: HistoryStore, pub: Publication, now: float, unchanged: Unchanged | None = None) -> Recorded:
    """Diff ``pub`` against the stored states and store the result; return what it touched.

    ``unchanged``: what the previous call returned in ``Recorded.unchanged`` (relays it shows unchanged
    are not snapshot or diffed again)."""
    out = Recorded()
    if pub.details_time is None:
        return out
    previous = store.states()
    fresh_format = store.network_state("snapshot_format") != ev.SNAPSHOT_FORMAT
    if fresh_format:            # states written by another version of snapshot(): diffing them would invent
        previous = {}           # changes, so this publication is a new baseline (the events stay)
    aroi_known = pub.aroi is not None
    memo = unchanged.relays if unchanged is not None and unchanged.aroi_known == aroi_known else {}
    same_time = unchanged is not None and unchanged.published == pub.details_time
    current, seen, kept = {}, {}, {}
    for relay in pub.relays:
        fp = relay["fingerprint"]
        last = memo.get(fp)
        if last is not None and last[0] is relay and previous.get(fp) is last[3]:
            keys = pub.keys.get(fp) or {}
            if last[1] is keys and last[2] == (pub.aroi.get(fp) if aroi_known else None):
                if same_time:
                    kept[fp] = last                 # stored at this publication time already (its `seen` too)
                    continue
                # a new publication (hour) that did not change the relay: its stored state holds its snapshot
                # (and more, which diff_relays sets anew: the weight samples, the time)
                current[fp] = last[3]
                seen[fp] = last[:3]
                continue
        current[fp], keys, aroi = _snapshot(pub, relay, fp)
        seen[fp] = (relay, keys, aroi)
    events, states = ev.diff_relays(previous, current, pub.details_time,
                                    cause=cause_from_votes(pub.vote_context, pub.vote_rows),
                                    aroi_known=aroi_known, present=kept)
    if pub.aroi_time is not None:                     # AROI events carry the validator's publication time
        events = [ev.event(pub.aroi_time, e["fp"], e["kind"], e["before"], e["after"], e["text"],
                           nickname=e["nickname"], contact=e["contact"], family=e["family"])
                  if e["kind"] == ev.AROI else e for e in events]
    network = ev.network_changes(previous, states, events, pub.details_time, family_labels=pub.family_labels,
                                 as_labels=pub.as_labels)
    saved: dict[str, Any] = {}
    if not previous:
        saved["started"] = store.network_state("started") or pub.details_time
        out.baseline = True
    if fresh_format:
        saved["snapshot_format"] = ev.SNAPSHOT_FORMAT
    if pub.thresholds is not None and pub.votes_time is not None:
        network += ev.threshold_changes(store.network_state("thresholds"), pub.thresholds, pub.votes_time)
        saved["thresholds"] = pub.thresholds
    if pub.notices is not None and pub.notices_time is not None:
        network += ev.notice_changes(store.network_state("notices"), pub.notices, pub.notices_time)
        saved["notices"] = sorted(set(pub.notices))
    everything = events + network
    if not everything and not states and not saved and previous and same_time:
        out.unchanged = _unchanged(pub, kept, seen, previous)
        return out                                    # the same publication again: nothing to write
    # (a new one that changed nothing is recorded: its relays are seen, which retention counts from)
    recoveries = store.recoveries
    out.added = store.record(source="onionoo_details", published=pub.details_time, events=everything,
                             states=states, network=saved, present=current.keys(), now=now,
                             replace_states=fresh_format)
    if store.recoveries != recoveries:
        # the file was replaced while recording: the new one starts from this publication, every relay
        current = {fp: _snapshot(pub, relay, fp)[0] for relay in pub.relays for fp in (relay["fingerprint"],)}
        _, baseline = ev.diff_relays({}, current, pub.details_time, aroi_known=aroi_known)
        store.record(source="onionoo_details", published=pub.details_time, events=(), states=baseline,
                     network={**saved, "started": pub.details_time, "snapshot_format": ev.SNAPSHOT_FORMAT},
                     now=now, replace_states=True)
        out.baseline = True
    elif not fresh_format:      # a new baseline's states are read back by the next publication, not kept now
        out.unchanged = _unchanged(pub, kept, seen, store.states())
    if out.added:
        out.touched_relays = {e["fp"] for e in everything if e["fp"]}
        out.touched_contacts = {e["contact"] for e in everything if e["contact"]}
        out.touched_families = {e["family"] for e in everything if e["family"]}
        out.network = bool(network)
        log.info("history: %d new events (%d relays, %d network) for the publication of %s", out.added,
                 len(out.touched_relays), len(network), ev.time_text(pub.details_time))
    return out


def _unchanged(pub: Publication, kept: dict[str, tuple], seen: dict[str, tuple],
               states: dict[str, dict[str, Any]]) -> Unchanged:
    relays = dict(kept)
    for fp, (relay, keys, aroi) in seen.items():
        state = states.get(fp)
        if state is not None:
            relays[fp] = (relay, keys, aroi, state)
    return Unchanged(pub.details_time, pub.aroi is not None, relays)


def backfill(store: HistoryStore, pub: Publication, uptime_series: dict[str, dict[str, Any]], now: float) -> int:
    """Seed a new store with the unambiguous "down"/"up" events of Onionoo's uptime history (see
    model/events.backfill_uptime); ``uptime_series``: fingerprint → its 1-month series."""
    if pub.details_time is None:
        return 0
    events = []
    for relay in pub.relays:
        fp = relay["fingerprint"]
        keys = pub.keys.get(fp) or {}
        events += ev.backfill_uptime(fp, uptime_series.get(fp), pub.details_time, nickname=relay.get("nickname"),
                                     contact=keys.get("contact"), family=keys.get("family"))
    if not events:
        return 0
    added = store.record(source="onionoo_uptime", published=pub.details_time, events=events, now=now)
    log.info("history: %d events from Onionoo's uptime history (backfill)", added)
    return added
