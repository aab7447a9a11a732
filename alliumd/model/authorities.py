"""One row per directory authority, merged from CollecTor votes and consensus-health (pure).

The two sources see the authorities differently: the votes say what each
authority voted (methods, flags, thresholds, relays, measurements), the
consensus-health page says what depictor observed (signatures, clocks,
versions, notices).  Authorities are matched by lower-case nickname, the
only name both share; either side may be missing.  Numbers stay numbers;
formatting happens in the view builder.
"""

from __future__ import annotations

from typing import Any

from .format import MISSING, count

MAX_NOTICES = 20          # notices listed on the health card (all of them: authorities.html)


def _vote_row(authority: dict[str, Any], consensus_method: int | None) -> dict[str, Any]:
    vote = authority.get("vote") or {}
    methods = vote.get("consensus_methods") or []
    return {
        "id": authority.get("id"),
        "address": authority.get("address"),
        "in_consensus": authority.get("in_consensus"),
        "signed": authority.get("signed"),
        "vote_current": vote.get("current"),
        "vote_published": vote.get("published"),
        "vote_error": authority.get("vote_error"),
        "methods_max": max(methods) if methods else None,
        "supports_method": (consensus_method in methods) if methods and consensus_method else None,
        "known_flags": vote.get("known_flags") or [],
        "flag_thresholds": vote.get("flag_thresholds") or {},
        "relays_voted": vote.get("relays"),
        "measured": vote.get("measured"),
        "bandwidth_authority": bool(vote.get("bandwidth_file_headers")) or bool(vote.get("measured")),
        "bandwidth_file": (authority.get("bandwidth_file") or {}).get("software"),
    }


def _health_row(entry: dict[str, Any]) -> dict[str, Any]:
    keys = ("signed", "signature_problem", "has_bandwidth_file", "vote_present", "relays", "running",
            "supports_consensus_method", "clock_skew", "clock_problem", "version", "bwauth_measured",
            "bwauth_problem", "known_flags", "flag_thresholds")
    return {f"ch_{k}": entry.get(k) for k in keys}


def build_authorities(collector: dict | None, health: dict | None) -> dict[str, Any]:
    """Rows sorted by nickname plus the consensus facts and the notices."""
    collector = collector if isinstance(collector, dict) else {}
    health = health if isinstance(health, dict) else {}
    consensus = collector.get("consensus") or {}
    method = consensus.get("method") or (health.get("consensus") or {}).get("method")
    rows: dict[str, dict[str, Any]] = {}
    for authority in collector.get("authorities") or []:
        nick = str(authority.get("nickname") or authority.get("id") or "?")
        rows[nick.lower()] = {"nickname": nick, **_vote_row(authority, method)}
    for entry in health.get("authorities") or []:
        nick = str(entry.get("nickname") or "?")
        row = rows.setdefault(nick.lower(), {"nickname": nick})
        row.update(_health_row(entry))
    notices: dict[str, list[str]] = {}
    general: list[str] = []
    for notice in health.get("notices") or []:
        who = str(notice.get("authority") or "").lower()
        (notices.setdefault(who, []) if who else general).append(str(notice.get("text") or ""))
    for nick, row in rows.items():
        row["notices"] = notices.get(nick, [])
    return {
        "rows": [rows[k] for k in sorted(rows)],
        "method": method,
        "valid_after": consensus.get("valid_after") or health.get("relays_published"),
        "voters": len(consensus.get("voters") or []) or None,
        "signers": len(consensus.get("signers") or []) or None,
        "relays": consensus.get("relays") or (health.get("consensus") or {}).get("running"),
        "bandwidth_authorities": sum(1 for r in rows.values() if r.get("bandwidth_authority")) or None,
        "general_notices": general,
        "sections_missing": sorted(k for k, v in (health.get("sections") or {}).items() if v != "ok"),
        "has_votes": bool(collector), "has_health": bool(health),
    }


def health_card(model: dict[str, Any], votes_time: str | None = None,
                health_time: str | None = None, feeds: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The network health page's authorities card, from :func:`build_authorities`'s model (plain text).

    ``votes_time``/``health_time`` are the two sources' data times as the
    page states them (None: no data from that source); ``feeds`` says per
    source whether it is disabled or enabled without data yet (pages/authorities.feeds),
    so a card without data never calls an enabled but failing source "not enabled".
    """
    if not model.get("has_votes") and not model.get("has_health"):
        return {"id": "authorities", "title": "Directory authorities", "available": False, "rows": [],
                "notices": [], "notes": [_no_data_note(feeds)]}
    rows_in = model.get("rows") or []
    voting = [r for r in rows_in
              if r.get("in_consensus") or (r.get("in_consensus") is None and r.get("ch_vote_present"))]
    bwauths = [r["nickname"] for r in rows_in if r.get("bandwidth_authority")]
    current = [r for r in rows_in if r.get("vote_current")]
    problems = [r["nickname"] for r in rows_in
                if r.get("vote_error") or r.get("ch_signature_problem") or r.get("ch_clock_problem")
                or r.get("signed") is False]

    def text(value: Any) -> str:
        return MISSING if value is None or value == "" else str(value)

    rows = [
        {"label": "Consensus valid after", "value": text(model.get("valid_after")), "detail": None},
        {"label": "Consensus method", "value": text(model.get("method")), "detail": None},
        {"label": "Voting authorities", "value": text(model.get("voters") or (len(voting) or None)),
         "detail": (f"{model['signers']} signed the consensus" if model.get("signers") else None)},
        {"label": "Votes available", "value": f"{len(current)} current" if model.get("has_votes") else MISSING,
         "detail": None},
        {"label": "Bandwidth authorities", "value": text(model.get("bandwidth_authorities")),
         "detail": ", ".join(sorted(bwauths, key=str.lower)) or None},
        {"label": "Relays in the consensus", "value": count(model["relays"]) if model.get("relays") else MISSING,
         "detail": None},
        {"label": "Relays per vote", "value": _spread([r.get("relays_voted") for r in current]),
         "detail": "fewest–most in the current votes" if current else None},
        {"label": "Measured per bandwidth authority",
         "value": _spread([r.get("measured") for r in current if r.get("bandwidth_authority")]), "detail": None},
        {"label": "Authorities with problems", "value": str(len(problems)),
         "detail": ", ".join(problems) or None},
        {"label": "Vote data (CollecTor)", "value": text(votes_time) if model.get("has_votes") else "not available",
         "detail": None},
        {"label": "consensus-health page", "value": text(health_time) if model.get("has_health") else "not available",
         "detail": None},
    ]
    notices = [{"authority": None, "text": str(t)[:200]} for t in model.get("general_notices") or []]
    for r in rows_in:
        notices.extend({"authority": str(r["nickname"]), "text": str(t)[:200]} for t in r.get("notices") or [])
    notes = []
    if model.get("sections_missing"):
        notes.append("Sections missing from the consensus-health page: " + ", ".join(model["sections_missing"]) + ".")
    return {"id": "authorities", "title": "Directory authorities", "available": True, "rows": rows,
            "notices": notices[:MAX_NOTICES], "more_notices": max(0, len(notices) - MAX_NOTICES), "notes": notes}


def _spread(values: list) -> str:
    """'7,903' or '7,100–7,903' (fewest–most) of the numbers among ``values``."""
    numbers = sorted(v for v in values if isinstance(v, int) and not isinstance(v, bool))
    if not numbers:
        return MISSING
    low, high = count(numbers[0]), count(numbers[-1])
    return low if low == high else f"{low}–{high}"


def _no_data_note(feeds: list[dict[str, Any]] | None) -> str:
    if not feeds:
        return ("No directory-authority data: the collector and consensus_health sources are disabled "
                "or have not fetched anything yet.")
    states = []
    for feed in feeds:
        if feed.get("state") == "no data yet":
            states.append(f"{feed['label']} is enabled but has no data yet (its last error is on the status page)")
        else:
            states.append(f"{feed['label']} is disabled in the config")
    return "No directory-authority data: " + "; ".join(states) + "."
