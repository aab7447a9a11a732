"""The relay model: a details document (whole, as objects or as raw lines) → sorted relay views and the
network summary, reusing the views of unchanged lines.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from itertools import chain
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ...core.gcpause import gc_paused
from ...core.jsonx import loads
from .. import format as fmt
from .share import Shared
from .view import SEEN_AT_PUBLICATION, _int, relay_view


DOWNTIME_DAYS = 7.0           # allium's --filter-downtime; [render] hide_down_after_days
TOP_RELAYS = 25
SUMMARY_FLAGS = ("Exit", "Guard", "Fast", "Stable", "HSDir", "V2Dir", "BadExit")
ROLES = ("exit", "guard", "middle")


@dataclass
class RelayModel:
    """The relays of one details document, ready for page families."""

    published: str                       # relays_published as "YYYY-MM-DD HH:MM:SS UTC"
    relays: list[dict[str, Any]]         # consensus weight desc, then fingerprint
    by_fingerprint: dict[str, dict[str, Any]]
    summary: dict[str, Any]
    skipped: int = 0                     # objects dropped as invalid or duplicate
    filtered: int = 0                    # relays dropped by the downtime filter
    hidden: frozenset[str] = frozenset()  # their fingerprints (a relay page says why a family member has no page)
    source_time: str | None = None       # relays_published as the document wrote it
    downtime_days: float = DOWNTIME_DAYS  # the downtime filter this model was built with (0: none)
    # line digest → (view or None, filtered): what each raw relay line became, for the next build
    memo: dict[bytes, tuple[dict | None, bool]] = field(default_factory=dict, repr=False)
    parsed: int = 0                      # relay objects parsed anew (not reused from the previous model)


def build_relays(doc: Any, downtime_days: float = DOWNTIME_DAYS) -> RelayModel:
    """Build the model; a missing or malformed document yields an empty model."""
    doc = doc if isinstance(doc, dict) else {}
    raw = doc.get("relays")
    return build_relays_from(doc, raw if isinstance(raw, list) else (), downtime_days)


def build_relays_from(envelope: dict[str, Any], objects: Iterable[Any],
                      downtime_days: float = DOWNTIME_DAYS) -> RelayModel:
    """Build the model from the document's envelope (``relays_published``…) and its relay objects."""
    return _build(envelope, ((obj, None) for obj in objects), {}, downtime_days)


def build_relays_lines(envelope: dict[str, Any], items: Iterable[bytes | memoryview],
                       previous: RelayModel | None = None, downtime_days: float = DOWNTIME_DAYS) -> RelayModel:
    """Build the model from the raw JSON of each relay object (one per line of the document).

    A relay whose line is byte-identical to its line in ``previous`` keeps
    its view: a document in which one relay changed costs one parse, not ten
    thousand.  A new hour moves every running relay's ``last_seen`` to the new
    publication time, and nothing else of an unchanged relay: the digest of a
    running relay's line reads that field as "the publication's own time"
    (which its view says too: view.SEEN_AT_PUBLICATION), so such a relay
    keeps its view across hours.  Whether a relay is hidden by the downtime
    filter counts from the publication, so it is worked out again then.
    """
    source_time = envelope.get("relays_published")
    reuse = previous.memo if previous is not None and previous.downtime_days == downtime_days else {}
    new_hour = previous is not None and previous.source_time != source_time
    seen = b'"last_seen":"' + source_time.encode() + b'"' if isinstance(source_time, str) else None
    return _build(envelope, ((item, _line_digest(item, seen)) for item in items), reuse, downtime_days,
                  new_hour)


DIGEST_SIZE = 16              # a line read with its last_seen as the publication's time has one byte more


def _line_digest(item: bytes | memoryview, seen: bytes | None) -> bytes:
    """The digest of a relay line; a running relay's ``last_seen`` equal to the publication time (``seen``)
    counts as the same in every hour.  (In Onionoo's compact JSON, ``"running":true`` can only be a key and
    its value, never inside a string, whose quotes are escaped; a nested one is caught by _across_hours.)"""
    if seen is not None:
        line = bytes(item)
        if seen in line and b'"running":true' in line:
            return hashlib.blake2b(line.replace(seen, b'"last_seen":@'), digest_size=DIGEST_SIZE).digest() + b"@"
    return hashlib.blake2b(item, digest_size=DIGEST_SIZE).digest()



def _build(envelope: dict[str, Any], entries: Iterable[tuple[Any, bytes | None]],
           reuse: dict[bytes, tuple[dict | None, bool]], downtime_days: float, new_hour: bool = False) -> RelayModel:
    """``entries``: (relay object, or its raw JSON when a line digest is given; line digest or None).
    ``new_hour``: ``reuse`` is from another publication time (the downtime filter is applied again)."""
    published = fmt.parse_onionoo_time(envelope.get("relays_published"))
    limit = timedelta(days=downtime_days) if downtime_days > 0 else None
    relays: list[dict[str, Any]] = []
    seen: set[str] = set()
    memo: dict[bytes, tuple[dict | None, bool]] = {}
    skipped = filtered = parsed = 0
    hidden: set[str] = set()
    shared = Shared()                         # equal values of this build's new views: one object
    with gc_paused():
        for obj, line_digest in entries:
            known = reuse.get(line_digest) if line_digest is not None else None
            if known is not None and new_hour and known[0] is not None:
                known = _across_hours(known, len(line_digest) > DIGEST_SIZE, published, limit)
            if known is None:
                parsed += 1
                if line_digest is not None:
                    try:
                        obj = loads(obj)
                    except ValueError:
                        obj = None            # costs that relay (counted as skipped), never the page
                view = relay_view(obj, published)
                known = (view and shared.share(view), view is not None and is_long_down(obj, published, limit))
            if line_digest is not None:
                memo[line_digest] = known
            view, long_down = known
            if view is None or view["fingerprint"] in seen:
                skipped += 1
                continue
            seen.add(view["fingerprint"])
            if long_down:
                filtered += 1
                hidden.add(view["fingerprint"])
                continue
            relays.append(view)
    relays.sort(key=lambda r: (-r["consensus_weight"], r["fingerprint"]))
    if not reuse and relays:
        relays = _in_model_order(relays, memo)
    truncated = _int(envelope.get("relays_truncated")) or 0
    source_time = envelope.get("relays_published")
    return RelayModel(
        published=fmt.timestamp(published),
        relays=relays,
        by_fingerprint={r["fingerprint"]: r for r in relays},
        summary=network_summary(relays, truncated=truncated),
        skipped=skipped,
        filtered=filtered,
        hidden=frozenset(hidden),
        source_time=source_time if isinstance(source_time, str) else None,
        downtime_days=downtime_days,
        memo=memo,
        parsed=parsed,
    )


def _in_model_order(relays: list[dict[str, Any]], memo: dict[bytes, tuple[dict | None, bool]]
                    ) -> list[dict[str, Any]]:
    """The views copied in model order, for a model whose views are all new (nothing to keep the identity of).

    Why: the views were made in document order, among the parser's garbage, and are read in model order
    by every model after this one, dozens of passes over ten thousand dicts: reading one field of each
    took 3.3 ms for views so scattered, 0.6 ms for the same views allocated one after another in the
    order they are read (network-10k, this kind of host), and the network summary 74 → 28-40 ms, the
    health cards 414 → 285-300 ms.  A later build keeps these objects for its unchanged relays, so the
    order holds for the life of the renderer, give or take the relays that change.  ``memo`` is
    updated to the copies (the next build reuses them)."""
    copies = {id(view): dict(view) for view in relays}
    for digest, (view, long_down) in memo.items():
        if view is not None and id(view) in copies:
            memo[digest] = (copies[id(view)], long_down)
    return [copies[id(view)] for view in relays]


def is_long_down(obj: dict, published: datetime | None,
                 limit: timedelta | None = timedelta(days=DOWNTIME_DAYS)) -> bool:
    """Not running and last seen more than ``limit`` before the document's own time (None: never)."""
    return obj.get("running") is not True and _down_too_long(fmt.parse_onionoo_time(obj.get("last_seen")),
                                                              published, limit)


def _down_too_long(last_seen: datetime | None, published: datetime | None, limit: timedelta | None) -> bool:
    """The downtime filter's rule: last seen more than ``limit`` before the publication (None: never)."""
    return limit is not None and published is not None and last_seen is not None and published - last_seen > limit


def _across_hours(known: tuple[dict, bool], seen_at_publication: bool, published: datetime | None,
                  limit: timedelta | None) -> tuple[dict, bool] | None:
    """A view from another publication's line with the same digest, if it holds for this one (else None:
    parse the line again).  Its ``last_seen`` may say "the publication's time" only if this line's does
    (``seen_at_publication``: its digest read it so), which only a running relay's may; whether a relay
    that is down is hidden counts from this publication."""
    view = known[0]
    if seen_at_publication or view["last_seen"] == SEEN_AT_PUBLICATION:
        return known if (seen_at_publication and view["running"]
                         and view["last_seen"] == SEEN_AT_PUBLICATION) else None
    return known if view["running"] else (view, _long_down_view(view, published, limit))


def _long_down_view(view: dict[str, Any], published: datetime | None, limit: timedelta | None) -> bool:
    """is_long_down of a relay that is not running, from its view (its ``last_seen`` as shown)."""
    return _down_too_long(fmt.parse_timestamp(view["last_seen"]), published, limit)


def network_summary(relays: list[dict[str, Any]], truncated: int = 0) -> dict[str, Any]:
    """Counts, bandwidth totals and the top relays; role/flag figures cover running relays."""
    running = [r for r in relays if r["running"]]
    by_role = {role: [r for r in running if r["role"] == role] for role in ROLES}
    advertised = sum(r["advertised_bandwidth"] or 0 for r in running)
    observed = sum(r["observed_bandwidth"] or 0 for r in running)
    top = sorted(running, key=lambda r: (-r["consensus_weight"], r["fingerprint"]))[:TOP_RELAYS]
    held = Counter(chain.from_iterable(r["flags"] for r in running))     # a view's flags are distinct
    return {
        "relays_total": len(relays),
        "relays_running": len(running),
        "relays_truncated": truncated,
        "roles": [_role_summary(role, by_role[role]) for role in ROLES],
        "flags": [{"flag": flag, "count": held[flag]} for flag in SUMMARY_FLAGS],
        "advertised_bandwidth": advertised,
        "advertised_bandwidth_text": fmt.bandwidth(advertised),
        "observed_bandwidth": observed,
        "observed_bandwidth_text": fmt.bandwidth(observed),
        "countries": len({r["country"] for r in running if r["country"]}),
        "as_count": len({r["as_number"] for r in running if r["as_number"]}),
        "top_relays": top,
    }


def _role_summary(role: str, relays: list[dict[str, Any]]) -> dict[str, Any]:
    advertised = sum(r["advertised_bandwidth"] or 0 for r in relays)
    observed = sum(r["observed_bandwidth"] or 0 for r in relays)
    return {"role": role, "count": len(relays),
            "advertised_bandwidth": advertised, "advertised_bandwidth_text": fmt.bandwidth(advertised),
            "observed_bandwidth": observed, "observed_bandwidth_text": fmt.bandwidth(observed)}
