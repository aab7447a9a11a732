"""AROI views: an operator's status for its contact page and the network health card (plain text cells)."""

from __future__ import annotations

from typing import Any

from .. import format as fmt
from .status import (INCOMPLETE, JUDGED, NOT_CONFIGURED, PROOF_LABELS, STATUSES, UNAUTHORIZED, UNKNOWN, VALIDATED,
                     MISCONFIGURED, AroiModel, _pct)


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
