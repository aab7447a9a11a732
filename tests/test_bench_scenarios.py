"""The benchmark's scenario rules (bench/scenarios.py) and time shift (bench/shift.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import scenarios, shift  # noqa: E402

FP = ["A" * 40, "B" * 40, "C" * 40]


def doc(relays: list[dict]) -> bytes:
    body = ",\n".join(json.dumps(r, separators=(",", ":")) for r in relays)
    return ('{"version":"8.0",\n"relays_published":"2026-08-22 11:00:00",\n"relays":[\n' + body
            + '\n],\n"bridges_published":"2026-08-22 10:59:01",\n"bridges":[]}\n').encode()


def test_shift_moves_every_timestamp_by_whole_hours():
    raw = doc([{"fingerprint": FP[0], "last_seen": "2026-08-22 10:00:00", "overload_general_timestamp": 1787155200000,
                "uptime": {"1_month": {"first": "2026-07-22 14:00:00", "last": "2026-08-22 10:00:00"}}}])
    raw += b'{"metadata":{"timestamp":"2026-08-22T10:07:43.512904"}}'
    moved = shift.shift(raw, 25)
    assert b'"relays_published":"2026-08-23 12:00:00"' in moved
    assert b'"bridges_published":"2026-08-23 11:59:01"' in moved
    assert b'"first":"2026-07-23 15:00:00"' in moved and b'"last_seen":"2026-08-23 11:00:00"' in moved
    assert b'"timestamp":"2026-08-23T11:07:43.512904"' in moved
    assert b'"overload_general_timestamp":%d' % (1787155200000 + 25 * 3_600_000) in moved
    now = shift.published(raw).timestamp() + 25 * 3600 + 1234
    assert shift.hours_to_now(raw, now) == 25


def test_one_relay_change_picks_a_running_relay_with_a_free_weight():
    raw = doc([{"fingerprint": FP[0], "nickname": "a", "running": True, "consensus_weight": 10},
               {"fingerprint": FP[1], "nickname": "b", "running": True, "consensus_weight": 11},
               {"fingerprint": FP[2], "nickname": "c", "running": True, "consensus_weight": 20},
               {"fingerprint": "D" * 40, "nickname": "d", "running": False, "consensus_weight": 30}])
    changed, fp = scenarios.change_one_relay(raw, seed=3)
    assert fp in (FP[1], FP[2])          # 10 + 1 is taken by another relay; D is not running
    relays = {r["fingerprint"]: r for r in json.loads(changed)["relays"]}
    assert relays[fp]["consensus_weight"] in (12, 21) and relays[fp]["nickname"].startswith("BenchChanged")


def site(tmp_path: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    return tmp_path


def test_check_fails_a_scenario_that_writes_nothing_or_pages_that_do_not_show_the_change(tmp_path):
    root = site(tmp_path, {f"relay/{FP[0]}/index.html": "x", f"relay/{FP[0]}/index.json": "x",
                           "as/AS1/index.html": f"<a href='../../relay/{FP[0]}/'>", "as/AS2/index.html": "other",
                           "lists/as-by-bandwidth.html": "", f"relay/{FP[1]}/index.html": "no mention"})
    nothing = scenarios.check("one_relay", scenarios.Outcome([], []), root, {FP[0]})
    assert any("measured nothing" in v for v in nothing.violations)
    good = scenarios.Outcome([f"relay/{FP[0]}/index.html", f"relay/{FP[0]}/index.json", "as/AS1/index.html",
                              "lists/as-by-bandwidth.html"], [])
    assert scenarios.check("one_relay", good, root, {FP[0]}).violations == []
    bad = scenarios.Outcome(good.written + ["as/AS2/index.html", f"relay/{FP[1]}/index.html"], [])
    [violation] = scenarios.check("one_relay", bad, root, {FP[0]}).violations
    assert "2 pages written that do not show the change" in violation
    uptime = scenarios.Outcome(["as/AS1/index.html", "lists/as-by-bandwidth.html"], [])
    assert "2 pages written" in scenarios.check("uptime", uptime, root, {FP[0]}).violations[0]
    assert scenarios.check("no_change", scenarios.Outcome(["status.html"], []), root, set()).violations


def test_snapshot_and_compare_see_rewritten_and_deleted_files(tmp_path):
    root = site(tmp_path, {"a/index.html": "1", "b/index.html": "2"})
    before = scenarios.snapshot(root)
    (root / "a" / "index.html").unlink()
    (root / "a" / "index.html").write_text("1!")
    (root / "b" / "index.html").unlink()
    outcome = scenarios.compare(before, scenarios.snapshot(root))
    assert (outcome.written, outcome.deleted) == (["a/index.html"], ["b/index.html"])


def test_churn_changes_one_percent_of_the_relays_with_an_event_each_and_the_next_hour_moves_the_time():
    relays = [{"fingerprint": f"{i:040X}", "nickname": f"r{i}", "running": True, "flags": ["Fast", "Running"],
               "version": "0.4.8.1", "platform": "Tor 0.4.8.1 on Linux", "last_restarted": "2026-08-01 00:00:00",
               "last_seen": "2026-08-22 11:00:00"} for i in range(300)]
    raw = doc(relays)
    changed, touched = scenarios.churn(raw, seed=5)
    assert len(touched) == 3 and changed.count(b"\n") == raw.count(b"\n")
    after = {r["fingerprint"]: r for r in json.loads(changed)["relays"]}
    before = {r["fingerprint"]: r for r in relays}
    assert {fp for fp in before if after[fp] != before[fp]} == touched          # each one an event, no other
    hour = scenarios.next_hour(changed)
    assert b'"relays_published":"2026-08-22 12:00:00"' in hour
    moved = json.loads(hour)["relays"]
    assert all(r["last_seen"] == ("2026-08-22 12:00:00" if r["running"] else "2026-08-22 11:00:00") for r in moved)
    assert [r["last_restarted"] for r in moved] == [r["last_restarted"] for r in json.loads(changed)["relays"]]


def test_churn_checks_the_changed_relays_pages_in_the_same_hour_and_the_next(tmp_path):
    root = site(tmp_path, {f"relay/{fp}/index.html": "x" for fp in FP} | {
        f"relay/{fp}/index.json": "x" for fp in FP} | {"platform/linux/index.html": "no mention"})
    own = [f"relay/{FP[0]}/index.html", f"relay/{FP[0]}/index.json"]
    ranks = [f"relay/{FP[1]}/index.html", "events.html", "events.atom", "relays/all.html"]
    assert scenarios.check("churn", scenarios.Outcome(own + ranks, []), root, {FP[0]}).violations == []
    [missing] = scenarios.check("churn", scenarios.Outcome(ranks, []), root, {FP[0]}).violations
    assert "2 of the changed relays' pages were not written" in missing
    [stray] = scenarios.check("churn", scenarios.Outcome(own + ["platform/linux/index.html"], []), root,
                              {FP[0]}).violations
    assert "1 pages written that do not show the change" in stray
    # the next hour may write what the churn may, and no more: the hour itself is on no page's key
    assert scenarios.check("hour_churn", scenarios.Outcome(own + ranks + ["search.html"], []), root,
                           {FP[0]}).violations == []
    assert scenarios.check("churn", scenarios.Outcome(own + ["search.html"], []), root, {FP[0]}).violations
    [stray] = scenarios.check("hour_churn", scenarios.Outcome(own + ["platform/linux/index.html", "style.css"], []),
                              root, {FP[0]}).violations
    assert "2 pages written that do not show the change" in stray
    # unless the hour hid a relay (down too long): its pages go, and the groups that listed it change
    hid = scenarios.Outcome(own + ["platform/linux/index.html"], [f"relay/{FP[1]}/index.html"])
    assert scenarios.check("hour_churn", hid, root, {FP[0]}).violations == []
    assert scenarios.check("churn", hid, root, {FP[0]}).violations            # not in the same hour
