"""A relay's consensus evaluation: what every directory authority voted, and why (pure).

Input is the ``collector`` summary (alliumd.model.votes): a per-authority
header (flag thresholds, known flags) and one vote-matrix row per relay.
The work is split so that relay pages stay cheap to keep fresh:

* :func:`build_context` runs once per summary and keeps what every relay's
  evaluation shares (authorities, their thresholds, the majority), with a
  digest of it;
* :func:`relay_row` picks one relay's row (plain lists, a few hundred
  bytes): with the context it is the relay page's share of the vote data
  (and so of its derived page key), so a new summary re-renders only relays whose row changed
  (or every relay when the shared context did, e.g. new thresholds);
* :func:`evaluate` turns a context and a row into the plain view the
  relay page shows; it runs in a render worker, for changed pages only.

Rules (tor's dirauth code, voteflags.c / dirvote.c, as allium summarises them in its
consensus evaluation; bandwidths in votes are kB/s, thresholds bytes/s):

* a relay is in the consensus if more than half of the voting authorities
  list it: ``floor(n/2)+1`` of ``n`` voters (the consensus's dir-sources);
* a flag is in the consensus if more than half of the authorities that list
  the relay *and* vote on that flag (its known-flags) assign it;
* Fast: bandwidth ≥ ``fast-speed``; the bandwidth is the authority's
  measurement when it has one, else the self-reported one, else 0 when the
  authority ignores advertised bandwidths (``ignoring-advertised-bws=1``);
* Stable: MTBF ≥ ``stable-mtbf`` or ≥ 5 days (tor's guarantee);
* Guard: Fast, Stable, V2Dir, bandwidth ≥ 2 MB/s (AuthDirGuardBWGuarantee)
  or ≥ min(``guard-bw-inc-exits``, ``guard-bw-exc-exits``), WFU ≥
  ``guard-wfu`` and time known ≥ ``guard-tk``;
* HSDir: Stable, Fast, V2Dir; tor also needs an uptime of
  MinUptimeHidServDirectoryV2, which votes do not carry: allium's stand-in
  (WFU ≥ 98 %, time known ≥ 25 h) is checked and labelled an estimate.

WFU/TK/MTBF come from a vote's ``stats`` lines; votes without them (all
votes before tor 0.4.x) leave those requirements "unknown", never failed.
Everything returned is plain data; text that came from the votes
(nicknames) is escaped by the templates like any other value.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from typing import Any

from . import format as fmt

VOTE_BW_UNIT = 1000                   # w Bandwidth=/Measured= are in kB/s
GUARD_BW_GUARANTEE = 2_000_000        # AuthDirGuardBWGuarantee, bytes/s
MTBF_GUARANTEE_STABLE = 5 * 86400     # MTBF_TO_GUARANTEE_STABLE, seconds
HSDIR_WFU = 0.98                      # allium's HSDir stand-ins (flag_thresholds.py)
HSDIR_TK = 25 * 3600
MIN_MEASUREMENTS = 3                  # the consensus uses Measured= from at least this many bandwidth authorities
DESCRIPTOR_OLD = 18 * 3600            # a descriptor older than this at valid-after is worth a warning
CHECKED_FLAGS = ("Guard", "Stable", "Fast", "HSDir")
SHOWN_FLAGS = ("Running", "Valid", "Fast", "Stable", "Guard", "HSDir", "V2Dir", "Exit", "BadExit", "MiddleOnly",
               "StaleDesc", "Authority")
YES, NO, UNKNOWN = "yes", "no", "unknown"


# -- the context: once per summary -------------------------------------------------------------

def build_context(summary: dict[str, Any]) -> dict[str, Any]:
    """What every relay's evaluation shares, plus ``digest`` (a hash of all of it)."""
    consensus = summary.get("consensus") or {}
    authorities = []
    for auth in summary.get("authorities") or []:
        vote = auth.get("vote") or {}
        current = bool(vote.get("current"))
        authorities.append({
            "id": auth.get("id"),
            "nickname": str(auth.get("nickname") or auth.get("id") or "?"),
            "current": current,
            "voter": bool(auth.get("in_consensus")),
            "known_flags": sorted(vote.get("known_flags") or []) if current else [],
            "thresholds": _thresholds(vote.get("flag_thresholds") or {}) if current else {},
            "bwauth": bool(current and (vote.get("measured") or vote.get("bandwidth_file_headers"))),
            "bandwidth_file": bool(auth.get("bandwidth_file")),
            "last_vote": vote.get("valid_after"),
        })
    voters = len(consensus.get("voters") or []) or sum(1 for a in authorities if a["current"])
    context = {
        "valid_after": consensus.get("valid_after") or summary.get("relays_published"),
        "method": consensus.get("method"),
        "voters": voters,
        "majority": voters // 2 + 1 if voters else None,
        "votes": sum(1 for a in authorities if a["current"]),
        "bwauths": sum(1 for a in authorities if a["bwauth"]),
        "authorities": authorities,
        "flags": list(summary.get("flags") or []),
        "bandwidth_status": list(summary.get("bandwidth_status") or []),
    }
    context["digest"] = hashlib.blake2b(json.dumps(context, sort_keys=True).encode(), digest_size=16).hexdigest()
    return context


def _thresholds(raw: dict[str, Any]) -> dict[str, float]:
    keep = ("stable-uptime", "stable-mtbf", "fast-speed", "guard-wfu", "guard-tk", "guard-bw-inc-exits",
            "guard-bw-exc-exits", "enough-mtbf", "ignoring-advertised-bws")
    return {k: raw[k] for k in keep
            if isinstance(raw.get(k), (int, float)) and not isinstance(raw.get(k), bool)}


def relay_row(summary: dict[str, Any], fingerprint: str) -> Any:
    """A relay's row of the vote matrix (``{"n", "c"?, "v", "b"?}``), or None if no document lists it."""
    relays = summary.get("relays")
    return relays.get(fingerprint) if isinstance(relays, dict) else None


# -- one relay ----------------------------------------------------------------------------------

def _flags(context: dict[str, Any], mask: Any) -> list[str]:
    table = context["flags"]
    if not isinstance(mask, int):
        return []
    return [flag for i, flag in enumerate(table) if mask >> i & 1]


def _number(value: Any) -> float | None:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def credible_bandwidth(cell: dict[str, Any], thresholds: dict[str, float]) -> tuple[int | None, str]:
    """(bytes/s, where it comes from) an authority bases Fast and Guard on."""
    measured, advertised = _number(cell.get("measured")), _number(cell.get("bandwidth"))
    if measured is not None:
        return int(measured * VOTE_BW_UNIT), "measured"
    if thresholds.get("ignoring-advertised-bws") == 1:
        return 0, "not measured (counts as 0)"
    if advertised is not None:
        return int(advertised * VOTE_BW_UNIT), "self-reported"
    return None, "unknown"


class Check(tuple):
    """One requirement: (ok: True/False/None for unknown, label, the relay's value, threshold, unit).

    A plain tuple (cheap: ~50 per relay and authority); its text is made
    only for the requirements a page shows (:func:`check_text`, :func:`check_reason`).
    """

    __slots__ = ()


def _at_least(value: float | None, threshold: float | None, label: str, unit: str) -> Check:
    ok = None if value is None or threshold is None else value >= threshold
    return Check((ok, label, value, threshold, unit))


def _has(flags: set[str] | frozenset[str], flag: str) -> Check:
    return Check((flag in flags, flag, None, None, "flag"))


def _show(value: float, unit: str) -> str:
    if unit == "bw":
        return fmt.bandwidth(value)
    if unit == "pct":
        return f"{value * 100:.1f}%"
    return fmt.duration(value)


def check_text(check: Check) -> str:
    """The requirement with the relay's figure: 'WFU 95.0% < 98.0%', 'Fast flag not assigned …'."""
    ok, label, value, threshold, unit = check
    if unit == "flag":
        return f"{label} flag {'assigned' if ok else 'not assigned'} by this authority"
    if threshold is None:
        return f"{label}: this authority publishes no threshold"
    if value is None:
        return f"{label} ≥ {_show(threshold, unit)}: not in the vote"
    return f"{label} {_show(value, unit)} {'≥' if ok else '<'} {_show(threshold, unit)}"


def check_reason(checks: list[Check]) -> str:
    """One requirement failed at one or more authorities, without the relay's figures:
    'no Fast flag', 'WFU below 98.0%', 'bandwidth below 424.0 kbit/s–768.0 kbit/s' (thresholds differ)."""
    _, label, _, _, unit = checks[0]
    if unit == "flag":
        return f"no {label} flag"
    thresholds = sorted({c[3] for c in checks if c[3] is not None})
    if not thresholds:
        return f"{label}: no threshold"
    low, high = _show(thresholds[0], unit), _show(thresholds[-1], unit)
    return f"{label} below {low}" if low == high else f"{label} below {low}–{high}"


def requirements(cell: dict[str, Any], flags: set[str] | frozenset[str],
                 thresholds: dict[str, float]) -> dict[str, list[Check]]:
    """Per checked flag, every requirement with its outcome (True, False, or None: unknown)."""
    bw, _ = credible_bandwidth(cell, thresholds)
    wfu, tk, mtbf = _number(cell.get("wfu")), _number(cell.get("tk")), _number(cell.get("mtbf"))
    stable_mtbf = thresholds.get("stable-mtbf")
    guard_bws = [thresholds[k] for k in ("guard-bw-inc-exits", "guard-bw-exc-exits") if k in thresholds]
    has_fast, has_stable, has_v2dir = _has(flags, "Fast"), _has(flags, "Stable"), _has(flags, "V2Dir")
    return {
        "Guard": [has_fast, has_stable, has_v2dir,
                  _at_least(bw, min([GUARD_BW_GUARANTEE, *guard_bws]), "bandwidth", "bw"),
                  _at_least(wfu, thresholds.get("guard-wfu"), "WFU", "pct"),
                  _at_least(tk, thresholds.get("guard-tk"), "time known", "dur")],
        "Stable": [_at_least(mtbf, min(stable_mtbf, MTBF_GUARANTEE_STABLE) if stable_mtbf is not None else None,
                             "MTBF", "dur")],
        "Fast": [_at_least(bw, thresholds.get("fast-speed"), "bandwidth", "bw")],
        "HSDir": [has_stable, has_fast, has_v2dir,
                  _at_least(wfu, HSDIR_WFU, "WFU (estimate)", "pct"),
                  _at_least(tk, HSDIR_TK, "time known (estimate)", "dur")],
    }


def _outcome(checks: list[Check]) -> str:
    outcomes = {c[0] for c in checks}
    if False in outcomes:
        return NO
    return UNKNOWN if None in outcomes else YES


def _cells(context: dict[str, Any], row: dict[str, Any]) -> list[tuple[dict, dict | None, dict | None]]:
    """(authority, vote cell as a dict or None, bandwidth-file cell or None) per authority."""
    votes, bws = row.get("v") or [], row.get("b") or []
    out = []
    for i, auth in enumerate(context["authorities"]):
        raw = votes[i] if i < len(votes) else None
        cell = None
        if isinstance(raw, list) and len(raw) >= 8:
            cell = {"flags": _flags(context, raw[0]), "bandwidth": raw[1], "measured": raw[2], "wfu": raw[3],
                    "tk": raw[4], "mtbf": raw[5], "ipv6": bool(raw[6]), "published": raw[7]}
        braw = bws[i] if i < len(bws) else None
        bcell = None
        if isinstance(braw, list) and len(braw) >= 2:
            status = context["bandwidth_status"]
            bcell = {"bw": braw[0], "status": status[braw[1]] if isinstance(braw[1], int) and 0 <= braw[1] < len(status)
                     else None}
        out.append((auth, cell, bcell))
    return out


def _time_text(epoch: Any) -> str:
    if not isinstance(epoch, (int, float)) or isinstance(epoch, bool):
        return fmt.MISSING
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%d %H:%M")


def _valid_after_epoch(context: dict[str, Any]) -> float | None:
    when = fmt.parse_onionoo_time(context.get("valid_after"))
    return when.timestamp() if when is not None else None


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
