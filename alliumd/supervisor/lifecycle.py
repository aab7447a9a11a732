"""A supervised child's lifecycle: explicit states and a table of allowed transitions (pure, a leaf).

Modelled on supervisor's ``ProcessStates``: a child is in exactly one state,
events move it along the table, and an event the table does not allow in
the current state raises :class:`IllegalTransition` instead of leaving a
half-set combination of flags.  Time comes in as ``now`` (monotonic
seconds), so every transition is unit tested without processes.

    STOPPED ──spawn──▶ STARTING ──heard──▶ RUNNING
    STARTING/RUNNING ──stop──▶ STOPPING ──exited──▶ STOPPED
    STARTING/RUNNING ──crashed──▶ BACKOFF (respawn_at) ──spawn──▶ STARTING
    STARTING/RUNNING ──gave_up──▶ FATAL (respawn_at: the breaker's retry, or None: wait for a reload)
    STARTING/RUNNING ──exited──▶ EXITED (it ended on its own while alliumd stops: nothing follows)
    BACKOFF ──cancel──▶ EXITED          FATAL ──cancel / retry──▶ FATAL
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace


class ProcessState(str, enum.Enum):
    STOPPED = "stopped"        # not running, deliberately (never started, or stopped on request)
    STARTING = "starting"      # spawned, not heard from yet
    RUNNING = "running"        # has reported at least once
    BACKOFF = "backoff"        # exited unexpectedly; respawned at respawn_at
    STOPPING = "stopping"      # asked to stop; its exit is expected
    EXITED = "exited"          # ended while alliumd stops, or its pending respawn was cancelled
    FATAL = "fatal"            # gave up: crashed too often (retried at respawn_at) or a configuration error


class Event(str, enum.Enum):
    SPAWN = "spawn"            # a process was started for it
    HEARD = "heard"            # its first report arrived
    STOP = "stop"              # it was asked to stop
    EXITED = "exited"          # its process ended and nothing follows (stopped, or alliumd is stopping)
    CRASHED = "crashed"        # its process ended unexpectedly; respawn later
    GAVE_UP = "gave_up"        # its process ended and the breaker opened / the config is broken
    CANCEL = "cancel"          # alliumd is stopping: no respawn
    RETRY = "retry"            # a reload may have fixed its configuration: try again at ``at``


S, E = ProcessState, Event
ALIVE = frozenset({S.STARTING, S.RUNNING, S.STOPPING})

TRANSITIONS: dict[ProcessState, dict[Event, ProcessState]] = {
    S.STOPPED: {E.SPAWN: S.STARTING},
    S.STARTING: {E.HEARD: S.RUNNING, E.STOP: S.STOPPING, E.EXITED: S.EXITED, E.CRASHED: S.BACKOFF,
                 E.GAVE_UP: S.FATAL},
    S.RUNNING: {E.STOP: S.STOPPING, E.EXITED: S.EXITED, E.CRASHED: S.BACKOFF, E.GAVE_UP: S.FATAL},
    S.STOPPING: {E.STOP: S.STOPPING, E.EXITED: S.STOPPED},
    S.BACKOFF: {E.SPAWN: S.STARTING, E.CANCEL: S.EXITED},
    S.EXITED: {E.SPAWN: S.STARTING},
    S.FATAL: {E.SPAWN: S.STARTING, E.CANCEL: S.FATAL, E.RETRY: S.FATAL},
}


class IllegalTransition(ValueError):
    pass


def next_state(state: ProcessState, event: Event) -> ProcessState:
    """The state ``event`` leads to from ``state``; IllegalTransition if the table has no such edge."""
    try:
        return TRANSITIONS[state][event]
    except KeyError:
        raise IllegalTransition(f"{event.value} is not allowed in state {state.value}") from None


@dataclass(frozen=True)
class Lifecycle:
    """Where a child is: its state, since when, when it is respawned and why it gave up."""

    state: ProcessState = S.STOPPED
    since: float | None = None           # monotonic time it entered ``state``
    respawn_at: float | None = None      # BACKOFF, FATAL: monotonic time of the next start
    reason: str | None = None            # FATAL: why it gave up

    @property
    def alive(self) -> bool:
        return self.state in ALIVE


def apply(life: Lifecycle, event: Event, now: float, *, at: float | None = None,
          reason: str | None = None) -> Lifecycle:
    """The lifecycle after ``event`` at ``now``; ``at`` is the respawn time (CRASHED, GAVE_UP, RETRY),
    ``reason`` why it gave up (GAVE_UP).  Staying in a state keeps its ``since``."""
    state = next_state(life.state, event)
    if event in (E.CRASHED, E.GAVE_UP, E.RETRY):
        respawn_at = at
    elif event is E.CANCEL:
        respawn_at = None
    else:
        respawn_at = None if state is not life.state else life.respawn_at
    return replace(life, state=state, since=life.since if state is life.state else now, respawn_at=respawn_at,
                   reason=(reason if event is E.GAVE_UP else life.reason) if state is S.FATAL else None)


def due(life: Lifecycle, now: float) -> bool:
    """Whether a child in backoff (or a fatal one with a retry time) should be started at ``now``."""
    return life.state in (S.BACKOFF, S.FATAL) and life.respawn_at is not None and now >= life.respawn_at


def shown(life: Lifecycle, now: float, last_exit: str | None) -> tuple[str | None, str | None]:
    """What ``alliumctl status`` says about it beyond the source's own record: (state, note); None: the record's."""
    if life.state is S.FATAL:
        return "fatal", life.reason
    if life.state is S.BACKOFF and life.respawn_at is not None:
        return "backoff", f"process {last_exit}; respawn in {max(0, life.respawn_at - now):.0f}s"
    if life.state in (S.STOPPING, S.STOPPED):
        return "stopped", None
    return None, None
