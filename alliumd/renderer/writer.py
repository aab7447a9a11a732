"""Writing pages: atomically, and only when their bytes changed (Sphinx's FileAvoidWrite).

Unchanged pages keep their mtime and inode, so web caches, rsync and
``If-Modified-Since`` clients see no change.  Pages skip fsync: they are
reproducible from the cache (DAEMON.md §3.1).

A cold build writes ~30k new files into ~17k new directories, so the
per-page file system work is kept to what atomicity needs:

* a page is written into an anonymous ``O_TMPFILE`` inode in its own
  directory.  A **new** page is then linked under its name (``linkat``):
  readers see no file or the whole file, and a crash leaves nothing behind.
  An **existing** page is replaced by linking the inode as ``.<name>.part``
  next to it and renaming that over the page.  On this ext4 host both are
  2-4x cheaper than a named temp file renamed across directories.  Where
  ``O_TMPFILE`` or ``/proc`` is unavailable the temp file goes to one
  ``<output_dir>/.tmp`` (swept at start-up) and is renamed over the target;
* directories are created and checked once per writer (one ``mkdir`` and
  one ``lstat`` per new directory), not resolved per page: a path is
  validated as a string (``paths.relpath``), and every directory on it is
  verified to be a real directory, not a symlink, before the first write
  below it.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import stat
from pathlib import Path

from .. import atomic, paths
from .registry import SAFE_PATH

PAGE_MODE = 0o644
_UNSUPPORTED = {errno.EXDEV, errno.EPERM, errno.EACCES, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EINVAL}


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class PageWriter:
    def __init__(self, root: Path):
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self._root = str(self.root)
        self.tmp = atomic.tmp_dir_for(self.root / "index.html")
        atomic.sweep_tmp(self.root)
        self._dirs: set[str] = {""}            # verified directories, relative to the root ("" = root)
        self._proc_fd: int | None = None
        self._anonymous = hasattr(os, "O_TMPFILE")

    def exists(self, rel: str) -> bool:
        return os.path.exists(os.path.join(self._root, rel))

    def write_if_changed(self, rel: str, data: bytes, known_sha: str | None) -> tuple[bool, str]:
        """Write ``data`` at ``rel`` unless the file already holds exactly these bytes.

        ``known_sha`` is the manifest's hash of the current file; the file must
        also still exist for the write to be skipped.  Returns (written, sha).
        """
        if SAFE_PATH.fullmatch(rel) is None:
            rel = paths.relpath(rel)               # raises UnsafePath with the reason
        sha = digest(data)
        target = os.path.join(self._root, rel)
        if sha == known_sha and os.path.exists(target):
            return False, sha
        try:
            self._write(rel, target, data, new=known_sha is None)
        except FileNotFoundError:
            # a directory (or .tmp) was removed behind our back: verify and create again, retry once
            self._forget(rel)
            self.tmp.mkdir(parents=True, exist_ok=True)
            self._write(rel, target, data, new=False)
        return True, sha

    def _write(self, rel: str, target: str, data: bytes, *, new: bool) -> None:
        parent, _, name = rel.rpartition("/")
        self._ensure_dir(parent)
        if self._anonymous:
            directory = os.path.join(self._root, parent)
            fd = self._anonymous_file(directory, data)
            if fd is not None:
                try:
                    if not (new and self._link(fd, directory, name)):
                        self._replace(fd, directory, name)
                    return
                except OSError as e:
                    if e.errno not in _UNSUPPORTED:
                        raise
                    self._anonymous = False                    # /proc fds cannot be linked here
                finally:
                    os.close(fd)
        atomic.write_bytes(target, data, fsync=False, tmp_dir=self.tmp)

    def _anonymous_file(self, directory: str, data: bytes) -> int | None:
        """An unnamed file in ``directory`` holding ``data`` (its fd), or None where unsupported."""
        try:
            if self._proc_fd is None:
                self._proc_fd = os.open("/proc/self/fd", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            fd = os.open(directory, os.O_TMPFILE | os.O_WRONLY | os.O_CLOEXEC, PAGE_MODE)
        except OSError as e:
            if e.errno == errno.ENOENT and os.path.isdir("/proc/self/fd"):
                raise                                          # the directory itself is gone
            self._anonymous = False                            # no O_TMPFILE here: named temp files
            return None
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fchmod(fd, PAGE_MODE)                           # exactly 0644, whatever the umask
        except BaseException:
            os.close(fd)
            raise
        return fd

    def _link(self, fd: int, directory: str, name: str) -> bool:
        """Give the anonymous file its name; False if that name exists already."""
        try:
            os.link(str(fd), os.path.join(directory, name), src_dir_fd=self._proc_fd, follow_symlinks=True)
            return True
        except FileExistsError:
            return False

    def _replace(self, fd: int, directory: str, name: str) -> None:
        """Replace ``directory/name`` by the anonymous file: linked as ``.name.part``, renamed over it.

        A rename within one directory (~1/5 of the cost of one across
        directories here).  Should the process die between the two steps, the
        hidden ``.name.part`` is replaced by the next write of that page.
        """
        temp = os.path.join(directory, f".{name}.part")
        if not self._link(fd, directory, f".{name}.part"):
            os.unlink(temp)                                    # left by an interrupted write
            if not self._link(fd, directory, f".{name}.part"):
                raise FileExistsError(temp)
        try:
            os.replace(temp, os.path.join(directory, name))
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise

    def _ensure_dir(self, parent: str) -> None:
        """Create the directories of ``parent`` (relative) and check each is a real directory."""
        if parent in self._dirs:
            return
        parts = parent.split("/")
        for i in range(1, len(parts) + 1):
            sub = "/".join(parts[:i])
            if sub in self._dirs:
                continue
            full = os.path.join(self._root, sub)
            try:
                os.mkdir(full)
            except FileExistsError:
                pass
            if not stat.S_ISDIR(os.lstat(full).st_mode):
                raise paths.UnsafePath(f"{sub!r} under {self._root} is not a directory (a symlink?)")
            self._dirs.add(sub)

    def _forget(self, rel: str) -> None:
        parts = rel.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            self._dirs.discard("/".join(parts[:i]))

    def delete(self, rel: str) -> bool:
        """Remove a page that no longer exists, and its now-empty directories."""
        target = paths.inside(self.root, rel)
        try:
            target.unlink()
        except FileNotFoundError:
            return False
        parent = target.parent
        while parent != self.root and self.root in parent.parents:
            try:
                os.rmdir(parent)
            except OSError:
                break
            self._dirs.discard(str(parent.relative_to(self.root)))
            parent = parent.parent
        return True

    def close(self) -> None:
        if self._proc_fd is not None:
            os.close(self._proc_fd)
            self._proc_fd = None
