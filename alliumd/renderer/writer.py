"""Writing pages: atomically, and only when their bytes changed (Sphinx's FileAvoidWrite).

Unchanged pages keep their mtime and inode, so web caches, rsync and
``If-Modified-Since`` clients see no change.  Pages skip fsync: they are
reproducible from the cache.

A cold build writes ~30k new files into ~17k new directories, so the
per-page file system work is kept to what atomicity needs:

* a page is written into an anonymous ``O_TMPFILE`` inode in its own
  directory.  A **new** page is then linked under its name (``linkat``):
  readers see no file or the whole file, and a crash leaves nothing behind.
  An **existing** page is replaced by linking the inode as ``.<name>.part``
  next to it and renaming that over the page.  On this ext4 host both are
  2-4x cheaper than a named temp file renamed across directories.  Where
  ``O_TMPFILE`` or ``/proc`` is unavailable the temp file is ``.<name>.part``
  next to the page, renamed over it.  Nothing temporary lives in a directory
  of its own: the web root holds only what is published (an empty ``.tmp/``
  left by older versions is swept and removed at start-up);
* every write and delete works on directory file descriptors: the path is
  validated as a string (``paths.relpath``), then walked from the output
  root one component at a time with ``openat(O_DIRECTORY|O_NOFOLLOW)``
  (creating missing directories with ``mkdirat``), and the file is created,
  linked, renamed or unlinked relative to the final directory's fd.  A
  directory swapped for a symlink at any time, even between two writes,
  fails that one page with ``UnsafePath``; nothing is ever written or
  deleted outside ``output_dir``.  (About three extra syscalls per page.)
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import os
import stat
from pathlib import Path

from .. import atomic, paths
from ..pages.registry import SAFE_PATH

log = logging.getLogger("alliumd.renderer")
PAGE_MODE = 0o644
MADE_LIMIT = 20_000            # parents remembered (a cold build has ~17k page directories)
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
CURRENT_LIMIT = 64 << 20       # bytes of a page read back (pages/fragments.py); relays/all.html is ~10 MB
_UNSUPPORTED = {errno.EXDEV, errno.EPERM, errno.EACCES, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EINVAL}


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
    os.fchmod(fd, PAGE_MODE)                                   # exactly 0644, whatever the umask


class PageWriter:
    def __init__(self, root: Path):
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self._root = str(self.root)
        atomic.sweep_tmp(self.root)                            # an older alliumd's leftovers
        with contextlib.suppress(OSError):                     # missing, not empty, or not a directory
            os.rmdir(self.root / atomic.TMP_DIRNAME)
        self._proc_fd: int | None = None
        self._rootfd: int | None = None
        self._anonymous = hasattr(os, "O_TMPFILE")
        self._made: set[str] = set()         # parents this writer created or found: no mkdir before opening
        self._held: tuple[str, int] | None = None    # (parent, fd) of the last page's directory: see hold()
        self._holding = False

    def exists(self, rel: str) -> bool:
        return os.path.exists(os.path.join(self._root, rel))

    def current(self, rel: str, sha: str) -> bytes | None:
        """The bytes of the page at ``rel`` if its SHA-256 is ``sha`` (the manifest's: what this renderer
        wrote), else None.  Only a regular file of at most CURRENT_LIMIT bytes is read (not a symlink, a
        FIFO or a device someone put there), and only the very bytes that were written count."""
        try:
            fd = os.open(os.path.join(self._root, rel), _READ_FLAGS)
        except OSError:
            return None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode) or st.st_size > CURRENT_LIMIT:
                return None
            with open(fd, "rb", closefd=False) as f:
                data = f.read(CURRENT_LIMIT + 1)
        except OSError:
            return None
        finally:
            os.close(fd)
        return data if digest(data) == sha else None

    def write_if_changed(self, rel: str, data: bytes, known_sha: str | None) -> tuple[bool, str]:
        """Write ``data`` at ``rel`` unless the file already holds exactly these bytes.

        ``known_sha`` is the manifest's hash of the current file; the file must
        also still exist for the write to be skipped.  Returns (written, sha).
        """
        if SAFE_PATH.fullmatch(rel) is None:
            rel = paths.relpath(rel)               # raises UnsafePath with the reason
        sha = digest(data)
        if sha == known_sha and os.path.exists(os.path.join(self._root, rel)):
            return False, sha
        parent, _, name = rel.rpartition("/")
        held = self._held                          # (parent, fd): set only while holding, see hold()
        if held is None or held[0] != parent or not os.fstat(held[1]).st_nlink:   # (removed meanwhile)
            self.release()
            held = self._held = (parent, self._open_dir(parent, create=True, new=known_sha is None))
        try:
            self._write(held[1], name, data, new=known_sha is None)
        finally:
            if not self._holding:
                self.release()
        return True, sha

    @contextlib.contextmanager
    def hold(self):
        """Within this block the directory of the last page written stays open for the next page: a
        relay's four pages share theirs, and walking to it again was a tenth of writing them.  The fd is
        closed at the end, so a directory replaced later is walked afresh (never through a symlink)."""
        self._holding = True
        try:
            yield self
        finally:
            self._holding = False
            self.release()

    def release(self) -> None:
        if self._held is not None:
            os.close(self._held[1])
            self._held = None

    def _root_fd(self) -> int:
        """The output root, opened once (it is configuration, not data: only what is below it is walked)."""
        if self._rootfd is None:
            self._rootfd = os.open(self._root, _DIR_FLAGS)
        return self._rootfd

    def _open_dir(self, parent: str, *, create: bool, new: bool = False) -> int:
        """An fd of ``root/parent``, reached component by component without following any symlink
        (``new``: the page is new, so its own directory probably is too: mkdir before open, unless this
        writer has made or opened that directory already: a relay's four pages share theirs).  The walk
        starts at the root's own fd (no duplicate of it: a dup and a close fewer per walk)."""
        root = self._root_fd()
        if not parent:
            return os.dup(root)
        fd = root
        new = new and parent not in self._made
        try:
            segments = parent.split("/")
            last = len(segments) - 1
            for i, seg in enumerate(segments):
                try:
                    if create and new and i == last:
                        with contextlib.suppress(FileExistsError):
                            os.mkdir(seg, dir_fd=fd)
                    try:
                        sub = os.open(seg, _DIR_FLAGS, dir_fd=fd)
                    except FileNotFoundError:
                        if not create:
                            raise
                        with contextlib.suppress(FileExistsError):
                            os.mkdir(seg, dir_fd=fd)
                        sub = os.open(seg, _DIR_FLAGS, dir_fd=fd)
                except OSError as e:
                    if e.errno in (errno.ELOOP, errno.ENOTDIR):
                        raise paths.UnsafePath(f"{parent!r} under {self._root} is not a directory "
                                               f"(a symlink?)") from None
                    raise
                if fd != root:
                    os.close(fd)
                fd = sub
        except BaseException:
            if fd != root:
                os.close(fd)
            raise
        if create:
            if len(self._made) >= MADE_LIMIT:
                self._made.clear()
            self._made.add(parent)
        return fd

    def _write(self, dfd: int, name: str, data: bytes, *, new: bool) -> None:
        if self._anonymous:
            fd = self._anonymous_file(dfd, data)
            if fd is not None:
                try:
                    if not (new and self._link(fd, dfd, name)):
                        self._replace(fd, dfd, name)
                    return
                except OSError as e:
                    if e.errno not in _UNSUPPORTED:
                        raise
                    self._anonymous = False                    # /proc fds cannot be linked here
                finally:
                    os.close(fd)
        self._named_write(dfd, name, data)

    def _anonymous_file(self, dfd: int, data: bytes) -> int | None:
        """An unnamed file in the directory ``dfd`` holding ``data`` (its fd), or None where unsupported."""
        try:
            if self._proc_fd is None:
                self._proc_fd = os.open("/proc/self/fd", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            fd = os.open(".", os.O_TMPFILE | os.O_WRONLY | os.O_CLOEXEC, PAGE_MODE, dir_fd=dfd)
        except OSError as e:
            if e.errno not in _UNSUPPORTED | {errno.EISDIR, errno.ENOENT}:
                raise                                          # e.g. ENOSPC, EMFILE: this page fails
            self._anonymous = False                            # no O_TMPFILE (or /proc): named temp files
            return None
        try:
            _write_all(fd, data)
        except BaseException:
            os.close(fd)
            raise
        return fd

    def _named_write(self, dfd: int, name: str, data: bytes) -> None:
        """Where O_TMPFILE is unavailable: ``.name.part`` (O_EXCL|O_NOFOLLOW) renamed over the page."""
        temp = f".{name}.part"
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp, dir_fd=dfd)                        # left by an interrupted write
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, PAGE_MODE,
                     dir_fd=dfd)
        try:
            try:
                _write_all(fd, data)
            finally:
                os.close(fd)
            os.replace(temp, name, src_dir_fd=dfd, dst_dir_fd=dfd)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp, dir_fd=dfd)
            raise

    def _link(self, fd: int, dfd: int, name: str) -> bool:
        """Give the anonymous file its name; False if that name exists already."""
        try:
            os.link(str(fd), name, src_dir_fd=self._proc_fd, dst_dir_fd=dfd, follow_symlinks=True)
            return True
        except FileExistsError:
            return False

    def _replace(self, fd: int, dfd: int, name: str) -> None:
        """Replace ``name`` in ``dfd`` by the anonymous file: linked as ``.name.part``, renamed over it.

        A rename within one directory (~1/5 of the cost of one across
        directories here); it replaces a symlink itself, never its target.
        Should the process die between the two steps, the hidden
        ``.name.part`` is replaced by the next write of that page.
        """
        temp = f".{name}.part"
        if not self._link(fd, dfd, temp):
            os.unlink(temp, dir_fd=dfd)                        # left by an interrupted write
            if not self._link(fd, dfd, temp):
                raise FileExistsError(temp)
        try:
            os.replace(temp, name, src_dir_fd=dfd, dst_dir_fd=dfd)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp, dir_fd=dfd)
            raise

    def delete(self, rel: str) -> bool:
        """Remove a page that no longer exists, and its now-empty directories (never through a symlink)."""
        rel = paths.relpath(rel)
        parts = rel.split("/")
        fds = [os.dup(self._root_fd())]
        try:
            for seg in parts[:-1]:
                try:
                    fds.append(os.open(seg, _DIR_FLAGS, dir_fd=fds[-1]))
                except FileNotFoundError:
                    return False
                except OSError as e:
                    if e.errno in (errno.ELOOP, errno.ENOTDIR):
                        log.warning("not deleting %s: a directory on its path is not a directory (a symlink?)",
                                    rel)
                        return False
                    raise
            try:
                os.unlink(parts[-1], dir_fd=fds[-1])           # a symlink there is removed, not followed
            except FileNotFoundError:
                return False
            except IsADirectoryError:
                log.warning("not deleting %s: it is a directory", rel)
                return False
            for i in range(len(parts) - 1, 0, -1):             # now-empty parents, bottom up
                try:
                    os.rmdir(parts[i - 1], dir_fd=fds[i - 1])
                except OSError:
                    break
            return True
        finally:
            for fd in fds:
                os.close(fd)

    def close(self) -> None:
        self.release()
        if self._proc_fd is not None:
            os.close(self._proc_fd)
            self._proc_fd = None
        if self._rootfd is not None:
            os.close(self._rootfd)
            self._rootfd = None
