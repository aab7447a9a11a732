"""Writing pages: atomically, and only when their bytes changed (Sphinx's FileAvoidWrite).

Unchanged pages keep their mtime and inode, so web caches, rsync and
``If-Modified-Since`` clients see no change.  Temp files go to one
``<output_dir>/.tmp`` (same filesystem, one directory instead of one per
page).  Pages skip fsync: they are reproducible from the cache (DAEMON.md §3.1).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from .. import atomic, paths


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class PageWriter:
    def __init__(self, root: Path):
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.tmp = atomic.tmp_dir_for(self.root / "index.html")
        atomic.sweep_tmp(self.root)
        self._made: set[Path] = set()

    def exists(self, rel: str) -> bool:
        return os.path.exists(os.path.join(self.root, rel))

    def write_if_changed(self, rel: str, data: bytes, known_sha: str | None) -> tuple[bool, str]:
        """Write ``data`` at ``rel`` unless the file already holds exactly these bytes.

        ``known_sha`` is the manifest's hash of the current file; the file must
        also still exist for the write to be skipped.  Returns (written, sha).
        """
        sha = digest(data)
        target = paths.inside(self.root, rel)
        if sha == known_sha and target.exists():
            return False, sha
        if target.parent not in self._made:
            target.parent.mkdir(parents=True, exist_ok=True)
            self._made.add(target.parent)
        try:
            atomic.write_bytes(target, data, fsync=False, tmp_dir=self.tmp)
        except FileNotFoundError:
            # a directory (or .tmp) was removed behind our back: recreate and retry once
            self.tmp.mkdir(parents=True, exist_ok=True)
            target.parent.mkdir(parents=True, exist_ok=True)
            atomic.write_bytes(target, data, fsync=False, tmp_dir=self.tmp)
        return True, sha

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
            self._made.discard(parent)
            parent = parent.parent
        return True
