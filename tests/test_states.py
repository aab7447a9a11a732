"""alliumd.states: respawn backoff, circuit breaker and fetch schedule, with a fake clock."""

from __future__ import annotations

import pytest

from alliumd import states
from alliumd.states import (BREAKER_COOLOFF, BREAKER_CRASHES, BREAKER_WINDOW, RESPAWN_CAP, STABLE_AFTER,
                            RespawnTracker, failure_delay, first_run_delay, respawn_delay, retry_after_delay)


def tracker(rand: float = 0.0) -> RespawnTracker:
    return RespawnTracker(rand=lambda: rand)


def crash(t: RespawnTracker, now: float, *, uptime: float = 0.5, code: int = 1) -> states.ExitDecision:
    """Start the child ``uptime`` seconds before ``now`` and let it crash at ``now``."""
    t.started(now - uptime)
    return t.exited(now, code)


# -- constants the README promises --------------------------------------------------------

def test_documented_constants():
    assert (states.RESPAWN_BASE, RESPAWN_CAP) == (1.0, 30.0)
    assert (BREAKER_CRASHES, BREAKER_WINDOW, BREAKER_COOLOFF) == (5, 120.0, 60.0)
    assert BREAKER_COOLOFF <= 60


# -- respawn_delay -------------------------------------------------------------------------

def test_respawn_delay_doubles_from_one_second():
    assert [respawn_delay(n) for n in range(1, 6)] == [1.0, 2.0, 4.0, 8.0, 16.0]


def test_respawn_delay_is_capped_at_30s():
    assert respawn_delay(6) == 30.0
    assert respawn_delay(50) == 30.0
    assert respawn_delay(1000) == 30.0          # no overflow for long crash series


def test_respawn_delay_zero_or_negative_counts_as_first():
    assert respawn_delay(0) == 1.0
    assert respawn_delay(-3) == 1.0


@pytest.mark.parametrize("n", range(1, 10))
def test_respawn_delay_jitter_is_at_most_ten_percent_and_never_above_cap(n):
    base = respawn_delay(n, 0.0)
    top = respawn_delay(n, 1.0)
    assert base <= top <= min(base * 1.1, RESPAWN_CAP) + 1e-9
    assert base <= respawn_delay(n, 0.5) <= top


def test_respawn_delay_jitter_is_applied_below_the_cap():
    assert respawn_delay(1, 1.0) == pytest.approx(1.1)
    assert respawn_delay(3, 0.5) == pytest.approx(4.2)
    assert respawn_delay(5, 1.0) == pytest.approx(17.6)
    assert respawn_delay(6, 1.0) == 30.0        # jitter cannot push past the cap


# -- RespawnTracker ------------------------------------------------------------------------

def test_crash_respawns_with_growing_delay():
    t = tracker()
    now = 1000.0
    delays = []
    for _ in range(4):
        d = crash(t, now)
        assert d.action == "respawn"
        delays.append(d.at - now)
        now += 40.0          # spaced so that 4 crashes stay below the breaker (5 in 120 s)
    assert delays == [1.0, 2.0, 4.0, 8.0]
    assert t.consecutive == 4


def test_respawn_time_includes_jitter_from_injected_rand():
    t = tracker(rand=1.0)
    d = crash(t, 500.0)
    assert d.action == "respawn" and d.at == pytest.approx(501.1)


def test_backoff_resets_after_stable_uptime():
    t = tracker()
    assert crash(t, 100.0).at == 101.0
    assert crash(t, 200.0).at == 202.0
    assert crash(t, 300.0).at == 304.0
    # this run lasted STABLE_AFTER seconds: the next crash starts the backoff afresh
    d = crash(t, 1000.0, uptime=STABLE_AFTER)
    assert d.action == "respawn" and d.at == 1001.0
    assert t.consecutive == 1


def test_backoff_not_reset_just_below_stable_uptime():
    t = tracker()
    crash(t, 100.0)
    d = crash(t, 300.0, uptime=STABLE_AFTER - 0.01)
    assert d.at == 302.0 and t.consecutive == 2


def test_exit_without_start_counts_zero_uptime():
    t = tracker()
    t.consecutive = 3
    d = t.exited(50.0, 1)              # never marked started: uptime 0, no reset
    assert d.action == "respawn" and d.at == 50.0 + 8.0


def test_circuit_breaker_opens_at_fifth_crash_within_window():
    t = tracker()
    times = [0.0, 10.0, 20.0, 30.0]
    for now in times:
        assert crash(t, now).action == "respawn"
    d = crash(t, 40.0)
    assert d.action == "fatal"
    assert d.at == 40.0 + BREAKER_COOLOFF
    assert d.at - 40.0 <= 60.0
    assert "5" in d.reason and "120" in d.reason
    # the breaker resets the bookkeeping: the half-open retry starts from scratch
    assert t.consecutive == 0 and len(t.crashes) == 0
    t.respawned(d.at)
    again = t.exited(d.at + 1.0, 1)
    assert again.action == "respawn" and again.at == d.at + 2.0


def test_crashes_exactly_at_window_edge_still_count():
    t = tracker()
    for now in (0.0, 30.0, 60.0, 90.0):
        crash(t, now)
    d = crash(t, BREAKER_WINDOW)          # the first crash is exactly 120 s old: still inside
    assert d.action == "fatal"


def test_crashes_outside_window_are_not_counted():
    t = tracker()
    # one crash every 31 s: any 120 s window holds at most 4 of them
    now = 0.0
    for _ in range(12):
        d = crash(t, now)
        assert d.action == "respawn", now
        assert len(t.crashes) <= 4
        now += 31.0
    assert all(c >= now - 31.0 - BREAKER_WINDOW for c in t.crashes)


def test_old_crashes_fall_out_before_counting():
    t = tracker()
    for now in (0.0, 1.0, 2.0, 3.0):      # four quick crashes
        crash(t, now)
    d = crash(t, 200.0)                  # all four are older than 120 s
    assert d.action == "respawn"
    assert list(t.crashes) == [200.0]


def test_config_error_exit_is_fatal_at_once_without_retry_time():
    t = tracker()
    d = crash(t, 10.0, code=78)
    assert d.action == "fatal" and d.at is None
    assert "78" in d.reason and "config" in d.reason
    assert t.consecutive == 0 and len(t.crashes) == 0   # not counted as a crash
    assert t.started_at is None


def test_custom_config_error_code():
    t = tracker()
    t.started(0.0)
    assert t.exited(1.0, 64, config_error_code=64).action == "fatal"
    t.started(2.0)
    assert t.exited(3.0, 78, config_error_code=64).action == "respawn"


def test_signal_death_is_a_crash():
    t = tracker()
    d = crash(t, 5.0, code=-9)
    assert d.action == "respawn" and d.at == 6.0


def test_expected_stop_is_done_and_not_counted():
    t = tracker()
    t.started(0.0)
    d = t.exited(5.0, -15, expected=True)
    assert d.action == "done" and d.at is None and d.reason == "stopped"
    assert t.consecutive == 0 and len(t.crashes) == 0 and t.started_at is None
    # expected wins even over the config error code
    t.started(6.0)
    assert t.exited(7.0, 78, expected=True).action == "done"


def test_restarts_counter_counts_respawns_only():
    t = tracker()
    t.started(0.0)
    assert t.restarts == 0
    d = t.exited(1.0, 1)
    t.respawned(d.at)
    assert t.restarts == 1 and t.started_at == d.at
    d = t.exited(d.at + 1.0, 1)
    t.respawned(d.at)
    assert t.restarts == 2
    t.exited(d.at + 1.0, 0, expected=True)
    assert t.restarts == 2


def test_reset_clears_backoff_and_crash_window():
    t = tracker()
    for now in (0.0, 1.0, 2.0, 3.0):
        crash(t, now)
    t.reset()
    assert t.consecutive == 0 and len(t.crashes) == 0
    d = crash(t, 4.0)
    assert d.action == "respawn" and d.at == 5.0


def test_trackers_do_not_share_crash_history():
    a, b = tracker(), tracker()
    crash(a, 1.0)
    assert len(b.crashes) == 0


# -- failure_delay -------------------------------------------------------------------------

def test_failure_delay_starts_at_30s_and_doubles():
    assert [failure_delay(n, 3600) for n in range(1, 7)] == [30.0, 60.0, 120.0, 240.0, 480.0, 960.0]


def test_failure_delay_never_above_interval_without_jitter():
    assert failure_delay(7, 3600) == 1920.0
    assert failure_delay(8, 3600) == 3600.0
    assert failure_delay(100, 3600) == 3600.0
    assert failure_delay(1, 10) == 10.0          # interval shorter than 30 s wins


def test_failure_delay_zero_failures_is_base():
    assert failure_delay(0, 3600) == 30.0


@pytest.mark.parametrize("n", [1, 2, 5])
def test_failure_delay_jitter_at_most_ten_percent(n):
    base = failure_delay(n, 3600, 0.0)
    assert base < failure_delay(n, 3600, 0.5) < failure_delay(n, 3600, 1.0) <= base * 1.1 + 1e-9


@pytest.mark.parametrize("failures,interval", [(100, 3600), (1, 20)])
def test_failure_delay_with_jitter_never_above_interval(failures, interval):
    assert failure_delay(failures, interval, 1.0) <= interval


# -- retry_after_delay ---------------------------------------------------------------------

def test_retry_after_none_is_interval():
    assert retry_after_delay(None, 3600) == 3600


def test_retry_after_below_interval_is_raised_to_interval():
    assert retry_after_delay(5, 3600) == 3600
    assert retry_after_delay(0, 60) == 60


def test_retry_after_between_interval_and_cap_is_honoured():
    assert retry_after_delay(7200, 3600) == 7200


def test_retry_after_capped_at_six_hours():
    assert retry_after_delay(10 * 86400, 3600) == 6 * 3600
    assert retry_after_delay(6 * 3600 + 1, 60) == 6 * 3600


# -- first_run_delay -----------------------------------------------------------------------

def test_first_run_waits_rest_of_interval_for_fresh_data():
    assert first_run_delay(600, 3600) == 3000
    assert first_run_delay(0, 3600) == 3600
    assert first_run_delay(3599, 3600, rand=1.0) == 1     # no stagger added to a scheduled wait


@pytest.mark.parametrize("age", [None, 3600, 99999])
def test_first_run_polls_soon_for_old_or_missing_data(age):
    assert first_run_delay(age, 3600, 0.0) == 0.0
    assert 0.0 < first_run_delay(age, 3600, 0.5) < first_run_delay(age, 3600, 1.0) <= 2.0


def test_first_run_stagger_never_above_tenth_of_short_interval():
    assert first_run_delay(None, 5, 1.0) == pytest.approx(0.5)


def test_first_run_negative_age_clock_skew_polls_now():
    # a last success "in the future" (clock went backwards) must not delay the first poll
    assert first_run_delay(-100, 3600, 1.0) <= 2.0


def test_fetch_backstop_covers_every_attempt_and_pause():
    from alliumd.states import fetch_backstop, retry_backoff
    assert retry_backoff(1) == 1.0 and retry_backoff(3) == 4.0 and retry_backoff(10) == 30.0
    assert retry_backoff(2, 0.0) == 1.0            # jitter halves at most
    # 4 attempts of 300 s, pauses 1 + 2 + 4 s, 15 s margin
    assert fetch_backstop(300, 3) == 300 * 4 + 7 + 15
    assert fetch_backstop(5, 0, margin=0) == 5
