"""A child process dies with its parent: set up once for every kind of child.

``PR_SET_PDEATHSIG`` makes the kernel signal the child when its parent dies,
even by SIGKILL; the getppid check afterwards covers the race where the
parent died before the prctl call.
"""

from __future__ import annotations

import ctypes
import os
import signal

PR_SET_PDEATHSIG = 1


def die_with_parent(sig: int = signal.SIGTERM) -> None:
    """Ask the kernel for ``sig`` when the parent dies (Linux; elsewhere a no-op)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, sig)
    except (OSError, AttributeError):
        pass


def orphaned(expected_parent: int | None) -> bool:
    """True when the parent we were started by is gone already (we were re-parented)."""
    return expected_parent is not None and os.getppid() != expected_parent
