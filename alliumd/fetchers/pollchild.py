"""One poll in a forked child, so that a fetcher between polls is a small idle process.

Why: a fetcher sleeps for half an hour to six hours between polls, but one poll
imports ``requests`` and its TLS stack (~15 MB that Python never unloads),
parses a document (the uptime document is 242 MB) and leaves the heap
fragmented.  A child that exits returns all of it to the kernel: an idle
fetcher (runtime.IdleFetcher, which never imports the fetcher proper) holds
~18 MB instead of ~34 (the daemon's whole-tree peak RSS has a 600 MB target,
and four fetchers were 135 MB of it).

The fetcher process is single-threaded (no heartbeat thread), so ``fork``
copies nothing half-locked.  The child reports its states to the
supervisor on the inherited stdout exactly as an in-process poll would;
its result goes back to the parent as one JSON document on a pipe.

Contract: the child writes its result and exits 0.  Any other end (an
exception, a signal, the OOM killer) leaves the pipe without a result,
and :func:`run` returns None with a description of how the child ended,
for the fetcher to record as a failed poll.  The child dies with the
fetcher (``PR_SET_PDEATHSIG``), and a fetcher told to stop ends its child
first, so a poll's temp files are removed by the child's own ``finally``
blocks.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import time
from collections.abc import Callable

from .. import childproc
from ..core.parentdeath import die_with_parent

log = logging.getLogger("alliumd.fetcher")
STOP_GRACE = 10.0            # seconds a child told to stop gets to unwind before SIGKILL
CRASHED = 70                 # the child's exit code when the poll raised (EX_SOFTWARE)


def run(poll: Callable[[], dict]) -> tuple[dict | None, str]:
    """Run ``poll`` in a child; its JSON-able result, or None and how the child ended (OSError: no child)."""
    sys.stdout.flush()
    sys.stderr.flush()                      # a buffered line must not be written twice
    parent = os.getpid()
    read_end, write_end = os.pipe()
    try:
        pid = os.fork()
    except OSError:                         # EAGAIN, ENOMEM: the caller records a failed poll
        os.close(read_end)
        os.close(write_end)
        raise
    if pid == 0:                            # pragma: no cover - runs in the child (its coverage is lost)
        os.close(read_end)
        _child(poll, write_end, parent)
    os.close(write_end)
    try:
        data = _read_all(read_end)
        _, status = os.waitpid(pid, 0)
    except BaseException:                   # told to stop (childproc.Terminated) while the child polls
        _stop(pid)
        raise
    finally:
        os.close(read_end)
    return _result(data, status)


def _child(poll: Callable[[], dict], write_end: int, parent: int) -> None:
    """The child's whole life: poll, hand the result over, exit without the parent's cleanups."""
    code = CRASHED
    try:
        die_with_parent(signal.SIGTERM)
        if os.getppid() != parent:          # the fetcher died before the prctl took effect
            os._exit(code)
        data = json.dumps(poll()).encode()
        view = memoryview(data)
        while view:
            view = view[os.write(write_end, view):]
        code = 0
    except childproc.Terminated:
        log.info("poll stopped")
    except BaseException:
        log.exception("the poll failed")
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _read_all(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 1 << 16):
        chunks.append(chunk)
    return b"".join(chunks)


def _stop(pid: int) -> None:
    """End a running child: SIGTERM, then SIGKILL after ``STOP_GRACE``; always reaped."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + STOP_GRACE
    while time.monotonic() < deadline:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done:
            return
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)


def _result(data: bytes, status: int) -> tuple[dict | None, str]:
    if os.WIFSIGNALED(status):
        how = f"killed by {signal.Signals(os.WTERMSIG(status)).name}"
    else:
        how = f"exit code {os.WEXITSTATUS(status)}"
    if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0:
        try:
            result = json.loads(data)
        except ValueError:
            return None, "exit code 0 without a result"
        if isinstance(result, dict):
            return result, how
    return None, how
