"""What a relay page shows beyond its own record: AS rarity, family support type, alleged and indirect members.

Pure, and computed once per build for every relay (the AS figures come from
one pass over the network, ``aroi.as_rarity_scores``): a relay page's view
never walks the network.  The result per relay is plain data and part of the
relay page key, so a member appearing or an AS crossing a rarity threshold
re-renders exactly the pages that show it.
"""

from __future__ import annotations

from typing import Any

from . import format as fmt
from .aroi import as_rarity_scores

AS_RARITY_MAX = 5             # aroi.as_rarity: 0-3 for a small weight share, 0-2 for few operators
MEMBERS_SHOWN = 20            # alleged / indirect members listed on a relay page

SUPPORT_TEXT = {
    "both": "Happy Families key and MyFamily list",
    "happy_families": "Happy Families key only (no MyFamily list)",
    "my_family": "MyFamily list only (no Happy Families key in the data)",
    "none": "no family declared",
}


def family_support(relay: dict[str, Any]) -> str:
    """allium's ``family_support_type`` from the data alliumd has: a Happy Families key (Onionoo
    ``family_ids``) and/or a MyFamily list (effective or alleged members)."""
    happy = bool(relay.get("family_ids"))
    my_family = bool(relay["family"] or relay.get("alleged_family"))
    return "both" if happy and my_family else "happy_families" if happy else "my_family" if my_family else "none"


class RelayExtras(dict):
    """fingerprint → the relay's extras, and what they were computed from besides each relay's own view:
    the relay views by fingerprint and the AS rarity scores (for the next build)."""

    source: dict = {}
    scores: dict = {}


def build_relay_extras(relays: list[dict[str, Any]], by_fingerprint: dict[str, dict[str, Any]],
                       keys: dict[str, dict[str, Any]],
                       previous: dict[str, dict[str, Any]] | None = None,
                       scores: dict[str, dict[str, Any]] | None = None) -> RelayExtras:
    """fingerprint → the relay's extras (an equal previous entry is kept, so unchanged relays keep identity).

    ``scores``: the network's :func:`as_rarity_scores` when the caller has them (the renderer's shared model,
    which keeps an untouched AS's entry object).  Given ``previous`` extras, a relay whose view is the same
    object, whose AS's scores entry is the same object and none of whose listed members (the first
    MEMBERS_SHOWN alleged and indirect) came, went or changed keeps its entry without building it again.
    """
    previous = previous or {}
    scores = as_rarity_scores(relays, keys) if scores is None else scores
    old_source, old_scores = (previous.source, previous.scores) if isinstance(previous, RelayExtras) else ({}, {})
    dirty = {fp for fp, relay in by_fingerprint.items() if old_source.get(fp) is not relay}
    dirty.update(fp for fp in old_source if fp not in by_fingerprint)
    members: dict[str, dict[str, Any]] = {}           # one entry per member fingerprint, shared by all pages
    rarity: dict[str, dict[str, Any] | None] = {}      # one as_rarity per AS, shared by its relays
    out = RelayExtras()
    out.source, out.scores = by_fingerprint, scores
    for relay in relays:
        fp = relay["fingerprint"]
        as_id = keys[fp]["as"]
        old = previous.get(fp)
        if old is not None and fp not in dirty and scores.get(as_id) is old_scores.get(as_id) \
                and dirty.isdisjoint((relay.get("alleged_family") or [])[:MEMBERS_SHOWN]) \
                and dirty.isdisjoint((relay.get("indirect_family") or [])[:MEMBERS_SHOWN]):
            out[fp] = old
            continue
        if as_id not in rarity:
            rarity[as_id] = as_rarity(scores.get(as_id) if as_id else None)
        entry = relay_extras(relay, rarity[as_id], by_fingerprint, members)
        out[fp] = old if old == entry else entry
    return out


def as_rarity(as_figures: dict[str, Any] | None) -> dict[str, Any] | None:
    """What a relay page says about its AS's rarity (the same for every relay of the AS)."""
    return None if as_figures is None else {
        "score": as_figures["score"], "max": AS_RARITY_MAX,
        "text": f"{as_figures['score']} of {AS_RARITY_MAX}",
        "detail": f"the AS holds {fmt.percent(as_figures['fraction'])} of the consensus weight, "
                  f"{fmt.counted(as_figures['operators'], 'operator')} with relays there"}


def relay_extras(relay: dict[str, Any], rarity: dict[str, Any] | None, by_fingerprint: dict[str, dict],
                 members: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """``rarity``: its AS's :func:`as_rarity` (one object per AS: 10k relays repeat a few hundred)."""
    members = {} if members is None else members
    support = family_support(relay)

    def listed(fps: list[str]) -> list[dict[str, Any]]:
        out = []
        for fp in fps[:MEMBERS_SHOWN]:
            m = members.get(fp)
            if m is None:
                other = by_fingerprint.get(fp)
                m = members[fp] = {"fingerprint": fp, "present": other is not None,
                                   "nickname": other["nickname"] if other is not None else None}
            out.append(m)
        return out

    alleged, indirect = relay.get("alleged_family") or [], relay.get("indirect_family") or []
    return {
        "as_rarity": rarity,
        "family_support": support, "family_support_text": SUPPORT_TEXT[support],
        "family_ids": list(relay.get("family_ids") or []),
        "alleged": listed(alleged), "alleged_count": len(alleged),
        "indirect": listed(indirect), "indirect_count": len(indirect),
    }
