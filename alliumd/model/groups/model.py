"""The groups model: memberships from one pass over the relays, aggregates per group, incremental updates."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from ...core.canonical import reuse_equal
from ...core.gcpause import gc_paused
from .. import format as fmt
from ..relays import RelayModel
from .common import KINDS, ROLES, clean_text
from .keys import _IdCache, family_ids, relay_group_keys, relay_row


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
    unique_as: int = 0                  # distinct ASes, countries, contacts, families (counted: sets for
    unique_countries: int = 0           # ~6,000 groups were 8 MB)
    unique_contacts: int = 0
    unique_families: int = 0
    contacts: frozenset[str] = frozenset()     # a family's contact ids (its page links them), else empty
    families: frozenset[str] = frozenset()     # a contact's family ids (likewise)
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


INCREMENTAL_LIMIT = 500       # relays that came, went, changed or moved up to which the previous model is updated
GROUP_KINDS = ("family", "as", "contact", "country", "platform", "first_seen")


def build_groups(model: RelayModel, previous: GroupsModel | None = None) -> GroupsModel:
    """Group every relay of the model; pure and O(relays + family declarations).

    One pass records memberships; aggregates are then computed per group
    from per-relay columns with map/sum/Counter (C loops): about 0.5 s of
    CPU for the 10k-relay bench network on the 2-core build host.  Given
    the ``previous`` model, a document in which some relays came, went,
    changed or moved to other groups (their views are new objects,
    everything else is shared, see model/relays/) re-aggregates only the
    groups they were or are in: an hourly document with 1 % churn touches a
    few hundred of the ~5,000 groups.
    """
    with gc_paused():           # acyclic data built next to the large details document
        if previous is not None:
            updated = _update_groups(model, previous)
            if updated is not None:
                return updated
        return _build_groups(model, previous.rows if previous is not None else None)


def _group_ids(keys: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(kind, id) of every group a relay with these keys is in."""
    for kind in GROUP_KINDS:
        if keys[kind] is not None:
            yield kind, keys[kind]
    for gid, _ in keys["flags"]:
        yield "flag", gid


def _update_groups(model: RelayModel, prev: GroupsModel) -> GroupsModel | None:
    """The previous model with the groups of the relays that came, went, changed or moved re-aggregated.

    None (build from scratch) without a previous model or when too many
    relays differ.  Families are a walk over the whole network, so when a
    relay came or went or a family declaration changed, the walk is done
    again and every relay whose family id changed counts as moved.
    """
    new, old = model.by_fingerprint, prev.source
    if not old or prev.columns is None:
        return None
    gone = [fp for fp in old if fp not in new]
    came = [fp for fp in new if fp not in old]
    changed = [fp for fp, relay in new.items() if fp in old and relay is not old[fp]]
    if len(gone) + len(came) + len(changed) > INCREMENTAL_LIMIT:
        return None
    families = prev.family_of
    candidates = set(came) | set(changed)
    if gone or came or any(new[fp]["family"] != old[fp]["family"] for fp in changed):
        families = family_ids(model.relays)
        candidates |= {fp for fp in families.keys() | prev.family_of.keys()
                       if fp in new and families.get(fp) != prev.family_of.get(fp)}
    if len(candidates) + len(gone) > INCREMENTAL_LIMIT:
        return None
    ids = _IdCache()
    relay_keys = dict(prev.relay_keys)
    dirty: set[tuple[str, str]] = set()
    moved_in: dict[tuple[str, str], list[str]] = {}
    moved_out: dict[tuple[str, str], set[str]] = {}              # group → its members that left it
    stayed: dict[tuple[str, str], list[str]] = {}                 # group → its candidates that were and are in it
    for fp in gone:
        dirty.update(_group_ids(relay_keys.pop(fp)))
        for group_id in _group_ids(prev.relay_keys[fp]):
            moved_out.setdefault(group_id, set()).add(fp)
    for fp in candidates:
        keys = relay_group_keys(new[fp], families.get(fp), ids)
        before = prev.relay_keys.get(fp)
        now_in = set(_group_ids(keys))
        was_in = set(_group_ids(before)) if before is not None else set()
        dirty |= now_in | was_in if (before != keys or fp in came) else was_in
        for kind, gid in now_in - was_in:
            moved_in.setdefault((kind, gid), []).append(fp)
        for kind, gid in now_in & was_in:
            stayed.setdefault((kind, gid), []).append(fp)
        for group_id in was_in - now_in:
            moved_out.setdefault(group_id, set()).add(fp)
        relay_keys[fp] = keys
    rows = dict(prev.rows)
    for fp in gone:
        del rows[fp]
    for fp in came + changed:
        rows[fp] = reuse_equal(relay_row(new[fp]), prev.rows.get(fp))
    position = {r["fingerprint"]: i for i, r in enumerate(model.relays)}
    columns = prev.columns.patched(model.relays, [new[fp] for fp in candidates], gone, relay_keys)
    groups = {kind: dict(by_id) for kind, by_id in prev.groups.items()}
    added_ids: set[str] = set()
    for kind, gid in dirty:
        before = prev.groups[kind].get(gid)
        left = moved_out.get((kind, gid), ())
        kept = before.fingerprints if before is not None else []
        members = [fp for fp in kept if fp not in left] if left else list(kept)
        added = moved_in.get((kind, gid), [])
        members += added
        if not members:
            groups[kind].pop(gid, None)
            continue
        group = Group(kind, gid, sorted(members, key=position.__getitem__))
        if before is None or \
                not _patch(group, before, stayed.get((kind, gid), ()), list(left), added, prev.columns, columns,
                           prev.relay_keys, relay_keys):
            if kind == "flag":
                group.names = _flag_names(gid, group.fingerprints, relay_keys)
            _aggregate(group, columns)
        group.label = group_label(group, model)
        if before is None:
            added_ids.add(kind)
        groups[kind][gid] = group
    for kind in added_ids:                      # ids stay sorted
        groups[kind] = dict(sorted(groups[kind].items()))
    return GroupsModel(model.published, groups, rows, relay_keys, _network_role_weight(columns),
                       source=new, family_of=families, columns=columns)


def _patch(group: Group, before: Group, touched: list[str], removed: list[str], added: list[str],
           old: "_Columns", new: "_Columns", old_keys: dict[str, dict[str, Any]],
           new_keys: dict[str, dict[str, Any]]) -> bool:
    """``before``'s aggregates updated to ``group``'s members: ``touched`` members (in both) may have new
    values, ``removed`` ones left and ``added`` ones came (everyone else kept their values): what
    :func:`_aggregate` would compute, exactly.

    Integer sums and counters take the differences; a float sum is kept only when the members are the same,
    in the same order, and every touched member adds the same float (else it is summed again, in order), and
    the distinct-id counts and the oldest first-seen are kept only when no member came, went or changed
    them.  False (nothing done): a value to take a difference of is not an int.
    """
    ints = ((old.observed, old.weight, old.advertised), (new.observed, new.weight, new.advertised))
    for fps, columns in ((touched, ints[0] + ints[1]), (removed, ints[0]), (added, ints[1])):
        if any(type(column[fp]) is not int for fp in fps for column in columns):
            return False
    group.running = before.running
    group.role_count, group.role_bandwidth = dict(before.role_count), dict(before.role_bandwidth)
    group.role_weight = dict(before.role_weight)
    group.advertised = before.advertised
    same_members = not removed and not added
    floats_kept = same_members and group.fingerprints == before.fingerprints
    first_seen_kept = ids_kept = same_members
    changes = [(fp, old, -1) for fp in (*touched, *removed)] + [(fp, new, 1) for fp in (*touched, *added)]
    for fp, c, sign in changes:
        if c.running[fp]:
            role = c.role[fp]
            group.running += sign
            group.advertised += sign * c.advertised[fp]
            if role in group.role_count:          # as _aggregate: other roles count as running only
                group.role_count[role] += sign
                group.role_bandwidth[role] += sign * c.observed[fp]
                group.role_weight[role] += sign * c.weight[fp]
    for fp in touched:
        if bool(old.running[fp]) != bool(new.running[fp]) or not _same(old.fraction[fp], new.fraction[fp]) \
                or not all(_same(old.probability[r][fp], new.probability[r][fp]) for r in ROLES):
            floats_kept = False
        first_seen_kept = first_seen_kept and _same(old.first_seen[fp], new.first_seen[fp])
        ids_kept = ids_kept and all(old.ids[k][fp] == new.ids[k][fp] for k in old.ids)
    group.bandwidth = sum(group.role_bandwidth.values())
    group.consensus_weight = sum(group.role_weight.values())
    fps = group.fingerprints
    if floats_kept:
        group.weight_fraction, group.probability = before.weight_fraction, dict(before.probability)
    else:
        running = new.running_in(None, fps)
        for role in ROLES:
            group.probability[role] = sum(map(new.probability[role].__getitem__, running))
        group.weight_fraction = sum(map(new.fraction.__getitem__, running))
    group.first_seen = before.first_seen if first_seen_kept else \
        min(filter(None, map(new.first_seen.__getitem__, fps)), default=None)
    group.platforms = _recount(before.platforms, touched, removed, added, old.os, new.os)
    group.versions = _recount(before.versions, touched, removed, added, old.version, new.version)
    if group.kind in new.names:
        group.names = _recount(before.names, touched, removed, added, old.names[group.kind],
                               new.names[group.kind])
    elif group.kind == "flag":
        group.names = Counter(before.names)
        for fp, keys, step in [(fp, old_keys, -1) for fp in (*touched, *removed)] + \
                              [(fp, new_keys, 1) for fp in (*touched, *added)]:
            for fid, flag in keys[fp]["flags"]:
                if fid == group.id:
                    _step(group.names, flag, step)
    if ids_kept:
        group.unique_as, group.unique_countries = before.unique_as, before.unique_countries
        group.unique_contacts, group.unique_families = before.unique_contacts, before.unique_families
        group.contacts, group.families = before.contacts, before.families
    else:
        _unique_ids(group, new)
    return True


def _same(a: Any, b: Any) -> bool:
    """The same value of the same type (1 and 1.0 are equal but sum to different floats)."""
    return a is b or (type(a) is type(b) and a == b)


def _recount(before: Counter, touched: list[str], removed: list[str], added: list[str], old: dict[str, Any],
             new: dict[str, Any]) -> Counter:
    """``before`` with the touched members' values moved from their old to their new value, the removed
    members' old values taken out and the added members' values counted."""
    out = Counter(before)
    for fp in touched:
        a, b = old[fp], new[fp]
        if not _same(a, b):
            _step(out, a, -1)
            _step(out, b, 1)
    for fp in removed:
        _step(out, old[fp], -1)
    for fp in added:
        _step(out, new[fp], 1)
    return out


def _step(counter: Counter, key: Any, n: int) -> None:
    """Add ``n``, dropping a key whose count falls to 0 (a Counter built by counting never holds one)."""
    value = counter[key] + n
    if value:
        counter[key] = value
    else:
        del counter[key]


def _flag_names(gid: str, fingerprints: list[str], relay_keys: dict[str, dict[str, Any]]) -> Counter:
    """The spellings of flag ``gid`` among these relays, counted.

    Relays with the same flags share one ``flags`` list (keys._IdCache), so the lists are counted by
    identity (C loops) and each distinct list is read once: a flag group holds thousands of relays.
    """
    lists = list(map(itemgetter("flags"), map(relay_keys.__getitem__, fingerprints)))
    distinct = dict(zip(map(id, lists), lists))
    names: Counter = Counter()
    for list_id, n in Counter(map(id, lists)).items():
        for fid, flag in distinct[list_id]:
            if fid == gid:
                names[flag] += n
    return names


def _build_groups(model: RelayModel, previous_rows: dict[str, dict[str, Any]] | None = None) -> GroupsModel:
    families = family_ids(model.relays)
    groups: dict[str, dict[str, Group]] = {kind: {} for kind in KINDS}
    rows: dict[str, dict[str, Any]] = {}
    relay_keys: dict[str, dict[str, Any]] = {}
    ids = _IdCache()
    for relay in model.relays:
        fp = relay["fingerprint"]
        keys = relay_group_keys(relay, families.get(fp), ids)
        relay_keys[fp] = keys
        rows[fp] = reuse_equal(relay_row(relay), previous_rows.get(fp) if previous_rows else None)
        for kind in GROUP_KINDS:
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

    def patched(self, relays: list[dict[str, Any]], changed: list[dict[str, Any]], gone: list[str] = (),
                keys: dict[str, dict[str, Any]] | None = None) -> "_Columns":
        """A copy with the values of ``changed`` relays (changed or new) read again, ``gone`` relays left out
        and, given ``keys`` (every relay's group ids), the ids of the changed relays taken from it."""
        new = object.__new__(_Columns)
        new.all = [r["fingerprint"] for r in relays]

        def copy(old: dict[str, Any], read: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
            column = dict(old)
            for fp in gone:
                column.pop(fp, None)
            column.update((r["fingerprint"], read(r)) for r in changed)
            return column

        for name, read in self.READERS.items():
            setattr(new, name, copy(getattr(self, name), read))
        new.probability = {role: copy(old, lambda r, role=role: r[f"{role}_probability"] or 0.0)
                           for role, old in self.probability.items()}
        new.names = {kind: copy(old, lambda r, f=self.NAME_FIELDS[kind]: r[f]) for kind, old in self.names.items()}
        if keys is None:
            new.ids = self.ids            # group ids unchanged
        else:
            new.ids = {kind: copy(old, lambda r, kind=kind: keys[r["fingerprint"]][kind])
                       for kind, old in self.ids.items()}
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
    _unique_ids(group, c)


def _unique_ids(group: Group, c: _Columns) -> None:
    fps = group.fingerprints
    group.unique_as = len(set(map(c.ids["as"].__getitem__, fps)) - {None})
    group.unique_countries = len(set(map(c.ids["country"].__getitem__, fps)) - {None})
    contacts = set(map(c.ids["contact"].__getitem__, fps)) - {None}
    families = set(map(c.ids["family"].__getitem__, fps)) - {None}
    group.unique_contacts, group.unique_families = len(contacts), len(families)
    if group.kind == "family":
        group.contacts = frozenset(contacts)
    elif group.kind == "contact":
        group.families = frozenset(families)


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
