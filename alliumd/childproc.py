"""What every child process (fetcher, renderer) does to be a good child.

- ``PR_SET_PDEATHSIG``: the kernel sends SIGTERM when the supervisor dies,
  even by SIGKILL; then a getppid check covers the race where the parent
  died before the prctl call.
- The supervisor talks to a child over its stdin (one JSON command per
  line) and listens on its stdout (one JSON report per line); stderr is the
  log.  EOF on stdin also means the supervisor is gone.
- SIGTERM raises :class:`Terminated` so ``finally`` blocks remove temp
  files before the process exits.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1
SUPERVISOR_PID_ENV = "ALLIUM_SUPERVISOR_PID"


class Terminated(BaseException):
    """SIGTERM/SIGINT arrived; unwinds the stack like KeyboardInterrupt."""


def terminate_handler(signum, frame):
    raise Terminated(signal.Signals(signum).name)


_terminate = terminate_handler


def become_child() -> None:
    """Set up parent-death signalling and graceful termination; exit if orphaned already."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass
    expected = os.environ.get(SUPERVISOR_PID_ENV)
    if expected and os.getppid() != int(expected):
        sys.exit(76)
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGINT, _terminate)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)    # reload is the supervisor's business


def parent_alive() -> bool:
    expected = os.environ.get(SUPERVISOR_PID_ENV)
    return not expected or os.getppid() == int(expected)


def report(message: dict) -> None:
    """Send one report line to the supervisor (stdout)."""
    line = json.dumps(message, separators=(",", ":")) + "\n"
    with _report_lock:                       # the heartbeat thread reports too: whole lines only
        try:
            sys.stdout.write(line)
            sys.stdout.flush()
        except BrokenPipeError:
            pass


_report_lock = threading.Lock()


def heartbeat_interval(timeout: float) -> float:
    """How often to beat so that a few lost beats never look like silence beyond ``timeout``."""
    return max(0.1, min(5.0, timeout / 4))


def start_heartbeat(interval: float) -> threading.Thread:
    """Report ``{"event": "heartbeat"}`` every ``interval`` s from a daemon thread.

    A stopped or frozen process (SIGSTOP, a hung disk, a swap storm) stops
    beating and the supervisor restarts it.
    """
    def beat():
        while True:
            report({"event": "heartbeat"})
            time.sleep(interval)
    thread = threading.Thread(target=beat, name="heartbeat", daemon=True)
    thread.start()
    return thread


def read_command(line: bytes) -> dict | None:
    try:
        msg = json.loads(line)
    except ValueError:
        return None
    return msg if isinstance(msg, dict) else None
