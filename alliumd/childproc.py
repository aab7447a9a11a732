"""What every child process (fetcher, renderer) does to be a good child.

- It dies with the supervisor (core.parentdeath: SIGTERM on the parent's death).
- The supervisor talks to a child over its stdin and listens on its stdout
  (core.channel: JSON lines); stderr is the log.  EOF on stdin also means
  the supervisor is gone.
- SIGTERM raises :class:`Terminated` so ``finally`` blocks remove temp
  files before the process exits.
- Once ``main`` has returned, it ends with :func:`exit_now`, not a teardown
  of its heap.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
import time
from typing import NoReturn

from .core import channel, exitcodes
from .core.parentdeath import die_with_parent, orphaned

SUPERVISOR_PID_ENV = "ALLIUM_SUPERVISOR_PID"


class Terminated(BaseException):
    """SIGTERM/SIGINT arrived; unwinds the stack like KeyboardInterrupt."""


def terminate_handler(signum, frame):
    raise Terminated(signal.Signals(signum).name)


_terminate = terminate_handler


def become_child() -> None:
    """Set up parent-death signalling and graceful termination; exit if orphaned already."""
    die_with_parent(signal.SIGTERM)
    if orphaned(_supervisor_pid()):
        sys.exit(exitcodes.PARENT_GONE)
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGINT, _terminate)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)    # reload is the supervisor's business


def exit_now(code: int) -> NoReturn:
    """End the process with ``code`` after ``main`` returned: flush the log and the standard streams, then
    ``os._exit``, skipping the interpreter's teardown.

    Why: after a 10k-relay build the renderer holds millions of objects, and
    freeing them one by one at exit took 0.7 s of CPU and wall at the end of
    a cold ``alliumd --once`` (network-10k), after every page, the manifest
    and the history store had been written and closed.  ``main`` closes what
    it owns in its ``finally`` blocks; the threads still running then are
    daemon threads (heartbeat, stdin readers) with nothing to write.
    """
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


def _supervisor_pid() -> int | None:
    expected = os.environ.get(SUPERVISOR_PID_ENV)
    return int(expected) if expected else None


def parent_alive() -> bool:
    return not orphaned(_supervisor_pid())


def report(message: channel.SourceReport | channel.RendererReport | dict) -> None:
    """Send one report line to the supervisor (stdout)."""
    line = channel.encode(message if isinstance(message, dict) else message.message()).decode()
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
            report(channel.HEARTBEAT_MESSAGE)
            time.sleep(interval)
    thread = threading.Thread(target=beat, name="heartbeat", daemon=True)
    thread.start()
    return thread
