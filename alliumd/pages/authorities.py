"""``authorities.html``: every directory authority, from votes and consensus-health.

Reads only the ``collector`` and ``consensus_health`` sources, so a
consensus-health change re-renders this page and the network health page
(its authorities card, :func:`health_card_view`), never a relay page.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..model import format as fmt
from ..model.authorities import build_authorities, health_card
from .registry import ModelSpec, Page, PageFamily, RenderInputs

COLLECTOR, HEALTH = "collector", "consensus_health"
INPUTS = frozenset({COLLECTOR, HEALTH})
AUTHORITIES_PATH = "authorities.html"


def _yes_no(value: Any) -> str:
    return {True: "yes", False: "no"}.get(value, fmt.MISSING)


def _thresholds(mapping: dict) -> str:
    keys = ("stable-uptime", "stable-mtbf", "fast-speed", "guard-wfu", "guard-tk", "guard-bw-inc-exits",
            "guard-bw-exc-exits", "enough-mtbf")
    shown = [f"{k}={mapping[k]}" for k in keys if k in mapping]
    return " ".join(shown) or fmt.MISSING


def _row_view(row: dict[str, Any]) -> dict[str, Any]:
    thresholds = row.get("flag_thresholds") or row.get("ch_flag_thresholds") or {}
    skew = row.get("ch_clock_skew")
    measured = row.get("measured") if row.get("measured") is not None else row.get("ch_bwauth_measured")
    voted = row.get("relays_voted") if row.get("relays_voted") is not None else row.get("ch_relays")
    signed = row.get("signed") if row.get("signed") is not None else row.get("ch_signed")
    problems = [p for p in (row.get("vote_error"), row.get("ch_signature_problem"), row.get("ch_bwauth_problem"))
                if p] + list(row.get("notices") or [])
    return {
        "nickname": str(row.get("nickname")),
        "voting": _yes_no(row.get("in_consensus")) if row.get("in_consensus") is not None
        else _yes_no(row.get("ch_vote_present")),
        "signed": _yes_no(signed),
        "vote_current": _yes_no(row.get("vote_current")),
        "method": (f"up to {row['methods_max']}" if row.get("methods_max") else fmt.MISSING)
        + ("" if row.get("supports_method") in (None, True) else " (not the consensus method)"),
        "flags": " ".join(row.get("known_flags") or row.get("ch_known_flags") or []) or fmt.MISSING,
        "thresholds": _thresholds(thresholds),
        "relays": fmt.count(voted) if voted is not None else fmt.MISSING,
        "measured": fmt.count(measured) if measured else ("not a bandwidth authority" if measured == 0 else fmt.MISSING),
        "version": row.get("ch_version") or fmt.MISSING,
        "clock": (f"{skew:+.1f} s" if isinstance(skew, (int, float)) else fmt.MISSING)
        + (" (problem)" if row.get("ch_clock_problem") else ""),
        "problems": [str(p)[:200] for p in problems],
        "problems_text": "; ".join(str(p)[:200] for p in problems) or fmt.MISSING,
        "problem": bool(problems) or signed is False,
    }


def feeds(inputs: RenderInputs) -> list[dict[str, Any]]:
    """The sources this page is built from and whether each has data, or is disabled, or has none yet."""
    out = []
    for name in (COLLECTOR, HEALTH):
        info = inputs.sources.get(name)
        has = inputs.has(name)
        state = "data" if has else ("no data yet" if info is not None and info.enabled else "disabled")
        out.append({"label": info.label if info is not None else name, "state": state})
    return out


def expand_authorities(inputs: RenderInputs) -> Iterator[Page]:
    """Always written (it is in the navigation): without data from either source it says why."""
    model = inputs.model("authorities")
    yield Page(AUTHORITIES_PATH, "authorities.mako", {
        "feeds": feeds(inputs),
        "rows": [_row_view(r) for r in model["rows"]],
        "method": model["method"] if model["method"] is not None else fmt.MISSING,
        "valid_after": model["valid_after"] or fmt.MISSING,
        "voters": model["voters"] if model["voters"] is not None else fmt.MISSING,
        "signers": model["signers"] if model["signers"] is not None else fmt.MISSING,
        "relays": fmt.count(model["relays"]) if model["relays"] else fmt.MISSING,
        "bandwidth_authorities": model["bandwidth_authorities"] or fmt.MISSING,
        "general_notices": model["general_notices"],
        "sections_missing": model["sections_missing"],
        "sections_missing_text": ", ".join(model["sections_missing"]),
        "has_votes": model["has_votes"], "has_health": model["has_health"],
    })


def health_card_view(inputs: RenderInputs) -> dict[str, Any]:
    """The network health page's authorities card (its markup: templates/_authorities_card.mako)."""
    votes, health = inputs.sources.get(COLLECTOR), inputs.sources.get(HEALTH)
    model = inputs.model("authorities") if _available(inputs) else {}
    return health_card(model, votes.published if votes and votes.available else None,
                       health.published if health and health.available else None, feeds(inputs))


def _available(inputs: RenderInputs) -> bool:
    return inputs.has(COLLECTOR) or inputs.has(HEALTH)


MODELS = [ModelSpec("authorities", INPUTS, lambda inputs: build_authorities(inputs.doc(COLLECTOR),
                                                                            inputs.doc(HEALTH)))]
FAMILIES = [PageFamily("authorities", INPUTS, expand_authorities, description="directory authorities",
                       paths=(AUTHORITIES_PATH,), nav=(60, "Authorities", AUTHORITIES_PATH))]
