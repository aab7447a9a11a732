"""AROI: the validator's answers, each relay's and operator's validation status, and the leaderboards.

Three pure models, each computed once per version of its inputs:

* ``build_validator(doc)`` reads the compact summary the ``aroi`` fetcher
  publishes (its format: ``cache.validator``);
* ``build_aroi(relays, groups, validator)`` classifies every relay and every
  operator (contact group) the way allium does: validated, unauthorized
  (the proof does not list the relay), misconfigured (DNS/TLS/HTTP trouble),
  incomplete (one or two AROI fields missing), not configured (none) — and
  "unknown" when the relay has a complete AROI setup but the validator has
  no (current) answer for it, where allium said "misconfigured";
* ``build_leaderboards(...)`` ranks operators in allium's 19 categories
  (``aroileaders._rank_operators``), keeping the top 50 of each.

Operator-controlled text never leaves this module unbounded: domains are
strict (``identity.normalise_domain``), error texts are cleaned and cut,
and the reasons shown in summaries come from a fixed vocabulary.  Nothing
here reads the clock: ages are measured from the details document's own
``relays_published``.
"""

from __future__ import annotations

import functools
import heapq
import ipaddress
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .. import paths
from ..cache.names import SAMPLE_KEY
from ..cache.validator import SOURCE, SUMMARY_FORMAT, is_summary, numbers_only   # noqa: F401  (the format read here)
from . import contactinfo, format as fmt
from .groups import Group, GroupsModel, clean_text
from ..core.gcpause import gc_paused
from .relays import RelayModel


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


def build_aroi(relays: RelayModel, groups: GroupsModel, validator: ValidatorModel | None) -> AroiModel:
    """Classify every relay of the relay model and every contact group; O(relays)."""
    with gc_paused():           # thousands of small acyclic dicts next to the large details document
        return _build_aroi(relays, groups, validator)


def _build_aroi(relays: RelayModel, groups: GroupsModel, validator: ValidatorModel | None) -> AroiModel:
    results = validator.results if validator is not None else {}
    parsed: dict[str | None, contactinfo.ContactInfo] = {}
    statuses: dict[str, dict[str, Any]] = {}
    for relay in relays.relays:
        contact = relay["contact"]
        info = parsed.get(contact)
        if info is None:
            info = parsed[contact] = contactinfo.parse(contact)
        statuses[relay["fingerprint"]] = relay_status(info, results.get(relay["fingerprint"]))
    operators = {gid: operator_status(group, statuses, groups.relay_keys)
                 for gid, group in groups.groups["contact"].items()}
    return AroiModel(validator_available=validator is not None,
                     validator_published=validator.published if validator is not None else None,
                     relays=statuses, operators=operators,
                     network=network_summary(statuses, operators))


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


# -- views: an operator's status (contact pages) and the network health card ---------------------

STATUS_LABELS = {
    VALIDATED: ("Validated", "the AROI proof validates for at least one of these relays"),
    UNAUTHORIZED: ("Unauthorized", "the proof was reachable but does not list these relays"),
    MISCONFIGURED: ("Misconfigured", "the proof could not be checked (DNS, TLS or HTTP trouble)"),
    UNKNOWN: ("Unknown", "the AROI setup is complete but the validator has no current answer for it"),
    INCOMPLETE: ("Incomplete", "one or two of the three AROI fields (ciissversion, proof, url) are missing"),
    NOT_CONFIGURED: ("Not configured", "the contact has no AROI fields"),
}


def operator_view(status: dict[str, Any] | None, validator_available: bool, stale: bool = False,
                  sample: bool = False) -> dict[str, Any]:
    # (contact pages set stale and sample when they expand: a stale flip changes no document)
    """What a contact page shows of its operator's AROI validation (plain, small, fixed vocabulary).

    It is also part of the contact page's key: a new validator run changes
    a contact page only when this changes.  The validator's run time is not
    part of it (the status page has it); its stale and sample markers are.
    """
    if status is None:
        status = {"status": NOT_CONFIGURED, "counts": {}, "proof_types": [], "reasons": []}
    label, explanation = STATUS_LABELS[status["status"]]
    return {
        "status": status["status"],
        "label": label,
        "explanation": explanation,
        "proof_types": [PROOF_LABELS.get(p, p) for p in status["proof_types"]],
        "counts": [{"status": s, "label": STATUS_LABELS[s][0], "relays": n}
                   for s in STATUSES if (n := status["counts"].get(s, 0))],
        "reasons": [dict(r) for r in status["reasons"]],
        "validator_available": validator_available,
        "validator_stale": stale,
        "validator_sample": sample,
    }


def health_card(aroi: AroiModel) -> dict[str, Any]:
    """The network health AROI card: coverage, validation rate, DNS-RSA vs URI-RSA, top error reasons.

    Plain text cells (the template only lays them out); reasons come from
    :func:`error_reason`'s fixed vocabulary, never from operator text.
    """
    net = aroi.network
    counts, total = net["counts"], net["relays"]
    ops = net["operator_counts"]
    operators = sum(ops.values())
    with_aroi = sum(n for s, n in ops.items() if s not in (INCOMPLETE, NOT_CONFIGURED))
    judged = sum(counts[s] for s in JUDGED)
    rows = [
        _card_row("Relays with an AROI", f"{fmt.count(net['configured_relays'])} of {fmt.count(total)} listed",
                  _pct_text(net["coverage_pct"]) + " have all three AROI fields"),
        _card_row("Operators with an AROI", f"{fmt.count(with_aroi)} of {fmt.count(operators)}",
                  _pct_text(_pct(with_aroi, operators)) + " of the contacts"),
        _card_row("AROI domains", fmt.count(net["aroi_domains"]),
                  f"{fmt.count(net['validated_domains'])} validated"),
        _card_row("Validation rate", _pct_text(net["validation_rate_pct"]),
                  f"{fmt.count(counts[VALIDATED])} of {fmt.count(judged)} relays the validator checked"),
        _card_row("Validated relays", fmt.count(counts[VALIDATED]),
                  _pct_text(net["validated_pct"]) + " of all listed relays"),
    ]
    statuses = [[STATUS_LABELS[s][0], fmt.count(counts[s]), _pct_text(_pct(counts[s], total)),
                 fmt.count(ops.get(s, 0))] for s in STATUSES]
    proofs = [[p["label"], fmt.count(p["relays"]), fmt.count(p["validated"]), _pct_text(p["success_pct"])]
              for p in net["proof_types"].values()]
    reasons = [[r["reason"], fmt.count(r["relays"]), fmt.count(r["operators"])] for r in net["top_reasons"]]
    notes = ["Relays listed in the details document (running, or down for less than 7 days). An operator is "
             "one contact; its status is validated if any of its relays validates, else its worst status."]
    if not aroi.validator_available:
        notes.insert(0, "No AROI validator data yet: relays with a complete AROI setup count as unknown.")
    return {
        "id": "aroi",
        "title": "AROI operator validation",
        "available": aroi.validator_available,
        "published": aroi.validator_published,
        "rows": rows,
        "tables": [
            {"caption": "Validation status", "head": ["Status", "Relays", "Share", "Operators"], "rows": statuses},
            {"caption": "Proof types", "head": ["Proof", "Relays checked", "Validated", "Success"], "rows": proofs},
            {"caption": "Top error reasons", "head": ["Reason", "Relays", "Operators"], "rows": reasons},
        ],
        "notes": notes,
    }


def _card_row(label: str, value: str, detail: str = "") -> dict[str, str]:
    return {"label": label, "value": value, "detail": detail}


def _pct_text(value: float | None) -> str:
    return f"{value:.1f}%" if value is not None else fmt.MISSING


# -- leaderboards: country and AS tables (allium country_utils.py) ------------------------------

EU_COUNTRIES = frozenset({"AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE",
                          "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE"})
_GEOPOLITICAL = (   # (points, countries): the first group a country is in counts
    (3, frozenset("SY YE AF MM SD SO LY IQ ML CF SS TD NI HT PK NG".split())),                 # conflict zones
    (3, frozenset("CN IR KP SA BY TM UZ LA VN CU ER AZ BH CM DJ GQ TJ EG".split())),           # not free
    (2, frozenset("MT CY IS MV FJ MG MU SC BB JM TT BH BN KI TV TO WS VU SB PW FM MH NR AG BS DM GD KN LC "
                  "VC CV".split())),                                                         # island nations
    (2, frozenset("AF BF BI CF TD KZ KG TJ TM UZ BT NP PY BO ML NE RW UG ZM ZW MW LS SZ AW".split())),
    (1, frozenset("DZ AO BJ BW CM CG CI EG ET GA GH GN KE LR LY MA MZ NA NG SN SL TZ TN ZA ZM ZW BD IN ID "
                  "LK MN PK PH TH VN AR BR CL CO EC PE UY VE MX GT HN SV CR PA DO JM AL BA MK MD ME".split())),
)
_REGIONAL = (
    (2, frozenset("DZ AO BJ BW BF BI CM CV CF TD KM CG CI DJ EG GQ ER ET GA GM GH GN GW KE LS LR LY MG MW ML "
                  "MR MU MA MZ NA NE NG RW ST SN SC SL SO ZA SS SD SZ TZ TG TN UG ZM ZW KZ KG TJ TM UZ FJ KI "
                  "MH FM NR PW PG WS SB TO TV VU".split())),                                  # underrepresented
    (1, frozenset("AG BS BB BZ DM DO GD GY HT JM KN LC VC SR TT CR SV GT HN NI PA BD BT MV NP LK BN KH LA MM "
                  "TL".split())),                                                             # emerging
)
RARE_COUNTRY_MIN_SCORE = 6


def _points(code: str, table) -> int:
    return next((points for points, members in table if code in members), 0)


def country_rarity(code: str, country_relays: int, network_relays: int) -> int:
    """allium's weighted rarity of a country (4·relay count + 3·network share + 2·geopolitics + region)."""
    count_factor = max(7 - country_relays, 0) if country_relays else 0
    share = country_relays * 100 / network_relays if network_relays else 100.0
    share_factor = 6 if share < 0.05 else 4 if share < 0.1 else 2 if share < 0.2 else 0
    return count_factor * 4 + share_factor * 3 + _points(code, _GEOPOLITICAL) * 2 + _points(code, _REGIONAL)


def rare_countries(country_counts: Counter, network_relays: int) -> frozenset[str]:
    """Upper-case codes of the network's countries that score as rare (≥ 6)."""
    return frozenset(code for code, n in country_counts.items()
                     if country_rarity(code, n, network_relays) >= RARE_COUNTRY_MIN_SCORE)


def as_rarity(cw_fraction: float, operators: int) -> int:
    """allium's AS rarity, 0–5: a small share of consensus weight (0–3) plus few operators there (0–2)."""
    pct = cw_fraction * 100
    base = 0 if pct >= 5.0 else 1 if pct >= 0.5 else 2 if pct >= 0.05 else 3 if pct > 0 else 0
    bonus = 0 if operators <= 0 else 2 if operators == 1 else 1 if operators <= 10 else 0
    return base + bonus


def as_rarity_scores(relays: list[dict[str, Any]], keys: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per AS id: {"score" (as_rarity), "fraction" (its relays' consensus weight fraction), "operators"}.

    One pass over the relays, once per build: the leaderboards' diversity
    score and every relay page's "AS rarity" read the same figures.
    """
    fraction: Counter = Counter()
    contacts: dict[str, set[str]] = {}
    for r in relays:
        k = keys[r["fingerprint"]]
        as_id = k["as"]
        if as_id:
            fraction[as_id] += r["consensus_weight_fraction"] or 0.0
            contacts.setdefault(as_id, set())
            if k["contact"]:
                contacts[as_id].add(k["contact"])
    return {a: {"score": as_rarity(fraction[a], len(contacts[a])), "fraction": fraction[a],
                "operators": len(contacts[a])} for a in fraction}


def veteran_factor(relays: int) -> float:
    """allium's scaling of veteran days by operator size."""
    for minimum, factor in ((300, 1.3), (200, 1.25), (100, 1.2), (50, 1.15), (20, 1.1), (10, 1.05)):
        if relays >= minimum:
            return factor
    return 1.0


# -- leaderboards: per-operator metrics ----------------------------------------------------------

@dataclass(slots=True)
class OperatorMetrics:
    """Everything any category ranks or shows for one operator (one contact group)."""

    id: str
    label: str
    aroi_domain: str | None
    relays: int
    bandwidth: int = 0                   # observed, running relays (as contact pages show it)
    consensus_weight_fraction: float = 0.0
    exit_authority: float = 0.0          # share of the network's exit consensus weight
    guard_authority: float = 0.0
    exit_count: int = 0
    guard_count: int = 0
    reliability_6m: float | None = None  # mean 6-month uptime % of relays with enough data
    reliability_5y: float | None = None
    bandwidth_6m: float | None = None    # summed read rate averaged over the whole 6-month history, bytes/s
    bandwidth_5y: float | None = None
    countries: list[str] = field(default_factory=list)        # upper-case codes
    platforms: list[str] = field(default_factory=list)        # OS families
    as_count: int = 0
    as_rarity: int = 0
    diversity_score: float = 0.0
    non_linux_count: int = 0
    non_eu_count: int = 0
    rare_countries: list[tuple[str, int]] = field(default_factory=list)   # (code, relays) most first
    relays_in_rare_countries: int = 0
    veteran_days: int = 0
    veteran_factor: float = 1.0
    veteran_score: float = 0.0
    ipv4_count: int = 0
    ipv6_count: int = 0
    validated_count: int = 0
    total_data: int = 0
    total_data_period: str | None = None
    status: str | None = None            # operator validation status (None without the AROI model)


def build_operator_metrics(relays: RelayModel, groups: GroupsModel, uptime: Any = None, bandwidth: Any = None,
                           aroi: AroiModel | None = None) -> dict[str, OperatorMetrics]:
    """Metrics of every operator with a contact (allium skips contacts shorter than 3 characters)."""
    by_fp = relays.by_fingerprint
    keys = groups.relay_keys
    network = len(relays.relays)
    country_counts = Counter(r["country"].upper() for r in relays.relays if r["country"])
    rare = rare_countries(country_counts, network)
    as_scores = {a: v["score"] for a, v in as_rarity_scores(relays.relays, keys).items()}
    reference = fmt.parse_onionoo_time(relays.published[:19])
    net_weight = groups.network_role_weight
    uptime_relays = uptime.relays if uptime is not None else {}
    bandwidth_relays = bandwidth.relays if bandwidth is not None else {}
    period_points = (bandwidth.network.get("period_points") or {}) if bandwidth is not None else {}
    statuses = aroi.relays if aroi is not None else {}
    out: dict[str, OperatorMetrics] = {}
    for gid, group in groups.groups["contact"].items():
        members = [by_fp[fp] for fp in group.fingerprints]
        contact = members[0]["contact"] or ""
        if len(contact.strip()) < 3:
            continue
        domain = keys[group.fingerprints[0]]["aroi"]
        m = OperatorMetrics(id=gid, label=domain or clean_text(contact, 40) or gid, aroi_domain=domain,
                            relays=group.size, bandwidth=group.bandwidth,
                            consensus_weight_fraction=group.weight_fraction,
                            exit_count=group.role_count["exit"], guard_count=group.role_count["guard"])
        m.exit_authority = group.role_weight["exit"] / net_weight["exit"] if net_weight.get("exit") else 0.0
        m.guard_authority = group.role_weight["guard"] / net_weight["guard"] if net_weight.get("guard") else 0.0
        _history_metrics(m, group.fingerprints, uptime_relays, bandwidth_relays, period_points)
        _spread_metrics(m, members, keys, rare, as_scores)
        _veteran_metrics(m, members, reference)
        m.validated_count = sum(1 for fp in group.fingerprints if statuses.get(fp, {}).get("status") == VALIDATED)
        if aroi is not None and gid in aroi.operators:
            m.status = aroi.operators[gid]["status"]
        out[gid] = m
    return out


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _history_metrics(m: OperatorMetrics, fps: list[str], uptime: dict, bandwidth: dict,
                     period_points: dict[str, int] | None = None) -> None:
    """Uptime means, bandwidth served per period and total data (read + written, best period: 5Y → 1M)."""
    up = [uptime[fp]["uptime"] for fp in fps if fp in uptime]
    m.reliability_6m = _mean([u["6M"] for u in up if u["6M"] is not None])
    m.reliability_5y = _mean([u["5Y"] for u in up if u["5Y"] is not None])
    bw = [bandwidth[fp] for fp in fps if fp in bandwidth]
    for period, attr in (("6M", "bandwidth_6m"), ("5Y", "bandwidth_5y")):
        setattr(m, attr, served_rate(bw, period, (period_points or {}).get(period, 0)))
    for period in ("5Y", "1Y", "6M", "1M"):
        moved = sum(b["total_bytes"][period] or 0 for b in bw)
        if moved > 0:
            m.total_data, m.total_data_period = moved, period
            break


SERVED_MIN_POINTS = 30      # as for uptime: a history of fewer points says too little about the period


def served_rate(entries: list[dict], period: str, period_points: int) -> float | None:
    """An operator's read rate summed point by point over its relays, averaged over the whole period.

    Σ over relays of (mean rate × points with data) / the period's length in
    points: a point where a relay had no data counts 0, so a relay of a few
    weeks counts for those weeks only, never as if it had served the whole
    period (summing each relay's own mean did that).  A relay's history
    counts only with at least SERVED_MIN_POINTS points.  None: nothing counts.
    """
    if period_points <= 0:
        return None
    served = [b["read"][period] * b["read_points"][period] for b in entries
              if b["read"][period] is not None and b.get("read_points", {}).get(period, 0) >= SERVED_MIN_POINTS]
    return sum(served) / period_points if served else None


def _spread_metrics(m: OperatorMetrics, members: list[dict], keys: dict, rare: frozenset[str],
                    as_scores: dict[str, int]) -> None:
    """Countries, platforms, networks, addresses: how widely an operator spreads its relays."""
    countries: Counter = Counter(r["country"].upper() for r in members if r["country"])
    platforms = {r["os"] for r in members if r["os"]}
    as_ids = {keys[r["fingerprint"]]["as"] for r in members} - {None}
    m.countries, m.platforms, m.as_count = sorted(countries), sorted(platforms), len(as_ids)
    m.as_rarity = sum(as_scores.get(a, 0) for a in as_ids)
    m.diversity_score = round(len(countries) * 3.0 + (m.as_rarity / 2.5 if as_ids else 0.0)
                              + len(platforms) * 1.0, 4)
    m.non_linux_count = sum(1 for r in members if r["os"] and r["os"] != "Linux")
    m.non_eu_count = sum(n for code, n in countries.items() if code not in EU_COUNTRIES)
    m.rare_countries = sorted(((c, n) for c, n in countries.items() if c in rare), key=lambda cn: (-cn[1], cn[0]))
    m.relays_in_rare_countries = sum(n for _, n in m.rare_countries)
    v4: set[str] = set()
    v6: set[str] = set()
    for r in members:
        v4.update(filter(None, map(_ipv4, r["ipv4_addresses"])))
        v6.update(filter(None, map(_ipv6, r["ipv6_addresses"])))
    m.ipv4_count, m.ipv6_count = len(v4), len(v6)


@functools.lru_cache(maxsize=1 << 16)      # addresses repeat from one model rebuild to the next
def _ipv4(address: str) -> str | None:
    try:
        return str(ipaddress.IPv4Address(address.rsplit(":", 1)[0]))
    except ValueError:
        return None


@functools.lru_cache(maxsize=1 << 16)
def _ipv6(address: str) -> str | None:
    if not address.startswith("[") or "]" not in address:
        return None
    try:
        return ipaddress.IPv6Address(address[1:address.index("]")]).compressed
    except ValueError:
        return None


def _veteran_metrics(m: OperatorMetrics, members: list[dict], reference: datetime | None) -> None:
    """Days since the operator's oldest relay was first seen (from the document's time, never the clock)."""
    first = min((t for t in (fmt.parse_onionoo_time(r["first_seen"][:19]) for r in members) if t), default=None)
    if first is None or reference is None:
        return
    m.veteran_days = max(0, (reference - first).days)
    m.veteran_factor = veteran_factor(m.relays)
    m.veteran_score = round(m.veteran_days * m.veteran_factor, 2)


# -- leaderboards: the 19 categories --------------------------------------------------------------

def _data(value: float) -> str:
    units = ("B", "kB", "MB", "GB", "TB", "PB", "EB")
    size, unit = float(value), 0
    while size >= 999.5 and unit < len(units) - 1:
        size /= 1000
        unit += 1
    return f"{size:.0f} B" if unit == 0 else f"{size:.3g} {units[unit]}"


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else (plural or word + 's')}"


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip(", ") + "…"


@dataclass(frozen=True)
class Category:
    """One leaderboard: what it ranks, how the value reads, what else a row explains."""

    key: str
    title: str
    description: str
    metric: str                                        # an OperatorMetrics attribute; higher is better
    text: Callable[[OperatorMetrics], str]
    detail: Callable[[OperatorMetrics], str] = lambda m: ""
    tiebreakers: tuple[str, ...] = ()
    min_relays: int = 0                                # operators need more relays than this
    badges: tuple[str, str, str] | None = None         # titles of ranks 1–3


BIG_OPERATOR = 25          # allium: reliability and bandwidth masters/legends need more than 25 relays
TOP_KEPT = 50

CATEGORIES: tuple[Category, ...] = (
    Category("bandwidth", "Bandwidth Contributed", "observed bandwidth of the operator's running relays",
             "bandwidth", lambda m: fmt.bandwidth(m.bandwidth), lambda m: _plural(m.relays, "relay")),
    Category("consensus_weight", "Consensus Weight", "share of the network's consensus weight",
             "consensus_weight_fraction", lambda m: fmt.percent(m.consensus_weight_fraction),
             lambda m: _plural(m.relays, "relay")),
    Category("exit_authority", "Exit Authority Champions", "share of the exit relays' consensus weight",
             "exit_authority", lambda m: fmt.percent(m.exit_authority), lambda m: _plural(m.exit_count, "exit")),
    Category("guard_authority", "Guard Authority Champions", "share of the guard relays' consensus weight",
             "guard_authority", lambda m: fmt.percent(m.guard_authority),
             lambda m: _plural(m.guard_count, "guard")),
    Category("exit_operators", "Exit Operators", "running exit relays", "exit_count",
             lambda m: _plural(m.exit_count, "exit relay"), lambda m: fmt.bandwidth(m.bandwidth)),
    Category("guard_operators", "Guard Operators", "running guard relays (not exits)", "guard_count",
             lambda m: _plural(m.guard_count, "guard relay"), lambda m: fmt.bandwidth(m.bandwidth)),
    Category("reliability_masters", "Reliability Masters (6-Month Uptime)",
             "mean 6-month uptime of the operator's relays (more than 25 relays)", "reliability_6m",
             lambda m: f"{m.reliability_6m:.1f}%", lambda m: _plural(m.relays, "relay"), min_relays=BIG_OPERATOR),
    Category("legacy_titans", "Legacy Titans (5-Year Uptime)",
             "mean 5-year uptime of the operator's relays (more than 25 relays)", "reliability_5y",
             lambda m: f"{m.reliability_5y:.1f}%", lambda m: _plural(m.relays, "relay"), min_relays=BIG_OPERATOR),
    Category("most_diverse", "Most Diverse Operators",
             "countries ×3 + AS rarity ×0.4 + operating systems ×1", "diversity_score",
             lambda m: f"{m.diversity_score:.1f}",
             lambda m: f"{_plural(len(m.countries), 'country', 'countries')}, {len(m.platforms)} OS, "
                       f"{m.as_count} AS",
             badges=("Diversity Legend", "Diversity Master", "Diversity Champion")),
    Category("platform_diversity", "Platform Diversity (Non-Linux Heroes)", "relays not running Linux",
             "non_linux_count", lambda m: _plural(m.non_linux_count, "non-Linux relay"),
             lambda m: ", ".join(p for p in m.platforms if p != "Linux"),
             tiebreakers=("bandwidth",)),
    Category("non_eu_leaders", "Geographic Champions (Non-EU Leaders)", "relays outside the European Union",
             "non_eu_count", lambda m: f"{_plural(m.non_eu_count, 'relay')} ({m.non_eu_count * 100 // m.relays}%)",
             lambda m: _short(", ".join(c for c in m.countries if c not in EU_COUNTRIES)),
             tiebreakers=("bandwidth",)),
    Category("frontier_builders", "Frontier Builders (Rare Countries)", "distinct rare countries with relays",
             "rare_country_count", lambda m: _plural(len(m.rare_countries), "rare country", "rare countries"),
             lambda m: _short(", ".join(f"{n} in {c}" for c, n in m.rare_countries)),
             tiebreakers=("relays_in_rare_countries", "bandwidth"),
             badges=("Frontier Legend", "Frontier Master", "Frontier Champion")),
    Category("network_veterans", "Network Veterans",
             "days since the oldest relay was first seen, scaled by operator size", "veteran_score",
             lambda m: f"{m.veteran_score:,.0f}", lambda m: f"{m.veteran_days:,} days × {m.veteran_factor}"),
    Category("ipv4_leaders", "IPv4 Address Leaders", "distinct IPv4 addresses", "ipv4_count",
             lambda m: _plural(m.ipv4_count, "IPv4 address", "IPv4 addresses"),
             lambda m: _plural(m.relays, "relay"), badges=("IPv4 Legend", "IPv4 Master", "IPv4 Champion")),
    Category("ipv6_leaders", "IPv6 Address Leaders", "distinct IPv6 addresses", "ipv6_count",
             lambda m: _plural(m.ipv6_count, "IPv6 address", "IPv6 addresses"),
             lambda m: _plural(m.relays, "relay"), badges=("IPv6 Legend", "IPv6 Master", "IPv6 Champion")),
    Category("bandwidth_masters", "Bandwidth Served Masters (6-Month Historic)",
             "the operator's summed daily read rate averaged over the whole 6-month history (a day without "
             "data counts 0; a relay counts with 30 or more days of history; more than 25 relays)", "bandwidth_6m",
             lambda m: fmt.bandwidth(m.bandwidth_6m), lambda m: _plural(m.relays, "relay"),
             min_relays=BIG_OPERATOR),
    Category("bandwidth_legends", "Bandwidth Served Legends (5-Year Historic)",
             "the operator's summed read rate averaged over every point of the 5-year history (a point without "
             "data counts 0; a relay counts with 30 or more points of history; more than 25 relays)", "bandwidth_5y",
             lambda m: fmt.bandwidth(m.bandwidth_5y), lambda m: _plural(m.relays, "relay"),
             min_relays=BIG_OPERATOR),
    Category("validated_relays", "AROI Validation Champions", "relays whose AROI proof validates",
             "validated_count", lambda m: _plural(m.validated_count, "validated relay"),
             lambda m: f"of {_plural(m.relays, 'relay')}"),
    Category("total_data_champions", "Total Data Transferred Champions",
             "bytes read and written over the longest period with data", "total_data",
             lambda m: _data(m.total_data), lambda m: f"over {m.total_data_period}" if m.total_data_period else ""),
)
CATEGORY_BY_KEY = {c.key: c for c in CATEGORIES}
ENTRY_FIELDS = ("rank", "id", "label", "aroi_domain", "status", "relays", "value", "value_text", "detail",
                "badge", "bandwidth", "consensus_weight", "exit", "guard")


def _metric(m: OperatorMetrics, name: str) -> float:
    if name == "rare_country_count":
        return len(m.rare_countries)
    value = getattr(m, name)
    return value if value is not None else 0


def rank(operators: dict[str, OperatorMetrics], category: Category, n: int = TOP_KEPT) -> list[OperatorMetrics]:
    """The top ``n`` operators of a category: metric, tiebreakers, relay count (all descending), then id.

    Operators scoring nothing (no exits on the exit board, no IPv6 on the
    IPv6 board, no history data) are not ranked; allium listed them with 0.
    """
    eligible = [m for m in operators.values()
                if m.relays > category.min_relays and _metric(m, category.metric) > 0]
    return heapq.nsmallest(n, eligible, key=lambda m: (
        -_metric(m, category.metric), *(-_metric(m, t) for t in category.tiebreakers), -m.relays, m.id))


def _value(m: OperatorMetrics, name: str) -> int | float:
    """The ranked value as plain data, rounded so that invisible changes do not change views."""
    value = _metric(m, name)
    return value if isinstance(value, int) else round(value, 6 if value < 1 else 1)


# the champion badge of rank 1 on the boards allium has no top-three titles for
CHAMPIONS = {
    "bandwidth": "Bandwidth Champion", "consensus_weight": "Consensus Weight Champion",
    "exit_authority": "Exit Authority Champion", "guard_authority": "Guard Authority Champion",
    "exit_operators": "Exit Champion", "guard_operators": "Guard Champion",
    "reliability_masters": "Reliability Master", "legacy_titans": "Legacy Titan",
    "platform_diversity": "Non-Linux Hero", "non_eu_leaders": "Geographic Champion",
    "network_veterans": "Network Veteran", "bandwidth_masters": "Bandwidth Master",
    "bandwidth_legends": "Bandwidth Legend", "validated_relays": "AROI Champion",
    "total_data_champions": "Data Champion",
}


def badge(category: Category, position: int) -> str | None:
    """allium's titles for ranks 1–3 where it has them, else a champion badge for rank 1."""
    if category.badges:
        return category.badges[position - 1] if position <= 3 else None
    return CHAMPIONS.get(category.key) if position == 1 else None


def entry(m: OperatorMetrics, category: Category, position: int) -> dict[str, Any]:
    """One leaderboard row (plain data; ``id`` is the path-safe contact page id)."""
    return {"rank": position, "id": m.id, "label": m.label, "aroi_domain": m.aroi_domain, "status": m.status,
            "relays": m.relays, "value": _value(m, category.metric), "value_text": category.text(m),
            "detail": category.detail(m), "badge": badge(category, position), "bandwidth": fmt.bandwidth(m.bandwidth),
            "consensus_weight": fmt.percent(m.consensus_weight_fraction), "exit": m.exit_count,
            "guard": m.guard_count}


@dataclass
class LeaderboardModel:
    """The 19 leaderboards (top 50 each) and, per operator, the boards it is on."""

    published: str                          # the details document's relays_published
    categories: list[dict[str, Any]]        # CATEGORIES order: {"key", "title", "description", "entries"}
    ranks: dict[str, list[dict[str, Any]]]  # operator id → [{"category", "title", "rank"}], CATEGORIES order
    operators: int                          # operators considered (contact of 3+ characters)
    inputs: dict[str, bool]                 # which optional inputs were available: uptime, bandwidth, aroi
    overview: dict[str, Any] = field(default_factory=dict)   # leaderboard_overview: totals and top 3s


def build_leaderboards(relays: RelayModel, groups: GroupsModel, uptime: Any = None, bandwidth: Any = None,
                       aroi: AroiModel | None = None) -> LeaderboardModel:
    """All leaderboards from the relay, group, uptime, bandwidth and AROI models (the last three optional)."""
    with gc_paused():
        return _build_leaderboards(relays, groups, uptime, bandwidth, aroi)


def _build_leaderboards(relays: RelayModel, groups: GroupsModel, uptime: Any, bandwidth: Any,
                        aroi: AroiModel | None) -> LeaderboardModel:
    operators = build_operator_metrics(relays, groups, uptime, bandwidth, aroi)
    categories = []
    ranks: dict[str, list[dict[str, Any]]] = {}
    for category in CATEGORIES:
        top = rank(operators, category)
        categories.append({"key": category.key, "title": category.title, "description": category.description,
                           "entries": [entry(m, category, i) for i, m in enumerate(top, 1)]})
        for i, m in enumerate(top, 1):
            ranks.setdefault(m.id, []).append({"category": category.key, "title": category.title, "rank": i})
    return LeaderboardModel(published=relays.published, categories=categories, ranks=ranks,
                            operators=len(operators),
                            inputs={"uptime": uptime is not None, "bandwidth": bandwidth is not None,
                                    "aroi": aroi is not None and aroi.validator_available},
                            overview=leaderboard_overview(relays, groups, operators, aroi, categories))


def leaderboard_overview(relays: RelayModel, groups: GroupsModel, operators: dict[str, OperatorMetrics],
                         aroi: AroiModel | None, categories: list[dict[str, Any]]) -> dict[str, Any]:
    """The totals above the boards and the top three of every board (plain text rows).

    Relay and bandwidth totals cover running relays and say so; operator
    counts are the operators the boards consider (a contact of 3+ characters).
    """
    running = [r for r in relays.relays if r["running"]]
    n = len(running)
    scope = f"of {fmt.count(n)} running"
    observed = sum(r["observed_bandwidth"] or 0 for r in running)
    keys = groups.relay_keys
    ranked_running = sum(1 for r in running if keys[r["fingerprint"]]["contact"] in operators)
    validated = sum(1 for gid in operators if aroi is not None and aroi.validator_available
                    and (aroi.operators.get(gid) or {}).get("status") == VALIDATED)
    by_key = {c["key"]: c["entries"] for c in categories}
    top_bw = [operators[e["id"]] for e in by_key.get("bandwidth", [])[:3]]
    top_cw = [operators[e["id"]] for e in by_key.get("consensus_weight", [])[:3]]
    rows = [
        {"label": "Running relays", "value": fmt.count(n), "detail": f"{fmt.count(len(relays.relays))} listed"},
        {"label": "Run by a ranked operator", "value": fmt.count(ranked_running),
         "detail": f"{_pct_text(_pct(ranked_running, n))} {scope}"},
        {"label": "Operators ranked", "value": fmt.count(len(operators)), "detail": "a contact of 3 or more characters"},
        {"label": "Operators whose AROI validates", "value": fmt.count(validated) if aroi is not None
         and aroi.validator_available else fmt.MISSING, "detail": f"of {fmt.count(len(operators))} ranked"},
        {"label": "Observed bandwidth", "value": fmt.bandwidth(observed), "detail": scope},
        {"label": "Top 3 operators' observed bandwidth", "value": fmt.bandwidth(sum(m.bandwidth for m in top_bw)),
         "detail": f"{_pct_text(_pct(sum(m.bandwidth for m in top_bw), observed))} of the bandwidth {scope}"},
        {"label": "Top 3 operators' consensus weight",
         "value": fmt.percent(sum(m.consensus_weight_fraction for m in top_cw)), "detail": "of the network"},
    ]
    top3 = [{"key": c["key"], "title": c["title"],
             "entries": [{"id": e["id"], "label": e["label"], "value_text": e["value_text"]} for e in c["entries"][:3]]}
            for c in categories]
    return {"rows": rows, "top3": top3}
