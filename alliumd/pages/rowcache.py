"""Rendered table rows of the big tables, kept between pages and batches.

A relay's row in a group table (flag, platform… pages) or in
``relays/all.html`` is the same HTML on every page that lists it with the
same link root and columns, and across batches while the relay does not
change; a one-relay change re-renders flag pages of ~10k rows each.  The
rows are still rendered by Mako (a ``<%def>`` per row, escaped by the
default filter); this cache only remembers the def's output string, keyed
by the row's view-model object and the def's other arguments (a row def
reads nothing else).  A template writes it with ``| n`` (no second escaping):
only this already-escaped def output is ever written unfiltered.

Keys use object identity: models never change an object they have handed
out (pages/pagekey.py relies on the same rule) and keep unchanged rows as
the very same objects from one version to the next.  An entry holds a
strong reference to its object and a hit requires ``entry[0] is obj``, so
an id can never be reused by another object while its entry exists.

Memory is bounded by generations: after each batch that used the cache
(:func:`end_batch`, called by the renderer; a status-only batch in between
changes nothing), an entry is kept if that batch used it or if its row object
is still referenced by anything but the cache (a model, a page's arguments:
the row of a relay that did not change).  The rows of a relay that changed
or left are referenced by the cache alone and go.  Why not by use alone: a
medium batch renders most big tables on a render worker and only a few in
the renderer, and then dropped every row the renderer had not used, so the
next small batch (one relay's change) drew 10-14k unchanged rows again.  A
generation that reaches ``limit`` entries is retired at once (render workers,
which see no batches, rely on that alone), so at most ``2 * limit`` rows are
held.
"""

from __future__ import annotations

import collections
import sys
from collections.abc import Callable, Hashable
from typing import Any

from mako.runtime import Context, capture

DEFAULT_LIMIT = 40_000        # rows per generation: the rows one relay's change re-renders at 10k relays
MIN_ROWS = 100                # smaller tables skip the cache: storing a row costs ~3 µs more than rendering
                              # it, reusing it ~5x less; most relays are on one small page of each kind


class RowCache:
    """Row HTML by (row object, the def's other arguments), for one process.

    Stored per distinct tuple of other arguments (a table has one: its link root and columns), then by
    the row object's id, as ``(object, html)``: ~150 bytes per row besides its HTML, against ~300 for a
    flat ``(id, arguments) → (object, arguments, html)`` entry that also held a new arguments tuple per
    row (the renderer holds ~36k rows at network scale).
    """

    def __init__(self, limit: int = DEFAULT_LIMIT):
        self.limit = limit
        self._current: dict[Hashable, dict[int, tuple[Any, str]]] = {}    # rows used in this batch
        self._previous: dict[Hashable, dict[int, tuple[Any, str]]] = {}   # rows used in the batch before
        self._size = 0              # entries in _current
        self.hits = self.misses = 0
        self._used = False          # looked up since the last end_batch()

    def get(self, obj: Any, extra: Hashable) -> str | None:
        """The HTML stored for ``obj`` with ``extra`` (hashable, compared by equality), or None; a hit
        moves it into this batch's generation."""
        self._used = True
        ident = id(obj)
        table = self._current.get(extra)
        entry = table.get(ident) if table is not None else None
        if entry is None:
            old = self._previous.get(extra)
            entry = old.pop(ident, None) if old is not None else None
            if entry is None:
                self.misses += 1
                return None
            self._keep(extra, ident, entry)
        if entry[0] is obj:
            self.hits += 1
            return entry[1]
        self.misses += 1            # unreachable while entries hold their objects; kept as the safety check
        return None

    def render(self, context: Context, row_def: Callable[..., Any], obj: Any, *args: Hashable) -> str:
        """The output of the template def ``row_def(obj, *args)``, rendered (captured in ``context``)
        only when not stored.  ``row_def`` must read nothing but its arguments: they are the whole key."""
        html = self.get(obj, args)
        if html is None:
            html = capture(context, row_def, obj, *args)
            self._keep(args, id(obj), (obj, html))
        return html

    def put(self, obj: Any, extra: Hashable, html: str) -> str:
        """Remember ``html`` (a template def's output) for ``obj`` and ``extra``; returns ``html``."""
        self._keep(extra, id(obj), (obj, html))
        return html

    def _keep(self, extra: Hashable, ident: int, entry: tuple[Any, str]) -> None:
        if self._size >= self.limit:
            self._previous, self._current, self._size = self._current, {}, 0
        table = self._current.get(extra)
        if table is None:
            table = self._current[extra] = {}
        if ident not in table:
            self._size += 1
        table[ident] = entry

    def end_batch(self, alive: Callable[[Any], bool] | None = None) -> None:
        """If this batch used the cache: forget the rows it did not use, except those whose object ``alive``
        says is still in use elsewhere (as long as the kept rows stay under ``limit``)."""
        kept = self.kept(alive)
        if kept is not None:
            self.next_generation(kept)

    def kept(self, alive: Callable[[Any], bool] | None) -> dict | None:
        """What :meth:`end_batch` keeps, decided without dropping anything yet (None: the batch did not
        use the cache, everything stays)."""
        if not self._used:
            return None
        kept = {extra: dict(table) for extra, table in self._current.items()}
        size = self._size
        if alive is not None:
            for extra, table in self._previous.items():
                for ident, entry in table.items():
                    if size >= self.limit:
                        return kept
                    if alive(entry[0]):
                        kept.setdefault(extra, {})[ident] = entry
                        size += 1
        return kept

    def next_generation(self, kept: dict) -> None:
        """``kept`` becomes the previous generation; the new batch starts an empty one."""
        self._previous, self._current, self._size = kept, {}, 0
        self._used = False

    def count_entries(self, held: collections.Counter) -> None:
        """Add to ``held`` how many of this cache's entries hold each object (by id)."""
        for generation in (self._current, self._previous):
            for table in generation.values():
                held.update(table.keys())

    def clear(self) -> None:
        """Forget every row (and the counts)."""
        self._previous, self._current, self._size = {}, {}, 0
        self._used = False
        self.hits = self.misses = 0

    def __len__(self) -> int:
        return self._size + sum(len(t) for t in self._previous.values())


# one per process (the renderer and each render worker)
GROUP_ROWS = RowCache()
ALL_RELAYS_ROWS = RowCache()
LIST_ROWS = RowCache()
CACHES = (GROUP_ROWS, ALL_RELAYS_ROWS, LIST_ROWS)


# -- what templates call, as ``<%namespace name="rowcache" module="alliumd.pages.rowcache"/>`` (Mako passes
# the render context first); the row defs themselves stay in the templates

def cache_rows(context: Context, rows: list) -> bool:
    """Whether a table of ``rows`` goes through the cache (big tables) or renders its rows directly."""
    return len(rows) >= MIN_ROWS


# (bound methods: Mako calls them with the render context first, as ``render`` expects)
group = GROUP_ROWS.render              # a relay's row in a group page's table (group.mako)
all_relays = ALL_RELAYS_ROWS.render    # a relay's row in relays/all.html (relays_all.mako)
listing = LIST_ROWS.render             # a group's row in a listing, up to its sorted value (list.mako)


def end_batch() -> None:
    """The renderer's batch is over: each cache keeps the rows it used and those whose object something
    besides the caches still references (see the module's docstring)."""
    held: collections.Counter = collections.Counter()
    for cache in CACHES:
        cache.count_entries(held)

    def alive(obj: Any) -> bool:
        # references: one per entry holding it, this argument, getrefcount's own argument
        return sys.getrefcount(obj) - 2 - held[id(obj)] > 0

    # every cache decides before any drops a row: a dropped entry lowers its object's reference count
    # while ``held`` still counts it, which would make a row another cache holds look unused
    decided = [(cache, cache.kept(alive)) for cache in CACHES]
    for cache, kept in decided:
        if kept is not None:
            cache.next_generation(kept)


def clear() -> None:
    """Forget every row: a render worker after each chunk (its views are unpickled per chunk, so their
    objects never come back, and holding them would keep the chunk's views alive)."""
    for cache in CACHES:
        cache.clear()
