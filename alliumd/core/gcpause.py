"""The cyclic garbage collector around bulk work: paused while acyclic data is built (fetchers and models
both do), run less often while pages are rendered."""

from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic GC while bulk-building acyclic data.

    Building millions of small lists and dicts next to a large parsed
    document triggers collections that re-scan that document again and again
    (2–3x the build time, measured); nothing built here can form a cycle.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# young collections every 50k container allocations instead of 700, and a full one only after 100 of
# the middle generation's: a render batch allocates millions of short-lived views (freed by reference
# counting: templates.py breaks Mako's cycles).  A 10k-relay cold build in one process (`python -m
# bench.profile --scenario cold --workers 1`, which prints them) ran 1,224 collections with the default
# thresholds, 4 of them full, 0.43 s; with these 10, none full, 0.13-0.18 s
RENDER_THRESHOLDS = (50_000, 50, 100)


@contextmanager
def rendering() -> Iterator[None]:
    """Collect less often while rendering (RENDER_THRESHOLDS); the previous thresholds come back after."""
    old = gc.get_threshold()
    gc.set_threshold(*RENDER_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*old)
