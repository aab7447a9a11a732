"""The collector render summary from the parsed consensus, votes and bandwidth files (format: package doc)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .bandwidth import BandwidthDoc
from .common import BANDWIDTH_FIELDS, BANDWIDTH_STATUS, FORMAT, VOTE_FIELDS, clean_text
from .status import StatusDoc


# -- the summary --------------------------------------------------------------------------

@dataclass
class VoteInput:
    file: str
    authority: str                   # v3 identity from the file name
    doc: StatusDoc | None = None
    error: str | None = None


@dataclass
class BandwidthInput:
    file: str
    authority: str                   # the authority whose vote references the file
    doc: BandwidthDoc | None = None
    error: str | None = None


def build_summary(consensus_file: str, consensus: StatusDoc, votes: list[VoteInput],
                  bandwidth: list[BandwidthInput]) -> dict[str, Any]:
    """The render document (see the module docstring) from parsed documents."""
    for v in votes:
        if v.doc is not None and v.doc.authorities[0]["id"] != v.authority:
            v.error, v.doc = f"vote file names {v.authority} but its dir-source is {v.doc.authorities[0]['id']}", None
    all_flags = sorted({f for d in [consensus, *(v.doc for v in votes if v.doc)] for f in d.flags})
    authorities = _authorities(consensus, votes, bandwidth)
    column = {a["id"]: i for i, a in enumerate(authorities)}
    va = consensus.valid_after
    current = [(column[v.authority], v.doc) for v in votes if v.doc is not None and v.doc.valid_after == va]
    bw_docs = [(column[b.authority], b.doc) for b in bandwidth if b.doc is not None and b.authority in column]

    width = len(authorities)
    relays: dict[str, dict[str, Any]] = {}
    remap_c = _remapper(consensus.flags, all_flags)
    for fp, (nick, mask, weight, unmeasured) in consensus.entries.items():
        relays[fp] = {"n": nick, "c": [remap_c(mask), weight, unmeasured], "v": [None] * width}
    for col, doc in current:
        remap = _remapper(doc.flags, all_flags)
        for fp, (nick, mask, *rest) in doc.entries.items():
            relay = relays.get(fp)
            if relay is None:
                relay = relays[fp] = {"n": nick, "v": [None] * width}
            relay["v"][col] = [remap(mask), *rest]
    if bw_docs:
        for relay in relays.values():
            relay["b"] = [None] * width
        for col, doc in bw_docs:
            for fp, cell in doc.relays.items():
                relay = relays.get(fp)
                if relay is not None:
                    relay["b"][col] = list(cell)

    return {
        "format": FORMAT, "source": "collector", "relays_published": va,
        "flags": all_flags, "vote_fields": list(VOTE_FIELDS), "bandwidth_fields": list(BANDWIDTH_FIELDS),
        "bandwidth_status": list(BANDWIDTH_STATUS),
        "consensus": _consensus_summary(consensus_file, consensus),
        "authorities": authorities,
        "relays": {fp: relays[fp] for fp in sorted(relays)},
    }


def _remapper(local: list[str], table: list[str]):
    """Translate masks over a document's flag table into masks over the summary's table."""
    bits = [1 << table.index(f) for f in local]
    cache: dict[int, int] = {}

    def remap(mask: int) -> int:
        out = cache.get(mask)
        if out is None:
            out = 0
            for i, bit in enumerate(bits):
                if mask >> i & 1:
                    out |= bit
            cache[mask] = out
        return out
    return remap


def _flag_counts(doc: StatusDoc) -> dict[str, int]:
    counts = [0] * len(doc.flags)
    for entry in doc.entries.values():
        mask = entry[1]
        i = 0
        while mask:
            if mask & 1:
                counts[i] += 1
            mask >>= 1
            i += 1
    return {flag: n for flag, n in sorted(zip(doc.flags, counts))}


def _consensus_summary(file: str, doc: StatusDoc) -> dict[str, Any]:
    h = doc.header
    return {"file": file, "valid_after": h["valid_after"], "fresh_until": h["fresh_until"],
            "valid_until": h["valid_until"], "method": h["method"], "known_flags": h["known_flags"],
            "params": h["params"], "client_versions": h["client_versions"],
            "server_versions": h["server_versions"], "bandwidth_weights": h["bandwidth_weights"],
            "voters": sorted(a["id"] for a in doc.authorities), "signers": doc.signers,
            "relays": len(doc.entries), "unmeasured": sum(e[3] for e in doc.entries.values()),
            "flag_counts": _flag_counts(doc)}


def _vote_summary(file: str, doc: StatusDoc, consensus_va: str) -> dict[str, Any]:
    h = doc.header
    return {"file": file, "valid_after": h["valid_after"], "published": h["published"],
            "current": h["valid_after"] == consensus_va,
            "consensus_methods": h["consensus_methods"], "known_flags": h["known_flags"],
            "flag_thresholds": h["flag_thresholds"], "params": h["params"],
            "client_versions": h["client_versions"], "server_versions": h["server_versions"],
            "bandwidth_file_headers": h["bandwidth_file_headers"],
            "bandwidth_file_sha256": h["bandwidth_file_sha256"],
            "relays": len(doc.entries), "measured": sum(1 for e in doc.entries.values() if e[3] is not None),
            "flag_counts": _flag_counts(doc)}


def _authorities(consensus: StatusDoc, votes: list[VoteInput], bandwidth: list[BandwidthInput]) -> list[dict]:
    """One row per authority known from a vote's or the consensus's dir-source (never a fixed table)."""
    rows: dict[str, dict[str, Any]] = {}
    voters = {a["id"] for a in consensus.authorities}
    signers = set(consensus.signers)

    def row(ident: str, source: dict | None) -> dict[str, Any]:
        r = rows.get(ident)
        if r is None:
            r = rows[ident] = {"id": ident, "nickname": None, "address": None, "hostname": None,
                               "dir_port": None, "or_port": None, "contact": None,
                               "in_consensus": ident in voters, "signed": ident in signers,
                               "vote": None, "vote_error": None,
                               "bandwidth_file": None, "bandwidth_file_error": None}
        if source:
            for key in ("nickname", "address", "hostname", "dir_port", "or_port", "contact"):
                if source.get(key) is not None:
                    r[key] = source[key]
        return r

    for auth in consensus.authorities:
        row(auth["id"], auth)
    for v in votes:                  # a vote's own dir-source wins over the consensus's copy
        r = row(v.authority, v.doc.authorities[0] if v.doc else None)
        if v.doc is not None:
            r["vote"] = _vote_summary(v.file, v.doc, consensus.valid_after)
        else:
            r["vote_error"] = clean_text(v.error)
    for b in bandwidth:
        r = row(b.authority, None)
        if b.doc is not None:
            r["bandwidth_file"] = {"file": b.file, **b.doc.info}
        else:
            r["bandwidth_file_error"] = clean_text(b.error)
    return sorted(rows.values(), key=lambda r: ((r["nickname"] or "~").lower(), r["id"]))


# -- reading the summary (for models and pages) -------------------------------------------

def flags_of(summary: dict[str, Any], mask: int) -> list[str]:
    """The flag names of a mask (in the summary's sorted flag order)."""
    table = summary["flags"]
    return [flag for i, flag in enumerate(table) if mask >> i & 1]
