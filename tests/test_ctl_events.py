"""``alliumctl events``: reads the history store directly (no daemon needed)."""

from __future__ import annotations

import json

from alliumd.ctl import main as ctl
from alliumd.ctl.events import parse_since
from alliumd.history.store import HistoryStore
from alliumd.model import events as ev

T0 = 1_780_000_000.0
FP_A, FP_B = "A" * 40, "B" * 40


def config(tmp_path):
    path = tmp_path / "allium.toml"
    path.write_text('[daemon]\nstate_dir = "lib"\nrun_dir = "run"\n')
    return path


def seed(tmp_path):
    store = HistoryStore(tmp_path / "lib" / "history.sqlite3", retention_days=36500)
    events = [ev.event(T0, FP_A, "flag_lost", "Guard", "Guard", "lost Guard: WFU 97.6% < 98.0% at 6 of 9 "
                       "authorities (majority 5)", nickname="<b>A</b>", contact="ops.example"),
              ev.event(T0 + 3600, FP_B, "down", True, False, "no longer running", nickname="B", contact="other"),
              ev.event(T0 + 7200, None, "network_count", 100, 80, "running relays fell from 100 to 80 (-20.0 %)")]
    store.record(source="onionoo_details", published=T0 + 7200, events=events, now=T0 + 7200)
    store.close()


def run(capsys, *argv):
    code = ctl.main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_events_text_json_and_filters(tmp_path, capsys):
    cfg = config(tmp_path)
    seed(tmp_path)
    code, out, _ = run(capsys, "--config", str(cfg), "events")
    lines = out.splitlines()
    assert code == 0 and len(lines) == 3
    assert "network" in lines[0] and "running relays fell" in lines[0]
    assert "<b>A</b> (AAAAAAAA)" in lines[2] and "lost Guard: WFU 97.6% < 98.0%" in lines[2]
    code, out, _ = run(capsys, "--config", str(cfg), "events", "--relay", FP_A.lower(), "--json")
    data = json.loads(out)
    assert code == 0 and [e["kind"] for e in data] == ["flag_lost"]
    assert data[0]["fingerprint"] == FP_A and data[0]["before"] == "Guard" and data[0]["time"].endswith("Z")
    code, out, _ = run(capsys, "--config", str(cfg), "events", "--contact", "other", "--json")
    assert [e["fingerprint"] for e in json.loads(out)] == [FP_B]
    code, out, _ = run(capsys, "--config", str(cfg), "events", "--network", "--json")
    assert [e["kind"] for e in json.loads(out)] == ["network_count"]
    since = ev.iso(T0 + 3600)
    code, out, _ = run(capsys, "--config", str(cfg), "events", "--since", since, "--json")
    assert len(json.loads(out)) == 2


def test_bad_arguments_missing_and_corrupt_store(tmp_path, capsys):
    cfg = config(tmp_path)
    code, out, err = run(capsys, "--config", str(cfg), "events", "--json")
    assert code == 0 and json.loads(out) == [] and "no history store yet" in err
    assert not (tmp_path / "lib" / "history.sqlite3").exists()          # reading never creates it
    assert run(capsys, "--config", str(cfg), "events", "--relay", "xyz")[0] == 2
    assert run(capsys, "--config", str(cfg), "events", "--since", "yesterday")[0] == 2
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "history.sqlite3").write_bytes(b"garbage" * 1000)
    code, _, err = run(capsys, "--config", str(cfg), "events")
    assert code == 1 and "unreadable" in err
    assert (tmp_path / "lib" / "history.sqlite3").read_bytes() == b"garbage" * 1000     # left for the daemon


def test_parse_since():
    assert parse_since("24h", T0) == T0 - 86400 and parse_since("7d", T0) == T0 - 7 * 86400
    assert parse_since("2026-08-22", 0) == parse_since("2026-08-22T00:00", 0)
