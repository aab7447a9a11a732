"""Why a relay gained or lost a flag, from the authorities' votes (pure; reuses model/consensus_eval).

A flag event from the details document says *what* changed; the CollecTor
vote set says *why*: each authority that lists the relay and votes on the
flag checked it against its own thresholds.  The cause names the
requirement most authorities found unmet, the relay's figure, the
threshold, and how many authorities that was against the majority needed:
"WFU 97.6% < 98.0% at 6 of 9 authorities (majority 5)".
"""

from __future__ import annotations

import statistics
from typing import Any

from .consensus_eval.checks import CHECKED_FLAGS, _show, requirements
from .consensus_eval.context import _cells


def flag_cause(context: dict[str, Any] | None, row: dict[str, Any] | None, flag: str, gained: bool) -> str | None:
    """The cause sentence for ``flag`` gained/lost (``Running``: listed by how many votes), or None."""
    if context is None:
        return None
    votes, voters = context.get("votes") or 0, context.get("voters") or 0
    majority = context.get("majority")
    cells = _cells(context, row) if isinstance(row, dict) else []
    listed = [(auth, cell) for auth, cell, _ in cells if cell is not None]
    if flag == "Running":
        if not votes:
            return None
        return (f"listed by {len(listed)} of {votes} authority votes"
                + (f" (majority {majority} of {voters})" if majority else ""))
    if flag not in CHECKED_FLAGS or not listed:
        return None
    electorate = [(auth, cell) for auth, cell in listed if flag in auth["known_flags"]]
    if not electorate:
        return None
    need = len(electorate) // 2 + 1
    checks = [requirements(cell, set(cell["flags"]), auth["thresholds"])[flag] for auth, cell in electorate]
    assigned = sum(1 for _, cell in electorate if flag in cell["flags"])
    tally = f"of {len(electorate)} authorities (majority {need})"
    if gained:
        eligible = sum(1 for reqs in checks if all(c[0] is not False for c in reqs))
        return f"meets the requirements at {eligible} {tally}; assigned by {assigned}"
    failed: dict[str, list] = {}
    for reqs in checks:
        for c in reqs:
            if c[0] is False:
                failed.setdefault(c[1], []).append(c)
    if not failed:
        return f"assigned by {assigned} {tally}; the votes do not show a failed requirement"
    label, misses = min(failed.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    unit = misses[0][4]
    if unit == "flag":
        return f"no {label} flag at {len(misses)} {tally}"
    values = [c[2] for c in misses if c[2] is not None]
    thresholds = sorted({c[3] for c in misses if c[3] is not None})
    value = _show(statistics.median(values), unit) if values else "?"
    low, high = _show(thresholds[0], unit), _show(thresholds[-1], unit)
    threshold = low if low == high else f"{low}–{high}"
    return f"{label} {value} < {threshold} at {len(misses)} {tally}"
