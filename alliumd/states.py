"""States and pure state transitions (a leaf module: stdlib only).

Modelled on supervisor's ``states.py``: states are enums, and every decision
that depends on time is a pure function of its inputs with ``now`` passed in,
so the respawn backoff, the circuit breaker and the fetch schedule are unit
tested with a fake clock and no processes.
"""

from __future__ import annotations

import enum
import random
from collections import deque
from dataclasses import dataclass, field

from .core import exitcodes


class SourceState(str, enum.Enum):
    IDLE = "idle"            # healthy, waiting for the next poll
    FETCHING = "fetching"    # a fetch is in flight
    BACKOFF = "backoff"      # last fetch failed (or process awaits respawn); retrying later
    FATAL = "fatal"          # crashed too often, or a configuration error; cooling off
    STOPPED = "stopped"      # daemon not running / source being stopped
    DISABLED = "disabled"    # enabled = false in the config


# -- process respawn (supervisor side) ---------------------------------------------

RESPAWN_BASE = 1.0          # seconds before the first respawn
RESPAWN_CAP = 30.0          # backoff never exceeds this
RESPAWN_JITTER = 0.1        # up to +10 %
STABLE_AFTER = 60.0         # a child up this long has its backoff reset
BREAKER_WINDOW = 120.0      # crashes counted within this window ...
BREAKER_CRASHES = 5         # ... this many open the circuit (state fatal)
BREAKER_COOLOFF = 60.0      # fatal children are retried (half-open) after this


def respawn_delay(consecutive: int, rand: float = 0.0) -> float:
    """Delay before respawn number ``consecutive`` (1-based): 1, 2, 4, ... capped, plus jitter."""
    base = min(RESPAWN_BASE * 2 ** max(consecutive - 1, 0), RESPAWN_CAP)
    return min(base * (1 + RESPAWN_JITTER * rand), RESPAWN_CAP)


@dataclass
class ExitDecision:
    """What the supervisor does after a child exited."""

    action: str                  # "respawn" | "fatal" | "done"
    at: float | None = None      # monotonic time of the respawn / retry
    reason: str = ""


@dataclass
class RespawnTracker:
    """Crash bookkeeping for one child; pure apart from the injected ``rand``."""

    consecutive: int = 0
    restarts: int = 0
    started_at: float | None = None
    crashes: deque = field(default_factory=deque)
    rand: callable = random.random

    def started(self, now: float) -> None:
        self.started_at = now

    def exited(self, now: float, returncode: int, *, config_error_code: int = exitcodes.CONFIG,
               expected: bool = False) -> ExitDecision:
        """Decide what follows an exit at ``now`` with ``returncode`` (negative: signal)."""
        uptime = now - self.started_at if self.started_at is not None else 0.0
        self.started_at = None
        if expected:
            return ExitDecision("done", reason="stopped")
        if returncode == config_error_code:
            return ExitDecision("fatal", None, "configuration error (exit 78); fix the config and reload")
        if uptime >= STABLE_AFTER:
            self.consecutive = 0
        self.consecutive += 1
        self.crashes.append(now)
        while self.crashes and self.crashes[0] < now - BREAKER_WINDOW:
            self.crashes.popleft()
        if len(self.crashes) >= BREAKER_CRASHES:
            self.crashes.clear()
            self.consecutive = 0
            return ExitDecision("fatal", now + BREAKER_COOLOFF,
                                f"crashed {BREAKER_CRASHES} times within {BREAKER_WINDOW:.0f}s; "
                                f"retrying after {BREAKER_COOLOFF:.0f}s")
        return ExitDecision("respawn", now + respawn_delay(self.consecutive, self.rand()))

    def respawned(self, now: float) -> None:
        self.restarts += 1
        self.started(now)

    def reset(self) -> None:
        self.consecutive = 0
        self.crashes.clear()


# -- fetch schedule (fetcher side) ---------------------------------------------------

RETRY_BACKOFF_CAP = 30.0     # cap of the short backoff between attempts inside one fetch


def retry_backoff(attempt: int, rand: float = 1.0) -> float:
    """Pause after failed attempt number ``attempt`` (1-based) inside one fetch: 1, 2, 4 … ≤ 30 s, jittered."""
    return min(2.0 ** (attempt - 1), RETRY_BACKOFF_CAP) * (0.5 + rand / 2)


def fetch_backstop(timeout: float, retries: int, margin: float = 15.0) -> float:
    """The longest one fetch can legitimately take: every attempt, the pauses between them, a margin.

    The supervisor (and ``--once``) kill a fetcher that stays in one fetch longer than this,
    on top of the fetcher's own per-attempt deadline.
    """
    return timeout * (retries + 1) + sum(retry_backoff(i) for i in range(1, retries + 1)) + margin


FAILURE_BASE = 30.0          # first retry after a failed fetch
RETRY_AFTER_MAX = 6 * 3600.0


def failure_delay(failures: int, interval: float, rand: float = 0.0) -> float:
    """Schedule backoff after ``failures`` consecutive failed fetches.

    Doubles from 30 s but never waits longer than the normal interval: a
    failing source is retried sooner than a healthy one is polled, yet never
    more often than every 30 s (or ``interval`` if that is shorter).
    """
    base = FAILURE_BASE * 2 ** min(max(failures - 1, 0), 30)
    return min(base * (1 + 0.1 * rand), interval)


def retry_after_delay(retry_after: float | None, interval: float) -> float:
    """Honour a server's Retry-After: at least what it asks and never below our interval;
    a longer request is capped at 6 h (or at the interval, if that is longer)."""
    wanted = retry_after if retry_after is not None else interval
    return min(max(wanted, interval), max(RETRY_AFTER_MAX, interval))


def first_run_delay(last_success_age: float | None, interval: float, rand: float = 0.0) -> float:
    """Delay before a (re)started fetcher's first poll.

    Data fetched within ``interval`` is not fetched again (no refetch storm
    after a restart); otherwise poll now, with a small stagger (≤ 2 s) so
    sources started together do not hit the network in the same instant.
    """
    if last_success_age is not None and 0 <= last_success_age < interval:
        return interval - last_success_age
    return min(2.0, interval / 10) * rand
