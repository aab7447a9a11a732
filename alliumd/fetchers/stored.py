"""A fetched document as stored in the cache: its bytes, or their gzip (the history documents).

Why gzip: Onionoo sends the uptime and bandwidth documents gzip-compressed,
and kept as sent they are written and hashed at a fraction of their size
(real Onionoo history JSON compresses ~10×; network-10k's synthetic 242 and
45 MB, 60× and 3×: the cache holds 18 MB instead of 286 MB).  They are
inflated once, when read to be summarised (the download no longer inflates
them).  Only the summary is read by the renderer.

A gzip file is recognised by its magic bytes, so a plain document (a test's,
a benchmark's) reads the same way.  Inflating is capped at the source's
``max_bytes``: a body that is small on the wire and huge inflated is an
invalid document, not an out-of-memory fetcher.
"""

from __future__ import annotations

import gzip
import os
import zlib
from collections.abc import Iterator
from pathlib import Path

from . import InvalidDocument

GZIP_MAGIC = b"\x1f\x8b"
_LINE_CHUNK = 1 << 20          # a longer line is read in pieces, so the cap holds inside one line too


def is_gzip(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(2) == GZIP_MAGIC


def inflated_size(path: Path) -> int:
    """The document's size as JSON: a gzip file's trailer says it (modulo 4 GiB, beyond any max_bytes)."""
    with open(path, "rb") as f:
        if f.read(2) != GZIP_MAGIC:
            return os.fstat(f.fileno()).st_size
        f.seek(-4, os.SEEK_END)
        return int.from_bytes(f.read(4), "little")


def _too_large(limit: int) -> InvalidDocument:
    return InvalidDocument(f"inflates to more than max_bytes ({limit} bytes)")


def _corrupt(e: Exception) -> InvalidDocument:
    return InvalidDocument(f"corrupt gzip data ({str(e)[:80] or type(e).__name__})")


def lines(path: Path, limit: int | None = None) -> Iterator[bytes]:
    """The document's lines (with their newline), inflated when stored gzipped, at most ``limit`` bytes
    inflated (a plain document was capped as it was downloaded)."""
    if not is_gzip(path):
        with open(path, "rb") as f:
            yield from f
        return
    total, pieces = 0, []
    try:
        with gzip.open(path, "rb") as f:
            while piece := f.readline(_LINE_CHUNK):        # a line, or a piece of a longer one
                total += len(piece)
                if limit is not None and total > limit:
                    raise _too_large(limit)
                pieces.append(piece)
                if piece.endswith(b"\n"):
                    yield pieces[0] if len(pieces) == 1 else b"".join(pieces)
                    pieces = []
        if pieces:
            yield b"".join(pieces)
    except (OSError, EOFError, zlib.error) as e:
        raise _corrupt(e) from None


def read_all(path: Path, limit: int | None = None) -> bytes:
    """The whole document, inflated when stored gzipped; at most ``limit`` bytes."""
    if not is_gzip(path):
        return Path(path).read_bytes()
    try:
        with gzip.open(path, "rb") as f:
            data = f.read() if limit is None else f.read(limit + 1)
    except (OSError, EOFError, zlib.error) as e:
        raise _corrupt(e) from None
    if limit is not None and len(data) > limit:
        raise _too_large(limit)
    return data
