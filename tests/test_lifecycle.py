"""The supervisor's child lifecycle (alliumd/supervisor/lifecycle.py): the transition table, pure, with `now` injected."""

from __future__ import annotations

import pytest

from alliumd.supervisor import lifecycle as lc
from alliumd.supervisor.lifecycle import Event, IllegalTransition, Lifecycle, ProcessState as S, apply, due, shown

ALL_EVENTS = list(Event)


def run(*steps, start: Lifecycle = Lifecycle()) -> Lifecycle:
    """Apply (event, now, kwargs) steps in order."""
    life = start
    for event, now, *kw in steps:
        life = apply(life, event, now, **(kw[0] if kw else {}))
    return life


def test_every_state_has_a_row_and_every_edge_leads_to_a_state():
    assert set(lc.TRANSITIONS) == set(S)
    for row in lc.TRANSITIONS.values():
        assert set(row.values()) <= set(S)
    # only a spawn leaves the not-running states towards a process
    for state in (S.STOPPED, S.BACKOFF, S.EXITED, S.FATAL):
        assert lc.TRANSITIONS[state].get(Event.SPAWN) is S.STARTING
    assert lc.ALIVE == {S.STARTING, S.RUNNING, S.STOPPING}


@pytest.mark.parametrize("state", list(S))
def test_events_outside_the_table_raise(state):
    for event in ALL_EVENTS:
        if event in lc.TRANSITIONS[state]:
            assert lc.next_state(state, event) is lc.TRANSITIONS[state][event]
        else:
            with pytest.raises(IllegalTransition, match=f"{event.value} is not allowed in state {state.value}"):
                apply(Lifecycle(state), event, 1.0)


def test_start_run_stop():
    life = run((Event.SPAWN, 10.0))
    assert (life.state, life.since, life.alive) == (S.STARTING, 10.0, True)
    life = run((Event.HEARD, 11.0), start=life)
    assert (life.state, life.since) == (S.RUNNING, 11.0)
    life = run((Event.STOP, 20.0), (Event.STOP, 21.0), start=life)      # asking twice is harmless
    assert (life.state, life.since) == (S.STOPPING, 20.0)
    life = run((Event.EXITED, 22.5), start=life)
    assert (life.state, life.since, life.alive) == (S.STOPPED, 22.5, False)
    assert shown(life, 23.0, "exit 0") == ("stopped", None)


def test_a_crash_waits_in_backoff_until_its_respawn_time():
    life = run((Event.SPAWN, 0.0), (Event.HEARD, 0.5), (Event.CRASHED, 5.0, {"at": 7.0}))
    assert (life.state, life.respawn_at, life.since) == (S.BACKOFF, 7.0, 5.0)
    assert not due(life, 6.9) and due(life, 7.0)
    assert shown(life, 5.5, "killed by SIGKILL") == ("backoff", "process killed by SIGKILL; respawn in 2s")
    life = apply(life, Event.SPAWN, 7.0)
    assert (life.state, life.respawn_at) == (S.STARTING, None)
    with pytest.raises(IllegalTransition):
        apply(life, Event.SPAWN, 7.1)                                    # one process at a time


def test_fatal_keeps_its_reason_and_a_reload_schedules_a_retry():
    life = run((Event.SPAWN, 0.0), (Event.GAVE_UP, 1.0, {"at": None, "reason": "configuration error (exit 78)"}))
    assert (life.state, life.respawn_at, life.reason) == (S.FATAL, None, "configuration error (exit 78)")
    assert not due(life, 1e9)                                             # waits for a reload
    assert shown(life, 2.0, "exit 78") == ("fatal", "configuration error (exit 78)")
    life = apply(life, Event.RETRY, 30.0, at=30.0)
    assert (life.state, life.respawn_at, life.since, life.reason) == (S.FATAL, 30.0, 1.0,
                                                                      "configuration error (exit 78)")
    assert due(life, 30.0)
    life = apply(life, Event.SPAWN, 30.0)
    assert (life.state, life.reason) == (S.STARTING, None)


def test_the_breaker_retries_a_fatal_child_after_its_cooloff():
    life = run((Event.SPAWN, 0.0), (Event.GAVE_UP, 100.0, {"at": 160.0, "reason": "crashed 5 times"}))
    assert not due(life, 159.0) and due(life, 160.0)


def test_stopping_alliumd_cancels_pending_respawns():
    backoff = run((Event.SPAWN, 0.0), (Event.CRASHED, 1.0, {"at": 3.0}), (Event.CANCEL, 2.0))
    assert (backoff.state, backoff.respawn_at) == (S.EXITED, None) and not due(backoff, 99.0)
    assert shown(backoff, 2.0, "exit 1") == (None, None)                  # the source's own record speaks
    fatal = run((Event.SPAWN, 0.0), (Event.GAVE_UP, 1.0, {"at": 61.0, "reason": "r"}), (Event.CANCEL, 2.0))
    assert (fatal.state, fatal.respawn_at, fatal.reason) == (S.FATAL, None, "r") and not due(fatal, 99.0)
    # a child that ends by itself while alliumd stops is EXITED, not STOPPED (it was not asked to)
    assert run((Event.SPAWN, 0.0), (Event.EXITED, 1.0)).state is S.EXITED


def test_running_and_starting_children_show_their_own_record():
    assert shown(run((Event.SPAWN, 0.0)), 1.0, None) == (None, None)
    assert shown(run((Event.SPAWN, 0.0), (Event.HEARD, 0.1)), 1.0, None) == (None, None)
