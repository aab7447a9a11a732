"""The history store (alliumd/history/store.py) and one publication into it (history/record.py)."""

from __future__ import annotations

import logging
import sqlite3

import pytest

from alliumd.history import record as recordmod, store as storemod
from alliumd.history.store import HistoryStore
from alliumd.model import events as ev
from alliumd.model.events import common as ev_common

T0 = 1_780_000_000.0
HOUR = 3600.0
DAY = 86400.0
FP_A, FP_B = "A" * 40, "B" * 40


def relay(fp, **over):
    base = {"fingerprint": fp, "nickname": "N" + fp[0], "running": True, "flags": ["Fast", "Guard", "Running"],
            "version": "0.4.8.19", "platform": "Tor 0.4.8.19 on Linux", "last_restarted": None,
            "or_addresses": ["192.0.2.1:443"], "consensus_weight": 10, "overload_general_timestamp": None,
            "family": [], "contact": "x", "as_number": "AS1"}
    base.update(over)
    return base


def pub(t, *relays, **extra):
    keys = {r["fingerprint"]: {"contact": "c-" + r["fingerprint"][0], "family": None} for r in relays}
    return recordmod.Publication(details_time=t, relays=list(relays), keys=keys, **extra)


@pytest.fixture
def store(tmp_path):
    s = HistoryStore(tmp_path / "history.sqlite3")
    yield s
    s.close()


def test_new_store_is_versioned_and_in_wal_mode(store):
    db = store.open()
    assert db.execute("SELECT version FROM schema_version").fetchone()[0] == storemod.SCHEMA_VERSION
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_record_diff_and_idempotence(store):
    assert recordmod.record(store, pub(T0, relay(FP_A), relay(FP_B)), T0).added == 0     # baseline
    assert store.network_state("started") == T0
    changed = pub(T0 + HOUR, relay(FP_A, flags=["Fast", "Running"]), relay(FP_B, version="0.4.9.1"))
    out = recordmod.record(store, changed, T0 + HOUR)
    assert out.added == 2 and out.touched_relays == {FP_A, FP_B} and out.touched_contacts == {"c-A", "c-B"}
    # the same publication again (a restarted renderer): nothing new
    assert recordmod.record(store, changed, T0 + 2 * HOUR).added == 0
    events = store.events()
    assert [(e["fp"], e["kind"], e["text"]) for e in events] == [
        (FP_B, "version", "version changed from “0.4.8.19” to “0.4.9.1”"), (FP_A, "flag_lost", "lost Guard")]
    assert [e["kind"] for e in store.events(fp=FP_A)] == ["flag_lost"]
    assert [e["kind"] for e in store.events(contact="c-B")] == ["version"]
    assert store.events(since=T0 + 2 * HOUR) == []
    assert set(store.recent_by("fp", 50)) == {FP_A, FP_B}
    # a reopened store (a new process) has the same states and events
    store.close()
    again = HistoryStore(store.path)
    assert len(again.events()) == 2 and set(again.states()) == {FP_A, FP_B}
    assert recordmod.record(again, changed, T0 + 3 * HOUR).added == 0
    again.close()


def test_states_read_back_equal_what_was_stored_with_repeated_values_shared(tmp_path):
    path = tmp_path / "history.sqlite3"
    writer = HistoryStore(path)
    recordmod.record(writer, pub(T0, relay(FP_A), relay(FP_B, nickname="NB")), T0)
    stored = {fp: dict(state) for fp, state in writer.states().items()}
    writer.close()
    reader = HistoryStore(path)                      # a new process reads the states back
    states = reader.states()
    assert states == stored
    a, b = states[FP_A], states[FP_B]
    assert a["flags"] is b["flags"] and a["ver"] is b["ver"] and a["plat"] is b["plat"]
    assert a["n"] != b["n"]
    # a diff against shared states still sees a change of one relay only
    out = recordmod.record(reader, pub(T0 + HOUR, relay(FP_A, flags=["Fast", "Running"]), relay(FP_B, nickname="NB")),
                           T0 + HOUR)
    assert out.added == 1 and out.touched_relays == {FP_A}
    assert reader.states()[FP_B]["flags"] == ["Fast", "Guard", "Running"]
    reader.close()


def test_relays_left_unchanged_are_skipped_and_record_the_same(tmp_path):
    """``Recorded.unchanged``: a relay whose view, keys and stored state are the very objects of the last
    diff is not diffed again; the events and the stored states are those of a full diff."""
    a, b, c = relay(FP_A), relay(FP_B), relay("C" * 40)
    stores = [HistoryStore(tmp_path / "memo.sqlite3"), HistoryStore(tmp_path / "full.sqlite3")]
    first = pub(T0, a, b, c)
    assert recordmod.record(stores[0], first, T0).unchanged is None     # a baseline's states are read back later
    recordmod.record(stores[1], first, T0)
    memo = recordmod.record(stores[0], first, T0).unchanged             # the same publication again
    assert set(memo.relays) == {FP_A, FP_B, "C" * 40}
    # same publication time (a details document with one relay changed): A keeps its objects, B changes,
    # C's view is the same object but its stored state is not the one the memo saw (it is diffed)
    second = pub(T0, a, relay(FP_B, version="0.4.9.1"), c)
    second.keys[FP_A] = first.keys[FP_A]
    stores[0].states()["C" * 40] = dict(stores[0].states()["C" * 40], ver="0.4.0.1")
    stores[1].states()["C" * 40] = dict(stores[1].states()["C" * 40], ver="0.4.0.1")
    diffed = []
    snapshot = ev.snapshot

    def counting(relay_view, **kw):
        diffed.append(relay_view["fingerprint"])
        return snapshot(relay_view, **kw)

    recordmod.ev.snapshot = counting
    try:
        out = recordmod.record(stores[0], second, T0 + HOUR, memo)
    finally:
        recordmod.ev.snapshot = snapshot
    full = recordmod.record(stores[1], second, T0 + HOUR)
    assert sorted(diffed) == [FP_B, "C" * 40]
    assert out.added == full.added == 2 and out.touched_relays == full.touched_relays == {FP_B, "C" * 40}
    assert [(e["fp"], e["kind"], e["text"]) for e in stores[0].events()] == [
        (e["fp"], e["kind"], e["text"]) for e in stores[1].events()]
    assert stores[0].states() == stores[1].states()
    # A relay missing from the next document is still "down" when the others are skipped
    third = pub(T0, relay(FP_B, version="0.4.9.1"), c)
    out = recordmod.record(stores[0], third, T0 + 2 * HOUR, out.unchanged)
    assert out.touched_relays == {FP_A} and stores[0].events(fp=FP_A)[0]["kind"] == "down"
    for s in stores:
        s.close()


def test_a_new_hour_diffs_unchanged_relays_from_their_stored_state_and_records_the_same(tmp_path):
    """A new publication time in which a relay's view, keys and AROI status are the very objects of the last
    diff: it is not snapshot again (its stored state stands in), but diffed, so its weight samples and time
    move as in a full diff; a weight that leaves the band is an event either way."""
    relays = [relay(FP_A), relay(FP_B), relay("C" * 40)]
    stores = [HistoryStore(tmp_path / "memo.sqlite3"), HistoryStore(tmp_path / "full.sqlite3")]
    first = pub(T0, *relays)
    for s in stores:
        recordmod.record(s, first, T0)
    memo = recordmod.record(stores[0], first, T0).unchanged
    snapshot, snapshots = ev.snapshot, []

    def counting(relay_view, **kw):
        snapshots.append(relay_view["fingerprint"])
        return snapshot(relay_view, **kw)

    for hour in range(1, 6):
        later = pub(T0 + hour * HOUR, *relays)
        later.keys = first.keys                          # the same objects, as the groups model keeps them
        if hour == 5:                                    # B's weight leaves ±50 % of its median
            relays[1] = relay(FP_B, consensus_weight=100)
            later = pub(T0 + hour * HOUR, *relays)
            later.keys = {**first.keys, FP_B: {"contact": "c-B", "family": None}}
        snapshots.clear()
        recordmod.ev.snapshot = counting
        try:
            out = recordmod.record(stores[0], later, T0 + hour * HOUR, memo)
        finally:
            recordmod.ev.snapshot = snapshot
        memo = out.unchanged
        full = recordmod.record(stores[1], later, T0 + hour * HOUR)
        assert snapshots == ([FP_B] if hour == 5 else [])
        assert (out.added, out.touched_relays) == (full.added, full.touched_relays)
        assert stores[0].states() == stores[1].states()
    assert len(stores[0].states()[FP_A]["cwh"]) == 6 and stores[0].states()[FP_A]["t"] == T0 + 5 * HOUR
    assert [e["kind"] for e in stores[0].events(fp=FP_B)] == [e["kind"] for e in stores[1].events(fp=FP_B)]
    assert any(e["fp"] == FP_B for e in stores[0].events())
    for s in stores:
        s.close()


def test_a_present_relays_seen_moves_at_most_once_a_day(tmp_path):
    """Retention counts in days, so a relay present in every hourly publication whose state does not change
    does not have its row written every hour (its weight samples go to the one weights row): its ``seen``
    moves once it lags a day, and retention still counts from there."""
    s = HistoryStore(tmp_path / "h.sqlite3", retention_days=2)
    a = relay(FP_A)
    first = pub(T0, a)

    def seen():
        return s.db.execute("SELECT seen FROM relay_state WHERE fp = ?", (FP_A,)).fetchone()[0]

    for hour in range(0, 51):
        later = pub(T0 + hour * HOUR, a)
        later.keys = first.keys
        recordmod.record(s, later, T0 + hour * HOUR)
        if hour == 24:
            assert seen() == T0                           # a day behind, not more: not written yet
        if hour == 30:
            assert seen() == T0 + 25 * HOUR               # the first hour it lagged more than a day
    assert seen() == T0 + 50 * HOUR                       # a day later it moved on
    assert len(s.states()[FP_A]["cwh"]) == 24             # while its samples moved every hour
    recordmod.record(s, pub(T0 + 95 * HOUR, relay(FP_B)), T0 + 95 * HOUR)        # A is gone: "down"
    assert seen() == T0 + 95 * HOUR and not s.states()[FP_A]["run"]
    recordmod.record(s, pub(T0 + 143 * HOUR, relay(FP_B)), T0 + 143 * HOUR)
    assert FP_A in s.states()                             # 48 h later: kept…
    recordmod.record(s, pub(T0 + 144 * HOUR, relay(FP_B)), T0 + 144 * HOUR)
    assert FP_A not in s.states()                         # …and dropped once it lags the 2-day retention
    s.close()


def test_retention_and_cap_per_relay(tmp_path):
    s = HistoryStore(tmp_path / "h.sqlite3", retention_days=2, max_per_relay=3)
    events = [ev.event(T0 + i * HOUR, FP_A, "restart", i, i + 1, f"restart {i}") for i in range(6)]
    s.record(source="onionoo_details", published=T0 + 5 * HOUR, events=events, now=T0 + 5 * HOUR)
    assert [e["before"] for e in s.events(fp=FP_A)] == [5, 4, 3]
    old = ev.event(T0 - 3 * DAY, FP_B, "restart", 0, 1, "old")
    s.record(source="onionoo_details", published=T0 + 6 * HOUR, events=[old], now=T0 + 6 * HOUR)
    assert s.events(fp=FP_B) == []                      # older than retention_days: pruned at once
    s.close()


def _garbage(path, data=b"this is not a database, it is a file someone overwrote" * 100):
    path.write_bytes(data)


def test_corrupt_file_is_moved_aside_and_rebuilt(tmp_path, caplog):
    path = tmp_path / "history.sqlite3"
    s = HistoryStore(path)
    recordmod.record(s, pub(T0, relay(FP_A)), T0)
    recordmod.record(s, pub(T0 + HOUR, relay(FP_A, version="9")), T0 + HOUR)
    s.close()
    _garbage(path)
    caplog.set_level(logging.ERROR, "alliumd.history")
    s = HistoryStore(path)
    assert s.events() == [] and s.states() == {}
    assert "moved aside" in caplog.text and "past events are lost" in caplog.text
    assert list(tmp_path.glob("history.sqlite3.corrupt-*"))
    # and it works again: a new baseline, then events
    recordmod.record(s, pub(T0 + 2 * HOUR, relay(FP_A)), T0 + 2 * HOUR)
    assert recordmod.record(s, pub(T0 + 3 * HOUR, relay(FP_A, version="10")), T0 + 3 * HOUR).added == 1
    s.close()


def test_a_database_error_while_running_is_recovered_once(tmp_path, caplog):
    path = tmp_path / "history.sqlite3"
    s = HistoryStore(path)
    recordmod.record(s, pub(T0, relay(FP_A), relay(FP_B)), T0)
    # the open connection now reads a file that is not a database (as if it had been overwritten)
    _garbage(tmp_path / "other")
    s.db.close()
    s.db = sqlite3.connect(tmp_path / "other", isolation_level=None)
    caplog.set_level(logging.ERROR, "alliumd.history")
    out = recordmod.record(s, pub(T0 + HOUR, relay(FP_A, version="x"), relay(FP_B)), T0 + HOUR)
    assert s.recoveries == 1 and "moved aside" in caplog.text
    # the new file starts from this publication (a baseline) with every relay's state
    assert out.added == 0 and set(s.states()) == {FP_A, FP_B}
    s.close()
    s = HistoryStore(path)
    assert set(s.states()) == {FP_A, FP_B}
    assert recordmod.record(s, pub(T0 + 2 * HOUR, relay(FP_A, version="y"), relay(FP_B)), T0 + 2 * HOUR).added == 1
    s.close()


def test_a_newer_schema_is_moved_aside(tmp_path):
    path = tmp_path / "history.sqlite3"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE schema_version (version INTEGER)")
    db.execute("INSERT INTO schema_version VALUES (99)")
    db.commit()
    db.close()
    s = HistoryStore(path)
    assert s.open() is not None and s.recoveries == 1
    assert s.open().execute("SELECT version FROM schema_version").fetchone()[0] == storemod.SCHEMA_VERSION
    s.close()


def test_an_unversioned_database_is_migrated_in_place(tmp_path):
    path = tmp_path / "history.sqlite3"
    sqlite3.connect(path).close()              # an empty database file: version 0
    s = HistoryStore(path)
    assert s.open() is not None and s.recoveries == 0
    s.close()


def test_a_new_hour_that_only_samples_weights_writes_one_row_not_every_relays(tmp_path):
    """Each publication adds a weight sample to every running relay's state; those samples are stored for
    all relays in one row, so a new hour that changes nothing else leaves the relays' rows as they are, and a
    new process reads the states back with their samples."""
    path = tmp_path / "history.sqlite3"
    s = HistoryStore(path)
    a, b = relay(FP_A), relay(FP_B, consensus_weight=20)
    first = pub(T0, a, b)
    recordmod.record(s, first, T0)
    rows = s.db.execute("SELECT fp, state, seen FROM relay_state ORDER BY fp").fetchall()
    for hour in (1, 2, 3):
        later = pub(T0 + hour * HOUR, a, b)
        later.keys = first.keys
        recordmod.record(s, later, T0 + hour * HOUR)
    assert s.db.execute("SELECT fp, state, seen FROM relay_state ORDER BY fp").fetchall() == rows
    assert all(b"cwh" not in state for _, state, _ in rows)
    assert s.states()[FP_B]["cwh"] == [20, 20, 20, 20] and s.states()[FP_B]["t"] == T0 + 3 * HOUR
    stored = {fp: dict(state) for fp, state in s.states().items()}
    s.close()
    again = HistoryStore(path)
    assert again.states() == stored
    # a change beyond the samples writes that relay's row (and its samples go on in the weights row)
    later = pub(T0 + 4 * HOUR, a, relay(FP_B, consensus_weight=20, version="0.4.9.1"))
    later.keys = first.keys
    recordmod.record(again, later, T0 + 4 * HOUR)
    now_rows = dict(again.db.execute("SELECT fp, state FROM relay_state").fetchall())
    assert now_rows[FP_A] == dict((fp, st) for fp, st, _ in rows)[FP_A] and b"0.4.9.1" in now_rows[FP_B]
    assert again.states()[FP_B]["cwh"] == [20] * 5
    again.close()


def test_a_version_1_store_keeps_the_samples_its_states_hold(tmp_path):
    """Before schema 2 each state held its own samples: the migration adds the weights row, those states are
    read with their samples, and the next publication carries them on in the weights row."""
    path = tmp_path / "history.sqlite3"
    db = sqlite3.connect(path, isolation_level=None)
    for statement in storemod.MIGRATIONS[1]:
        db.execute(statement)
    db.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    db.execute("INSERT INTO schema_version VALUES (1)")
    state = dict(ev.snapshot(relay(FP_A), contact_id="c-A", family_id=None), cwh=[10, 10, 10], cwb="normal", t=T0)
    db.execute("INSERT INTO relay_state VALUES (?, ?, ?)", (FP_A, storemod.jsonx.dumps(state), T0))
    db.execute("INSERT INTO network_state VALUES ('snapshot_format', ?)", (str(ev.SNAPSHOT_FORMAT),))
    db.execute("INSERT INTO network_state VALUES ('started', ?)", (str(T0),))
    db.close()
    s = HistoryStore(path)
    assert s.open().execute("SELECT version FROM schema_version").fetchone()[0] == 2
    assert s.states()[FP_A]["cwh"] == [10, 10, 10]
    later = pub(T0 + HOUR, relay(FP_A))
    out = recordmod.record(s, later, T0 + HOUR)
    assert out.added == 0                                 # the same relay: no event, no new baseline
    s.close()
    again = HistoryStore(path)
    assert again.states()[FP_A]["cwh"] == [10, 10, 10, 10] and again.states()[FP_A]["t"] == T0 + HOUR
    again.close()


def test_readonly_store_never_creates_the_file(tmp_path):
    r = HistoryStore(tmp_path / "missing.sqlite3", readonly=True)
    assert r.events() == [] and not (tmp_path / "missing.sqlite3").exists()


def test_unopenable_location_means_no_history_not_a_crash(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    s = HistoryStore(blocker / "history.sqlite3")          # its directory is a file
    assert s.states() == {} and recordmod.record(s, pub(T0, relay(FP_A)), T0).added == 0


def test_network_events_thresholds_and_notices(store):
    thresholds = {"moria1": {"guard-wfu": 0.98}}
    recordmod.record(store, pub(T0, relay(FP_A), thresholds=thresholds, votes_time=T0, notices=["a"],
                                notices_time=T0), T0)
    out = recordmod.record(store, pub(T0 + HOUR, relay(FP_A), thresholds={"moria1": {"guard-wfu": 0.5}},
                                      votes_time=T0 + HOUR, notices=["b"], notices_time=T0 + HOUR), T0 + HOUR)
    assert out.network and out.added == 3
    assert sorted(e["kind"] for e in store.events(network=True)) == [
        "authority_threshold", "consensus_health_notice", "consensus_health_notice"]


def test_store_for_uses_the_history_config(tmp_path):
    from alliumd.config import HistoryConfig
    s = storemod.store_for(tmp_path, HistoryConfig(retention_days=3, max_events_per_relay=7))
    assert (s.path, s.retention, s.max_per_relay) == (tmp_path / "history.sqlite3", 3 * DAY, 7)


def test_a_new_snapshot_format_is_a_new_baseline(store, monkeypatch):
    recordmod.record(store, pub(T0, relay(FP_A), relay(FP_B)), T0)
    recordmod.record(store, pub(T0 + HOUR, relay(FP_A, version="9"), relay(FP_B)), T0 + HOUR)
    monkeypatch.setattr(ev, "SNAPSHOT_FORMAT", ev.SNAPSHOT_FORMAT + 1)
    # whatever the stored states say, the first publication under the new format records no change …
    out = recordmod.record(store, pub(T0 + 2 * HOUR, relay(FP_A, version="10")), T0 + 2 * HOUR)
    assert out.added == 0 and set(store.states()) == {FP_A}           # B's old-format state is gone
    assert store.network_state("started") == T0 and len(store.events()) == 1       # the old events stay
    # … and the next one diffs normally
    assert recordmod.record(store, pub(T0 + 3 * HOUR, relay(FP_A, version="11")), T0 + 3 * HOUR).added == 1


def test_the_store_knows_every_key_a_snapshot_has():
    """The store writes a relay's row when a key of its snapshot changes (SNAPSHOT_KEYS): a key snapshot()
    gained without it would never reach the relay's row."""
    assert set(ev.snapshot(relay(FP_A))) == set(ev_common.SNAPSHOT_KEYS)
    assert not set(storemod.WEIGHT_KEYS) & set(ev_common.SNAPSHOT_KEYS)
