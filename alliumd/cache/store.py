"""Publishing into the cache directory, in the order the renderer relies on.

A render file's meta (its data time, cache.meta) is written before the
render file itself, so that whenever the renderer sees a new render file the
meta naming it is already there.  Each write is atomic (``alliumd.atomic``):
a reader sees the old file or the new one, never a torn one.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from .. import atomic
from . import meta
from .files import file_sha256


def publish_summary(render_path: Path, summary: bytes, data_time: float | None, sample: bool) -> str:
    """Publish a summary (the render file of a summarised source); return its sha256."""
    sha = hashlib.sha256(summary).hexdigest()
    meta.write(render_path, sha, data_time, sample)
    atomic.write_bytes(render_path, summary)
    return sha


def publish_document(tmp_path: Path, document_path: Path, *, render_file: bool, data_time: float | None,
                     sample: bool) -> None:
    """Move a validated fetched document into place (``render_file``: the renderer reads it as it is)."""
    if render_file:
        meta.write(document_path, file_sha256(tmp_path), data_time, sample)
    atomic.publish_file(tmp_path, document_path)
