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
