"""Directory-authority votes, the consensus and bandwidth files → one compact summary (pure).

The ``collector`` source downloads the latest consensus, the latest vote of
every authority and the bandwidth file each bandwidth authority voted from;
this module turns their bytes into the one document the renderer reads, so
the pages never see raw votes (allium stored every vote twice over: parsed
and again as a relay index).

Parsing uses stem (the Tor project's descriptor library): it parses every
real fixture (2016 full votes, the 2018 set, 2020 consensuses, bandwidth
files v1.0–v1.4) field for field.  Router entries are streamed and reduced
at once (``DocumentHandler.ENTRIES``, validated: a malformed entry rejects
its document), so memory stays at the reductions; the header is read
unvalidated (stem's header checks hard-code 2019 parameter ranges that a
newer consensus may leave) and checked here on the fields we use.

The summary (``collector.summary.json``, compact JSON)::

    {"format": 1, "source": "collector",
     "relays_published": consensus valid-after "YYYY-MM-DD hh:mm:ss",
     "flags": [flag, …],                  bit i of every flags mask is flags[i] (sorted)
     "vote_fields": VOTE_FIELDS, "bandwidth_fields": BANDWIDTH_FIELDS,
     "bandwidth_status": BANDWIDTH_STATUS,
     "consensus": {"file", "valid_after", "fresh_until", "valid_until", "method",
                   "known_flags", "params", "client_versions", "server_versions",
                   "bandwidth_weights", "voters": [v3 id], "signers": [v3 id],
                   "relays", "unmeasured", "flag_counts": {flag: n}},
     "authorities": [authority, …],      sorted by nickname; the vote matrix columns
     "relays": {FINGERPRINT: {"n": nickname,
                              ["c": [flags mask, weight, unmeasured 0/1],]   in the consensus
                              "v": [vote cell | null per authority],
                              ["b": [bandwidth cell | null per authority]]}}   when any bw file

    authority: {"id": v3 identity (40 hex), "nickname", "address", "hostname", "dir_port",
                "or_port", "contact", "in_consensus": listed as a voter, "signed": signed it,
                "vote": vote | null, "vote_error": str | null,
                "bandwidth_file": bandwidth file | null, "bandwidth_file_error": str | null}
    vote:      {"file", "valid_after", "published", "current": same valid-after as the consensus,
                "consensus_methods", "known_flags", "flag_thresholds", "params",
                "client_versions", "server_versions", "bandwidth_file_headers": {…} | null,
                "bandwidth_file_sha256": hex | null, "relays", "measured", "flag_counts"}
    bandwidth file: {"file", "version", "created", "software", "software_version",
                "headers": {…}, "relays", "excluded"}
    vote cell:      [flags mask, bandwidth, measured | null, wfu | null, tk | null, mtbf | null,
                     ipv6 0/1, descriptor published (epoch s) | null]
    bandwidth cell: [bw, status (index in BANDWIDTH_STATUS), success | null, errors | null]

Only *current* votes (same valid-after as the consensus) fill the matrix; an
authority whose latest vote is older keeps its header summary (``current``
false).  Text taken from the documents (contact lines, versions, header
values) is plain text, capped, without control characters; the templates
escape it like any other operator-controlled string.
"""

from __future__ import annotations

import base64
import binascii
import calendar
import io
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable

from ..cache.names import COLLECTOR_SUMMARY_FORMAT
from ..core.text import plain_text

FORMAT = COLLECTOR_SUMMARY_FORMAT
VOTE_FIELDS = ("flags", "bandwidth", "measured", "wfu", "tk", "mtbf", "ipv6", "published")
BANDWIDTH_FIELDS = ("bw", "status", "success", "errors")
BANDWIDTH_STATUS = ("voted", "unmeasured", "under_min_report", "not_voted")

VOTE_TYPE = "network-status-vote-3 1.0"
CONSENSUS_TYPE = "network-status-consensus-3 1.0"
MICRODESC_CONSENSUS_TYPE = "network-status-microdesc-consensus-3 1.0"
BANDWIDTH_TYPE = "bandwidth-file 1.0"

MAX_TEXT = 200            # longest scraped/header text kept
MAX_MAP = 200             # most keys kept from a key=value header map
_HEX40_RE = re.compile(r"[0-9A-F]{40}")            # relay fingerprints and authority v3 identities
_FLAG_RE = re.compile(r"[A-Za-z0-9_-]{1,32}")
_KEY_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_BW_ERROR_KEYS = ("error_circ", "error_stream", "error_misc", "error_destination", "error_second_relay")


class InvalidStatus(ValueError):
    """A document that is not a usable vote, consensus or bandwidth file."""


def _stem():
    """stem, imported by the parsers only: the renderer reads summaries through this module's
    helpers and need not load it (~20 MB, 60 ms)."""
    from stem.descriptor import DocumentHandler, parse_file
    return DocumentHandler, parse_file


# -- small normalisers ------------------------------------------------------------------

def clean_text(value: object, limit: int = MAX_TEXT) -> str | None:
    """Plain text for the summary: str, control characters folded to a space, capped."""
    if value is None:
        return None
    return plain_text(str(value), limit)


def time_text(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%d %H:%M:%S") if isinstance(value, datetime) else None


def epoch(value: datetime | None) -> int | None:
    return calendar.timegm(value.utctimetuple()) if isinstance(value, datetime) else None


def _number_map(mapping: dict | None) -> dict[str, int | float]:
    """``params``/``flag-thresholds``/weights: well-formed keys with numeric values only."""
    out: dict[str, int | float] = {}
    for key, value in sorted((mapping or {}).items())[:MAX_MAP]:
        if isinstance(value, (int, float)) and not isinstance(value, bool) and _KEY_RE.fullmatch(str(key)):
            out[key] = value
    return out


def _text_map(mapping: dict | None) -> dict[str, str]:
    """Bandwidth-file headers: well-formed keys, values as capped plain text."""
    return {k: clean_text(v) for k, v in sorted((mapping or {}).items())[:MAX_MAP] if _KEY_RE.fullmatch(str(k))}


def _versions(values: Iterable | None) -> list[str]:
    return [clean_text(v, 64) for v in (values or [])][:MAX_MAP]


def sha256_hex(b64_or_hex: str | None) -> str | None:
    """A sha256 digest given as base64 (tor's bandwidth-file-digest, CollecTor's index) → upper hex."""
    if not b64_or_hex:
        return None
    text = b64_or_hex.strip()
    if re.fullmatch(r"[0-9A-Fa-f]{64}", text):
        return text.upper()
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw.hex().upper() if len(raw) == 32 else None


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


def _num(text: str | None, kind):
    if text is None:
        return None
    try:
        return kind(float(text)) if kind is int else kind(text)
    except ValueError:
        return None


def _vote_entry(entry, table: list[str]) -> tuple:
    wfu, tk, mtbf = _stats(entry)
    ipv6 = 1 if any(is_v6 for _, _, is_v6 in entry.or_addresses or ()) else 0
    return (entry.nickname, _mask(entry.flags or (), table), entry.bandwidth, entry.measured,
            wfu, tk, mtbf, ipv6, epoch(entry.published))


def _consensus_entry(entry, table: list[str]) -> tuple:
    return (entry.nickname, _mask(entry.flags or (), table), entry.bandwidth, 1 if entry.is_unmeasured else 0)


# -- vote header scan (before the full parse: which bandwidth file does a vote use?) ------

@dataclass(frozen=True)
class BandwidthRef:
    """How a vote names its bandwidth file: the file's sha256 and/or its creation time."""

    sha256: str | None
    times: tuple[str, ...]          # "YYYY-MM-DD-HH-MM-SS" candidates (file_created, timestamp)


def bandwidth_reference(head: bytes) -> BandwidthRef | None:
    """Scan a vote's header lines (no full parse) for ``bandwidth-file-digest``/``-headers``."""
    sha = None
    times: list[str] = []
    for raw in head.split(b"\n"):
        if raw.startswith((b"dir-source ", b"r ")):
            break
        line = raw.decode("ascii", "replace").strip()
        if line.startswith("bandwidth-file-digest "):
            for item in line.split()[1:]:
                if item.startswith("sha256="):
                    sha = sha256_hex(item[7:])
        elif line.startswith("bandwidth-file-headers"):
            values = dict(item.split("=", 1) for item in line.split()[1:] if "=" in item)
            created = values.get("file_created", "")
            if re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", created):
                times.append(created.replace("T", "-").replace(":", "-"))
            stamp = values.get("timestamp", "")
            if stamp.isdigit() and len(stamp) <= 11:
                times.append(datetime.fromtimestamp(int(stamp), timezone.utc).strftime("%Y-%m-%d-%H-%M-%S"))
    return BandwidthRef(sha, tuple(times)) if sha or times else None


# -- bandwidth files ----------------------------------------------------------------------

@dataclass
class BandwidthDoc:
    info: dict[str, Any]
    relays: dict[str, tuple]        # fingerprint → bandwidth cell


def parse_bandwidth_file(data: bytes) -> BandwidthDoc:
    """A bandwidth file v1.0 (Torflow) … v1.4+ (sbws), with or without CollecTor's @type line."""
    _, parse_file = _stem()
    try:
        doc = next(parse_file(io.BytesIO(data), descriptor_type=BANDWIDTH_TYPE, validate=True), None)
    except (ValueError, TypeError, KeyError, AttributeError, IndexError) as e:
        raise InvalidStatus(f"unparseable bandwidth file: {clean_text(e, 160)}") from None
    if doc is None or not isinstance(doc.timestamp, datetime):
        raise InvalidStatus("not a bandwidth file (no timestamp line)")
    relays: dict[str, tuple] = {}
    excluded = 0
    for fp, values in (doc.measurements or {}).items():
        fp = str(fp).upper().lstrip("$")
        if not _HEX40_RE.fullmatch(fp):
            raise InvalidStatus(f"bandwidth line with an invalid node_id: {clean_text(fp, 50)!r}")
        bw = _num(values.get("bw"), int)
        if bw is None:
            raise InvalidStatus(f"bandwidth line for {fp} without bw=")
        if values.get("vote") == "0":
            status = 2 if values.get("under_min_report") == "1" else 1 if values.get("unmeasured") == "1" else 3
            excluded += 1
        else:
            status = 0
        errors = [_num(values.get(k), int) for k in _BW_ERROR_KEYS if k in values]
        relays[fp] = (bw, status, _num(values.get("success"), int),
                      sum(e for e in errors if e is not None) if errors else None)
    if not relays:
        raise InvalidStatus("bandwidth file has no relay lines")
    header = doc.header or {}
    created = header.get("file_created") or doc.timestamp.strftime("%Y-%m-%dT%H:%M:%S")
    info = {"version": clean_text(doc.version, 16), "created": clean_text(created, 32),
            "software": clean_text(doc.software or ("torflow" if doc.version == "1.0.0" else None), 32),
            "software_version": clean_text(doc.software_version, 32),
            "headers": _text_map(header), "relays": len(relays), "excluded": excluded}
    return BandwidthDoc(info, relays)


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
