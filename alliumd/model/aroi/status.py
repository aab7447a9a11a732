"""Each relay's and operator's AROI validation status from the validator summary, and the network figures."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ... import paths
from ...cache.names import SAMPLE_KEY
from ...cache.validator import is_summary, numbers_only
from ...core.gcpause import gc_paused
from .. import contactinfo, format as fmt
from ..groups import Group, GroupsModel
from ..relays import RelayModel

VALIDATED, UNAUTHORIZED, MISCONFIGURED = "validated", "unauthorized", "misconfigured"
UNKNOWN, INCOMPLETE, NOT_CONFIGURED = "unknown", "incomplete", "not_configured"
# allium's operator cascade (aroi_validation.get_contact_validation_status), "unknown" slotted in
STATUSES = (VALIDATED, UNAUTHORIZED, MISCONFIGURED, UNKNOWN, INCOMPLETE, NOT_CONFIGURED)
JUDGED = (VALIDATED, UNAUTHORIZED, MISCONFIGURED)        # statuses that rest on a validator answer
PROOF_LABELS = {"dns-rsa": "DNS-RSA", "uri-rsa": "URI-RSA"}
TOP_REASONS = 5

_HTTP_CODE_RE = re.compile(r"http error ([1-5][0-9]{2})\b")


@dataclass
class ValidatorModel:
    """The validator's latest run: one result per fingerprint it checked."""

    published: str                          # the run's timestamp as "YYYY-MM-DD HH:MM:SS UTC"
    results: dict[str, dict[str, Any]]      # fingerprint → summary entry
    statistics: dict[str, Any]              # the validator's own totals (numbers only), for reference
    sample: bool = False


def build_validator(doc: Any) -> ValidatorModel | None:
    """The validator model; None when there is no (readable) summary."""
    if not is_summary(doc):
        return None
    results = {fp: entry for fp, entry in doc["results"].items()
               if paths.is_fingerprint(fp) and isinstance(entry, dict) and isinstance(entry.get("valid"), bool)}
    meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
    return ValidatorModel(published=fmt.timestamp(fmt.parse_iso_time(meta.get("timestamp"))), results=results,
                          statistics={"metadata": numbers_only(meta), **numbers_only(doc.get("statistics"), depth=3)},
                          sample=SAMPLE_KEY in doc)


# -- one relay ----------------------------------------------------------------------------------

def is_unauthorized(error: str | None) -> bool:
    """allium's rule: the proof was reachable but does not list this relay."""
    e = (error or "").lower()
    return "fingerprint not found" in e or ("not found" in e and "record" in e and "nxdomain" not in e)


def _is_setup_error(error: str | None) -> bool:
    """The validator saw no complete AROI setup (its view of the contact differs from ours)."""
    e = (error or "").lower()
    return "missing aroi fields" in e or "no contact information" in e


# (any of these substrings of the lower-cased error, reason); checked in order, HTTP status codes between
_REASON_RULES = (
    (("nxdomain", "no such domain"), "domain does not exist (NXDOMAIN)"),
    (("servfail",), "DNS server failure (SERVFAIL)"),
    (("dnssec",), "DNSSEC validation failed"),
    (("fingerprint not found",), "relay not listed in the proof file"),
    (("txt record not found", "no txt record"), "TXT record not found"),
    (("invalid proof content", "txt record"), "TXT record has the wrong content"),
    (("invalid domain",), "url field is not a valid domain"),
    (("redirect",), "redirect not allowed"),
    (("certificate",), "TLS certificate error"),
    (("ssl", "tls", "handshake"), "TLS handshake failed"),
)
_NETWORK_RULES = (
    (("timed out", "timeout"), "timed out"),
    (("name resolution", "not known", "resolution failed"), "domain name does not resolve"),
    (("refused",), "connection refused"),
    (("lookup failed",), "DNS lookup failed"),
)


def error_reason(error: str | None, proof_type: str | None) -> str | None:
    """A validator error as one reason of a fixed vocabulary (for "top reasons" summaries).

    Raw errors carry domains, URLs and fingerprints, so no two operators'
    errors are equal as text; the reason keeps the proof type and the kind
    of failure only (HTTP status codes are kept: 403 and 404 need different
    fixes).
    """
    if not error:
        return None
    e = error.lower()
    label = PROOF_LABELS.get(proof_type or "") or (
        "DNS-RSA" if e.startswith("dns-rsa") else "URI-RSA" if e.startswith("uri-rsa") else "AROI")
    for needles, text in _REASON_RULES:
        if any(n in e for n in needles):
            return f"{label}: {text}"
    http = _HTTP_CODE_RE.search(e)
    if http:
        return f"{label}: HTTP error {http.group(1)}"
    for needles, text in _NETWORK_RULES:
        if any(n in e for n in needles):
            return f"{label}: {text}"
    return f"{label}: other error"


def classify(info: contactinfo.ContactInfo, entry: dict[str, Any] | None) -> str:
    """A relay's status from its contact string and its validator result (None: no result)."""
    if not info.has_contact:
        return NOT_CONFIGURED
    missing = info.missing
    if len(missing) == len(contactinfo.AROI_FIELDS):
        return NOT_CONFIGURED
    if missing:
        return INCOMPLETE
    if entry is None or entry.get("domain", info.aroi_domain) != info.aroi_domain:
        return UNKNOWN                  # never checked, or checked against a domain the relay no longer names
    if entry["valid"]:
        return VALIDATED
    error = entry.get("error")
    if is_unauthorized(error):
        return UNAUTHORIZED
    if _is_setup_error(error):
        return UNKNOWN                  # the validator read an older contact string
    return MISCONFIGURED


def relay_status(info: contactinfo.ContactInfo, entry: dict[str, Any] | None) -> dict[str, Any]:
    """What relay pages show about a relay's AROI validation (plain data)."""
    status = classify(info, entry)
    judged = status in JUDGED
    proof = (entry or {}).get("proof_type") if judged else None
    error = entry.get("error") if judged and entry and not entry["valid"] else None
    return {
        "status": status,
        "aroi_domain": info.aroi_domain,
        "aroi_url": info.aroi_url,
        "proof_type": proof or (info.proof if info.proof in contactinfo.RSA_PROOFS else None),
        "missing": list(info.missing) if status == INCOMPLETE else [],
        "error": error,
        "reason": error_reason(error, proof) if error else None,
    }


# -- every relay and operator ---------------------------------------------------------------------

@dataclass
class AroiModel:
    """Validation status of every relay and operator, and the network-wide AROI figures."""

    validator_available: bool
    validator_published: str | None          # the validator run's time, or None without validator data
    relays: dict[str, dict[str, Any]]        # fingerprint → relay_status(...)
    operators: dict[str, dict[str, Any]]     # contact group id → operator_status(...)
    network: dict[str, Any]
    # what it was built from, for the next build: the validator model, the relay views by fingerprint and
    # the contact groups (references to objects the other models hold anyway)
    validator: ValidatorModel | None = field(default=None, repr=False)
    source: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)
    contact_groups: dict[str, Group] = field(default_factory=dict, repr=False)


def build_aroi(relays: RelayModel, groups: GroupsModel, validator: ValidatorModel | None,
               previous: AroiModel | None = None) -> AroiModel:
    """Classify every relay of the relay model and every contact group; O(relays).

    Given the ``previous`` model of the same validator model, a relay whose view is the very same object
    keeps its status, and an operator whose contact group the groups model kept (none of its relays came,
    went or changed) keeps its status: a document in which a few relays changed classifies only those.
    """
    with gc_paused():           # thousands of small acyclic dicts next to the large details document
        if previous is not None and previous.validator is not validator:
            previous = None
        return _build_aroi(relays, groups, validator, previous)


def _build_aroi(relays: RelayModel, groups: GroupsModel, validator: ValidatorModel | None,
                previous: AroiModel | None = None) -> AroiModel:
    results = validator.results if validator is not None else {}
    old_source, old_statuses, old_groups, old_operators = \
        (previous.source, previous.relays, previous.contact_groups, previous.operators) if previous is not None \
        else ({}, {}, {}, {})
    parsed: dict[str | None, contactinfo.ContactInfo] = {}
    statuses: dict[str, dict[str, Any]] = {}
    for relay in relays.relays:
        fp = relay["fingerprint"]
        if old_source.get(fp) is relay:
            statuses[fp] = old_statuses[fp]
            continue
        contact = relay["contact"]
        info = parsed.get(contact)
        if info is None:
            info = parsed[contact] = contactinfo.parse(contact)
        statuses[fp] = relay_status(info, results.get(fp))
    contact_groups = groups.groups["contact"]
    operators = {gid: old_operators[gid] if old_groups.get(gid) is group
                 else operator_status(group, statuses, groups.relay_keys)
                 for gid, group in contact_groups.items()}
    return AroiModel(validator_available=validator is not None,
                     validator_published=validator.published if validator is not None else None,
                     relays=statuses, operators=operators,
                     network=network_summary(statuses, operators),
                     validator=validator, source=relays.by_fingerprint, contact_groups=contact_groups)


def operator_status(group: Group, statuses: dict[str, dict[str, Any]],
                    relay_keys: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """An operator's status by allium's cascade: validated if any relay validates, else the worst news."""
    counts = Counter(statuses[fp]["status"] for fp in group.fingerprints)
    status = next(s for s in STATUSES if counts[s] or s == NOT_CONFIGURED)
    proofs = sorted({statuses[fp]["proof_type"] for fp in group.fingerprints
                     if statuses[fp]["status"] in JUDGED and statuses[fp]["proof_type"]})
    domain = next((relay_keys[fp]["aroi"] for fp in group.fingerprints if relay_keys[fp]["aroi"]), None)
    return {"status": status, "counts": {s: counts[s] for s in STATUSES}, "relays": group.size,
            "aroi_domain": domain, "proof_types": proofs,
            "reasons": top_reasons(statuses[fp] for fp in group.fingerprints)}


def top_reasons(statuses, limit: int = TOP_REASONS) -> list[dict[str, Any]]:
    """The most frequent failure reasons among relays, [{"reason", "relays"}], most frequent first."""
    counts = Counter(s["reason"] for s in statuses if s["reason"])
    return [{"reason": r, "relays": n} for r, n in sorted(counts.items(), key=lambda rn: (-rn[1], rn[0]))[:limit]]


def network_summary(statuses: dict[str, dict[str, Any]], operators: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The network health AROI card: coverage, validation rate, proof types, top failure reasons.

    Counts cover every relay of the relay model (running, or down for less
    than 7 days, as allium counts them); rates are percentages with one decimal.
    """
    total = len(statuses)
    counts = Counter(s["status"] for s in statuses.values())
    configured = sum(counts[s] for s in (VALIDATED, UNAUTHORIZED, MISCONFIGURED, UNKNOWN))
    judged = sum(counts[s] for s in JUDGED)
    proof_types = {}
    for proof, label in PROOF_LABELS.items():
        mine = [s for s in statuses.values() if s["status"] in JUDGED and s["proof_type"] == proof]
        valid = sum(1 for s in mine if s["status"] == VALIDATED)
        proof_types[proof] = {"label": label, "relays": len(mine), "validated": valid,
                              "success_pct": _pct(valid, len(mine))}
    domains = {op["aroi_domain"]: op["status"] for op in operators.values() if op["aroi_domain"]}
    failed = [s for s in statuses.values() if s["reason"]]
    by_reason_ops: dict[str, set[str]] = {}
    for gid, op in operators.items():
        for r in op["reasons"]:
            by_reason_ops.setdefault(r["reason"], set()).add(gid)
    reasons = top_reasons(failed)
    for r in reasons:
        r["operators"] = len(by_reason_ops.get(r["reason"], ()))
    return {
        "relays": total,
        "counts": {s: counts[s] for s in STATUSES},
        "configured_relays": configured,
        "coverage_pct": _pct(configured, total),          # relays with a complete AROI setup
        "validated_pct": _pct(counts[VALIDATED], total),
        "validation_rate_pct": _pct(counts[VALIDATED], judged),    # of the relays the validator judged
        "proof_types": proof_types,
        "aroi_domains": len(domains),
        "validated_domains": sum(1 for st in domains.values() if st == VALIDATED),
        "operator_counts": dict(Counter(op["status"] for op in operators.values())),
        "top_reasons": reasons,
    }


def _pct(part: int, whole: int) -> float | None:
    """A percentage with one decimal (what pages show), None for an empty whole."""
    return round(part * 100 / whole, 1) if whole else None
