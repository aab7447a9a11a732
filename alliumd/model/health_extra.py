"""Network health figures added for parity with allium (issue 16), as plain numbers.

Pure functions over running relays (and, where named, the uptime entries,
the AROI model or the CollecTor summary); model/health/ turns them into
card rows.  Every function is one linear pass, computed once per input
version, never per page.
"""

from __future__ import annotations

import functools
import ipaddress
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from .percentiles import mean, median
from .uptime import PERIOD_INDEX, flag_histories

# flags whose running relays' observed bandwidth and 1-month flag uptime are tabulated
BANDWIDTH_FLAGS = ("Exit", "Guard", "Fast", "Stable", "HSDir", "V2Dir", "Authority", "MiddleOnly", "BadExit")
UPTIME_FLAGS = ("Running", "Exit", "Guard", "Fast", "Stable", "HSDir", "V2Dir", "Authority")
ANY_ADDRESS = frozenset({"*", "*4", "*6"})
FAMILY_PARAMS = ("use-family-ids", "use-family-lists")


def overloaded(running: Iterable[dict[str, Any]]) -> int:
    """Running relays whose descriptor reports a general overload (Onionoo ``overload_general_timestamp``)."""
    return sum(1 for r in running if r["overload_general_timestamp"] is not None)


def relay_ages(running: Iterable[dict[str, Any]], published: datetime | None,
               parse: Any) -> dict[str, Any]:
    """Mean and median age in days (first seen → the data's publication time) of the running relays."""
    if published is None:
        return {"count": 0, "mean": None, "median": None}
    ages = [(published - t).total_seconds() / 86400 for r in running if (t := parse(r["first_seen"])) is not None]
    return {"count": len(ages), "mean": mean(ages), "median": median(ages)}


def flag_bandwidth(running: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per flag: running relays holding it and the mean/median of their observed bandwidth (bytes/s)."""
    by_flag: dict[str, list[int]] = defaultdict(list)
    for r in running:
        bw = r["observed_bandwidth"]
        if bw is None:
            continue
        for f in r["flags"]:
            by_flag[f].append(bw)
    return [{"flag": f, "relays": len(by_flag[f]), "mean": mean(by_flag[f]), "median": median(by_flag[f])}
            for f in BANDWIDTH_FLAGS if by_flag.get(f)]


def flag_uptime(running: list[dict[str, Any]], entries: dict[str, dict[str, Any]],
                period: str = "1M") -> list[dict[str, Any]]:
    """Per flag: mean/median ``period`` uptime *of that flag* over running relays that hold it now and have
    a history of at least 30 points for it (model/uptime.py: a None value has fewer)."""
    values: dict[str, list[float]] = defaultdict(list)
    held: Counter = Counter()
    index = PERIOD_INDEX[period]
    for r in running:
        histories = flag_histories(entries.get(r["fingerprint"]))      # read once for all the relay's flags
        for f in r["flags"]:
            held[f] += 1
            history = histories.get(f)
            v = history[index] if history else None
            if v is not None:
                values[f].append(v)
    return [{"flag": f, "held": held[f], "relays": len(values[f]), "mean": mean(values[f]),
             "median": median(values[f])} for f in UPTIME_FLAGS if held[f]]


def _rule_address(rule: str) -> tuple[str, str] | None:
    """An exit policy line ("reject 10.0.0.0/8:*", "accept [::1]:80") → (action, address part)."""
    action, _, target = rule.partition(" ")
    if action not in ("accept", "reject") or ":" not in target:
        return None
    return action, target.rsplit(":", 1)[0]


@functools.lru_cache(maxsize=1 << 14)        # the same few hundred addresses recur in thousands of policies
def _network(address: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(address.strip("[]"), strict=False)
    except ValueError:
        return None


@functools.lru_cache(maxsize=1 << 14)        # its properties walk lists of networks: once per distinct address
def _is_private(address: str) -> bool:
    """``private`` or a private/reserved network: what tor's ExitPolicyRejectPrivate expands to."""
    if address == "private":
        return True
    net = _network(address)
    return net is not None and (net.is_private or net.is_reserved or net.is_loopback or net.is_link_local
                                or net.is_multicast)


def _own_addresses(relay: dict[str, Any]) -> set[str]:
    """The relay's own IPs (ExitPolicyRejectPrivate also rejects them): OR addresses without the port."""
    own = set(relay.get("exit_addresses") or ())
    for a in relay.get("or_addresses") or ():
        own.add(a.rsplit(":", 1)[0].strip("[]"))
    return own


@functools.lru_cache(maxsize=1 << 12)        # most exits share one of a few hundred full policies
def _policy_addresses(policy: tuple[str, ...]) -> tuple[bool, tuple[tuple[str, str], ...]]:
    """Whether ``policy`` rejects a private network, and its rules for particular public addresses
    (action, address without brackets): those count unless the address is the relay's own."""
    private, specific = False, []
    for rule in policy:
        parsed = _rule_address(rule)
        if parsed is None:
            continue
        action, address = parsed
        if address in ANY_ADDRESS:
            continue
        if _is_private(address):
            private = private or action == "reject"
            continue
        specific.append((action, address.strip("[]")))
    return private, tuple(specific)


def exit_ip_restrictions(exits: list[dict[str, Any]]) -> dict[str, int]:
    """How exits restrict destinations by address (their full exit policy, not the port summary).

    ``private``: rejects private networks (``private`` or its expansion: 10/8, 127/8, 192.168/16, …);
    ``reject_specific`` / ``accept_specific``: a rule for a particular public address or network other
    than the relay's own (which tor's ExitPolicyRejectPrivate rejects too); ``restricted``: either.
    """
    out = Counter()
    for r in exits:
        private, specific = _policy_addresses(tuple(r["exit_policy"]))
        kinds = {"private"} if private else set()
        if specific:
            own = _own_addresses(r)
            kinds.update(f"{action}_specific" for action, address in specific if address not in own)
        out.update(kinds)
        if kinds & {"reject_specific", "accept_specific"}:
            out["restricted"] += 1
    return {k: out[k] for k in ("private", "reject_specific", "accept_specific", "restricted")}


def weight_per_mbit(members: Iterable[dict[str, Any]]) -> float | None:
    """Consensus weight per Mbit/s of observed bandwidth of a set of relays (the utilization card's ratio)."""
    weight = observed = 0
    for r in members:
        weight += r["consensus_weight"]
        observed += r["observed_bandwidth"] or 0
    return weight / (observed * 8 / 1e6) if observed else None


def validated_stacks(running: list[dict[str, Any]], keys: dict[str, dict[str, Any]],
                     operators: dict[str, dict[str, Any]], validated: str) -> dict[str, Any]:
    """IPv4-only vs dual-stack (an IPv6 OR address too) running relays of operators whose AROI validates.

    Per class: relays, operators with at least one such relay, and the class's top country and AS by
    relays (ties: the smaller code).  ``operators`` is the AROI model's operator statuses.
    """
    classes = {"ipv4_only": [], "dual_stack": []}
    ops: dict[str, set[str]] = {"ipv4_only": set(), "dual_stack": set()}
    for r in running:
        gid = keys[r["fingerprint"]]["contact"]
        if gid is None or (operators.get(gid) or {}).get("status") != validated:
            continue
        kind = "dual_stack" if r["ipv6_addresses"] else "ipv4_only"
        classes[kind].append(r)
        ops[kind].add(gid)

    def top(members: list[dict[str, Any]], field: str) -> tuple[str | None, int]:
        counts = Counter(r[field] for r in members if r[field])
        if not counts:
            return None, 0
        return min(counts.items(), key=lambda kv: (-kv[1], kv[0]))

    return {kind: {"relays": len(members), "operators": len(ops[kind]),
                   "top_country": top(members, "country_code"), "top_as": top(members, "as_number")}
            for kind, members in classes.items()}


def happy_families(running: list[dict[str, Any]], keys: dict[str, dict[str, Any]],
                   collector: dict[str, Any] | None) -> dict[str, Any]:
    """The Happy Families migration: relays and operators publishing a family key (Onionoo ``family_ids``),
    by role and Tor version, with their bandwidth; and, with CollecTor votes, the consensus method and each
    authority's highest supported method and its ``use-family-ids``/``use-family-lists`` votes."""
    keyed = [r for r in running if r.get("family_ids")]
    ops_all = {keys[r["fingerprint"]]["contact"] for r in running} - {None}
    ops_keyed = {keys[r["fingerprint"]]["contact"] for r in keyed} - {None}
    observed = sum(r["observed_bandwidth"] or 0 for r in running)
    out: dict[str, Any] = {
        "running": len(running), "keyed": len(keyed),
        "operators": len(ops_all), "operators_keyed": len(ops_keyed),
        "observed": observed, "observed_keyed": sum(r["observed_bandwidth"] or 0 for r in keyed),
        "my_family_only": sum(1 for r in running if not r.get("family_ids")
                              and (r["family"] or r.get("alleged_family"))),
        "roles": {role: sum(1 for r in keyed if r["role"] == role) for role in ("exit", "guard", "middle")},
        "versions": sorted(Counter(r["version"] or "unknown" for r in keyed).items(),
                           key=lambda kv: (-kv[1], kv[0]))[:5],
        "authorities": None, "consensus_method": None,
    }
    if isinstance(collector, dict) and isinstance(collector.get("authorities"), list):
        rows = []
        for a in collector["authorities"]:
            vote = a.get("vote") if isinstance(a, dict) else None
            if not isinstance(vote, dict):
                continue
            methods = [m for m in vote.get("consensus_methods") or [] if isinstance(m, int)]
            params = vote.get("params") if isinstance(vote.get("params"), dict) else {}
            rows.append({"nickname": a.get("nickname") or a.get("id"), "max_method": max(methods, default=None),
                         **{p: params.get(p) for p in FAMILY_PARAMS}})
        out["authorities"] = rows
        consensus = collector.get("consensus")
        out["consensus_method"] = consensus.get("method") if isinstance(consensus, dict) else None
        cparams = consensus.get("params") if isinstance(consensus, dict) and isinstance(consensus.get("params"),
                                                                                        dict) else {}
        out["consensus_params"] = {p: cparams.get(p) for p in FAMILY_PARAMS}
    return out
