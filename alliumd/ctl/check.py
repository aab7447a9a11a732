"""``alliumctl check``: Nagios plugin semantics from a status snapshot (pure, testable).

0 OK: every enabled source has fresh data and the renderer is up.
1 WARNING: some source is stale beyond its max_age, has no data, or is fatal.
2 CRITICAL: the daemon or the renderer is down, or the details (the site's
  backbone) are missing or stale beyond their max_age.
3 UNKNOWN: the status could not be determined (decided by the caller).
"""

from __future__ import annotations

from ..core import exitcodes

BACKBONE = "onionoo_details"


def evaluate(snapshot: dict) -> tuple[int, str]:
    daemon = snapshot.get("daemon", {})
    if not daemon.get("running"):
        return exitcodes.CHECK_CRITICAL, "ALLIUMD CRITICAL - daemon not running"
    problems_crit, problems_warn, fresh = [], [], []
    renderer = snapshot.get("renderer", {})
    if renderer.get("state") == "down":
        problems_crit.append("renderer down")
    for name, src in snapshot.get("sources", {}).items():
        if not src.get("enabled"):
            continue
        if src.get("data_age_s") is None:
            problem = f"{name} has no data"
        elif src.get("stale"):
            problem = f"{name} stale ({_age(src['data_age_s'])} old > max_age {_age(src.get('max_age'))})"
        elif src.get("state") == "fatal":
            problem = f"{name} fatal"
        else:
            fresh.append(name)
            continue
        (problems_crit if name == BACKBONE and "fatal" not in problem else problems_warn).append(problem)
    if problems_crit:
        return exitcodes.CHECK_CRITICAL, "ALLIUMD CRITICAL - " + "; ".join(problems_crit + problems_warn)
    if problems_warn:
        return exitcodes.CHECK_WARNING, "ALLIUMD WARNING - " + "; ".join(problems_warn)
    return exitcodes.CHECK_OK, f"ALLIUMD OK - {len(fresh)} sources fresh, renderer {renderer.get('state')}"


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = int(seconds)
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    if seconds < 172800:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"
