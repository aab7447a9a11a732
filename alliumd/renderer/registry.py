"""The page registry: which page families exist, what they read, how they expand.

Dependencies are declared, not inferred (the Jekyll lesson): a family names
the sources it reads, so a change of source S re-renders exactly the
families whose ``inputs`` contain S.  A family's ``expand`` is a pure
function of the render inputs returning the pages it produces right now;
pages it produced last time but not now are deleted by the renderer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .. import paths

STATUS_INPUT = "status"     # pseudo-input: the daemon's status snapshot (status page)


@dataclass(frozen=True)
class Page:
    """One output file: its site-relative path, its template and a plain view model."""

    path: str
    template: str
    view: dict[str, Any]
    content_type: str = "html"       # "html" (template) | "json" (the view itself) | "raw" (view["body"] bytes)


@dataclass(frozen=True)
class PageFamily:
    name: str
    inputs: frozenset[str]
    expand: Callable[["RenderInputs"], Iterable[Page]]
    required: frozenset[str] = field(default_factory=frozenset)   # skip family if one is unavailable
    description: str = ""

    def depends_on(self, changed: set[str]) -> bool:
        return bool(self.inputs & changed)


@dataclass(frozen=True)
class SourceInfo:
    """What page chrome says about one source: label, data time, sample/stale markers."""

    name: str
    label: str
    available: bool
    published: str | None        # "YYYY-MM-DD HH:MM UTC" of the data, or None
    sample: bool
    stale: bool


class RenderInputs:
    """What ``expand`` functions receive: parsed documents, memoized models, source info.

    Models are computed at most once per input version: the cache key is the
    content hash of every source the model reads.
    """

    def __init__(self, docs: dict[str, Any], hashes: dict[str, str], sources: dict[str, SourceInfo],
                 models: dict[str, "ModelSpec"], model_cache: dict, status: dict | None,
                 settings: dict[str, Any], now: float):
        self._docs = docs
        self._hashes = hashes
        self.sources = sources
        self._models = models
        self._model_cache = model_cache
        self.status = status or {}
        self.settings = settings
        self.now = now

    def doc(self, source: str) -> Any:
        try:
            return self._docs[source]          # a lazy mapping loads on first access
        except KeyError:
            return None

    def has(self, source: str) -> bool:
        return self.doc(source) is not None

    def model(self, name: str) -> Any:
        spec = self._models[name]
        key = (name, tuple(self._hashes.get(s, "") for s in sorted(spec.inputs)))
        if key not in self._model_cache:
            for stale in [k for k in self._model_cache if k[0] == name]:
                del self._model_cache[stale]
            self._model_cache[key] = spec.build(self)
        return self._model_cache[key]

    def source_line(self, names: Iterable[str]) -> list[SourceInfo]:
        return [self.sources[n] for n in names if n in self.sources]


@dataclass(frozen=True)
class ModelSpec:
    """A computed model (e.g. the relay table) and the sources it is derived from."""

    name: str
    inputs: frozenset[str]
    build: Callable[[RenderInputs], Any]


class Registry:
    def __init__(self, families: Iterable[PageFamily], models: Iterable[ModelSpec] = ()):
        families = list(families)
        self.families = {f.name: f for f in families}
        self.models = {m.name: m for m in models}
        if len(self.families) != len(families):
            raise ValueError("duplicate page family names")

    def affected(self, changed: set[str]) -> list[PageFamily]:
        """Families that read any of ``changed`` (in declaration order)."""
        return [f for f in self.families.values() if f.depends_on(changed)]

    def inputs(self) -> set[str]:
        return set().union(*(f.inputs for f in self.families.values())) if self.families else set()

    def __iter__(self) -> Iterator[PageFamily]:
        return iter(self.families.values())


def checked(page: Page) -> Page:
    """Validate a page's output path before anything is written."""
    paths.relpath(page.path)
    return page
