"""The cache documents of one render batch, read through the cache layer on first use."""

from __future__ import annotations

import logging
from typing import Any

from ..cache import files as cachefiles, layout
from ..memory import release_free_memory
from ..sources import SOURCES

log = logging.getLogger("alliumd.renderer")


class Documents(dict):
    """Parsed cache documents, loaded on first use; dropped by ``release`` once models are built.

    ``available`` answers ``RenderInputs.has`` without parsing and ``lines``
    gives a large document split by lines (for models built relay by relay).
    """

    def __init__(self, cache_dir):
        super().__init__()
        self.cache_dir = cache_dir
        self._raw: dict[tuple[str, str], Any] = {}

    def _path(self, source: str):
        return self.cache_dir / SOURCES[source].render_file

    def __missing__(self, source: str) -> Any:
        doc = None
        if source in SOURCES:
            path = self._path(source)
            try:
                doc = cachefiles.load_document(path)
            except FileNotFoundError:
                doc = None
            except ValueError as e:
                log.error("cache file %s is not valid JSON (%s); ignoring it", path, e)
        self[source] = doc
        return doc

    def available(self, source: str) -> bool:
        if source in self:
            return self[source] is not None
        return source in SOURCES and cachefiles.looks_complete(self._path(source))

    def lines(self, source: str, member: str) -> layout.Lines | None:
        key = (source, member)
        if key not in self._raw:
            split = None
            if source in SOURCES:
                try:
                    split = layout.split_lines(self._path(source).read_bytes(), member)
                except FileNotFoundError:
                    split = None
            self._raw[key] = split
        return self._raw[key]

    def release(self) -> None:
        had = bool(self) or bool(self._raw)
        self.clear()
        self._raw.clear()
        if had:
            release_free_memory()          # the raw documents: large, short-lived, between model objects
