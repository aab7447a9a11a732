"""The finished strings of a relay page (relay.mako only lays them out).

Kept apart from the relay's data (``relay_data``, which is also the relay's
JSON): these are the page's wording of that data ("–" for unknown, "yes"/"no",
thousands separators, percentile ordinals, joined address lists), so the
JSON keeps its plain values and the template holds no formatting code.
"""

from __future__ import annotations

from typing import Any

from ..model.format import MISSING, count
from ..model.percentiles import ordinal

ALSO_MEMBERS = (("alleged", "Alleged members", "this relay lists them, they do not list it back"),
                ("indirect", "Indirect members", "they list this relay, it does not list them"))


def v(value: Any) -> Any:
    """A value as shown: "–" when it is unknown or empty."""
    return MISSING if value is None or value == "" else value


def yesno(value: bool | None) -> str:
    return "unknown" if value is None else ("yes" if value else "no")


def join_present(*parts: Any) -> str:
    return " ".join(p for p in parts if p) or MISSING


def with_rank(text: str, rank: int | None) -> str:
    return text if rank is None else f"{text} ({ordinal(rank)} percentile)"


def with_ago(relay: dict[str, Any], key: str) -> str:
    ago = relay[key + "_ago"]
    return relay[key] if ago == MISSING else f"{relay[key]} ({ago})"


def relay_text(data: dict[str, Any]) -> dict[str, Any]:
    """What relay.mako prints of ``data`` (pages/relays.py ``relay_data``), as finished strings."""
    r, ranks = data["relay"], data["percentiles"]
    code = r["country_code"]
    return {
        "roles": ", ".join(r["roles"]),
        "ipv4": v(", ".join(r["ipv4_addresses"])), "ipv6": v(", ".join(r["ipv6_addresses"])),
        "unreachable": v(", ".join(r["unreachable_or_addresses"])), "exits": v(", ".join(r["exit_addresses"])),
        "dir_address": v(r["dir_address"]), "host_names": v(", ".join(r["verified_host_names"])),
        "country": join_present(r["country_name"], code and f"({code})"),
        "as": join_present(r["as_number"], r["as_name"]),
        "region": v(r["region_name"]), "city": v(r["city_name"]), "coordinates": v(r["coordinates_text"]),
        "measured": yesno(r["measured"]), "hibernating": yesno(r["hibernating"]),
        "consensus_weight": count(r["consensus_weight"]),
        "weight_share": with_rank(r["consensus_weight_fraction_text"], ranks["consensus_weight"]),
        "guard": with_rank(r["guard_probability_text"], ranks["guard"]),
        "middle": with_rank(r["middle_probability_text"], ranks["middle"]),
        "exit": with_rank(r["exit_probability_text"], ranks["exit"]),
        "first_seen": with_ago(r, "first_seen"), "last_seen": with_ago(r, "last_seen"),
        "last_restarted": with_ago(r, "last_restarted"),
        "address_changed": with_ago(r, "last_changed_address_or_port"),
        "aroi_missing": ", ".join(data["aroi_validation"]["missing"]),
        "family_more": _family_more(r, data["family"], data["links"]["family"]),
        "also_members": _also_members(data["extras"]),
        "family_ids": ", ".join(data["extras"]["family_ids"]) if data["extras"] else "",
        "platform": v(r["platform"]), "version": v(r["version"]), "version_status": v(r["version_status"]),
        "recommended": yesno(r["recommended_version"]),
        "overload": _overload(r, data["overload"], data["traffic"]),
        "exit_policy_summary": v(r["exit_policy_summary"]), "exit_policy_v6_summary": v(r["exit_policy_v6_summary"]),
        "exit_policy": "\n".join(r["exit_policy"]),
        "consensus": _consensus(data["consensus_evaluation"]),
    }


def _family_more(relay: dict[str, Any], shown: list, family_link: str | None) -> str | None:
    more = len(relay["family"]) - len(shown)
    if not shown or more <= 0:
        return None
    return (f"{count(more)} more {'member is' if more == 1 else 'members are'} "
            f"{'listed on the family page' if family_link else 'not shown'}.")


def _also_members(extras: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The alleged and indirect family members that have any: heading, members, what is not shown."""
    out = []
    for kind, title, explain in ALSO_MEMBERS if extras else ():
        total = extras[kind + "_count"]
        if total:
            hidden = total - len(extras[kind])
            out.append({"heading": f"{title} ({count(total)}; {explain}):", "members": extras[kind],
                        "more": f"{count(hidden)} more not shown." if hidden > 0 else None})
    return out


def _overload(relay: dict[str, Any], overload: dict[str, Any], traffic: Any) -> dict[str, Any]:
    o, fd = overload["ratelimits"], overload["fd_exhausted"]
    none = "none reported" if traffic else "no bandwidth data"
    return {"general": relay["overload_general"] or "none reported",
            "ratelimits": o["timestamp"] if o else none,
            "limits": f"{o.get('rate_limit', MISSING)} / {o.get('burst_limit', MISSING)}" if o else None,
            "counts": f"{o.get('read_count', MISSING)} / {o.get('write_count', MISSING)}" if o else None,
            "fd_exhausted": fd["timestamp"] if fd else none}


def _consensus(ce: dict[str, Any]) -> dict[str, Any] | None:
    """The consensus evaluation's cells (model/consensus_eval.py) as text; None without vote data."""
    if not ce["available"]:
        return None
    consensus = ce["consensus"]
    return {
        "method": v(ce["method"]), "majority": v(ce["majority"]),
        "flags": (" ".join(consensus["flags"]) or "(none)") if consensus else None,
        "flag_votes": [{"flag": f["flag"], "votes": f["votes"], "electorate": f["electorate"], "needed": v(f["needed"]),
                        "in_consensus": yesno(f["in_consensus"])} for f in ce["flags"]],
        "authorities": [{**a, "flags": " ".join(a["flags"])} if a["state"] == "voted" else a
                        for a in ce["authorities"]],
        "eligibility": [{"nickname": a["nickname"], "cells": [_eligibility(e) for e in a["eligibility"]]}
                        for a in ce["authorities"] if a["eligibility"]],
    }


def _eligibility(e: dict[str, Any]) -> str:
    text = e["outcome"] + (" (assigned)" if e["assigned"] else "")
    return text + ": " + "; ".join(e["notes"]) if e["notes"] else text
