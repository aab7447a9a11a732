"""Votes and consensuses (network status documents) parsed with stem and reduced to ``StatusDoc``."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable

from .common import (CONSENSUS_TYPE, MICRODESC_CONSENSUS_TYPE, VOTE_TYPE, InvalidStatus, _FLAG_RE, _HEX40_RE,
                     _num, _number_map, _stem, _text_map, _versions, clean_text, epoch, sha256_hex, time_text)


# -- network status documents (votes and consensuses) -----------------------------------

@dataclass
class StatusDoc:
    """One parsed vote or consensus, reduced to what the summary keeps."""

    kind: str                                   # "vote" | "consensus"
    header: dict[str, Any]
    authorities: list[dict[str, Any]]           # dir-source blocks (non-legacy)
    flags: list[str]                            # the document's own flag table (masks index it)
    entries: dict[str, tuple]                   # fingerprint → reduced router entry
    signers: list[str] = field(default_factory=list)

    @property
    def valid_after(self) -> str:
        return self.header["valid_after"]


def _document_type(data: bytes, expect: str) -> str:
    if expect == "vote":
        return VOTE_TYPE
    head = data[:4096]
    return MICRODESC_CONSENSUS_TYPE if b"network-status-version 3 microdesc" in head else CONSENSUS_TYPE


def parse_status(data: bytes, expect: str) -> StatusDoc:
    """Parse a vote (``expect="vote"``) or a consensus (``"consensus"``); raise InvalidStatus."""
    dtype = _document_type(data, expect)
    DocumentHandler, parse_file = _stem()
    try:
        doc = next(parse_file(io.BytesIO(data), descriptor_type=dtype, validate=False,
                              document_handler=DocumentHandler.BARE_DOCUMENT), None)
        if doc is None:
            raise InvalidStatus("no network status document")
        header, authorities, signers = _header(doc, expect)
        flags = list(header["known_flags"])
        entries: dict[str, tuple] = {}
        reduce = _vote_entry if expect == "vote" else _consensus_entry
        for entry in parse_file(io.BytesIO(data), descriptor_type=dtype, validate=True,
                                document_handler=DocumentHandler.ENTRIES):
            fp = entry.fingerprint
            if not isinstance(fp, str) or not _HEX40_RE.fullmatch(fp):
                raise InvalidStatus(f"router entry without a valid fingerprint: {str(fp)[:50]!r}")
            if fp in entries:
                raise InvalidStatus(f"duplicate router entry {fp}")
            entries[fp] = reduce(entry, flags)
    except InvalidStatus:
        raise
    except (ValueError, TypeError, KeyError, AttributeError, IndexError) as e:
        raise InvalidStatus(f"unparseable {expect}: {clean_text(e, 160)}") from None
    if not entries:
        raise InvalidStatus(f"{expect} has no router entries")
    return StatusDoc(expect, header, authorities, flags, entries, signers)


def _header(doc, expect: str) -> tuple[dict[str, Any], list[dict[str, Any]], list[str]]:
    if doc.version != 3:
        raise InvalidStatus(f"network-status-version {doc.version!r} is not 3")
    if expect == "vote" and not doc.is_vote:
        raise InvalidStatus("vote-status is not 'vote'")
    if expect == "consensus" and not doc.is_consensus:
        raise InvalidStatus("vote-status is not 'consensus'")
    if not isinstance(doc.valid_after, datetime):
        raise InvalidStatus("valid-after missing")
    known = [f for f in (doc.known_flags or []) if _FLAG_RE.fullmatch(f)]
    if not known:
        raise InvalidStatus("known-flags missing")
    header: dict[str, Any] = {
        "valid_after": time_text(doc.valid_after), "fresh_until": time_text(doc.fresh_until),
        "valid_until": time_text(doc.valid_until), "known_flags": known,
        "params": _number_map(doc.params),
        "client_versions": _versions(doc.client_versions), "server_versions": _versions(doc.server_versions),
    }
    if expect == "vote":
        header["published"] = time_text(doc.published)
        header["consensus_methods"] = sorted(int(m) for m in (doc.consensus_methods or []))
        header["flag_thresholds"] = _number_map(doc.flag_thresholds)
        headers = getattr(doc, "bandwidth_file_headers", None)
        header["bandwidth_file_headers"] = _text_map(headers) if headers else None
        digest = (getattr(doc, "bandwidth_file_digest", None) or {}).get("sha256")
        header["bandwidth_file_sha256"] = sha256_hex(digest)
    else:
        if not isinstance(doc.consensus_method, int):
            raise InvalidStatus("consensus-method missing")
        header["method"] = doc.consensus_method
        header["bandwidth_weights"] = _number_map(doc.bandwidth_weights)
    authorities = []
    for auth in doc.directory_authorities or []:
        if getattr(auth, "is_legacy", False):
            continue
        ident = (auth.v3ident or "").upper()
        if not _HEX40_RE.fullmatch(ident):
            raise InvalidStatus(f"dir-source without a valid v3 identity: {clean_text(auth.v3ident, 50)!r}")
        authorities.append({"id": ident, "nickname": clean_text(auth.nickname, 32),
                            "address": clean_text(auth.address, 64), "hostname": clean_text(auth.hostname, 255),
                            "dir_port": auth.dir_port, "or_port": auth.or_port,
                            "contact": clean_text(auth.contact)})
    if not authorities:
        raise InvalidStatus("no dir-source line")
    if expect == "vote" and len(authorities) != 1:
        raise InvalidStatus(f"a vote has {len(authorities)} dir-source lines")
    signers = sorted({s.identity.upper() for s in (doc.signatures or [])
                      if isinstance(s.identity, str) and _HEX40_RE.fullmatch(s.identity.upper())})
    return header, authorities, signers


def _mask(flags: Iterable[str], table: list[str]) -> int:
    """Bit mask of ``flags`` in the document's flag table (a flag outside known-flags is appended)."""
    mask = 0
    for flag in flags:
        try:
            bit = table.index(flag)
        except ValueError:
            if not _FLAG_RE.fullmatch(flag):
                raise InvalidStatus(f"malformed flag {clean_text(flag, 40)!r}") from None
            table.append(flag)
            bit = len(table) - 1
        mask |= 1 << bit
    return mask


def _stats(entry) -> tuple[float | None, int | None, int | None]:
    """wfu/tk/mtbf from a vote's ``stats wfu=… tk=… mtbf=…`` line (unknown to stem 1.8)."""
    for line in entry.get_unrecognized_lines():
        if line.startswith("stats "):
            values = dict(item.split("=", 1) for item in line[6:].split() if "=" in item)
            return _num(values.get("wfu"), float), _num(values.get("tk"), int), _num(values.get("mtbf"), int)
    return None, None, None


def _vote_entry(entry, table: list[str]) -> tuple:
    wfu, tk, mtbf = _stats(entry)
    ipv6 = 1 if any(is_v6 for _, _, is_v6 in entry.or_addresses or ()) else 0
    return (entry.nickname, _mask(entry.flags or (), table), entry.bandwidth, entry.measured,
            wfu, tk, mtbf, ipv6, epoch(entry.published))


def _consensus_entry(entry, table: list[str]) -> tuple:
    return (entry.nickname, _mask(entry.flags or (), table), entry.bandwidth, 1 if entry.is_unmeasured else 0)
