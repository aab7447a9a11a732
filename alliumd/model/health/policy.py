"""The exit policy card and the parsing of the relay model's exit policy summaries."""

from __future__ import annotations

from typing import Any

from .. import format as fmt, health_extra as extra
from .common import EXIT_PORTS, _card, _pct, _row, _table



def exit_policy_card(running: list[dict[str, Any]]) -> dict[str, Any]:
    exits = [r for r in running if r["is_exit"]]
    parsed: dict[str | None, Any] = {}           # exits share a few hundred distinct summaries
    policies = [parsed[s] if (s := r["exit_policy_summary"]) in parsed else parsed.setdefault(s, policy_ports(s))
                for r in exits]
    n = len(exits)
    weight = sum(r["exit_probability"] or 0 for r in exits)

    answers: dict[tuple[int, int], bool] = {}     # (policy object, port): each distinct policy asked once

    def allows_port(p: Any, port: int) -> bool:
        known = answers.get((id(p), port))
        if known is None:
            known = answers[id(p), port] = bool(p) and allows(p, port)
        return known

    def allowing(port: int) -> tuple[int, float]:
        hits = [r for r, p in zip(exits, policies) if allows_port(p, port)]
        return len(hits), sum(r["exit_probability"] or 0 for r in hits)

    web = [r for r, p in zip(exits, policies) if allows_port(p, 80) and allows_port(p, 443)]
    web_only = sum(1 for p in policies if p and p[0] == "accept" and _only(p, {80, 443}))
    reject_lists = sum(1 for p in policies if p and p[0] == "reject")
    rows = [_row("Exit relays", fmt.count(n)),
            _row("Allowing web traffic (80 and 443)", fmt.count(len(web)),
                 f"{_pct(len(web), n)} of exits, "
                 f"{_pct(sum(r['exit_probability'] or 0 for r in web), weight)} of exit probability"),
            _row("Web only (80/443)", fmt.count(web_only), _pct(web_only, n)),
            _row("Open policies (a reject list)", fmt.count(reject_lists), _pct(reject_lists, n)),
            _row("Allowing every port", fmt.count(sum(1 for p in policies if p and _all_ports(p)))),
            _row("Without a policy summary", fmt.count(sum(1 for p in policies if p is None)))]
    ip = extra.exit_ip_restrictions(exits)
    rows += [_row("Rejecting private networks", fmt.count(ip["private"]),
                  f"{_pct(ip['private'], n)} of exits (reject private:* or its expansion)"),
             _row("Restricted by destination address", fmt.count(ip["restricted"]),
                  f"{_pct(ip['restricted'], n)} of exits: a rule for particular public addresses (not their own)"),
             _row("Rejecting particular addresses", fmt.count(ip["reject_specific"]), _pct(ip["reject_specific"], n)),
             _row("Accepting particular addresses", fmt.count(ip["accept_specific"]),
                  _pct(ip["accept_specific"], n))]
    table_rows = []
    for port, name in EXIT_PORTS:
        count, prob = allowing(port)
        table_rows.append([f"{port} ({name})", fmt.count(count), _pct(count, n), _pct(prob, weight)])
    table = _table("Exits allowing common ports", ["Port", "Exits", "Share of exits", "Exit probability"],
                   table_rows)
    return _card("exits", "Exit policies", rows, tables=[table],
                 note=f"Of the {fmt.counted(n, 'running exit')}; the address rules come from each exit's full "
                      "policy, the ports from its summary.")


# -- exit policy summaries ------------------------------------------------------------------

def policy_ports(summary: str | None) -> tuple[str, list[tuple[int, int]]] | None:
    """Parse alliumd.model.relays' summary text ("accept 80, 443, 1000-2000") into (action, ranges)."""
    if not summary:
        return None
    action, _, rest = summary.partition(" ")
    if action not in ("accept", "reject"):
        return None
    ranges = []
    for item in rest.split(","):
        low, _, high = item.strip().partition("-")
        try:
            a = int(low)
            b = int(high) if high else a
        except ValueError:
            continue
        ranges.append((a, b))
    return action, ranges


def allows(policy: tuple[str, list[tuple[int, int]]], port: int) -> bool:
    action, ranges = policy
    listed = any(a <= port <= b for a, b in ranges)
    return listed if action == "accept" else not listed


def _only(policy, ports: set[int]) -> bool:
    return all(a == b and a in ports for a, b in policy[1])


def _all_ports(policy) -> bool:
    action, ranges = policy
    return (action == "accept" and (1, 65535) in ranges) or (action == "reject" and not ranges)
