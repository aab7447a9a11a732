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

``common`` holds the kinds, tunables and the event constructor, ``relay``
the relay states and their diff, ``network`` the network events, roll-ups
and the uptime backfill; the public names are re-exported here (read
``SNAPSHOT_FORMAT`` through the package: tests bump it there).
"""

from __future__ import annotations

from .common import (ADDRESS, AROI, CAUSE_FLAGS, CONTACT, DOWN, FAMILY, FAMILY_PREFIX, FIRST_SEEN, FLAG_GAINED,
                     FLAG_LOST, GROUP_DOWN_MIN, GROUP_DOWN_SHARE, MISSING_TIMES, NET_GROUP_DOWN, NET_NOTICE,
                     NET_SWING, NET_THRESHOLD, NETWORK_KINDS, OVERLOAD_END, OVERLOAD_START, PLATFORM, RELAY_KINDS,
                     RESTART, SNAPSHOT_FORMAT, SWING_MIN, SWING_SHARE, TEXT_LIMIT, THRESHOLD_CHANGE, TRACKED, UP,
                     VERSION, WEIGHT, WEIGHT_BAND, WEIGHT_MIN_SAMPLES, WEIGHT_SAMPLES, Cause, clean_text, event, iso,
                     time_text)
from .relay import AROI_WORDS, diff_relays, relay_changes, snapshot
from .network import (BACKFILL_PERIOD, BACKFILL_UP, ROLLUP_WORDS, backfill_uptime, network_changes, notice_changes,
                      rollups, threshold_changes)
from .network import _epoch  # noqa: F401  (tests)

__all__ = ["ADDRESS", "AROI", "CAUSE_FLAGS", "CONTACT", "DOWN", "FAMILY", "FAMILY_PREFIX", "FIRST_SEEN",
           "FLAG_GAINED", "FLAG_LOST", "GROUP_DOWN_MIN", "GROUP_DOWN_SHARE", "MISSING_TIMES", "NET_GROUP_DOWN",
           "NET_NOTICE", "NET_SWING", "NET_THRESHOLD", "NETWORK_KINDS", "OVERLOAD_END", "OVERLOAD_START", "PLATFORM",
           "RELAY_KINDS", "RESTART", "SNAPSHOT_FORMAT", "SWING_MIN", "SWING_SHARE", "TEXT_LIMIT", "THRESHOLD_CHANGE",
           "TRACKED", "UP", "VERSION", "WEIGHT", "WEIGHT_BAND", "WEIGHT_MIN_SAMPLES", "WEIGHT_SAMPLES", "Cause",
           "clean_text", "event", "iso", "time_text", "AROI_WORDS", "diff_relays", "relay_changes", "snapshot",
           "BACKFILL_PERIOD", "BACKFILL_UP", "ROLLUP_WORDS", "backfill_uptime", "network_changes", "notice_changes",
           "rollups", "threshold_changes"]
