"""One relay's health status (relay pages): its problems, most severe first, and its overload reports."""

from __future__ import annotations

from typing import Any

from .. import format as fmt
from .common import _pct_value

LOW_UPTIME = 90.0             # a month below this uptime (percent) is worth a note


def relay_diagnostics(relay: dict[str, Any], uptime_entry: dict[str, Any] | None,
                      bandwidth_entry: dict[str, Any] | None) -> list[dict[str, str]]:
    """A relay's problems, most severe first: ``[{"severity": "error"|"warning"|"info", "text"}]``.

    ``relay`` is a relay view of alliumd.model.relays; the entries are the
    relay's records in the uptime and bandwidth models (None without data).
    Texts are plain; operator-supplied parts (the version) are escaped by the template.
    """
    issues: list[tuple[str, str]] = []
    flags = set(relay["flags"])
    if not relay["running"]:
        issues.append(("error", f"Not running: last seen {relay['last_seen']}."))
    if "BadExit" in flags:
        issues.append(("error", "Flagged BadExit: clients do not use it as an exit."))
    if relay["hibernating"]:
        issues.append(("warning", "Hibernating: it reached its accounting limit."))
    if relay["overload_general"]:
        issues.append(("warning", f"Overloaded (general overload reported {relay['overload_general']})."))
    limits = _overload_object((bandwidth_entry or {}).get("overload_ratelimits"))
    if limits:
        issues.append(("warning", f"Hit its bandwidth rate limit (reported {limits['timestamp']})."))
    fd = _overload_object((bandwidth_entry or {}).get("overload_fd_exhausted"))
    if fd:
        issues.append(("warning", f"Ran out of file descriptors (reported {fd['timestamp']})."))
    if relay["unreachable_or_addresses"]:
        issues.append(("warning", "Unreachable OR address: " + ", ".join(relay["unreachable_or_addresses"]) + "."))
    if relay["recommended_version"] is False:
        status = relay["version_status"] or "not recommended"
        issues.append(("warning", f"Tor version {relay['version'] or 'unknown'} is {status}: please upgrade."))
    if relay["measured"] is False:
        issues.append(("warning", "Not measured by the bandwidth authorities: its consensus weight stays low."))
    if "StaleDesc" in flags:
        issues.append(("warning", "Its descriptor is stale (not republished for more than 18 hours)."))
    uptime = (uptime_entry or {}).get("uptime") or {}
    if (uptime_entry or {}).get("outlier") == "low":
        issues.append(("warning", f"Uptime is a low outlier: {_pct_value(uptime.get('6M'))} over 6 months, "
                                  "two standard deviations below the network mean."))
    elif isinstance(uptime.get("1M"), (int, float)) and uptime["1M"] < LOW_UPTIME:
        issues.append(("info", f"Low uptime: {_pct_value(uptime['1M'])} over the past month."))
    if "MiddleOnly" in flags:
        issues.append(("info", "Restricted to the middle position (MiddleOnly)."))
    if not relay["contact"]:
        issues.append(("info", "No contact information: operators cannot be reached about problems."))
    order = {"error": 0, "warning": 1, "info": 2}
    return [{"severity": s, "text": t} for s, t in sorted(issues, key=lambda i: order[i[0]])]


def overload_view(bandwidth_entry: dict[str, Any] | None) -> dict[str, Any]:
    """The bandwidth document's overload objects as display text (None when absent)."""
    entry = bandwidth_entry or {}
    return {"ratelimits": _overload_object(entry.get("overload_ratelimits")),
            "fd_exhausted": _overload_object(entry.get("overload_fd_exhausted"))}


def _overload_object(obj: Any) -> dict[str, str] | None:
    """{"timestamp": ms, "rate-limit": B/s, "burst-limit", "read-count", "write-count"} → texts."""
    if not isinstance(obj, dict):
        return None
    out = {"timestamp": fmt.timestamp(fmt.from_millis(obj.get("timestamp")))}
    for key, name in (("rate-limit", "rate_limit"), ("burst-limit", "burst_limit")):
        if key in obj:
            out[name] = fmt.bandwidth(obj[key])
    for key, name in (("read-count", "read_count"), ("write-count", "write_count")):
        if key in obj:
            out[name] = fmt.count(obj[key])
    return out
