"""A supervised child process: spawn, talk, stop, its lifecycle state and respawn bookkeeping.

Children are started with fork+exec (``subprocess.Popen`` of
``python -m alliumd.<module>``), not multiprocessing: every child gets a
fresh interpreter (no inherited threads or locks), nothing needs pickling,
the role is visible in ``ps``, and ``close_fds`` keeps the control socket
out of the children.  Each child gets its own process group, so stopping it
also reaches anything it spawned.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any

from ..childproc import SUPERVISOR_PID_ENV
from ..core import channel
from ..states import RespawnTracker
from . import lifecycle
from .lifecycle import Event, Lifecycle

log = logging.getLogger("alliumd.supervisor")


@dataclass
class Child:
    name: str                       # source name, or "renderer"
    module: str                     # e.g. "alliumd.fetchers.runtime"
    args: list[str]
    spec: Any = None                # the config slice it was started with (for reconcile)
    proc: subprocess.Popen | None = None
    tracker: RespawnTracker = field(default_factory=RespawnTracker)
    life: Lifecycle = field(default_factory=Lifecycle)    # its state (lifecycle.py); changed only by ``event``
    restart_when_stopped: bool = False  # once its expected exit is seen, start it again (a changed config)
    last_exit: str | None = None
    report: dict = field(default_factory=dict)  # the latest report it sent
    busy_since: float | None = None     # monotonic start of the fetch in flight (backstop)
    last_heard: float | None = None     # monotonic time of its last report or heartbeat
    silent: bool = False                # went without a heartbeat beyond the limit (killed, restarting)
    silenced_pid: int | None = None     # the process killed for it (its successor is watched again)
    _reader: channel.LineReader = field(default_factory=channel.LineReader)

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None and self.proc.returncode is None else None

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    def event(self, event: Event, now: float, **kw) -> None:
        """Move its lifecycle along the transition table (IllegalTransition for an edge it does not have)."""
        self.life = lifecycle.apply(self.life, event, now, **kw)

    def spawn(self, now: float, *, first: bool) -> None:
        env = dict(os.environ, **{SUPERVISOR_PID_ENV: str(os.getpid()), "PYTHONUNBUFFERED": "1"})
        self.proc = subprocess.Popen([sys.executable, "-m", self.module, *self.args],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
                                     close_fds=True, process_group=0)
        os.set_blocking(self.proc.stdout.fileno(), False)
        os.set_blocking(self.proc.stdin.fileno(), False)
        self._reader = channel.LineReader()
        self.event(Event.SPAWN, now)
        if first:
            self.tracker.started(now)
        else:
            self.tracker.respawned(now)
        log.info("started %s pid=%d", self.name, self.proc.pid)

    def send(self, message: dict) -> None:
        """One command line on the child's stdin; dropped if the pipe is full or gone."""
        if not self.alive:
            return
        try:
            os.write(self.proc.stdin.fileno(), channel.encode(message))
        except (BlockingIOError, BrokenPipeError, OSError):
            pass

    def read_reports(self) -> tuple[list[dict], bool]:
        """Drain the child's stdout; return (complete JSON report lines, end of file reached)."""
        if self.proc is None or self.proc.stdout is None or self.proc.stdout.closed:
            return [], True
        chunks = []
        eof = False
        while True:
            try:
                chunk = os.read(self.proc.stdout.fileno(), 65536)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                eof = True
                break
            if not chunk:
                eof = True
                break
            chunks.append(chunk)
        return self._reader.feed(b"".join(chunks)), eof

    def _send(self, sig: int, *, group: bool) -> None:
        """``sig`` to the child (``group``: and its process group), unless it has already exited."""
        if self.proc is None or self.proc.returncode is not None:
            return
        try:
            (os.killpg if group else os.kill)(self.proc.pid, sig)
        except ProcessLookupError:
            pass

    def signal_group(self, sig: int) -> None:
        self._send(sig, group=True)

    def terminate(self, now: float) -> None:
        """SIGTERM to its process group; its exit is then expected (STOPPING)."""
        self._stop(now)
        self.signal_group(signal.SIGTERM)

    def stop_signal(self, sig: int, now: float) -> None:
        """Terminate with ``sig`` sent to the child alone (its own helpers follow it by PDEATHSIG)."""
        self._stop(now)
        self._send(sig, group=False)

    def _stop(self, now: float) -> None:
        if self.alive and self.life.alive:      # nothing to stop in BACKOFF, FATAL, EXITED or STOPPED
            self.event(Event.STOP, now)

    def close_pipes(self) -> None:
        if self.proc is None:
            return
        for pipe in (self.proc.stdin, self.proc.stdout):
            try:
                pipe.close()
            except (OSError, AttributeError):
                pass
