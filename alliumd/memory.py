"""Giving freed heap memory back to the kernel after a burst of work.

A long-running process that parses a large document or renders a large
batch frees most of what it allocated, but glibc keeps the freed pages in
its heap (and per-thread arenas) for reuse: the process's RSS stays at the
burst's peak for as long as it runs.  ``malloc_trim(0)`` returns the free
pages at the heap's end and every whole free page inside it; it takes a few
milliseconds, so the daemon's processes call it after each fetch and batch,
never inside one.  Elsewhere (musl, macOS) it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import lru_cache


@lru_cache(maxsize=1)
def _trim():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim


def release_free_memory() -> bool:
    """Return freed heap pages to the kernel; True if anything was released."""
    trim = _trim()
    return bool(trim(0)) if trim is not None else False
