"""What every event module shares: the tunables, the event kinds, operator text made safe, one event."""

from __future__ import annotations

from ...core.text import plain_text

import hashlib
import json
from collections.abc import Callable
from datetime import datetime, timezone
from operator import itemgetter
from typing import Any


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
SNAPSHOT_KEYS = (*TRACKED, "cw")      # what snapshot() returns; a state adds the weight keys (history/store.py)
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
    """Operator text fit for a sentence and an XML feed: the one operator-text policy (core.text), one line,
    capped."""
    return plain_text("" if value is None else str(value), limit, fold=True, ellipsis=True)


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
