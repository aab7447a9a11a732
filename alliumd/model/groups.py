"""Relay groupings: family, AS, contact, country, platform, flag and first-seen day.

Built once per details version in a single pass over the relay model (plus
one walk over effective families), so every group page, every sorted
listing and the search index read the same precomputed aggregates.

What allium got wrong and this fixes:

* one family is one group (the connected set of relays that list each other
  in ``effective_family``), named by ``identity.family_id``; allium made one
  near-identical page per member fingerprint;
* a declaration counts only when it is mutual, so a relay cannot join
  somebody else's family by listing it;
* contacts are grouped by strictly validated AROI domain, else by hash;
* aggregate figures (roles, bandwidth, weight, probabilities) cover running
  relays only, like the network overview; listed-but-down relays stay in the
  relay table.

Everything operator-controlled that reaches a view goes through
``clean_text`` (no control characters, no lone surrogates, bounded length),
so pages and JSON stay valid whatever the document holds.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from .. import paths
from ..core.text import plain_text
from . import charts, format as fmt, identity
from ..core.gcpause import gc_paused
from .relays import RelayModel

KINDS = ("family", "as", "contact", "country", "platform", "flag", "first_seen")
ROLES = ("exit", "guard", "middle")

# listing kind (URL word) → group kind
LIST_KINDS = {"families": "family", "networks": "as", "contacts": "contact",
              "countries": "country", "platforms": "platform"}
LIST_TITLES = {"families": "Families", "networks": "Networks (AS)", "contacts": "Contacts",
               "countries": "Countries", "platforms": "Platforms"}

LABEL_LIMIT = 80            # list/table labels
CONTACT_TEXT_LIMIT = 2000   # the contact text on a contact page


def clean_text(value: Any, limit: int = LABEL_LIMIT) -> str | None:
    """Operator text fit for display: control chars and lone surrogates removed, length bounded."""
    if not isinstance(value, str) or not value:
        return None
    return plain_text(value, limit, ellipsis=True) or None


# -- the model ------------------------------------------------------------------------------

@dataclass(slots=True)
class Group:
    """Aggregates of one group; ``fingerprints`` keep the relay model's order (weight desc)."""

    kind: str
    id: str
    fingerprints: list[str] = field(default_factory=list)
    running: int = 0
    role_count: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ROLES, 0))
    role_bandwidth: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ROLES, 0))
    role_weight: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ROLES, 0))
    bandwidth: int = 0                  # observed, running relays
    advertised: int = 0
    consensus_weight: int = 0
    weight_fraction: float = 0.0
    probability: dict[str, float] = field(default_factory=lambda: dict.fromkeys(ROLES, 0.0))
    as_ids: set[str] = field(default_factory=set)
    countries: set[str] = field(default_factory=set)
    contacts: set[str] = field(default_factory=set)
    families: set[str] = field(default_factory=set)
    first_seen: str | None = None       # "YYYY-MM-DD HH:MM:SS UTC" of the oldest relay
    names: Counter = field(default_factory=Counter)       # label candidates
    platforms: Counter = field(default_factory=Counter)
    versions: Counter = field(default_factory=Counter)
    label: str = ""

    @property
    def size(self) -> int:
        return len(self.fingerprints)


@dataclass
class GroupsModel:
    published: str
    groups: dict[str, dict[str, Group]]          # kind → id → group, ids sorted
    rows: dict[str, dict[str, Any]]              # fingerprint → lean relay row for tables
    relay_keys: dict[str, dict[str, Any]]        # fingerprint → {"family", "contact", "as", ...} ids
    network_role_weight: dict[str, int]          # running relays' weight per role (listings only)
    # what it was built from (relay views by fingerprint) and the family walk's result, for updates
    source: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)
    family_of: dict[str, str] = field(default_factory=dict, repr=False)
    columns: "_Columns | None" = field(default=None, repr=False)


INCREMENTAL_LIMIT = 100       # changed relays up to which a new model is derived from the previous one


def build_groups(model: RelayModel, previous: GroupsModel | None = None) -> GroupsModel:
    """Group every relay of the model; pure and O(relays + family declarations).

    One pass records memberships; aggregates are then computed per group
    from per-relay columns with map/sum/Counter (C loops): about 0.5 s of
    CPU for the 10k-relay bench network on the 2-core build host.  Given
    the ``previous`` model, a document in which a few relays changed
    without changing group (their views are new objects, everything else
    is shared, see model/relays.py) only re-aggregates their groups.
    """
    with gc_paused():           # acyclic data built next to the large details document
        if previous is not None:
            updated = _update_groups(model, previous)
            if updated is not None:
                return updated
        return _build_groups(model)


def _update_groups(model: RelayModel, prev: GroupsModel) -> GroupsModel | None:
    """The previous model with the groups of changed relays re-aggregated; None: build from scratch.

    Falls back when relays came or went, when many changed, when a changed
    relay's family declaration changed (families are a walk over the whole
    network) or when it moved to another group (a new contact, country…).
    """
    new, old = model.by_fingerprint, prev.source
    if not old or new.keys() != old.keys():
        return None
    changed = [fp for fp, relay in new.items() if relay is not old[fp]]
    if len(changed) > INCREMENTAL_LIMIT:
        return None
    ids = _IdCache()
    for fp in changed:
        if new[fp]["family"] != old[fp]["family"] or \
                relay_group_keys(new[fp], prev.family_of.get(fp), ids) != prev.relay_keys[fp]:
            return None
    dirty: set[tuple[str, str]] = set()
    for fp in changed:
        keys = prev.relay_keys[fp]
        dirty.update((kind, keys[kind]) for kind in ("family", "as", "contact", "country", "platform",
                                                     "first_seen") if keys[kind] is not None)
        dirty.update(("flag", gid) for gid, _ in keys["flags"])
    rows = dict(prev.rows)
    for fp in changed:
        rows[fp] = relay_row(new[fp])
    position = {r["fingerprint"]: i for i, r in enumerate(model.relays)}
    columns = prev.columns.patched(model.relays, [new[fp] for fp in changed]) if prev.columns is not None \
        else _Columns(model.relays, prev.relay_keys)
    groups = {kind: dict(by_id) for kind, by_id in prev.groups.items()}
    for kind, gid in dirty:
        before = prev.groups[kind][gid]
        group = Group(kind, gid, sorted(before.fingerprints, key=position.__getitem__))
        if kind == "flag":
            group.names = Counter(before.names)           # flag names come from the (unchanged) memberships
        _aggregate(group, columns)
        group.label = group_label(group, model)
        groups[kind][gid] = group
    return GroupsModel(model.published, groups, rows, prev.relay_keys, _network_role_weight(columns),
                       source=new, family_of=prev.family_of, columns=columns)


def _build_groups(model: RelayModel) -> GroupsModel:
    families = family_ids(model.relays)
    groups: dict[str, dict[str, Group]] = {kind: {} for kind in KINDS}
    rows: dict[str, dict[str, Any]] = {}
    relay_keys: dict[str, dict[str, Any]] = {}
    ids = _IdCache()
    for relay in model.relays:
        fp = relay["fingerprint"]
        keys = relay_group_keys(relay, families.get(fp), ids)
        relay_keys[fp] = keys
        rows[fp] = relay_row(relay)
        for kind in ("family", "as", "contact", "country", "platform", "first_seen"):
            if keys[kind] is not None:
                _member(groups[kind], kind, keys[kind]).fingerprints.append(fp)
        for gid, flag in keys["flags"]:
            group = _member(groups["flag"], "flag", gid)
            group.fingerprints.append(fp)
            group.names[flag] += 1
    columns = _Columns(model.relays, relay_keys)
    for kind, by_id in groups.items():
        for group in by_id.values():
            _aggregate(group, columns)
            group.label = group_label(group, model)
        groups[kind] = dict(sorted(by_id.items()))
    return GroupsModel(model.published, groups, rows, relay_keys, _network_role_weight(columns),
                       source=model.by_fingerprint, family_of=families, columns=columns)


def _network_role_weight(columns: _Columns) -> dict[str, int]:
    return {role: sum(map(columns.weight.__getitem__, columns.running_in(role, columns.all))) for role in ROLES}


def _member(by_id: dict[str, Group], kind: str, gid: str) -> Group:
    group = by_id.get(gid)
    if group is None:
        group = by_id[gid] = Group(kind, gid)
    return group


def family_ids(relays: list[dict[str, Any]]) -> dict[str, str]:
    """Fingerprint → family id for relays in a family of two or more present, mutual members.

    A family is a connected set over mutual declarations (A lists B and B
    lists A), found by a walk from each relay not yet placed.
    """
    declared = {r["fingerprint"]: set(r["family"]) for r in relays if r["family"]}
    placed: set[str] = set()
    out: dict[str, str] = {}
    for start in declared:
        if start in placed:
            continue
        placed.add(start)
        component, stack = [start], [start]
        while stack:
            fp = stack.pop()
            for member in declared[fp]:
                if member not in placed and fp in declared.get(member, ()):
                    placed.add(member)
                    component.append(member)
                    stack.append(member)
        fid = identity.family_id(component)
        if fid is not None:
            for fp in component:
                out[fp] = fid
    return out


class _IdCache:
    """Identity functions memoized per distinct input: thousands of relays share a few hundred values."""

    def __init__(self) -> None:
        self._memo: dict[tuple[Callable, Any], Any] = {}

    def __call__(self, fn: Callable[[Any], Any], value: Any) -> Any:
        key = (fn, value)
        try:
            return self._memo[key]
        except KeyError:
            result = self._memo[key] = fn(value)
            return result


def relay_group_keys(relay: dict[str, Any], family: str | None, ids: Callable | None = None) -> dict[str, Any]:
    """The path-safe ids of every group a relay belongs to (None where it has none)."""
    ids = ids or (lambda fn, value: fn(value))
    flags = []
    for flag in relay["flags"]:
        fid = ids(identity.flag_id, flag)
        if fid is not None:
            flags.append((fid, flag))
    return {
        "family": family,
        "contact": ids(contact_group_id, relay["contact"]),
        "aroi": ids(identity.aroi_domain, relay["contact"]),
        "as": ids(identity.as_id, relay["as_number"]),
        "country": ids(identity.country_id, relay["country"]),
        "platform": ids(identity.platform_id, relay["os"]),
        "first_seen": ids(identity.date_id, relay["first_seen_date"]),
        "flags": flags,
    }


def contact_group_id(contact: str | None) -> str | None:
    """``identity.contact_id``, falling back to the hash when a domain is too long for a path segment."""
    cid = identity.contact_id(contact)
    if cid is None:
        return None
    try:
        paths.relpath(cid)
    except paths.UnsafePath:
        return identity.contact_hash(contact)
    return cid


def relay_row(relay: dict[str, Any]) -> dict[str, Any]:
    """What group tables show of a relay (shared by every table it appears in)."""
    return {
        "fingerprint": relay["fingerprint"],
        "nickname": clean_text(relay["nickname"], 40) or "Unnamed",
        "running": relay["running"],
        "flags": clean_text(relay["flags_text"], 200) or "",
        "country": relay["country_code"],
        "as": relay["as_number"],
        "bandwidth": relay["observed_bandwidth_text"],
        "consensus_weight": relay["consensus_weight"],
    }


class _Columns:
    """Per-relay values keyed by fingerprint: one dict per field, read with map() per group.

    Kept with the model: an update in which a few relays changed patches
    copies of the previous columns (C-speed dict copies) instead of reading
    every relay again.
    """

    NAME_FIELDS = {"as": "as_name", "country": "country_name", "platform": "os", "contact": "contact"}
    READERS: dict[str, Callable[[dict[str, Any]], Any]] = {
        "running": lambda r: r["running"],
        "role": lambda r: r["role"],
        "observed": lambda r: r["observed_bandwidth"] or 0,
        "advertised": lambda r: r["advertised_bandwidth"] or 0,
        "weight": lambda r: r["consensus_weight"],
        "fraction": lambda r: r["consensus_weight_fraction"] or 0.0,
        "os": lambda r: r["os"],
        "version": lambda r: r["version"],
        "first_seen": lambda r: r["first_seen"] if r["first_seen"] != fmt.MISSING else None,
    }

    def __init__(self, relays: list[dict[str, Any]], keys: dict[str, dict[str, Any]]):
        self.all = [r["fingerprint"] for r in relays]
        by_fp = {r["fingerprint"]: r for r in relays}

        def column(read: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
            return {fp: read(r) for fp, r in by_fp.items()}

        for name, read in self.READERS.items():
            setattr(self, name, column(read))
        self.probability = {role: column(lambda r, role=role: r[f"{role}_probability"] or 0.0) for role in ROLES}
        self.names = {kind: column(lambda r, f=f: r[f]) for kind, f in self.NAME_FIELDS.items()}
        self.ids = {kind: {fp: k[kind] for fp, k in keys.items()} for kind in ("as", "country", "contact", "family")}

    def patched(self, relays: list[dict[str, Any]], changed: list[dict[str, Any]]) -> "_Columns":
        """A copy with the values of ``changed`` relays (same fingerprints, same group ids) read again."""
        new = object.__new__(_Columns)
        new.all = [r["fingerprint"] for r in relays]
        for name, read in self.READERS.items():
            column = dict(getattr(self, name))
            column.update((r["fingerprint"], read(r)) for r in changed)
            setattr(new, name, column)
        new.probability = {}
        for role, old in self.probability.items():
            column = new.probability[role] = dict(old)
            column.update((r["fingerprint"], r[f"{role}_probability"] or 0.0) for r in changed)
        new.names = {}
        for kind, old in self.names.items():
            column = new.names[kind] = dict(old)
            column.update((r["fingerprint"], r[self.NAME_FIELDS[kind]]) for r in changed)
        new.ids = self.ids                # group ids of changed relays are unchanged (else no update)
        return new

    def running_in(self, role: str | None, fingerprints: list[str]) -> list[str]:
        running, roles = self.running, self.role
        return [fp for fp in fingerprints if running[fp] and (role is None or roles[fp] == role)]


def _aggregate(group: Group, c: _Columns) -> None:
    fps = group.fingerprints
    running = c.running_in(None, fps)
    group.running = len(running)
    for role in ROLES:
        members = [fp for fp in running if c.role[fp] == role] if running else []
        group.role_count[role] = len(members)
        group.role_bandwidth[role] = sum(map(c.observed.__getitem__, members))
        group.role_weight[role] = sum(map(c.weight.__getitem__, members))
        group.probability[role] = sum(map(c.probability[role].__getitem__, running))
    group.bandwidth = sum(group.role_bandwidth.values())
    group.consensus_weight = sum(group.role_weight.values())
    group.advertised = sum(map(c.advertised.__getitem__, running))
    group.weight_fraction = sum(map(c.fraction.__getitem__, running))
    group.first_seen = min(filter(None, map(c.first_seen.__getitem__, fps)), default=None)
    group.platforms = Counter(map(c.os.__getitem__, fps))
    group.versions = Counter(map(c.version.__getitem__, fps))
    if group.kind in c.names:
        group.names = Counter(map(c.names[group.kind].__getitem__, fps))
    for kind, seen in (("as", group.as_ids), ("country", group.countries), ("contact", group.contacts),
                       ("family", group.families)):
        seen.update(map(c.ids[kind].__getitem__, fps))
        seen.discard(None)


def group_label(group: Group, model: RelayModel) -> str:
    """A short display name: the AS name, country name, OS, flag, day, AROI domain or contact text."""
    if group.kind == "family":
        top = model.by_fingerprint[group.fingerprints[0]]
        return clean_text(top["nickname"], 40) or group.id
    if group.kind == "contact" and "." in group.id:
        return group.id                                   # the AROI domain
    if group.kind == "first_seen":
        return group.id
    name = most_common(group.names)
    if group.kind == "country":
        return f"{clean_text(name) or group.id.upper()} ({group.id.upper()})"
    if group.kind == "as":
        text = clean_text(name)
        return f"{group.id} {text}" if text else group.id
    return clean_text(name) or group.id


def most_common(counter: Counter) -> str | None:
    """The most frequent non-empty value; ties go to the smallest, so the choice is deterministic."""
    best = None
    for value, n in counter.items():
        if not isinstance(value, str) or not value:
            continue
        if best is None or n > best[0] or (n == best[0] and value < best[1]):
            best = (n, value)
    return best[1] if best else None


# -- views ----------------------------------------------------------------------------------

def summary(group: Group) -> dict[str, Any]:
    """The group's figures as shown on its page (display strings, rounded like the page shows them)."""
    return {
        "relays": group.size,
        "running": group.running,
        "exit": group.role_count["exit"],
        "guard": group.role_count["guard"],
        "middle": group.role_count["middle"],
        "observed_bandwidth": fmt.bandwidth(group.bandwidth),
        "advertised_bandwidth": fmt.bandwidth(group.advertised),
        "consensus_weight": group.consensus_weight,
        "consensus_weight_fraction": fmt.percent(group.weight_fraction),
        "guard_probability": fmt.percent(group.probability["guard"]),
        "middle_probability": fmt.percent(group.probability["middle"]),
        "exit_probability": fmt.percent(group.probability["exit"]),
        "unique_as": len(group.as_ids),
        "unique_countries": len(group.countries),
        "unique_contacts": len(group.contacts),
        "unique_families": len(group.families),
        "first_seen": group.first_seen[:10] if group.first_seen else fmt.MISSING,
        "platforms": _tally(group.platforms),
        "versions": _tally(group.versions),
    }


def _tally(counter: Counter) -> list[dict[str, Any]]:
    """[{"name", "count"}] most frequent first; unknown values are counted as "unknown"."""
    merged: Counter = Counter()
    for value, n in counter.items():
        merged[clean_text(value, 40) or "unknown"] += n
    return [{"name": name, "count": n} for name, n in sorted(merged.items(), key=lambda kv: (-kv[1], kv[0]))]


def contact_texts(group: Group) -> list[str]:
    """The distinct contact strings of a contact group, most used first (text only, never links)."""
    texts = [clean_text(c, CONTACT_TEXT_LIMIT) for c, _ in
             sorted(group.names.items(), key=lambda kv: (-kv[1], str(kv[0])))]
    return [t for t in texts if t]


# -- uptime and bandwidth at a glance (contact, family, flag and top pages) ------------------

def uptime_text(pct: Any) -> str:
    """A 0–100 uptime percentage with one decimal: 99.94 → "99.9%"."""
    if not isinstance(pct, (int, float)) or isinstance(pct, bool) or pct != pct:
        return fmt.MISSING
    return f"{pct:.1f}%"


_DATA_UNITS = ("B", "kB", "MB", "GB", "TB", "PB", "EB")


def data_size(value: Any) -> str:
    """A byte count with SI units and three significant digits: 1_234_000_000 → "1.23 GB"."""
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value != value or value < 0:
        return fmt.MISSING
    size, unit = float(value), 0
    while size >= 999.5 and unit < len(_DATA_UNITS) - 1:
        size /= 1000
        unit += 1
    return f"{size:.0f} B" if unit == 0 else f"{size:.3g} {_DATA_UNITS[unit]}"


def uptime_value(pct: Any) -> float | None:
    """A 0–100 uptime percentage as a number rounded like :func:`uptime_text` (None if unknown).

    Rounded so that a row (and the page key of a view holding it) changes
    only when its shown uptime does.
    """
    if not isinstance(pct, (int, float)) or isinstance(pct, bool) or not math.isfinite(pct):
        return None
    return round(min(100.0, max(0.0, float(pct))), 1)


def relay_uptime(uptime_model: Any, fingerprint: str, period: str = "6M") -> float | None:
    entry = uptime_model.relays.get(fingerprint) if uptime_model is not None else None
    value = entry.get("uptime", {}).get(period) if isinstance(entry, dict) else None
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def relay_total_data(bandwidth_model: Any, fingerprint: str) -> tuple[int | None, str | None]:
    entry = bandwidth_model.relays.get(fingerprint) if bandwidth_model is not None else None
    if not isinstance(entry, dict):
        return None, None
    value = entry.get("total_data")
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return None, None
    return int(value), entry.get("total_data_period")


def rows_with_history(groups: GroupsModel, fingerprints: Iterable[str], uptime_model: Any,
                      bandwidth_model: Any, total_data: bool) -> list[dict[str, Any]]:
    """Table rows plus the relay's 6-month uptime and, if ``total_data``, the data it moved."""
    return [history_row(groups.rows[fp], fp, uptime_model, bandwidth_model, total_data) for fp in fingerprints]


def history_row(row: dict[str, Any], fp: str, uptime_model: Any, bandwidth_model: Any,
                total_data: bool) -> dict[str, Any]:
    """A copy of a relay's table row with its 6-month uptime (and its total data)."""
    row = dict(row)
    uptime = relay_uptime(uptime_model, fp)
    row["uptime"] = uptime_text(uptime)
    row["uptime_pct"] = uptime_value(uptime)
    if total_data:
        total, period = relay_total_data(bandwidth_model, fp)
        row["total_data"] = data_size(total)
        row["total_data_period"] = period if total is not None and isinstance(period, str) else None
    return row


def history_summary(group: Group, uptime_model: Any, bandwidth_model: Any) -> dict[str, Any]:
    """Mean 6-month uptime and total data of a group's relays, with how many relays had data."""
    uptimes = [u for u in (relay_uptime(uptime_model, fp) for fp in group.fingerprints) if u is not None]
    totals = [t for t, _ in (relay_total_data(bandwidth_model, fp) for fp in group.fingerprints)
              if t is not None]
    return _history_summary(uptimes, totals, uptime_model is not None, bandwidth_model is not None)


def _history_summary(uptimes: list[float], totals: list[int], uptime_available: bool,
                     bandwidth_available: bool) -> dict[str, Any]:
    return {
        "uptime_available": uptime_available,
        "uptime_mean": uptime_text(sum(uptimes) / len(uptimes)) if uptimes else fmt.MISSING,
        "uptime_relays": len(uptimes),
        "bandwidth_available": bandwidth_available,
        "total_data": data_size(sum(totals)) if totals else fmt.MISSING,
        "total_data_relays": len(totals),
    }


@dataclass
class HistoryRows:
    """Every relay's group-table row with its history, built once and shared by every group page.

    A group page then only collects references (its view is a list of
    shared rows), instead of copying a row per page: the flag pages alone
    list every relay several times over.
    """

    rows: dict[str, dict[str, Any]]          # fingerprint → row with "uptime" (and "total_data…")
    uptime: dict[str, float | None]          # fingerprint → 6-month uptime %
    total: dict[str, int | None]             # fingerprint → total data (bytes)
    uptime_available: bool
    bandwidth_available: bool
    # fingerprint → the (table row, uptime entry, bandwidth entry) objects a row was made from
    sources: dict[str, tuple] = field(default_factory=dict, repr=False)

    def rows_of(self, group: Group) -> list[dict[str, Any]]:
        rows = self.rows
        return [rows[fp] for fp in group.fingerprints]

    def summary(self, group: Group) -> dict[str, Any]:
        """Same as :func:`history_summary`, from the precomputed numbers."""
        uptime, total = self.uptime, self.total
        uptimes = [u for u in map(uptime.__getitem__, group.fingerprints) if u is not None]
        totals = [t for t in map(total.__getitem__, group.fingerprints) if t is not None]
        return _history_summary(uptimes, totals, self.uptime_available, self.bandwidth_available)


UPTIME_CHART_LIMIT = 50       # relays drawn in a group page's uptime chart (the heaviest by weight)
UPTIME_CHART_TITLE = "Uptime per relay, past 6 months"


def uptime_chart(rows: list[dict[str, Any]], limit: int = UPTIME_CHART_LIMIT) -> dict[str, Any] | None:
    """One bar per relay (0–100 %) from history rows, the first ``limit`` of them; None without data.

    ``rows`` are a group view's rows (relay model order: consensus weight,
    highest first), so the chart is a pure function of the view and adds
    nothing to its page key.  The view model is :func:`charts.bar_chart`'s
    plus ``shown`` and ``relays`` (how many were drawn of how many).
    """
    shown = rows[:limit]
    if not any(r.get("uptime_pct") is not None for r in shown):
        return None
    bars = [(r["nickname"], pct or 0.0, r["uptime"] if pct is not None else "no data")
            for r, pct in ((r, r.get("uptime_pct")) for r in shown)]
    chart = charts.bar_chart(UPTIME_CHART_TITLE, bars, max_value=100.0)
    chart.update(shown=len(shown), relays=len(rows))
    return chart


def history_rows(groups: GroupsModel, uptime_model: Any, bandwidth_model: Any, total_data: bool,
                 previous: HistoryRows | None = None) -> HistoryRows:
    """:func:`history_row` for every relay, with the numbers behind :func:`history_summary`.

    A relay whose row and uptime and bandwidth entries are the very objects
    ``previous`` was made from keeps its row (the models share unchanged
    relays' objects from one version to the next).
    """
    up = uptime_model.relays if uptime_model is not None else {}
    bw = bandwidth_model.relays if bandwidth_model is not None else {}
    known = previous.sources if previous is not None and \
        (previous.uptime_available, previous.bandwidth_available) == (uptime_model is not None,
                                                                      bandwidth_model is not None) else {}
    out = HistoryRows({}, {}, {}, uptime_model is not None, bandwidth_model is not None)
    with gc_paused():
        for fp, row in groups.rows.items():
            source = (row, up.get(fp), bw.get(fp))
            old = known.get(fp)
            if old is not None and all(a is b for a, b in zip(old, source)):
                out.rows[fp], out.uptime[fp], out.total[fp] = previous.rows[fp], previous.uptime[fp], \
                    previous.total[fp]
            else:
                out.rows[fp] = history_row(row, fp, uptime_model, bandwidth_model, total_data)
                out.uptime[fp] = relay_uptime(uptime_model, fp)
                out.total[fp] = relay_total_data(bandwidth_model, fp)[0]
            out.sources[fp] = source
    return out


# -- sorted listings ------------------------------------------------------------------------

@dataclass(frozen=True)
class Variant:
    """One sort order of the listing pages: its URL word, what it measures and how to show it."""

    name: str
    title: str
    key: Callable[[Group, dict[str, int]], Any]
    text: Callable[[Any], str]
    ascending: bool = False
    needs_bandwidth: bool = False


def _role_share(role: str) -> Callable[[Group, dict[str, int]], float]:
    return lambda g, net: g.role_weight[role] / net[role] if net.get(role) else 0.0


def _count(value: Any) -> str:
    return fmt.count(value)


VARIANTS: tuple[Variant, ...] = (
    Variant("bandwidth", "observed bandwidth", lambda g, n: g.bandwidth, fmt.bandwidth),
    Variant("overall-bandwidth", "observed bandwidth (all roles)", lambda g, n: g.bandwidth, fmt.bandwidth),
    Variant("guard-bandwidth", "observed bandwidth of guard relays", lambda g, n: g.role_bandwidth["guard"],
            fmt.bandwidth),
    Variant("middle-bandwidth", "observed bandwidth of middle relays", lambda g, n: g.role_bandwidth["middle"],
            fmt.bandwidth),
    Variant("exit-bandwidth", "observed bandwidth of exit relays", lambda g, n: g.role_bandwidth["exit"],
            fmt.bandwidth),
    Variant("bandwidth-mean", "mean observed bandwidth per running relay",
            lambda g, n: g.bandwidth / g.running if g.running else 0, fmt.bandwidth),
    Variant("consensus-weight", "share of consensus weight", lambda g, n: g.weight_fraction, fmt.percent),
    Variant("guard-consensus-weight", "share of the guard relays' consensus weight", _role_share("guard"),
            fmt.percent),
    Variant("middle-consensus-weight", "share of the middle relays' consensus weight", _role_share("middle"),
            fmt.percent),
    Variant("exit-consensus-weight", "share of the exit relays' consensus weight", _role_share("exit"),
            fmt.percent),
    Variant("exit-count", "running exit relays", lambda g, n: g.role_count["exit"], _count),
    Variant("guard-count", "running guard relays", lambda g, n: g.role_count["guard"], _count),
    Variant("middle-count", "running middle relays", lambda g, n: g.role_count["middle"], _count),
    Variant("unique-as-count", "distinct autonomous systems", lambda g, n: len(g.as_ids), _count),
    Variant("unique-contact-count", "distinct contacts", lambda g, n: len(g.contacts), _count),
    Variant("unique-family-count", "distinct families", lambda g, n: len(g.families), _count),
    Variant("first-seen", "first seen (oldest first)", lambda g, n: g.first_seen,
            lambda v: v[:10] if v else fmt.MISSING, ascending=True),
    Variant("total-data", "data transferred (read + written)", lambda g, n: 0, data_size, needs_bandwidth=True),
)
VARIANT_BY_NAME = {v.name: v for v in VARIANTS}


def sorted_groups(groups: GroupsModel, kind: str, variant: Variant,
                  values: dict[str, Any] | None = None) -> list[tuple[Group, Any]]:
    """Groups of ``kind`` ordered by ``variant`` (ties by id), each with its sort value.

    ``values`` overrides the variant's own key (total data comes from the
    bandwidth model); a group without a value sorts last.
    """
    net = groups.network_role_weight
    by_id = groups.groups[kind].values()              # in id order: the stable sorts below keep it for ties
    if values is not None:
        items = [(group, values.get(group.id)) for group in by_id]
    else:
        key = variant.key
        items = [(group, key(group, net)) for group in by_id]
    present = [gv for gv in items if gv[1] is not None]
    present.sort(key=itemgetter(1), reverse=not variant.ascending)
    if len(present) < len(items):
        present += [gv for gv in items if gv[1] is None]
    return present


def group_total_data(groups: GroupsModel, bandwidth_model: Any) -> dict[str, dict[str, int | None]]:
    """Kind → id → bytes its relays moved, each over its longest available period (allium's fallback)."""
    if bandwidth_model is None:
        return {}
    per_relay = {fp: relay_total_data(bandwidth_model, fp)[0] for fp in groups.rows}
    out: dict[str, dict[str, int | None]] = {}
    for kind in LIST_KINDS.values():
        totals: dict[str, int | None] = {}
        for gid, group in groups.groups[kind].items():
            known = [per_relay[fp] for fp in group.fingerprints if per_relay[fp] is not None]
            totals[gid] = sum(known) if known else None
        out[kind] = totals
    return out
