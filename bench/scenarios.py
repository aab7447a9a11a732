"""The warm scenarios: what each one changes in the documents, and which pages it may rewrite.

A scenario that changes nothing a page shows measures nothing, so each
mutation changes something visible, and after each scenario the benchmark
compares the site before and after (inode, mtime, size of every file) and
checks the written pages against the scenario's expectation:

* ``one_relay``: one running relay gets a new nickname and a consensus weight
  one unit higher, into a gap no other relay's weight falls in (so no other
  relay's percentile rank can move).  Its page and JSON must be written;
  other pages may be written only if they show that relay (its family
  members' pages, its groups) or are network-wide aggregates (lists,
  overview, health, search index, leaderboards).
* ``uptime``: 5 % of the relays get a different latest uptime value.  Only
  pages that show uptime may be written: the changed relays' pages, contact,
  family and flag pages that list one of them, and the aggregates that show
  uptime (top relays, overview, health, leaderboards) - never AS, country,
  platform or first-seen pages, the sorted lists, the full relay list or the
  search index.
* ``churn`` (issue 11): 1 % of the relays, drawn among the running ones, each
  get a change the history store records as an event (a flag, the version, a
  restart, going down), in the same hour.  Each changed relay's page must be written; other relays' pages may be
  (their percentile ranks move), and so may the groups that list a changed
  relay, the aggregates, the listings and the network's events page and feed.
* ``hour_churn``: the next Onionoo hour (``relays_published`` and each running
  relay's ``last_seen`` one hour on) with another 1 % churn, the hourly
  publication as it comes.  A page's key leaves the publication time out, so
  the same pages as for ``churn`` may be written, and ``search.html`` (it
  names the publication of the index it searches), and no others: an
  unchanged relay's page keeps stating the publication it shows.  The pages of relays
  the hour hides (down longer than ``hide_down_after_days``) may be deleted,
  and the group pages that listed them written (at most
  ``HIDDEN_GROUP_PAGES`` per hidden relay).
* ``no_change``: the same document again (a 304): nothing is written.

Every scenario must write at least one page, except ``no_change``, which must
write none; nothing may be deleted, except as ``hour_churn`` says.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from .shift import published

# pages that aggregate the whole network
OVERVIEW = frozenset({"index.html", "network-health.html", "status.html", "relays/top.html",
                      "aroi/leaderboards.html"})
DETAILS_AGGREGATES = OVERVIEW | {"relays/all.html", "search-index.json"}
EVENT_PAGES = frozenset({"events.html", "events.atom"})
SEARCH_PAGE = "search.html"  # states the publication of search-index.json: a new hour rewrites it
GROUP_KINDS = ("contact", "family", "as", "country", "platform", "flag", "first-seen")
CHURN = 0.01                 # churn: the fraction of relays with a change the history store records
UPTIME_GROUP_KINDS = ("contact", "family", "flag")
HIDDEN_GROUP_PAGES = 16      # hour_churn: group pages a relay the hour hides may change (HTML and JSON)


# -- the documents -------------------------------------------------------------------------------

def relay_lines(raw: bytes) -> tuple[list[bytes], int, int]:
    """The lines of a one-relay-per-line Onionoo document and the [start, end) range of the relays."""
    lines = raw.split(b"\n")
    start = next(i for i, line in enumerate(lines) if line.startswith(b'"relays":[')) + 1
    end = next(i for i in range(start, len(lines)) if lines[i].startswith(b"]"))
    return lines, start, end


def _load(line: bytes) -> tuple[dict, bool]:
    comma = line.endswith(b",")
    return json.loads(line[:-1] if comma else line), comma


def _dump(obj: dict, comma: bool) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode() + (b"," if comma else b"")


def mutate_lines(raw: bytes, fraction: float, change: Callable[[dict, random.Random], None],
                 seed: int) -> tuple[bytes, set[str]]:
    """Change ``fraction`` of the relay lines (at least one) with ``change(obj, rng)``; the fingerprints."""
    rng = random.Random(seed)
    lines, start, end = relay_lines(raw)
    touched = set()
    for i in rng.sample(range(start, end), max(1, int((end - start) * fraction))):
        obj, comma = _load(lines[i])
        change(obj, rng)
        lines[i] = _dump(obj, comma)
        touched.add(obj["fingerprint"])
    return b"\n".join(lines), touched


def bump_uptime(obj: dict, rng: random.Random) -> None:
    """A new latest value in every uptime graph of the relay (shown as its uptime percentages)."""
    for graph in obj.get("uptime", {}).values():
        values = graph.get("values") or []
        if values and values[-1] is not None:
            values[-1] = (values[-1] + rng.randrange(200, 800)) % 1000


def churn_relay(obj: dict, rng: random.Random) -> None:
    """One change the history store records as an event, always a visible one (a relay may be drawn
    again in a later run): a flag, a new version (same operating system, so no platform page changes
    hands), a restart, or going down (coming back, for a relay that is down)."""
    kind = rng.choice(("flag", "version", "restart", "down"))
    if kind == "flag":
        flags = set(obj.get("flags") or [])
        obj["flags"] = sorted(flags ^ {rng.choice(("Guard", "Stable", "HSDir", "Fast"))})
    elif kind == "version":
        version = obj.get("version")
        while version == obj.get("version"):
            version = f"0.4.9.{rng.randrange(100, 1000)}"
        _, on, system = (obj.get("platform") or "").partition(" on ")
        obj["version"], obj["platform"] = version, f"Tor {version}" + (f" on {system}" if on else "")
    elif kind == "restart":
        obj["last_restarted"] = f"2099-01-01 {rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}"
    else:
        obj["running"] = not obj.get("running")


def churn(details: bytes, seed: int) -> tuple[bytes, set[str]]:
    """``CHURN`` of the relays (counted over all, drawn among the running ones, whose pages are always
    shown) with an event each (:func:`churn_relay`); the changed fingerprints."""
    rng = random.Random(seed)
    lines, start, end = relay_lines(details)
    running = [i for i in range(start, end) if b'"running":true' in lines[i]]
    touched = set()
    for i in rng.sample(running, min(len(running), max(1, int((end - start) * CHURN)))):
        obj, comma = _load(lines[i])
        churn_relay(obj, rng)
        lines[i] = _dump(obj, comma)
        touched.add(obj["fingerprint"])
    return b"\n".join(lines), touched


def change_one_relay(details: bytes, seed: int) -> tuple[bytes, str]:
    """One running relay with a new nickname and consensus weight + 1 (see the module docstring)."""
    rng = random.Random(seed)
    lines, start, end = relay_lines(details)
    running: dict[int, tuple[dict, bool]] = {}
    weights: dict[int, int] = {}
    for i in range(start, end):
        obj, comma = _load(lines[i])
        weight = obj.get("consensus_weight")
        if isinstance(weight, int):
            weights[weight] = weights.get(weight, 0) + 1
            if obj.get("running") is True:
                running[i] = (obj, comma)
    candidates = sorted(i for i, (obj, _) in running.items()
                        if weights[obj["consensus_weight"]] == 1 and obj["consensus_weight"] + 1 not in weights)
    if not candidates:
        raise SystemExit("no running relay with a free consensus weight to change")
    i = rng.choice(candidates)
    obj, comma = running[i]
    obj["consensus_weight"] += 1
    obj["nickname"] = f"BenchChanged{seed % 10_000_000}"[:19]
    lines[i] = _dump(obj, comma)
    return b"\n".join(lines), obj["fingerprint"]


# -- the site before and after ---------------------------------------------------------------------

def snapshot(root: Path) -> dict[str, tuple[int, int, int]]:
    """{site-relative path: (inode, mtime_ns, size)} of every file under ``root``."""
    out: dict[str, tuple[int, int, int]] = {}
    stack = [(str(root), "")]
    while stack:
        directory, prefix = stack.pop()
        with os.scandir(directory) as entries:
            for entry in entries:
                rel = prefix + entry.name
                if entry.is_dir(follow_symlinks=False):
                    stack.append((entry.path, rel + "/"))
                else:
                    st = entry.stat(follow_symlinks=False)
                    out[rel] = (st.st_ino, st.st_mtime_ns, st.st_size)
    return out


@dataclass
class Outcome:
    written: list[str]
    deleted: list[str]
    violations: list[str] = field(default_factory=list)

    def by_kind(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for path in self.written:
            kind = path.split("/", 1)[0] if "/" in path else path
            counts[kind] = counts.get(kind, 0) + 1
        return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


def compare(before: dict, after: dict) -> Outcome:
    written = sorted(p for p, sig in after.items() if before.get(p) != sig)
    deleted = sorted(p for p in before if p not in after)
    return Outcome(written, deleted)


def _mentions(root: Path, path: str, fingerprints: set[str]) -> bool:
    try:
        text = (root / path).read_text(errors="replace")
    except OSError:
        return False
    return any(fp in text for fp in fingerprints)


def check(scenario: str, outcome: Outcome, root: Path, subjects: set[str]) -> Outcome:
    """Fill ``outcome.violations`` with every page the scenario should (not) have written."""
    v = outcome.violations
    # a new hour may hide relays that have now been down longer than the downtime filter allows
    deleted = [p for p in outcome.deleted if not (scenario == "hour_churn" and p.startswith("relay/"))]
    if deleted:
        v.append(f"{len(deleted)} pages deleted, e.g. {deleted[:3]}")
    if scenario == "no_change":
        if outcome.written:
            v.append(f"{len(outcome.written)} pages written by an unchanged document, e.g. {outcome.written[:5]}")
        return outcome
    if not outcome.written:
        v.append("no page written: the scenario measured nothing")
        return outcome
    if scenario in ("one_relay", "churn", "hour_churn"):
        written = set(outcome.written)
        missing = [p for fp in sorted(subjects) for p in (f"relay/{fp}/index.html", f"relay/{fp}/index.json")
                   if p not in written]
        if missing:
            v.append(f"{len(missing)} of the changed relays' pages were not written, e.g. {missing[:4]}")
    wrong = [path for path in outcome.written if not _expected(scenario, path, root, subjects)]
    if scenario == "hour_churn":          # groups that listed a relay the hour hid do not show it any more
        hidden = {p.split("/")[1] for p in outcome.deleted if p.startswith("relay/")}
        groups = [p for p in wrong if p.partition("/")[0] in GROUP_KINDS]
        if len(groups) <= HIDDEN_GROUP_PAGES * len(hidden):
            wrong = [p for p in wrong if p not in groups]
    if wrong:
        v.append(f"{len(wrong)} pages written that do not show the change, e.g. {wrong[:5]}")
    return outcome


def _expected(scenario: str, path: str, root: Path, subjects: set[str]) -> bool:
    """Whether ``scenario`` (uptime, one_relay, churn or hour_churn) may write ``path`` (see the module
    docstring)."""
    kind, _, rest = path.partition("/")
    if scenario == "uptime":
        if path in OVERVIEW:
            return True
        if kind == "relay":
            return rest.split("/", 1)[0] in subjects
        return kind in UPTIME_GROUP_KINDS and _mentions(root, path, subjects)
    # a details change: one relay, or the churn (in the same hour or the next)
    churn = scenario in ("churn", "hour_churn")
    if path in DETAILS_AGGREGATES or kind == "lists" or (churn and path in EVENT_PAGES):
        return True
    if scenario == "hour_churn" and path == SEARCH_PAGE:      # it names the publication of the index
        return True
    if kind == "relay":
        return churn or rest.split("/", 1)[0] in subjects or _mentions(root, path, subjects)
    return kind in GROUP_KINDS and _mentions(root, path, subjects)


def next_hour(details: bytes) -> bytes:
    """The details document of the next Onionoo hour with nothing else changed: ``relays_published`` and
    each running relay's ``last_seen`` (the last consensus that listed it) one hour on, as every hour moves
    them.  Nothing else: a relay first seen or readdressed in that hour keeps its time."""
    hour = published(details)
    old = hour.strftime("%Y-%m-%d %H:%M:%S").encode()
    new = (hour + timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S").encode()
    lines, start, end = relay_lines(details)
    for i in range(start):
        if lines[i].startswith(b'"relays_published":'):
            lines[i] = lines[i].replace(old, new)
    seen_old, seen_new = b'"last_seen":"' + old + b'"', b'"last_seen":"' + new + b'"'
    for i in range(start, end):
        if b'"running":true' in lines[i]:
            lines[i] = lines[i].replace(seen_old, seen_new)
    return b"\n".join(lines)
