"""Moving a corrupt or misplaced file aside instead of crashing on it (or silently deleting it).

Every file alliumd reads back from disk may be damaged (a bad disk, an
operator's edit, a half-restored backup).  The owner of such a file moves a
bad one to ``<name>.corrupt-<UTC time>`` next to it, logs why, and rebuilds
it; the evidence stays for a human to look at.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

log = logging.getLogger("alliumd.quarantine")


def move_aside(path: str | os.PathLike, why: str, *, now: float | None = None) -> Path | None:
    """Rename ``path`` to ``<path>.corrupt-<time>``; None if it was already gone (another process won)."""
    path = Path(path)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() if now is None else now))
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 0
    while os.path.lexists(target):
        n += 1
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
    try:
        os.rename(path, target)
    except (FileNotFoundError, NotADirectoryError):
        return None
    log.error("%s is unusable (%s); moved it to %s and rebuilding it", path, why, target.name)
    return target


def ensure_dir(path: str | os.PathLike) -> Path:
    """Make ``path`` a directory; a plain file or a symlink in its place is moved aside first."""
    path = Path(path)
    if os.path.lexists(path) and (path.is_symlink() or not path.is_dir()):
        move_aside(path, "expected a directory")
    path.mkdir(parents=True, exist_ok=True)
    return path


def ensure_not_dir(path: str | os.PathLike) -> None:
    """A directory (or symlink) where a file is to be published is moved aside."""
    path = Path(path)
    if path.is_symlink() or path.is_dir():
        move_aside(path, "expected a file")
