"""The relay model: Onionoo details → sorted relay views and a network summary.

Every relay object is operator-influenced input, so each field is read with a
type check and a default: Onionoo omits empty keys, older documents lack keys
(2014: no ``version``, ``as_number`` instead of ``as``), and a malformed
object must cost one relay, never the page.  Relay views are plain dicts of
str/int/float/bool/None/lists so templates stay presentation only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from .. import paths
from . import format as fmt, identity

DOWNTIME_LIMIT = timedelta(days=7)      # allium's --filter-downtime
TOP_RELAYS = 25
SUMMARY_FLAGS = ("Exit", "Guard", "Fast", "Stable", "HSDir", "V2Dir", "BadExit")
ROLES = ("exit", "guard", "middle")

_COUNTRY_RE = re.compile(r"^[a-z]{2}$")
_AS_RE = re.compile(r"^AS[0-9]{1,10}$")


@dataclass
class RelayModel:
    """The relays of one details document, ready for page families."""

    published: str                       # relays_published as "YYYY-MM-DD HH:MM:SS UTC"
    relays: list[dict[str, Any]]         # consensus weight desc, then fingerprint
    by_fingerprint: dict[str, dict[str, Any]]
    summary: dict[str, Any]
    skipped: int = 0                     # objects dropped as invalid or duplicate
    filtered: int = 0                    # relays dropped by the downtime filter


def build_relays(doc: Any) -> RelayModel:
    """Build the model; a missing or malformed document yields an empty model."""
    doc = doc if isinstance(doc, dict) else {}
    published = fmt.parse_onionoo_time(doc.get("relays_published"))
    raw = doc.get("relays")
    relays: list[dict[str, Any]] = []
    seen: set[str] = set()
    skipped = filtered = 0
    for obj in raw if isinstance(raw, list) else ():
        view = relay_view(obj, published)
        if view is None or view["fingerprint"] in seen:
            skipped += 1
            continue
        seen.add(view["fingerprint"])
        if is_long_down(obj, published):
            filtered += 1
            continue
        relays.append(view)
    relays.sort(key=lambda r: (-r["consensus_weight"], r["fingerprint"]))
    truncated = _int(doc.get("relays_truncated")) or 0
    return RelayModel(
        published=fmt.timestamp(published),
        relays=relays,
        by_fingerprint={r["fingerprint"]: r for r in relays},
        summary=network_summary(relays, truncated=truncated),
        skipped=skipped,
        filtered=filtered,
    )


def is_long_down(obj: dict, published: datetime | None) -> bool:
    """Not running and last seen more than 7 days before the document's own time."""
    if obj.get("running") is True or published is None:
        return False
    last_seen = fmt.parse_onionoo_time(obj.get("last_seen"))
    return last_seen is not None and published - last_seen > DOWNTIME_LIMIT


def relay_view(obj: Any, published: datetime | None) -> dict[str, Any] | None:
    """One relay object as a view dict, or None if it has no valid fingerprint."""
    if not isinstance(obj, dict) or not paths.is_fingerprint(obj.get("fingerprint")):
        return None
    fp: str = obj["fingerprint"]
    flags = sorted(set(_strs(obj.get("flags"))))
    or_addresses = _strs(obj.get("or_addresses"))
    view: dict[str, Any] = {
        "fingerprint": fp,
        "fp_short": fp[:8],
        "nickname": _str(obj.get("nickname")) or "Unnamed",
        "running": obj.get("running") is True,
        "hibernating": _bool(obj.get("hibernating")),
        "flags": flags,
        "flags_text": " ".join(flags),
        "measured": _bool(obj.get("measured")),
        "contact": _str(obj.get("contact")),
        "verified_host_names": _strs(obj.get("verified_host_names")),
    }
    view.update(_addresses(or_addresses, obj))
    view.update(_roles(flags))
    view.update(_location(obj))
    view.update(_bandwidths(obj))
    view.update(_weights(obj))
    view.update(_software(obj))
    view.update(_family(fp, obj))
    view.update(_exit_policy(obj))
    view.update(_times(obj, published))
    view.update(_overload(obj))
    return view


def network_summary(relays: list[dict[str, Any]], truncated: int = 0) -> dict[str, Any]:
    """Counts, bandwidth totals and the top relays; role/flag figures cover running relays."""
    running = [r for r in relays if r["running"]]
    by_role = {role: [r for r in running if r["role"] == role] for role in ROLES}
    advertised = sum(r["advertised_bandwidth"] or 0 for r in running)
    observed = sum(r["observed_bandwidth"] or 0 for r in running)
    top = sorted(running, key=lambda r: (-r["consensus_weight"], r["fingerprint"]))[:TOP_RELAYS]
    return {
        "relays_total": len(relays),
        "relays_running": len(running),
        "relays_truncated": truncated,
        "roles": [_role_summary(role, by_role[role]) for role in ROLES],
        "flags": [{"flag": flag, "count": sum(1 for r in running if flag in r["flags"])}
                  for flag in SUMMARY_FLAGS],
        "advertised_bandwidth": advertised,
        "advertised_bandwidth_text": fmt.bandwidth(advertised),
        "observed_bandwidth": observed,
        "observed_bandwidth_text": fmt.bandwidth(observed),
        "countries": len({r["country"] for r in running if r["country"]}),
        "as_count": len({r["as_number"] for r in running if r["as_number"]}),
        "top_relays": top,
    }


def _role_summary(role: str, relays: list[dict[str, Any]]) -> dict[str, Any]:
    advertised = sum(r["advertised_bandwidth"] or 0 for r in relays)
    observed = sum(r["observed_bandwidth"] or 0 for r in relays)
    return {"role": role, "count": len(relays),
            "advertised_bandwidth": advertised, "advertised_bandwidth_text": fmt.bandwidth(advertised),
            "observed_bandwidth": observed, "observed_bandwidth_text": fmt.bandwidth(observed)}


# -- field groups ---------------------------------------------------------------------------

def _addresses(or_addresses: list[str], obj: dict) -> dict[str, Any]:
    return {
        "or_addresses": or_addresses,
        "primary_address": or_addresses[0] if or_addresses else None,
        "ipv4_addresses": [a for a in or_addresses if not a.startswith("[")],
        "ipv6_addresses": [a for a in or_addresses if a.startswith("[")],
        "exit_addresses": _strs(obj.get("exit_addresses")),
        "dir_address": _str(obj.get("dir_address")),
        "unreachable_or_addresses": _strs(obj.get("unreachable_or_addresses")),
    }


def _roles(flags: list[str]) -> dict[str, Any]:
    """Exit and Guard are flags; a relay's primary role is exit > guard > middle."""
    is_exit, is_guard = "Exit" in flags, "Guard" in flags
    roles = [name for name, has in (("exit", is_exit), ("guard", is_guard)) if has] or ["middle"]
    return {"is_exit": is_exit, "is_guard": is_guard, "is_middle": roles == ["middle"],
            "roles": roles, "role": roles[0]}


def _location(obj: dict) -> dict[str, Any]:
    code = _str(obj.get("country"))
    code = code if code and _COUNTRY_RE.match(code) else None
    as_number = _str(obj.get("as")) or _str(obj.get("as_number"))    # 2014: as_number
    as_number = as_number if as_number and _AS_RE.match(as_number) else None
    return {
        "country": code,
        "country_code": code.upper() if code else None,
        "country_name": _str(obj.get("country_name")),
        "as_number": as_number,
        "as_name": _str(obj.get("as_name")),
    }


def _bandwidths(obj: dict) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in ("bandwidth_rate", "bandwidth_burst", "observed_bandwidth", "advertised_bandwidth"):
        value = _int(obj.get(key))
        out[key] = value
        out[key + "_text"] = fmt.bandwidth(value)
    return out


def _weights(obj: dict) -> dict[str, Any]:
    out: dict[str, Any] = {"consensus_weight": _int(obj.get("consensus_weight")) or 0}
    for key in ("consensus_weight_fraction", "guard_probability", "middle_probability",
                "exit_probability"):
        value = _float(obj.get(key))
        out[key] = value
        out[key + "_text"] = fmt.percent(value)
    return out


def _software(obj: dict) -> dict[str, Any]:
    platform = _str(obj.get("platform"))
    os_name = identity.os_family(platform.split(" on ", 1)[1]) if platform and " on " in platform else None
    return {
        "platform": platform,
        "os": os_name,
        "version": _str(obj.get("version")),
        "version_status": _str(obj.get("version_status")),
        "recommended_version": _bool(obj.get("recommended_version")),
    }


def _family(fp: str, obj: dict) -> dict[str, Any]:
    """Effective family without the relay itself; Onionoo includes it since 5.1."""
    members = sorted({m for m in _strs(obj.get("effective_family"))
                      if paths.is_fingerprint(m) and m != fp})
    return {"family": members, "family_size": len(members) + 1}


def _exit_policy(obj: dict) -> dict[str, Any]:
    return {
        "exit_policy": _strs(obj.get("exit_policy")),
        "exit_policy_summary": _policy_summary(obj.get("exit_policy_summary")),
        "exit_policy_v6_summary": _policy_summary(obj.get("exit_policy_v6_summary")),
    }


def _policy_summary(summary: Any) -> str | None:
    """{"reject": ["22", "25"]} → "reject 22, 25"; None when absent or malformed."""
    if not isinstance(summary, dict):
        return None
    for action in ("accept", "reject"):
        ports = _strs(summary.get(action))
        if ports:
            return f"{action} {', '.join(ports)}"
    return None


def _times(obj: dict, published: datetime | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in ("first_seen", "last_seen", "last_restarted", "last_changed_address_or_port"):
        when = fmt.parse_onionoo_time(obj.get(key))
        out[key] = fmt.timestamp(when)
        out[key + "_ago"] = fmt.ago(when, published)
        if key == "first_seen":
            out["first_seen_date"] = fmt.date(when)
    return out


def _overload(obj: dict) -> dict[str, Any]:
    ms = _int(obj.get("overload_general_timestamp"))
    return {"overload_general_timestamp": ms,
            "overload_general": fmt.timestamp(fmt.from_millis(ms)) if ms is not None else None}


# -- typed reads: wrong types count as absent -------------------------------------------

def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _strs(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str) and v] if isinstance(value, list) else []


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _float(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if value == value and abs(value) != float("inf") else None


def _bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None
