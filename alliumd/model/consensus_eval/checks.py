"""The flag rules one authority applies to one relay (tor's voteflags.c as allium summarises them), as checks."""

from __future__ import annotations

from typing import Any

from .. import format as fmt


VOTE_BW_UNIT = 1000                   # w Bandwidth=/Measured= are in kB/s
GUARD_BW_GUARANTEE = 2_000_000        # AuthDirGuardBWGuarantee, bytes/s
MTBF_GUARANTEE_STABLE = 5 * 86400     # MTBF_TO_GUARANTEE_STABLE, seconds
HSDIR_WFU = 0.98                      # allium's HSDir stand-ins (flag_thresholds.py)
HSDIR_TK = 25 * 3600
MIN_MEASUREMENTS = 3                  # the consensus uses Measured= from at least this many bandwidth authorities
DESCRIPTOR_OLD = 18 * 3600            # a descriptor older than this at valid-after is worth a warning
CHECKED_FLAGS = ("Guard", "Stable", "Fast", "HSDir")
SHOWN_FLAGS = ("Running", "Valid", "Fast", "Stable", "Guard", "HSDir", "V2Dir", "Exit", "BadExit", "MiddleOnly",
               "StaleDesc", "Authority")
YES, NO, UNKNOWN = "yes", "no", "unknown"


def _number(value: Any) -> float | None:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def credible_bandwidth(cell: dict[str, Any], thresholds: dict[str, float]) -> tuple[int | None, str]:
    """(bytes/s, where it comes from) an authority bases Fast and Guard on."""
    measured, advertised = _number(cell.get("measured")), _number(cell.get("bandwidth"))
    if measured is not None:
        return int(measured * VOTE_BW_UNIT), "measured"
    if thresholds.get("ignoring-advertised-bws") == 1:
        return 0, "not measured (counts as 0)"
    if advertised is not None:
        return int(advertised * VOTE_BW_UNIT), "self-reported"
    return None, "unknown"


class Check(tuple):
    """One requirement: (ok: True/False/None for unknown, label, the relay's value, threshold, unit).

    A plain tuple (cheap: ~50 per relay and authority); its text is made
    only for the requirements a page shows (:func:`check_text`, :func:`check_reason`).
    """

    __slots__ = ()


def _at_least(value: float | None, threshold: float | None, label: str, unit: str) -> Check:
    ok = None if value is None or threshold is None else value >= threshold
    return Check((ok, label, value, threshold, unit))


def _has(flags: set[str] | frozenset[str], flag: str) -> Check:
    return Check((flag in flags, flag, None, None, "flag"))


def _show(value: float, unit: str) -> str:
    if unit == "bw":
        return fmt.bandwidth(value)
    if unit == "pct":
        return f"{value * 100:.1f}%"
    return fmt.duration(value)


def check_text(check: Check) -> str:
    """The requirement with the relay's figure: 'WFU 95.0% < 98.0%', 'Fast flag not assigned …'."""
    ok, label, value, threshold, unit = check
    if unit == "flag":
        return f"{label} flag {'assigned' if ok else 'not assigned'} by this authority"
    if threshold is None:
        return f"{label}: this authority publishes no threshold"
    if value is None:
        return f"{label} ≥ {_show(threshold, unit)}: not in the vote"
    return f"{label} {_show(value, unit)} {'≥' if ok else '<'} {_show(threshold, unit)}"


def check_reason(checks: list[Check]) -> str:
    """One requirement failed at one or more authorities, without the relay's figures:
    'no Fast flag', 'WFU below 98.0%', 'bandwidth below 424.0 kbit/s–768.0 kbit/s' (thresholds differ)."""
    _, label, _, _, unit = checks[0]
    if unit == "flag":
        return f"no {label} flag"
    thresholds = sorted({c[3] for c in checks if c[3] is not None})
    if not thresholds:
        return f"{label}: no threshold"
    low, high = _show(thresholds[0], unit), _show(thresholds[-1], unit)
    return f"{label} below {low}" if low == high else f"{label} below {low}–{high}"


def requirements(cell: dict[str, Any], flags: set[str] | frozenset[str],
                 thresholds: dict[str, float]) -> dict[str, list[Check]]:
    """Per checked flag, every requirement with its outcome (True, False, or None: unknown)."""
    bw, _ = credible_bandwidth(cell, thresholds)
    wfu, tk, mtbf = _number(cell.get("wfu")), _number(cell.get("tk")), _number(cell.get("mtbf"))
    stable_mtbf = thresholds.get("stable-mtbf")
    guard_bws = [thresholds[k] for k in ("guard-bw-inc-exits", "guard-bw-exc-exits") if k in thresholds]
    has_fast, has_stable, has_v2dir = _has(flags, "Fast"), _has(flags, "Stable"), _has(flags, "V2Dir")
    return {
        "Guard": [has_fast, has_stable, has_v2dir,
                  _at_least(bw, min([GUARD_BW_GUARANTEE, *guard_bws]), "bandwidth", "bw"),
                  _at_least(wfu, thresholds.get("guard-wfu"), "WFU", "pct"),
                  _at_least(tk, thresholds.get("guard-tk"), "time known", "dur")],
        "Stable": [_at_least(mtbf, min(stable_mtbf, MTBF_GUARANTEE_STABLE) if stable_mtbf is not None else None,
                             "MTBF", "dur")],
        "Fast": [_at_least(bw, thresholds.get("fast-speed"), "bandwidth", "bw")],
        "HSDir": [has_stable, has_fast, has_v2dir,
                  _at_least(wfu, HSDIR_WFU, "WFU (estimate)", "pct"),
                  _at_least(tk, HSDIR_TK, "time known (estimate)", "dur")],
    }


def _outcome(checks: list[Check]) -> str:
    outcomes = {c[0] for c in checks}
    if False in outcomes:
        return NO
    return UNKNOWN if None in outcomes else YES
