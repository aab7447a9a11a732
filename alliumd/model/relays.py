"""The relay model: Onionoo details → sorted relay views and a network summary.

Every relay object is operator-influenced input, so each field is read with a
type check and a default: Onionoo omits empty keys, older documents lack keys
(2014: no ``version``, ``as_number`` instead of ``as``), and a malformed
object must cost one relay, never the page.  Relay views are plain dicts of
str/int/float/bool/None/lists so templates stay presentation only.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from .. import paths
from . import format as fmt, identity
from ..core.jsonx import loads
from ..core.gcpause import gc_paused

DOWNTIME_DAYS = 7.0           # allium's --filter-downtime; [render] hide_down_after_days
TOP_RELAYS = 25
SUMMARY_FLAGS = ("Exit", "Guard", "Fast", "Stable", "HSDir", "V2Dir", "BadExit")
ROLES = ("exit", "guard", "middle")

# Operator-controlled strings are capped (characters): a relay may not blow a page up with a 1 MB
# nickname.  Nickname: dir-spec's 1-19; the others have no spec limit, so far above any real value
# (network-10k: contact 503, platform 44, AS name 44, country name 52, version 17).
CAPS = {"nickname": 19, "contact": 1024, "platform": 256, "as_name": 256, "country_name": 64,
        "version": 64, "host_name": 253, "region_name": 64, "city_name": 64, "family_id": 64}
MAX_FAMILY_IDS = 8            # Happy Families keys a relay may list (one in practice)
MAX_HOST_NAMES = 16
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
    hidden: frozenset[str] = frozenset()  # their fingerprints (a relay page says why a family member has no page)
    source_time: str | None = None       # relays_published as the document wrote it
    downtime_days: float = DOWNTIME_DAYS  # the downtime filter this model was built with (0: none)
    # line digest → (view or None, filtered): what each raw relay line became, for the next build
    memo: dict[bytes, tuple[dict | None, bool]] = field(default_factory=dict, repr=False)


def build_relays(doc: Any, downtime_days: float = DOWNTIME_DAYS) -> RelayModel:
    """Build the model; a missing or malformed document yields an empty model."""
    doc = doc if isinstance(doc, dict) else {}
    raw = doc.get("relays")
    return build_relays_from(doc, raw if isinstance(raw, list) else (), downtime_days)


def build_relays_from(envelope: dict[str, Any], objects: Iterable[Any],
                      downtime_days: float = DOWNTIME_DAYS) -> RelayModel:
    """Build the model from the document's envelope (``relays_published``…) and its relay objects."""
    return _build(envelope, ((obj, None) for obj in objects), {}, downtime_days)


def build_relays_lines(envelope: dict[str, Any], items: Iterable[bytes | memoryview],
                       previous: RelayModel | None = None, downtime_days: float = DOWNTIME_DAYS) -> RelayModel:
    """Build the model from the raw JSON of each relay object (one per line of the document).

    A relay whose line is byte-identical to its line in ``previous`` (from a
    document with the same publication time, which the view's "ago" texts
    depend on) keeps its view: a document in which one relay changed costs
    one parse, not ten thousand.
    """
    reuse = previous.memo if previous is not None and previous.source_time == envelope.get("relays_published") \
        and previous.downtime_days == downtime_days else {}
    return _build(envelope, ((item, hashlib.blake2b(item, digest_size=16).digest()) for item in items), reuse,
                  downtime_days)


def _build(envelope: dict[str, Any], entries: Iterable[tuple[Any, bytes | None]],
           reuse: dict[bytes, tuple[dict | None, bool]], downtime_days: float) -> RelayModel:
    """``entries``: (relay object, or its raw JSON when a line digest is given; line digest or None)."""
    published = fmt.parse_onionoo_time(envelope.get("relays_published"))
    limit = timedelta(days=downtime_days) if downtime_days > 0 else None
    relays: list[dict[str, Any]] = []
    seen: set[str] = set()
    memo: dict[bytes, tuple[dict | None, bool]] = {}
    skipped = filtered = 0
    hidden: set[str] = set()
    with gc_paused():
        for obj, line_digest in entries:
            known = reuse.get(line_digest) if line_digest is not None else None
            if known is None:
                if line_digest is not None:
                    try:
                        obj = loads(obj)
                    except ValueError:
                        obj = None            # costs that relay (counted as skipped), never the page
                view = relay_view(obj, published)
                known = (view, view is not None and is_long_down(obj, published, limit))
            if line_digest is not None:
                memo[line_digest] = known
            view, long_down = known
            if view is None or view["fingerprint"] in seen:
                skipped += 1
                continue
            seen.add(view["fingerprint"])
            if long_down:
                filtered += 1
                hidden.add(view["fingerprint"])
                continue
            relays.append(view)
    relays.sort(key=lambda r: (-r["consensus_weight"], r["fingerprint"]))
    truncated = _int(envelope.get("relays_truncated")) or 0
    source_time = envelope.get("relays_published")
    return RelayModel(
        published=fmt.timestamp(published),
        relays=relays,
        by_fingerprint={r["fingerprint"]: r for r in relays},
        summary=network_summary(relays, truncated=truncated),
        skipped=skipped,
        filtered=filtered,
        hidden=frozenset(hidden),
        source_time=source_time if isinstance(source_time, str) else None,
        downtime_days=downtime_days,
        memo=memo,
    )


def is_long_down(obj: dict, published: datetime | None,
                 limit: timedelta | None = timedelta(days=DOWNTIME_DAYS)) -> bool:
    """Not running and last seen more than ``limit`` before the document's own time (None: never)."""
    if limit is None or obj.get("running") is True or published is None:
        return False
    last_seen = fmt.parse_onionoo_time(obj.get("last_seen"))
    return last_seen is not None and published - last_seen > limit


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


def _times(obj: dict, published: datetime | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in ("first_seen", "last_seen", "last_restarted", "last_changed_address_or_port"):
        value = obj.get(key)
        stamp, ago, day = _time_texts(value if isinstance(value, str) else None, published)
        out[key] = stamp
        out[key + "_ago"] = ago
        if key == "first_seen":
            out["first_seen_date"] = day
    out.update(current_state(obj.get("running") is True, obj.get("last_restarted"), obj.get("last_seen"),
                             published))
    return out


def current_state(running: bool, last_restarted: Any, last_seen: Any, now: datetime | None) -> dict[str, Any]:
    """UP since the last restart or DOWN since last seen, as a span up to ``now``.

    ``now`` is the details document's publication time, never the clock, so
    the page does not change while its data does not.
    """
    since = fmt.parse_onionoo_time(last_restarted if running else last_seen)
    seconds = (now - since).total_seconds() if since is not None and now is not None else None
    return {"state": "up" if running else "down", "state_since": fmt.timestamp(since),
            "state_seconds": int(seconds) if seconds is not None else None,
            "state_duration": fmt.duration(seconds) if seconds is not None else fmt.MISSING}


@lru_cache(maxsize=1 << 16)
def _time_texts(value: str | None, published: datetime | None) -> tuple[str, str, str]:
    """(timestamp, "… ago", date) of an Onionoo time; thousands of relays share each value."""
    when = fmt.parse_onionoo_time(value)
    return fmt.timestamp(when), fmt.ago(when, published), fmt.date(when)


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
