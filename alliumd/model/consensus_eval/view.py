"""One relay's consensus evaluation view: the per-authority table, flag rows, diagnostics and why-nots."""

from __future__ import annotations

from typing import Any

from .. import format as fmt
from .checks import (CHECKED_FLAGS, DESCRIPTOR_OLD, MIN_MEASUREMENTS, NO, SHOWN_FLAGS, UNKNOWN, VOTE_BW_UNIT, YES,
                     Check, _number, _outcome, _show, check_reason, check_text, credible_bandwidth, requirements)
from .context import _cells, _flags, _time_text, _valid_after_epoch


def evaluate(context: dict[str, Any], row: dict[str, Any] | None) -> dict[str, Any]:
    """The relay page's consensus-evaluation view of one relay (``row`` None: no document lists it)."""
    voters, majority = context["voters"], context["majority"]
    base = {"available": True, "valid_after": context["valid_after"] or fmt.MISSING,
            "method": context["method"], "voters": voters, "majority": majority, "votes": context["votes"],
            "bwauths": context["bwauths"]}
    if not isinstance(row, dict):
        text = (f"Not in the consensus: none of the {context['votes']} authority votes we have lists this relay"
                + (f" (it needs {majority} of {voters} voting authorities)" if majority else "")
                + ". It may be offline, unreachable from the authorities, or its descriptor was rejected.")
        return {**base, "in_consensus": False, "listed_by": 0, "consensus": None, "authorities": [],
                "flags": [], "bandwidth": None, "stats_present": False,
                "diagnostics": [{"severity": "error", "text": text}]}

    cells = _cells(context, row)
    consensus = None
    c = row.get("c")
    if isinstance(c, list) and len(c) >= 3:
        consensus = {"flags": _flags(context, c[0]), "weight": c[1], "weight_text": fmt.count(c[1]),
                     "unmeasured": bool(c[2])}
    listed = [(a, cell, requirements(cell, set(cell["flags"]), a["thresholds"])) for a, cell, _ in cells
              if cell is not None]
    stats_present = any(cell[k] is not None for _, cell, _ in listed for k in ("wfu", "tk", "mtbf"))
    reqs_of = {id(cell): reqs for _, cell, reqs in listed}

    authorities = []
    for auth, cell, bcell in cells:
        if not auth["current"]:
            authorities.append({"nickname": auth["nickname"], "state": "no current vote",
                                "flags": [], "eligibility": [], "bandwidth": fmt.MISSING, "measured": fmt.MISSING,
                                "wfu": fmt.MISSING, "tk": fmt.MISSING, "mtbf": fmt.MISSING, "ipv6": fmt.MISSING,
                                "published": fmt.MISSING, "bandwidth_file": _bw_file_text(bcell)})
            continue
        if cell is None:
            authorities.append({"nickname": auth["nickname"], "state": "does not list this relay",
                                "flags": [], "eligibility": [], "bandwidth": fmt.MISSING, "measured": fmt.MISSING,
                                "wfu": fmt.MISSING, "tk": fmt.MISSING, "mtbf": fmt.MISSING, "ipv6": fmt.MISSING,
                                "published": fmt.MISSING, "bandwidth_file": _bw_file_text(bcell)})
            continue
        flags = set(cell["flags"])
        reqs = reqs_of[id(cell)]
        eligibility = []
        for flag in CHECKED_FLAGS:
            outcome = _outcome(reqs[flag])
            wanted = {NO: False, UNKNOWN: None}.get(outcome, True)      # the requirements that decided it
            notes = [check_text(c) for c in reqs[flag] if c[0] is wanted] if outcome != YES else []
            eligibility.append({"flag": flag, "outcome": outcome, "assigned": flag in flags, "notes": notes})
        bw, source = credible_bandwidth(cell, auth["thresholds"])
        authorities.append({
            "nickname": auth["nickname"], "state": "voted",
            "flags": [f for f in SHOWN_FLAGS if f in flags] + sorted(flags - set(SHOWN_FLAGS)),
            "eligibility": eligibility,
            "bandwidth": fmt.bandwidth(_kb(cell["bandwidth"])),
            "measured": fmt.bandwidth(_kb(cell["measured"])) if cell["measured"] is not None else
            ("not measured" if auth["bwauth"] else fmt.MISSING),
            "credible": f"{fmt.bandwidth(bw)} ({source})",
            "wfu": _show(cell["wfu"], "pct") if _number(cell["wfu"]) is not None else fmt.MISSING,
            "tk": _show(cell["tk"], "dur") if _number(cell["tk"]) is not None else fmt.MISSING,
            "mtbf": _show(cell["mtbf"], "dur") if _number(cell["mtbf"]) is not None else fmt.MISSING,
            "ipv6": "yes" if cell["ipv6"] else "no",
            "published": _time_text(cell["published"]),
            "bandwidth_file": _bw_file_text(bcell),
        })

    flag_rows = _flag_rows(context, listed, consensus)
    measured = [cell["measured"] for _, cell, _ in listed if cell["measured"] is not None]
    bandwidth = {"measured_by": len(measured), "bwauths": context["bwauths"],
                 "median_measured": fmt.bandwidth(_kb(_low_median(measured))) if measured else fmt.MISSING,
                 "median_reported": fmt.bandwidth(_kb(_low_median(
                     [cell["bandwidth"] for _, cell, _ in listed if _number(cell["bandwidth"]) is not None])))}
    view = {**base, "in_consensus": consensus is not None, "listed_by": len(listed), "consensus": consensus,
            "authorities": authorities, "flags": flag_rows, "bandwidth": bandwidth,
            "stats_present": stats_present}
    view["diagnostics"] = diagnostics(context, listed, consensus, flag_rows, bandwidth)
    return view


def _kb(value: Any) -> float | None:
    return value * VOTE_BW_UNIT if _number(value) is not None else None


def _low_median(values: list) -> Any:
    ordered = sorted(v for v in values if _number(v) is not None)
    return ordered[(len(ordered) - 1) // 2] if ordered else None


def _bw_file_text(bcell: dict | None) -> str:
    if not bcell:
        return fmt.MISSING
    status = {"voted": "used", "unmeasured": "excluded: unmeasured",
              "under_min_report": "excluded: too few measurements", "not_voted": "excluded"}.get(bcell["status"],
                                                                                                 "unknown")
    return f"bw={bcell['bw']} ({status})"


def _flag_rows(context: dict[str, Any], listed: list, consensus: dict | None) -> list[dict[str, Any]]:
    """Per flag any authority assigned (and the checked ones): votes, who could vote, the majority."""
    seen = {f for _, cell, _ in listed for f in cell["flags"]} | set(CHECKED_FLAGS) | set(
        consensus["flags"] if consensus else ())
    order = [f for f in SHOWN_FLAGS if f in seen] + sorted(seen - set(SHOWN_FLAGS))
    rows = []
    for flag in order:
        electorate = [cell for auth, cell, _ in listed if flag in auth["known_flags"]]
        votes = sum(1 for cell in electorate if flag in cell["flags"])
        need = len(electorate) // 2 + 1 if electorate else None
        rows.append({"flag": flag, "votes": votes, "electorate": len(electorate), "needed": need,
                     "in_consensus": (flag in consensus["flags"]) if consensus else False,
                     "majority": need is not None and votes >= need})
    return rows


def diagnostics(context: dict[str, Any], listed: list, consensus: dict | None, flag_rows: list[dict],
                bandwidth: dict[str, Any]) -> list[dict[str, str]]:
    """Operator-facing findings, most severe first: [{severity, text}] (plain text, fixed phrasing).

    Only what the votes at hand support: with a partial vote set (some
    authorities' votes missing) counts say "of the votes we have".
    """
    out: list[dict[str, str]] = []
    voters, majority, k, have = context["voters"], context["majority"], len(listed), context["votes"]
    if consensus is None:
        out.append({"severity": "error", "text":
                    f"Not in the consensus: listed by {k} of the {have} authority votes we have"
                    + (f"; inclusion needs {majority} of {voters} voting authorities." if majority else ".")})
    elif k == 0:
        out.append({"severity": "info", "text": f"In the consensus, but none of the {have} authority votes we have "
                    "lists this relay: the reasons for its flags cannot be shown."})
        return out
    elif majority and k < majority <= have:
        out.append({"severity": "warning", "text":
                    f"Only {k} of the {have} authority votes we have list this relay "
                    f"(a majority is {majority} of {voters})."})
    if consensus is not None:
        out.extend(_why_not(listed, consensus, {r["flag"]: r for r in flag_rows}))
        if consensus["unmeasured"]:
            out.append({"severity": "warning", "text":
                        f"Too few measurements: its consensus weight is Unmeasured (fewer than {MIN_MEASUREMENTS} "
                        f"bandwidth authorities measured it); measured in {bandwidth['measured_by']} of the "
                        f"{bandwidth['bwauths']} bandwidth-authority votes we have."})
        elif bandwidth["bwauths"] >= MIN_MEASUREMENTS and bandwidth["measured_by"] < MIN_MEASUREMENTS:
            out.append({"severity": "warning", "text":
                        f"Too few measurements: measured by {bandwidth['measured_by']} of "
                        f"{bandwidth['bwauths']} bandwidth authorities; the consensus uses a measured weight only "
                        f"with at least {MIN_MEASUREMENTS}."})
    va = _valid_after_epoch(context)
    published = [cell["published"] for _, cell, _ in listed if _number(cell["published"]) is not None]
    if va is not None and published and va - max(published) > DESCRIPTOR_OLD:
        out.append({"severity": "warning", "text":
                    f"The newest descriptor the authorities have is {fmt.duration(va - max(published))} older than "
                    "the consensus: a relay publishes one at least every 18 hours."})
    order = {"error": 0, "warning": 1, "info": 2}
    return sorted(out, key=lambda d: order[d["severity"]])


def _why_not(listed: list, consensus: dict, rows: dict[str, dict]) -> list[dict[str, str]]:
    """'Why no Guard' (HSDir, Stable, Fast): the requirements the authorities found unmet, most common first."""
    out = []
    for flag in ("Guard", "HSDir", "Stable", "Fast"):
        row = rows.get(flag)
        if flag in consensus["flags"] or row is None or not row["electorate"]:
            continue
        failed: dict[str, list[Check]] = {}          # requirement label → the failed checks
        unknown = 0
        for auth, _, all_reqs in listed:
            if flag not in auth["known_flags"]:
                continue
            misses = [c for c in all_reqs[flag] if c[0] is False]
            for c in misses:
                failed.setdefault(c[1], []).append(c)
            if not misses and any(c[0] is None for c in all_reqs[flag]):
                unknown += 1
        votes = f"{row['votes']} of {row['electorate']} authorities assigned it, {row['needed']} needed"
        if failed:
            top = sorted(failed.values(), key=lambda cs: (-len(cs), cs[0][1]))[:3]
            why = "; ".join(f"{check_reason(cs)} ({len(cs)} {'authority' if len(cs) == 1 else 'authorities'})"
                            for cs in top)
            text = f"Why no {flag}: {votes}. Not met: {why}."
        elif unknown:
            text = (f"Why no {flag}: {votes}. The votes do not carry the WFU, time-known or MTBF figures "
                    "needed to tell why.")
        else:
            text = f"Why no {flag}: {votes}."
        out.append({"severity": "info", "text": text})
    return out


def unavailable() -> dict[str, Any]:
    """The view when there is no CollecTor data at all (source disabled or nothing fetched yet)."""
    return {"available": False}
