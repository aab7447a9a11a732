"""Atomic publication of files: a reader sees the old file or the new one, never a torn one.

Recipe: temp file in ``<dir>/.tmp/`` (same filesystem, and a
directory the renderer does not watch, so a publish is exactly one
"created" event), write, fsync, fchmod, optional validation, ``os.replace``,
fsync the directory.  Pages skip the fsyncs: they are reproducible from the
cache and the renderer's startup rescan re-renders them after a crash.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

TMP_DIRNAME = ".tmp"


def tmp_dir_for(target: Path) -> Path:
    d = target.parent / TMP_DIRNAME
    d.mkdir(parents=True, exist_ok=True)
    return d


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def staged(target: str | os.PathLike, *, fsync: bool = True, mode: int = 0o644,
           tmp_dir: str | os.PathLike | None = None, validate: Callable[[Path], object] | None = None):
    """Yield an open binary temp file; on clean exit publish it at ``target``.

    Any exception (including one raised by a signal handler) removes the temp
    file and leaves the previous ``target`` untouched.  ``tmp_dir`` must be on
    the same filesystem as ``target`` (default: ``<target dir>/.tmp``).
    ``validate(tmp_path)`` runs on the complete temp file before the rename;
    if it raises, nothing is published.
    """
    target = Path(target)
    fd, tmp = tempfile.mkstemp(dir=tmp_dir or tmp_dir_for(target), prefix=target.name + ".", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            if validate is not None:
                validate(Path(tmp))
            if fsync:
                os.fsync(f.fileno())
            os.fchmod(f.fileno(), mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    if fsync:
        fsync_dir(target.parent)


def write_bytes(target: str | os.PathLike, data: bytes | Iterable[bytes], *, fsync: bool = True,
                mode: int = 0o644, validate: Callable[[Path], object] | None = None,
                tmp_dir: str | os.PathLike | None = None) -> None:
    """Atomically replace ``target`` with ``data`` (see :func:`staged`)."""
    with staged(target, fsync=fsync, mode=mode, tmp_dir=tmp_dir, validate=validate) as f:
        if isinstance(data, (bytes, bytearray, memoryview)):
            f.write(data)
        else:
            for chunk in data:
                f.write(chunk)


def publish_file(tmp_path: str | os.PathLike, target: str | os.PathLike, *, fsync: bool = True) -> None:
    """Publish an already written and validated temp file (same filesystem) at ``target``."""
    target = Path(target)
    if fsync:
        fd = os.open(tmp_path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    os.chmod(tmp_path, 0o644)
    os.replace(tmp_path, target)
    if fsync:
        fsync_dir(target.parent)


def sweep_tmp(directory: str | os.PathLike, prefix: str = "") -> int:
    """Remove leftover temp files (from a killed writer) in ``<directory>/.tmp``; return the count.

    ``.tmp`` is opened with O_NOFOLLOW and its entries are removed relative to
    that fd: a ``.tmp`` that is a symlink is left alone (nothing outside is deleted).
    """
    try:
        fd = os.open(Path(directory) / TMP_DIRNAME, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:             # missing, not a directory, or a symlink
        return 0
    removed = 0
    try:
        for entry in os.scandir(fd):
            if entry.is_file(follow_symlinks=False) and entry.name.startswith(prefix) \
                    and entry.name.endswith(".part"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.name, dir_fd=fd)
                    removed += 1
    finally:
        os.close(fd)
    return removed

