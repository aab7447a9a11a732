"""The sections of a relay's view (pages/relays.py ``relay_data``): links, family, AROI, uptime, traffic, votes.

Each takes one of the relay's own records (its page key is derived from
them) and returns plain data: this is also what the relay's JSON holds.
"""

from __future__ import annotations

import math
from typing import Any

from ..model import charts, consensus_eval, format as fmt, uptime as uptime_model
from ..model.aroi import JUDGED, PROOF_LABELS
from ..core.jsonx import loads
from .common import as_path, contact_path, country_path, family_path, first_seen_path, flag_path

FAMILY_SHOWN = 20             # family members listed on a relay page (all of them: the family page)


def consensus_section(vote: tuple | None, marks: dict[str, bool]) -> dict[str, Any]:
    """The consensus evaluation of one relay (model/consensus_eval.py), or why there is none."""
    if vote is None:
        return consensus_eval.unavailable()
    context, row = vote
    view = consensus_eval.evaluate(context, loads(row) if row is not None else None)
    return {**view, "stale": marks["votes_stale"]}


AROI_STATUS_TEXT = {
    "validated": "validated",
    "unauthorized": "unauthorized: the proof does not list this relay",
    "misconfigured": "misconfigured: the proof could not be checked",
    "unknown": "unknown: the AROI fields are complete but the validator has no current answer for this relay",
    "incomplete": "incomplete: AROI fields missing",
    "not_configured": "not configured",
}


def aroi_section(status: dict[str, Any] | None, marks: dict[str, bool]) -> dict[str, Any]:
    """The relay's AROI validation line (model/aroi.py relay_status; plain, fixed vocabulary)."""
    status = status or {"status": "not_configured", "proof_type": None, "missing": [], "reason": None,
                        "error": None}
    code = status["status"]
    proof = status.get("proof_type")
    return {
        "status": code,
        "text": AROI_STATUS_TEXT.get(code, code),
        "proof_type": PROOF_LABELS.get(proof, proof) if proof else None,
        "missing": list(status.get("missing") or []),
        "reason": status.get("reason"),
        "error": status.get("error") if code in JUDGED else None,
        "validator_available": marks["aroi_available"],
        "stale": marks["aroi_stale"], "sample": marks["aroi_sample"],
    }


NO_LINKS = {"contact": None, "family": None, "as": None, "country": None, "first_seen": None, "flags": []}


def relay_links(relay: dict[str, Any], keys: dict[str, Any]) -> dict[str, Any]:
    """Site-relative paths of the group pages this relay belongs to (None where it has no such group).

    ``keys`` is the relay's entry of the groups model (``relay_keys``): the
    very ids the group pages are expanded from, so every link made here
    names a page that this build writes.  They come from
    alliumd.model.identity, which only returns path-safe ids.
    """
    flag_ids = {flag: fid for fid, flag in keys["flags"]}
    return {
        "contact": contact_path(keys["contact"]) if keys["contact"] else None,
        "family": family_path(keys["family"]) if keys["family"] else None,
        "as": as_path(keys["as"]) if keys["as"] else None,
        "country": country_path(keys["country"]) if keys["country"] else None,
        "first_seen": first_seen_path(keys["first_seen"]) if keys["first_seen"] else None,
        "flags": [{"flag": flag, "path": flag_path(flag_ids[flag]) if flag in flag_ids else None}
                  for flag in relay["flags"]],
    }


MEMBER_STATUS = {
    "family": None,
    # this relay lists it; had it listed this relay back, the two would be in one family
    "not_mutual": "not in this relay's family on this site: it does not list this relay back",
    "hidden": "no page: down for more than {days:g} days (hidden by the downtime filter)",
    "absent": "no page: not in the current Onionoo details document",
}


def family_section(relay: dict[str, Any], model: Any, keys: dict[str, dict[str, Any]],
                   limit: int = FAMILY_SHOWN, shared: dict | None = None) -> dict[str, Any]:
    """The first ``limit`` family members (by fingerprint), what links each of them, and the family page note.

    A member is linked when it has a relay page; one without says why
    (absent from the document, hidden by the downtime filter), and one that
    has a page but is not in this relay's family says that the listing is
    not mutual.  Capped so that a page of a big family stays small and
    building all of them stays linear in the network size; the family page
    lists everyone.  ``shared`` (one dict per build) makes every relay of a family share its
    members' entries instead of holding its own copies (~14 MB on a 10k-relay network).
    """
    shared = {} if shared is None else shared
    own = keys[relay["fingerprint"]]["family"]
    members = []
    for fp in relay["family"][:limit]:
        other = model.by_fingerprint.get(fp)
        if other is not None:
            status = "family" if own is not None and keys[fp]["family"] == own else "not_mutual"
        else:
            status = "hidden" if fp in model.hidden else "absent"
        member = shared.get((fp, status))
        if member is None:
            text = MEMBER_STATUS[status]
            member = shared[fp, status] = {
                "fingerprint": fp, "present": other is not None, "nickname": other["nickname"] if other else None,
                "status": status, "note": text.format(days=model.downtime_days) if text else None}
        members.append(member)
    return {"members": members, "note": family_note(relay, model, own)}


def family_note(relay: dict[str, Any], model: Any, family_id: str | None) -> str | None:
    """Why a relay that lists a family has no family page (None when it has one or lists nobody)."""
    if family_id is not None or not relay["family"]:
        return None
    listed = relay["family"]
    present = sum(1 for fp in listed if fp in model.by_fingerprint)
    if present:
        return ("No family page: none of the listed members on this site lists this relay back "
                "(a family is the relays that list each other).")
    hidden = sum(1 for fp in listed if fp in model.hidden)
    parts = [f"{fmt.count(len(listed) - hidden)} not in the current Onionoo details document"] if len(listed) > hidden \
        else []
    if hidden:
        parts.append(f"{fmt.count(hidden)} hidden by the downtime filter")
    return "No family page: no listed member is on this site (" + ", ".join(parts) + ")."


def uptime_section(entry: dict[str, Any] | None, current_flags: list[str] = ()) -> dict[str, Any] | None:
    """Uptime and flag uptime per period, rounded to what the page shows (one decimal).

    The flag is chosen against the relay's current flags (model.uptime.flag_uptime).
    """
    if not isinstance(entry, dict):
        return None
    flag, flag_uptime = uptime_model.flag_uptime(entry, current_flags)
    uptime = entry.get("uptime") or {}
    periods = []
    for period in charts.PERIODS:
        overall, flagged = _round1(uptime.get(period)), _round1(flag_uptime.get(period))
        periods.append({"period": period, "label": charts.PERIOD_LABELS[period],
                        "uptime": overall, "uptime_text": _pct_text(overall),
                        "flag_uptime": flagged,
                        "flag_uptime_text": "same as overall" if flagged is not None and flagged == overall
                        else _pct_text(flagged)})
    return {"flag": flag,
            "outlier": entry.get("outlier") if entry.get("outlier") in ("low", "high") else None,
            "periods": periods}


def traffic_section(entry: dict[str, Any] | None) -> dict[str, Any] | None:
    """Mean read/written bandwidth and total data per period, from the bandwidth history."""
    if not isinstance(entry, dict):
        return None
    read, write, totals = entry.get("read") or {}, entry.get("write") or {}, entry.get("total_bytes") or {}
    periods = []
    for period in charts.PERIODS:
        r, w, t = _int(read.get(period)), _int(write.get(period)), _int(totals.get(period))
        periods.append({"period": period, "label": charts.PERIOD_LABELS[period],
                        "read": r, "read_text": fmt.bandwidth(r), "write": w, "write_text": fmt.bandwidth(w),
                        "total_bytes": t, "total_text": charts.data_size(t)})
    best = entry.get("total_data_period")
    best = best if isinstance(best, str) and best in charts.PERIOD_LABELS else None
    total = _int(entry.get("total_data"))
    return {"periods": periods, "total_data": total, "total_data_text": charts.data_size(total),
            "total_data_period": best, "total_data_period_label": charts.PERIOD_LABELS.get(best)}


def _number(value: Any) -> float | None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    return float(value) if ok else None


def _round1(value: Any) -> float | None:
    number = _number(value)
    return round(number, 1) if number is not None else None


def _int(value: Any) -> int | None:
    number = _number(value)
    return round(number) if number is not None else None


def _pct_text(value: float | None) -> str:
    return f"{value:.1f}%" if value is not None else fmt.MISSING
