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


def build_search_index(model: RelayModel, groups: GroupsModel, previous: dict[str, tuple] | None = None,
                       memo: dict[str, tuple] | None = None) -> dict[str, Any]:
    """The index.  ``memo`` is filled with fingerprint → (relay view, group keys, table row, entry); given as
    ``previous`` to the next build, a relay whose three sources are the same objects keeps its entry."""
    with gc_paused():
        return _build(model, groups, previous or {}, {} if memo is None else memo)


def _build(model: RelayModel, groups: GroupsModel, previous: dict[str, tuple], memo: dict[str, tuple]
           ) -> dict[str, Any]:
    relays = []
    relay_keys, rows = groups.relay_keys, groups.rows
    for relay in model.relays:
        fp = relay["fingerprint"]
        keys, row = relay_keys[fp], rows[fp]
        old = previous.get(fp)
        if old is not None and old[0] is relay and old[1] is keys and old[2] is row:
            entry = old[3]
        else:
            entry = {"f": fp, "n": row["nickname"], "ip": relay_ips(relay)}
            for short, key in (("a", "aroi"), ("c", "contact"), ("as", "as"), ("cc", "country"), ("fam", "family")):
                if keys[key] is not None:
                    entry[short] = keys[key]
        memo[fp] = (relay, keys, row, entry)
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

