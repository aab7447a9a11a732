"""The search index: what ``search.js`` needs to find relays, families, operators, ASes, countries.

Compact on purpose (one-letter keys for the per-relay entries, absent keys
instead of nulls, shared lookup tables for names and contact texts): the
browser downloads it whole.  Every id in it is one of
``alliumd.model.identity``'s path-safe ids, so the script can build links
from them after checking their shape; all text is cleaned display text.

Schema (``meta.version`` 1)::

    {"meta": {"version": 1, "published": "YYYY-MM-DD HH:MM:SS UTC", "relays": n, "families": n},
     "relays": [{"f": FP, "n": nickname, "ip": [addresses], "a": AROI domain?, "c": contact id?,
                 "as": "AS<n>"?, "cc": "de"?, "fam": family id?}, ...],
     "families": [{"id": family id, "sz": size, "nn": [nicknames]}, ...],
     "as_names": {"AS<n>": name}, "countries": {"de": name}, "contacts": {contact id: text}}
"""

from __future__ import annotations

import functools
import ipaddress
from typing import Any

from .groups import GroupsModel, clean_text, most_common
from ..core.gcpause import gc_paused
from .relays import RelayModel

INDEX_VERSION = 1
CONTACT_LIMIT = 160
FAMILY_NICKNAMES = 50


def build_search_index(model: RelayModel, groups: GroupsModel) -> dict[str, Any]:
    with gc_paused():
        return _build(model, groups)


def _build(model: RelayModel, groups: GroupsModel) -> dict[str, Any]:
    relays = []
    for relay in model.relays:
        keys = groups.relay_keys[relay["fingerprint"]]
        entry: dict[str, Any] = {"f": relay["fingerprint"], "n": groups.rows[relay["fingerprint"]]["nickname"],
                                 "ip": relay_ips(relay)}
        for short, key in (("a", "aroi"), ("c", "contact"), ("as", "as"), ("cc", "country"), ("fam", "family")):
            if keys[key] is not None:
                entry[short] = keys[key]
        relays.append(entry)
    relays.sort(key=lambda e: e["f"])
    families = []
    for fid, group in groups.groups["family"].items():
        nicknames = sorted({groups.rows[fp]["nickname"] for fp in group.fingerprints})
        families.append({"id": fid, "sz": group.size, "nn": nicknames[:FAMILY_NICKNAMES]})
    contacts = {}
    for cid, group in groups.groups["contact"].items():
        text = clean_text(most_common(group.names), CONTACT_LIMIT)
        if text:
            contacts[cid] = text
    return {
        "meta": {"version": INDEX_VERSION, "published": model.published, "relays": len(relays),
                 "families": len(families)},
        "relays": relays,
        "families": families,
        "as_names": _names(groups, "as"),
        "countries": _names(groups, "country"),
        "contacts": contacts,
    }


def relay_ips(relay: dict[str, Any]) -> list[str]:
    """OR and exit addresses without ports, normalised (IPv6 compressed, lower case), unique, ordered."""
    seen: dict[str, None] = {}
    for text in relay["or_addresses"]:
        if text.startswith("["):
            host, bracket, _ = text[1:].partition("]")
            ip = _ip(host) if bracket else None
        else:
            ip = _ip(text.rsplit(":", 1)[0])
        if ip:
            seen[ip] = None
    for text in relay["exit_addresses"]:
        ip = _ip(text)
        if ip:
            seen[ip] = None
    return list(seen)


@functools.lru_cache(maxsize=1 << 16)
def _ip(text: str) -> str | None:
    """Memoised: a details change re-indexes every relay, and ``ipaddress`` parsing dominated that."""
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def _names(groups: GroupsModel, kind: str) -> dict[str, str]:
    """AS or country id → its plain name (without the id the label may carry)."""
    out = {}
    for gid, group in groups.groups[kind].items():
        name = clean_text(most_common(group.names))
        if name:
            out[gid] = name
    return out

