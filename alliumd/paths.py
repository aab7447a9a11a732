"""Validation of path components derived from data.

Operator-controlled strings must never choose where a file lands.  Every
output path is built from components that pass one of these checks, and the
final path is verified to stay inside the output directory.
"""

from __future__ import annotations

import os
import re
from pathlib import Path, PurePosixPath

FINGERPRINT_RE = re.compile(r"^[0-9A-F]{40}$")
# a relative output path: segments of safe characters, no dot-segments, no hidden files
_SEGMENT_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


class UnsafePath(ValueError):
    """A data-derived path component or output path failed validation."""


def fingerprint(value: str) -> str:
    """Return ``value`` upper-cased if it is a 40-hex relay fingerprint, else raise."""
    fp = value.upper() if isinstance(value, str) else ""
    if not FINGERPRINT_RE.fullmatch(fp):
        raise UnsafePath(f"not a relay fingerprint: {value!r}")
    return fp


def is_fingerprint(value: object) -> bool:
    return isinstance(value, str) and bool(FINGERPRINT_RE.fullmatch(value))


def relpath(value: str) -> str:
    """Validate a site-relative output path such as ``relay/<FP>/index.html``."""
    p = PurePosixPath(value)
    if p.is_absolute() or not p.parts:
        raise UnsafePath(f"output path must be relative: {value!r}")
    if str(p) != value:
        raise UnsafePath(f"output path is not in canonical form: {value!r}")
    for seg in p.parts:
        if not _SEGMENT_RE.fullmatch(seg) or seg.endswith("."):
            raise UnsafePath(f"unsafe output path segment {seg!r} in {value!r}")
    return str(p)


def inside(root: str | os.PathLike, rel: str) -> Path:
    """Join a validated relative path to ``root`` and prove the result stays inside it."""
    root = Path(root).resolve()
    target = (root / relpath(rel)).resolve()
    if root != target and root not in target.parents:
        raise UnsafePath(f"{rel!r} escapes {root}")
    return target
