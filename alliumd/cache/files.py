"""Reading cache files: cheap change signatures, content hashes, whole documents.

A signature (inode, size, mtime_ns) is cheap to read and changes on every
atomic publish; only when it changes is the file hashed, and only when the
hash changes is the input considered changed (early cutoff: a republished
identical file renders nothing).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from ..core.jsonx import loads


def signature_of(st: os.stat_result) -> tuple[int, int, int]:
    """What tells one version of a file from another without reading it: inode, size, mtime."""
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def signature(path: Path) -> list[int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return list(signature_of(st))


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def load_document(path: Path) -> Any:
    with open(path, "rb") as f:
        data = f.read()
    try:
        return loads(data)
    except ValueError as e:            # orjson.JSONDecodeError and json.JSONDecodeError are ValueErrors
        raise ValueError(str(e)) from None


def looks_complete(path: Path) -> bool:
    """A cheap availability test: the file exists and is one JSON object from ``{`` to ``}``.

    Fetchers validate every document before publishing it, so a published
    file that starts and ends like an object is a document; the full parse
    (when a model needs it) still turns a corrupt one into "no data".
    """
    try:
        with open(path, "rb") as f:
            head = f.read(64).lstrip()
            size = os.fstat(f.fileno()).st_size
            f.seek(max(0, size - 64))
            tail = f.read().rstrip()
    except (FileNotFoundError, IsADirectoryError):
        return False
    return head[:1] == b"{" and tail[-1:] == b"}"
