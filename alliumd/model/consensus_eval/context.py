"""What every relay's evaluation shares (once per summary) and one relay's row and cells of the vote matrix."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from typing import Any

from .. import format as fmt


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
