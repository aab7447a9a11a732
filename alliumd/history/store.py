"""The history store: relay states and events in one SQLite file (``state_dir/history.sqlite3``).

One writer: the renderer process (it already holds the previous and the
new models; one process means no write contention).  Readers (``alliumctl
events``) open the same file; WAL mode lets them read while it writes.

The file is versioned (table ``schema_version``; :data:`MIGRATIONS` brings
an older file up to date, step by step, in one transaction each).  A file
that is not a database, is corrupt, or comes from a newer alliumd is moved
aside (``history.sqlite3.corrupt-<time>``) with an error in the log and a
new one is started: the events are lost, the site and the caches are not,
and the daemon keeps running.  Any database error while recording is
handled the same way, once; after that the batch goes on without history.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import time
from collections.abc import Iterable
from operator import itemgetter
from pathlib import Path
from typing import Any

from ..core import jsonx
from ..core.canonical import Canonical
from ..model.events.common import SNAPSHOT_KEYS

log = logging.getLogger("alliumd.history")

FILENAME = "history.sqlite3"
SCHEMA_VERSION = 2
SEEN_STEP = 86400.0         # how far a present relay's `seen` may lag its last publication (retention is in days)
MIGRATIONS: dict[int, list[str]] = {          # version → statements that reach it from version - 1
    1: [
        "CREATE TABLE events (id INTEGER PRIMARY KEY, uid TEXT NOT NULL UNIQUE, time REAL NOT NULL, fp TEXT, "
        "kind TEXT NOT NULL, before TEXT, after TEXT, text TEXT NOT NULL, nickname TEXT, contact TEXT, "
        "family TEXT)",
        "CREATE INDEX events_fp ON events (fp, time)",
        "CREATE INDEX events_contact ON events (contact, time) WHERE contact IS NOT NULL",
        "CREATE INDEX events_family ON events (family, time) WHERE family IS NOT NULL",
        "CREATE INDEX events_time ON events (time)",
        "CREATE TABLE relay_state (fp TEXT NOT NULL UNIQUE, state BLOB NOT NULL, seen REAL NOT NULL)",
        "CREATE INDEX relay_state_seen ON relay_state (seen)",
        "CREATE TABLE network_state (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
        "CREATE TABLE publications (source TEXT NOT NULL, published REAL NOT NULL, recorded REAL NOT NULL, "
        "events INTEGER NOT NULL, PRIMARY KEY (source, published)) WITHOUT ROWID",
    ],
    # every relay's weight samples in one row (see WEIGHT_KEYS); a version-1 state keeps its own until it changes
    2: [
        "CREATE TABLE relay_weights (one INTEGER PRIMARY KEY CHECK (one = 1), weights BLOB NOT NULL)",
    ],
}
# The keys of a relay state that every publication moves (model/events: the consensus weight samples, their
# band, the publication they were sampled at).  They are stored for all relays in one row, not in each
# relay's: a new hour then writes one row, not 10k states whose only change is a sample.
WEIGHT_KEYS = ("cwh", "cwb", "t")
EVENT_COLUMNS = ("id", "uid", "time", "fp", "kind", "before", "after", "text", "nickname", "contact", "family")


class HistoryStore:
    """The store; every method is safe to call after a failure (it then reads as empty)."""

    def __init__(self, path: str | os.PathLike, *, retention_days: float = 180, max_per_relay: int = 1000,
                 readonly: bool = False):
        self.path = Path(path)
        self.retention = retention_days * 86400
        self.max_per_relay = max_per_relay
        self.readonly = readonly
        self.db: sqlite3.Connection | None = None
        self.recoveries = 0
        # the writer's copy of every relay state (it is the only writer, so the copy stays true): a
        # publication then costs a diff, not reading and parsing 10k states again
        self._states: dict[str, dict[str, Any]] | None = None

    # -- opening, migrating, recovering -------------------------------------------------

    def open(self) -> sqlite3.Connection | None:
        if self.db is not None:
            return self.db
        if self.readonly:
            if not self.path.exists():
                return None
            self.db = self._connect()
            self._version(self.db)            # raises on a file that is not a database
            return self.db
        try:
            self.db = self._open_rw()
        except (sqlite3.DatabaseError, ValueError) as e:
            self._move_aside(e)
            try:
                self.db = self._open_rw()
            except (sqlite3.Error, ValueError, OSError):
                log.exception("history store %s cannot be created; continuing without history", self.path)
                self.db = None
        except OSError:
            log.exception("history store %s cannot be opened; continuing without history", self.path)
        return self.db

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        db.execute("PRAGMA busy_timeout = 10000")
        return db

    def _open_rw(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = self._connect()
        try:
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")
            self._migrate(db)
            check = db.execute("PRAGMA quick_check(1)").fetchone()
            if not check or check[0] != "ok":
                raise sqlite3.DatabaseError(f"quick_check: {check[0] if check else 'no answer'}")
        except BaseException:
            db.close()
            raise
        return db

    @staticmethod
    def _version(db: sqlite3.Connection) -> int:
        has = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'").fetchone()
        if not has:
            return 0
        row = db.execute("SELECT version FROM schema_version").fetchone()
        return int(row[0]) if row else 0

    def _migrate(self, db: sqlite3.Connection) -> None:
        version = self._version(db)
        if version > SCHEMA_VERSION:
            raise ValueError(f"schema version {version} is newer than this alliumd's {SCHEMA_VERSION}")
        for target in range(version + 1, SCHEMA_VERSION + 1):
            db.execute("BEGIN IMMEDIATE")
            try:
                for statement in MIGRATIONS[target]:
                    db.execute(statement)
                db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
                db.execute("DELETE FROM schema_version")
                db.execute("INSERT INTO schema_version VALUES (?)", (target,))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            log.info("history store %s: schema version %d", self.path, target)

    def _move_aside(self, error: BaseException) -> None:
        self.close()                            # (drops the copy of the states too)
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        log.error("history store %s is unreadable (%s); moved aside to %s and starting a new one: "
                  "past events are lost, pages and caches are not", self.path, error, aside.name)
        for suffix in ("", "-wal", "-shm"):
            src = Path(str(self.path) + suffix)
            try:
                if src.exists():
                    os.replace(src, Path(str(aside) + suffix))
            except OSError:
                log.exception("cannot move %s aside; deleting it", src)
                src.unlink(missing_ok=True)
        self.recoveries += 1

    def close(self) -> None:
        self._states = None
        if self.db is not None:
            try:
                self.db.close()
            except sqlite3.Error:
                pass
            self.db = None

    def _guarded(self, what: str, fn, default):
        """Run ``fn(db)``; a database error moves the file aside and retries once on a new one."""
        for attempt in (1, 2):
            try:
                db = self.open()
                if db is None:
                    return default
                return fn(db)
            except sqlite3.DatabaseError as e:
                if self.readonly or attempt == 2:
                    log.error("history store: %s failed (%s); continuing without it", what, e)
                    self.close()
                    return default
                self._move_aside(e)
        return default

    # -- reading ---------------------------------------------------------------------------

    def states(self) -> dict[str, dict[str, Any]]:
        """Every relay's last remembered state (fingerprint → state); do not modify the result."""
        if self._states is None or self.readonly:
            states = self._guarded("reading relay states", _read_states, None)
            if states is None:
                return {}
            self._states = states
        return self._states

    def network_state(self, key: str) -> Any:
        def read(db):
            row = db.execute("SELECT value FROM network_state WHERE key = ?", (key,)).fetchone()
            return json.loads(row[0]) if row else None
        return self._guarded("reading network state", read, None)

    def events(self, *, fp: str | None = None, contact: str | None = None, family: str | None = None,
               network: bool = False, since: float | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """Events newest first, filtered by relay, contact, family or network-only."""
        where, args = [], []
        for column, value in (("fp", fp), ("contact", contact), ("family", family)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        if network:
            where.append("fp IS NULL")
        if since is not None:
            where.append("time >= ?")
            args.append(since)
        sql = (f"SELECT {', '.join(EVENT_COLUMNS)} FROM events" + (" WHERE " + " AND ".join(where) if where else "")
               + " ORDER BY time DESC, id DESC" + (f" LIMIT {int(limit)}" if limit else ""))
        return self._guarded("reading events", lambda db: [_event(r) for r in db.execute(sql, args)], [])

    def recent_by(self, column: str, limit: int = 50) -> dict[str, list[dict[str, Any]]]:
        """The last ``limit`` events of every relay, contact or family (``column``: fp, contact, family)."""
        if column not in ("fp", "contact", "family"):
            raise ValueError(column)
        index = EVENT_COLUMNS.index(column)
        sql = (f"SELECT {', '.join(EVENT_COLUMNS)} FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY {column} "
               f"ORDER BY time DESC, id DESC) AS n FROM events WHERE {column} IS NOT NULL) WHERE n <= ? "
               f"ORDER BY {column}, time DESC, id DESC")

        def read(db):
            out: dict[str, list[dict[str, Any]]] = {}
            for row in db.execute(sql, (limit,)):
                out.setdefault(row[index], []).append(_event(row))
            return out
        return self._guarded("reading recent events", read, {})

    def marks(self) -> dict[str, tuple[int, int]]:
        """Per relay (newest event id, event count): what changes when its event list does."""
        return self._guarded("reading event marks", lambda db: {
            fp: (m, n) for fp, m, n in db.execute(
                "SELECT fp, MAX(id), COUNT(*) FROM events WHERE fp IS NOT NULL GROUP BY fp")}, {})

    def stats(self) -> dict[str, Any]:
        def read(db):
            events = db.execute("SELECT COUNT(*) FROM events").fetchone()[0]
            relays = db.execute("SELECT COUNT(*) FROM relay_state").fetchone()[0]
            pubs = db.execute("SELECT COUNT(*) FROM publications").fetchone()[0]
            return {"events": events, "relays": relays, "publications": pubs}
        return self._guarded("reading stats", read, {"events": 0, "relays": 0, "publications": 0})

    # -- writing ---------------------------------------------------------------------------

    def record(self, *, source: str, published: float, events: Iterable[dict[str, Any]],
               states: dict[str, dict[str, Any]] | None = None, network: dict[str, Any] | None = None,
               present: Iterable[str] = (), now: float, replace_states: bool = False) -> int:
        """Store one publication's events and changed states in one transaction; prune; return new events.

        Events already stored (same ``uid``) are skipped, so recording a
        publication twice changes nothing.  ``present``: the relays of the
        publication whose state did not change (kept from retention);
        ``replace_states``: ``states`` replace every stored state (a new baseline).
        """
        events = list(events)
        states = states or {}
        known = {} if replace_states or not states else self.states()
        # a state whose other keys are those stored needs no row: the weights row carries its samples
        rows = {fp: state for fp, state in states.items()
                if (old := known.get(fp)) is None or _differs_beyond_weights(old, state)}
        present = [fp for fp in present if fp not in rows]

        def write(db):
            db.execute("BEGIN IMMEDIATE")
            try:
                before = db.total_changes
                db.executemany(
                    "INSERT OR IGNORE INTO events (uid, time, fp, kind, before, after, text, nickname, contact, "
                    "family) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [(e["uid"], e["time"], e["fp"], e["kind"], _json(e["before"]), _json(e["after"]), e["text"],
                      e.get("nickname"), e.get("contact"), e.get("family")) for e in events])
                added = db.total_changes - before
                if replace_states:
                    db.execute("DELETE FROM relay_state")
                # retention counts in days: a relay's `seen` moves at most once a day, not every hour for all
                db.executemany("UPDATE relay_state SET seen = ? WHERE fp = ? AND seen < ?",
                               [(published, fp, published - SEEN_STEP) for fp in present])
                if rows:
                    db.executemany("INSERT INTO relay_state (fp, state, seen) VALUES (?, ?, ?) "
                                   "ON CONFLICT (fp) DO UPDATE SET state = excluded.state, seen = excluded.seen",
                                   [(fp, jsonx.dumps(_without_weights(s)), published) for fp, s in rows.items()])
                for key, value in (network or {}).items():
                    db.execute("INSERT OR REPLACE INTO network_state (key, value) VALUES (?, ?)",
                               (key, json.dumps(value, separators=(",", ":"))))
                db.execute("INSERT OR REPLACE INTO publications (source, published, recorded, events) "
                           "VALUES (?, ?, ?, ?)", (source, published, now, added))
                pruned = self._prune(db, now, {e["fp"] for e in events if e["fp"] is not None})
                if states or pruned:
                    _write_weights(db, {**known, **states}, pruned)
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                self._states = None
                raise
            if replace_states:
                self._states = None                 # read back on the next publication
            if self._states is not None:
                self._states.update(states)
                for fp in pruned:
                    self._states.pop(fp, None)
            return added
        return self._guarded("recording events", write, 0)

    def _prune(self, db: sqlite3.Connection, now: float, touched: set[str]) -> list[str]:
        """Retention (events, publications and states of relays not seen since) and the per-relay cap;
        returns the relays whose state was dropped."""
        cutoff = now - self.retention
        db.execute("DELETE FROM events WHERE time < ?", (cutoff,))
        db.execute("DELETE FROM publications WHERE published < ?", (cutoff,))
        gone = [fp for (fp,) in db.execute("SELECT fp FROM relay_state WHERE seen < ?", (cutoff,))]
        if gone:
            db.execute("DELETE FROM relay_state WHERE seen < ?", (cutoff,))
        for fp in touched:
            db.execute("DELETE FROM events WHERE id IN (SELECT id FROM events WHERE fp = ? "
                       "ORDER BY time DESC, id DESC LIMIT -1 OFFSET ?)", (fp, self.max_per_relay))
        return gone


def _without_weights(state: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in state.items() if k not in WEIGHT_KEYS}


_snapshot_part = itemgetter(*SNAPSHOT_KEYS)


def _differs_beyond_weights(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """Whether two states differ in a key that is stored in the relay's own row (one missing: they do)."""
    try:
        return _snapshot_part(old) != _snapshot_part(new) or len(old) != len(new)
    except KeyError:
        return True


def _write_weights(db: sqlite3.Connection, states: dict[str, dict[str, Any]], dropped: Iterable[str]) -> None:
    """Every relay's weight keys, in the one row of ``relay_weights`` (fingerprint → [cwh, cwb, t])."""
    dropped = set(dropped)
    weights = {fp: [state.get(k) for k in WEIGHT_KEYS] for fp, state in states.items()
               if fp not in dropped and "t" in state}
    db.execute("INSERT OR REPLACE INTO relay_weights (one, weights) VALUES (1, ?)", (jsonx.dumps(weights),))


def _read_states(db: sqlite3.Connection) -> dict[str, dict[str, Any]]:
    """Every stored state with its weight keys put back (a state written before schema 2 has its own)."""
    states = _shared_states(db.execute("SELECT fp, state FROM relay_state"))
    row = db.execute("SELECT weights FROM relay_weights").fetchone()
    weights = jsonx.loads(row[0]) if row else {}
    if not isinstance(weights, dict):
        raise sqlite3.DatabaseError("relay_weights is not an object")
    for fp, values in weights.items():
        state = states.get(fp)
        if state is not None and isinstance(values, list) and len(values) == len(WEIGHT_KEYS):
            state.update(zip(WEIGHT_KEYS, values))
    return states


def _shared_states(rows: Iterable[tuple[str, str]]) -> dict[str, dict[str, Any]]:
    """Parse stored states, equal values one object: 10k states repeat their flag lists, versions,
    platforms, ASes and contacts, and parsed one by one they held ~33 MB on network-10k.  States are only
    read (a changed relay gets a new state), so sharing changes no diff."""
    canonical = Canonical()
    states = {}
    for fp, text in rows:
        state = jsonx.loads(text)
        if isinstance(state, dict):
            for key, value in state.items():
                state[key] = canonical.value(value)
        states[fp] = state
    return states


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _event(row: tuple) -> dict[str, Any]:
    out = dict(zip(EVENT_COLUMNS, row))
    for key in ("before", "after"):
        out[key] = json.loads(out[key]) if out[key] is not None else None
    return out


def store_for(state_dir: str | os.PathLike, history_cfg: Any = None, *, readonly: bool = False) -> HistoryStore:
    """The store of a config's ``state_dir`` with its ``[history]`` settings."""
    kwargs = {}
    if history_cfg is not None:
        kwargs = {"retention_days": history_cfg.retention_days, "max_per_relay": history_cfg.max_events_per_relay}
    return HistoryStore(Path(state_dir) / FILENAME, readonly=readonly, **kwargs)
