"""One relay object → its view dict: every operator-influenced field read with a type check, a cap and a default."""

from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache
from typing import Any

from ... import paths
from .. import format as fmt, identity


# Operator-controlled strings are capped (characters): a relay may not blow a page up with a 1 MB
# nickname.  Nickname: dir-spec's 1-19; the others have no spec limit, so far above any real value
# (network-10k: contact 503, platform 44, AS name 44, country name 52, version 17).
CAPS = {"nickname": 19, "contact": 1024, "platform": 256, "as_name": 256, "country_name": 64,
        "version": 64, "host_name": 253, "region_name": 64, "city_name": 64, "family_id": 64}
MAX_FAMILY_IDS = 8            # Happy Families keys a relay may list (one in practice)
MAX_HOST_NAMES = 16
_COUNTRY_RE = re.compile(r"^[a-z]{2}$")
_AS_RE = re.compile(r"^AS[0-9]{1,10}$")


def relay_view(obj: Any, published: datetime | None) -> dict[str, Any] | None:
    """One relay object as a view dict, or None if it has no valid fingerprint."""
    if not isinstance(obj, dict) or not paths.is_fingerprint(obj.get("fingerprint")):
        return None
    fp: str = obj["fingerprint"]
    running = obj.get("running") is True
    # Onionoo keeps a down relay's flags from the last consensus that listed it, "Running" included;
    # a relay that is not running must not be shown (or listed on flag/running) with that flag
    flags = sorted(set(_strs(obj.get("flags"))) - ({"Running"} if not running else set()))
    or_addresses = _strs(obj.get("or_addresses"))
    view: dict[str, Any] = {
        "fingerprint": fp,
        "fp_short": fp[:8],
        "nickname": _cap(obj.get("nickname"), "nickname") or "Unnamed",
        "running": running,
        "hibernating": _bool(obj.get("hibernating")),
        "flags": flags,
        "flags_text": " ".join(flags),
        "measured": _bool(obj.get("measured")),
        "contact": _cap(obj.get("contact"), "contact"),
        "verified_host_names": [_cap(h, "host_name") for h in _strs(obj.get("verified_host_names"))
                                [:MAX_HOST_NAMES]],
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
        "country_name": _cap(obj.get("country_name"), "country_name"),
        "as_number": as_number,
        "as_name": _cap(obj.get("as_name"), "as_name"),
        "region_name": _cap(obj.get("region_name"), "region_name"),
        "city_name": _cap(obj.get("city_name"), "city_name"),
        **_coordinates(obj.get("latitude"), obj.get("longitude")),
    }


def _coordinates(latitude: Any, longitude: Any) -> dict[str, Any]:
    """Onionoo's GeoIP coordinates, kept only when both are in range (4 decimals: ~10 m, more than GeoIP knows)."""
    lat, lon = _float(latitude), _float(longitude)
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return {"latitude": None, "longitude": None, "coordinates_text": None}
    return {"latitude": round(lat, 4), "longitude": round(lon, 4), "coordinates_text": f"{lat:.4f}, {lon:.4f}"}


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
    platform = _cap(obj.get("platform"), "platform")
    os_name = identity.os_family(platform.split(" on ", 1)[1]) if platform and " on " in platform else None
    return {
        "platform": platform,
        "os": os_name,
        "version": _cap(obj.get("version"), "version"),
        "version_status": _str(obj.get("version_status")),
        "recommended_version": _bool(obj.get("recommended_version")),
    }


def _family(fp: str, obj: dict) -> dict[str, Any]:
    """Effective family without the relay itself (Onionoo includes it since 5.1), the alleged members (it
    lists them, they do not list it back), the indirect ones (they list it, it does not list them; both
    Onionoo fields carry a "$" prefix), and its Happy Families keys (Onionoo ``family_ids``)."""
    members = sorted({m for m in _strs(obj.get("effective_family")) if m != fp and _is_fingerprint(m)})
    return {"family": members, "family_size": len(members) + 1,
            "alleged_family": _fingerprints(obj.get("alleged_family"), fp),
            "indirect_family": _fingerprints(obj.get("indirect_family"), fp),
            "family_ids": [_cap(k, "family_id") for k in _strs(obj.get("family_ids"))[:MAX_FAMILY_IDS]]}


def _fingerprints(value: Any, own: str) -> list[str]:
    """A list of "$FP" or "FP" strings → sorted distinct valid fingerprints other than ``own``."""
    return sorted({m for m in (v.removeprefix("$").upper() for v in _strs(value)) if m != own and _is_fingerprint(m)})


@lru_cache(maxsize=1 << 16)
def _is_fingerprint(value: str) -> bool:
    """paths.is_fingerprint, memoized: a family's fingerprints recur in every member's list."""
    return paths.is_fingerprint(value)


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


# The relay's times, absolute; their spans to the publication ("… before the data was published", how long
# it has been UP or DOWN) are placeholders here (None), filled in by ``at_publication`` for the page that is
# rendered.  So a view is equal from one hourly document to the next while its relay does not change, and
# so is its page's key: a new hour renders only the relays it changed.
TIMES = ("first_seen", "last_seen", "last_restarted", "last_changed_address_or_port")
# a running relay's last_seen is the publication's own hour (Onionoo: the last consensus that listed it)
SEEN_AT_PUBLICATION = "(when the data was published)"


def _times(obj: dict, published: datetime | None) -> dict[str, Any]:
    running = obj.get("running") is True
    out: dict[str, Any] = {}
    for key in TIMES:
        value = obj.get(key)
        when = fmt.parse_onionoo_time(value)
        out[key] = (SEEN_AT_PUBLICATION if key == "last_seen" and running and when is not None and when == published
                    else _stamp(when))
        out[key + "_ago"] = None
        if key == "first_seen":
            out["first_seen_date"] = fmt.date(when)
    since = fmt.parse_onionoo_time(obj.get("last_restarted") if running else obj.get("last_seen"))
    out.update({"state": "up" if running else "down", "state_since": _stamp(since),
                "state_seconds": None, "state_duration": None})
    return out


def at_publication(relay: dict[str, Any], published: datetime | None) -> dict[str, Any]:
    """``relay`` (a view) with its spans counted to ``published``, the details document's publication
    time (never the clock): what the relay's page and JSON show.  A copy; views are shared."""
    out = dict(relay)
    if out["last_seen"] == SEEN_AT_PUBLICATION:
        out["last_seen"] = fmt.timestamp(published)
    for key in TIMES:
        out[key + "_ago"] = fmt.ago(fmt.parse_timestamp(out[key]), published)
    out.update(current_state(out["state_since"], published))
    return out


def current_state(since_text: str, now: datetime | None) -> dict[str, Any]:
    """How long a relay has been UP (since its last restart) or DOWN (since last seen), up to ``now``.

    ``now`` is the details document's publication time, never the clock, so
    the page does not change while its data does not.
    """
    since = fmt.parse_timestamp(since_text)
    seconds = (now - since).total_seconds() if since is not None and now is not None else None
    return {"state_seconds": int(seconds) if seconds is not None else None,
            "state_duration": fmt.duration(seconds) if seconds is not None else fmt.MISSING}


@lru_cache(maxsize=1 << 16)
def _stamp(when: datetime | None) -> str:
    """A time as shown; thousands of relays share each value."""
    return fmt.timestamp(when)


def _overload(obj: dict) -> dict[str, Any]:
    ms = _int(obj.get("overload_general_timestamp"))
    return {"overload_general_timestamp": ms,
            "overload_general": fmt.timestamp(fmt.from_millis(ms)) if ms is not None else None}


# -- typed reads: wrong types count as absent -------------------------------------------

def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _cap(value: Any, kind: str) -> str | None:
    """A non-empty string cut to its cap (CAPS), else None."""
    if not isinstance(value, str) or not value:
        return None
    limit = CAPS[kind]
    return value if len(value) <= limit else value[:limit]


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
