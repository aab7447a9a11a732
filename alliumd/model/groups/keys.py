"""Which groups a relay belongs to: path-safe group ids per relay, mutual families, the lean table row."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ... import paths
from .. import identity
from .common import clean_text


def family_ids(relays: list[dict[str, Any]]) -> dict[str, str]:
    """Fingerprint → family id for relays in a family of two or more present, mutual members.

    A family is a connected set over mutual declarations (A lists B and B
    lists A), found by a walk from each relay not yet placed.
    """
    declared = {r["fingerprint"]: set(r["family"]) for r in relays if r["family"]}
    placed: set[str] = set()
    out: dict[str, str] = {}
    for start in declared:
        if start in placed:
            continue
        placed.add(start)
        component, stack = [start], [start]
        while stack:
            fp = stack.pop()
            for member in declared[fp]:
                if member not in placed and fp in declared.get(member, ()):
                    placed.add(member)
                    component.append(member)
                    stack.append(member)
        fid = identity.family_id(component)
        if fid is not None:
            for fp in component:
                out[fp] = fid
    return out


class _IdCache:
    """Identity functions memoized per distinct input: thousands of relays share a few hundred values."""

    def __init__(self) -> None:
        self._memo: dict[tuple[Callable, Any], Any] = {}

    def __call__(self, fn: Callable[[Any], Any], value: Any) -> Any:
        key = (fn, value)
        try:
            return self._memo[key]
        except KeyError:
            result = self._memo[key] = fn(value)
            return result


def relay_group_keys(relay: dict[str, Any], family: str | None, ids: Callable | None = None) -> dict[str, Any]:
    """The path-safe ids of every group a relay belongs to (None where it has none)."""
    ids = ids or (lambda fn, value: fn(value))
    flags = ids(flag_group_ids, tuple(relay["flags"]))     # one list per distinct set of flags
    return {
        "family": family,
        "contact": ids(contact_group_id, relay["contact"]),
        "aroi": ids(identity.aroi_domain, relay["contact"]),
        "as": ids(identity.as_id, relay["as_number"]),
        "country": ids(identity.country_id, relay["country"]),
        "platform": ids(identity.platform_id, relay["os"]),
        "first_seen": ids(identity.date_id, relay["first_seen_date"]),
        "flags": flags,
    }


def flag_group_ids(flags: tuple[str, ...]) -> list[tuple[str, str]]:
    """(flag page id, flag) of each flag that has a page."""
    return [(fid, flag) for flag in flags if (fid := identity.flag_id(flag)) is not None]


def contact_group_id(contact: str | None) -> str | None:
    """``identity.contact_id``, falling back to the hash when a domain is too long for a path segment."""
    cid = identity.contact_id(contact)
    if cid is None:
        return None
    try:
        paths.relpath(cid)
    except paths.UnsafePath:
        return identity.contact_hash(contact)
    return cid


def relay_row(relay: dict[str, Any]) -> dict[str, Any]:
    """What group tables show of a relay (shared by every table it appears in)."""
    return {
        "fingerprint": relay["fingerprint"],
        "nickname": clean_text(relay["nickname"], 40) or "Unnamed",
        "running": relay["running"],
        "flags": clean_text(relay["flags_text"], 200) or "",
        "country": relay["country_code"],
        "as": relay["as_number"],
        "bandwidth": relay["observed_bandwidth_text"],
        "consensus_weight": relay["consensus_weight"],
    }
