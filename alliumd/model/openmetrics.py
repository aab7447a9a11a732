"""A relay's or operator's external view as OpenMetrics text (``metrics.txt``), as plain data (pure).

Operators scrape it next to their relay's own MetricsPort: what the
network sees of the relay (flags, weight, probabilities, bandwidth, uptime,
overload, authority votes per flag, AROI validation).  The view is a list of
metric families; :func:`exposition` writes them.  Label values are
only fingerprints, flag names, periods and positions, checked against
:data:`LABEL_RE` here, so nothing operator-controlled reaches the text
(OpenMetrics has its own escaping; a label that would need it is dropped).
"""

from __future__ import annotations

import math
import re
from typing import Any

LABEL_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
FLAGS = ("Authority", "BadExit", "Exit", "Fast", "Guard", "HSDir", "MiddleOnly", "Running", "Stable", "StaleDesc",
         "V2Dir", "Valid")
UPTIME_PERIODS = ("1M", "6M", "1Y", "5Y")


def _value(value: Any) -> str | None:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and math.isfinite(value):
        return repr(value)
    return None


def _family(name: str, help_text: str, samples: list[tuple[dict[str, str], Any]]) -> dict[str, Any] | None:
    """A gauge family from (labels, value) samples: a sample with a label value outside LABEL_RE, or a
    value that is not a finite number, is left out; no sample left, no family."""
    return _gauges(name, help_text, [(tuple(sorted(labels.items())), value) for labels, value in samples
                                     if all(_label_ok(v) for v in labels.values())])


def _gauges(name: str, help_text: str, samples: list[tuple[tuple, Any]]) -> dict[str, Any] | None:
    """:func:`_family` of samples whose labels are checked already, as (name, value) pairs in name order."""
    rows = [{"labels": labels, "value": text} for labels, value in samples if (text := _value(value)) is not None]
    return {"name": name, "help": help_text, "type": "gauge", "samples": rows} if rows else None


def _label_ok(value: str) -> bool:
    return LABEL_RE.fullmatch(value) is not None


def exposition(families: list[dict[str, Any]]) -> str:
    """The families as OpenMetrics text, ending in ``# EOF``.

    A data format, written by a serialiser as JSON is (not a template: HTML
    escaping would be wrong here, it turned "network's" into "network&#39;s").
    ``families`` come from :func:`relay_families` or :func:`operator_families`:
    names are fixed vocabulary, every label value matched :data:`LABEL_RE`
    (nothing to escape) and every value is a number's text.  The HELP texts,
    also ours, get the format's escapes all the same.
    """
    lines = []
    for f in families:
        name = f["name"]
        lines.append(f"# TYPE {name} {f['type']}\n# HELP {name} {_escaped(f['help'])}")
        for s in f["samples"]:
            labels = s["labels"]
            if labels:
                inner = ",".join([f'{k}="{v}"' for k, v in labels])
                lines.append(f"{name}{{{inner}}} {s['value']}")
            else:
                lines.append(f"{name} {s['value']}")
    lines.append("# EOF\n")
    return "\n".join(lines)


def _escaped(text: str) -> str:
    """A HELP text with OpenMetrics' escapes (backslash, double quote, line feed); label values never need
    them (LABEL_RE)."""
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") if _NEEDS_ESCAPE(text) else text


_NEEDS_ESCAPE = re.compile(r'[\\"\n]').search


RELAY_FIELDS = ("fingerprint", "flags", "running", "consensus_weight", "consensus_weight_fraction",
                "guard_probability", "middle_probability", "exit_probability", "observed_bandwidth",
                "advertised_bandwidth", "overload_general_timestamp")


def relay_fields(relay: dict[str, Any]) -> dict[str, Any]:
    """The part of a relay view :func:`relay_families` reads (what a render worker needs of it)."""
    return {k: relay[k] for k in RELAY_FIELDS if k in relay}


def relay_families(relay: dict[str, Any], uptime_entry: dict | None, flag_votes: list[dict[str, Any]] | None,
                   aroi_status: str | None) -> list[dict[str, Any]]:
    """The metric families of one relay (``flag_votes``: consensus_eval's flag rows, None without votes)."""
    fingerprint = relay["fingerprint"]
    if not _label_ok(fingerprint):                 # every sample is labelled with it
        return []
    fp = (("fingerprint", fingerprint),)          # then "flag", "period", "position": the names in order
    flags = set(relay.get("flags") or [])
    uptime = (uptime_entry or {}).get("uptime") or {}
    votes = [r for r in flag_votes or () if _label_ok(r["flag"])]
    families = [
        _gauges("tor_relay_running", "1 if the relay is in the current consensus (Onionoo running)",
                [(fp, bool(relay.get("running")))]),
        _gauges("tor_relay_flag", "1 if the consensus assigns the flag",
                [((*fp, ("flag", f)), f in flags) for f in FLAGS]),
        _gauges("tor_relay_consensus_weight", "consensus weight", [(fp, relay.get("consensus_weight"))]),
        _gauges("tor_relay_consensus_weight_fraction", "share of the network's consensus weight",
                [(fp, relay.get("consensus_weight_fraction"))]),
        _gauges("tor_relay_probability", "probability of being chosen for a position",
                [((*fp, ("position", p)), relay.get(f"{p}_probability")) for p in ("guard", "middle", "exit")]),
        _gauges("tor_relay_observed_bandwidth_bytes_per_second", "observed bandwidth (bytes/s)",
                [(fp, relay.get("observed_bandwidth"))]),
        _gauges("tor_relay_advertised_bandwidth_bytes_per_second", "advertised bandwidth (bytes/s)",
                [(fp, relay.get("advertised_bandwidth"))]),
        _gauges("tor_relay_uptime_ratio", "share of the period the relay was running (Onionoo uptime)",
                [((*fp, ("period", p)), _ratio(uptime.get(p))) for p in UPTIME_PERIODS]),
        _gauges("tor_relay_overloaded", "1 if the relay reports general overload",
                [(fp, relay.get("overload_general_timestamp") is not None)]),
        _gauges("tor_relay_flag_votes", "authorities voting the flag for this relay (latest votes)",
                [((*fp, ("flag", r["flag"])), r["votes"]) for r in votes]),
        _gauges("tor_relay_flag_votes_needed", "votes the flag needs (majority of the authorities voting on it)",
                [((*fp, ("flag", r["flag"])), r["needed"]) for r in votes if r.get("needed")]),
        _gauges("tor_relay_aroi_validated", "1 if the operator's AROI proof validates this relay",
                [(fp, aroi_status == "validated")] if aroi_status is not None else []),
    ]
    return [f for f in families if f is not None]


def operator_families(members: list[dict[str, Any]], aroi_validated: int | None) -> list[dict[str, Any]]:
    """An operator's totals and one running/weight sample per relay (``members``: relay views)."""
    running = [r for r in members if r.get("running")]
    total = {}
    for key in ("consensus_weight", "consensus_weight_fraction", "guard_probability", "middle_probability",
                "exit_probability", "observed_bandwidth", "advertised_bandwidth"):
        values = [r.get(key) for r in running if _value(r.get(key)) is not None]
        total[key] = sum(values) if values else 0
    families = [
        _family("tor_operator_relays", "relays listed with this contact", [({}, len(members))]),
        _family("tor_operator_relays_running", "of them in the current consensus", [({}, len(running))]),
        _family("tor_operator_consensus_weight", "consensus weight of the running relays",
                [({}, total["consensus_weight"])]),
        _family("tor_operator_consensus_weight_fraction", "their share of the network's consensus weight",
                [({}, float(total["consensus_weight_fraction"]))]),
        _family("tor_operator_probability", "probability of being chosen for a position",
                [({"position": p}, float(total[f"{p}_probability"])) for p in ("guard", "middle", "exit")]),
        _family("tor_operator_observed_bandwidth_bytes_per_second", "observed bandwidth of the running relays",
                [({}, total["observed_bandwidth"])]),
        _family("tor_operator_advertised_bandwidth_bytes_per_second", "advertised bandwidth of the running relays",
                [({}, total["advertised_bandwidth"])]),
        _family("tor_operator_aroi_validated_relays", "relays the operator's AROI proof validates",
                [({}, aroi_validated)] if aroi_validated is not None else []),
        _family("tor_relay_running", "1 if the relay is in the current consensus",
                [({"fingerprint": r["fingerprint"]}, bool(r.get("running"))) for r in members]),
        _family("tor_relay_consensus_weight", "consensus weight",
                [({"fingerprint": r["fingerprint"]}, r.get("consensus_weight")) for r in members]),
        _family("tor_relay_flag", "1 if the consensus assigns the flag",
                [({"fingerprint": r["fingerprint"], "flag": f}, f in (r.get("flags") or []))
                 for r in members for f in ("Guard", "Exit", "Stable", "Fast", "HSDir")]),
    ]
    return [f for f in families if f is not None]


def _ratio(percent: Any) -> float | None:
    """Uptime entries hold percentages (0–100)."""
    if isinstance(percent, (int, float)) and not isinstance(percent, bool) and math.isfinite(percent):
        return round(percent / 100.0, 6)
    return None
