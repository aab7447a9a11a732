"""The page registry: which page families exist, what they read, how they expand.

Dependencies are declared, not inferred (the Jekyll lesson): a family names
the sources it reads, so a change of source S re-renders exactly the
families whose ``inputs`` contain S.  A family's ``expand`` is a pure
function of the render inputs returning the pages it produces right now;
pages it produced last time but not now are deleted by the renderer.

Links follow the same declarations, so that a link is only made to a page
that exists: a family names the fixed ``paths`` it always writes (checked
when it renders) and may put one of them in the site navigation (``nav``);
the navigation of a build lists only the pages whose families can render
with the data at hand (:meth:`Registry.nav`).  Links to entity pages come
from the models those pages are expanded from (see pages/relays.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

from .. import paths

STATUS_INPUT = "status"     # pseudo-input: the daemon's status snapshot (status page)


class Deferred(NamedTuple):
    """A view model computed only if the page has to be rendered, possibly in a render worker.

    ``fn(*args)`` returns the plain view dict.  ``fn`` must be a module-level
    function and ``args`` plain data (they are pickled to the worker), so a
    page whose key (derived from ``fn`` and ``args``) is unchanged costs
    nothing but that key.

    A named tuple, not a frozen dataclass: ~120,000 pages and views are made
    per batch, and a frozen dataclass's ``__init__`` (object.__setattr__ per
    field) cost ~2 µs a pair, a tenth of the expansion of an hour's batch.
    """

    fn: Callable[..., dict[str, Any]]
    args: tuple = ()
    # when the data was published (appended to ``args`` when the view is built), and not part of the key:
    # a page is rendered again when what it shows changes, not because a new publication repeats it.  A
    # rendered page counts its spans ("UP for 3 d 4 h") to the publication its chrome names, so a page
    # left as it was stays true to the time it states (see base.mako's footer).
    stamp: tuple = ()

    def build(self) -> dict[str, Any]:
        return self.fn(*self.args, *self.stamp)

    def __reduce__(self):
        """Pickled for a render worker: a function may have a ``ship`` that gives the (function, arguments)
        building the same view from only what it reads (a relay's metrics.txt reads a twentieth of its
        page's records): the workers need not receive all of it again.  The page's key is that of the
        shipped function and arguments (pagekey.derive), so a worker derives it too."""
        ship = getattr(self.fn, "ship", None)
        return (Deferred, (*(ship(*self.args) if ship is not None else (self.fn, self.args)), self.stamp))


class Page(NamedTuple):
    """One output file: its site-relative path, its template and a plain view model.

    A page whose view is a :class:`Deferred` has a key derived from that
    view's function and every one of its arguments (pages/pagekey.py): a
    page whose key equals the one recorded last time, and whose file still
    exists, is skipped without building its view.  No page states its own
    key, so none can leave out an input.  Plain views are compared by their
    view hash.  (A named tuple for the same reason as :class:`Deferred`.)
    """

    path: str
    template: str
    view: dict[str, Any] | Deferred
    # "html" (template) | "json" (the view itself) | "openmetrics" (view["families"] as OpenMetrics text) |
    # "raw" (view["body"] bytes)
    content_type: str = "html"

    def view_model(self) -> dict[str, Any]:
        """The plain view (building a deferred one)."""
        return self.view.build() if isinstance(self.view, Deferred) else self.view


@dataclass(frozen=True)
class PageFamily:
    name: str
    inputs: frozenset[str]
    expand: Callable[["RenderInputs"], Iterable[Page]]
    required: frozenset[str] = field(default_factory=frozenset)   # skip family if one is unavailable
    description: str = ""
    # the sources the page chrome names (None: all inputs).  A family that shows a source only as
    # per-entity data (relay pages: votes, AROI) leaves it out, so that source's new data time does
    # not change every page; its pages then state that source's freshness themselves.
    chrome: frozenset[str] | None = None
    # the fixed pages this family always writes once its ``required`` sources have data (a family that
    # does not write one of them fails), and its entry in the navigation: (order, label, path in paths)
    paths: tuple[str, ...] = ()
    nav: tuple[int, str, str] | None = None
    # the family's pages list thousands of relays through the row cache (pages/rowcache.py): the daemon's
    # start-up batch renders them in-process even when unchanged, so the first change after a start finds
    # their rows cached instead of rendering ~10k rows per page again (SiteBuilder.build ``warm``)
    warm: bool = False

    @property
    def chrome_sources(self) -> frozenset[str]:
        return self.inputs if self.chrome is None else self.chrome

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
    enabled: bool = True         # enabled in the configuration (says why an unavailable source has no data)

    def keyed(self) -> "SourceInfo":
        """What of this source a page's key covers: everything but the publication time, so a new
        publication re-renders only the pages whose view changed; the others keep the time they state."""
        return replace(self, published=None)


class RenderInputs:
    """What ``expand`` functions receive: parsed documents, memoized models, source info.

    Models are computed at most once per input version: the cache key is the
    content hash of every source the model reads.  Parsed documents are only
    needed while models are built from them, so the documents read during a
    (top-level) model build are dropped when it completes: the renderer
    holds models, not documents, while it renders.
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
        self._depth = 0
        self._previous: dict[str, Any] = {}
        self.workload = 0               # page jobs the models rebuilt so far announce (ModelSpec.workload)

    def doc(self, source: str) -> Any:
        try:
            return self._docs[source]          # a lazy mapping loads on first access
        except KeyError:
            return None

    def version(self, source: str) -> str:
        """The content hash of ``source``'s cache file ("" without one): which document a model was built from."""
        return self._hashes.get(source, "")

    def has(self, source: str) -> bool:
        """Whether ``source`` has data, without parsing it when the document mapping can tell."""
        available = getattr(self._docs, "available", None)
        return available(source) if available is not None else self.doc(source) is not None

    def lines(self, source: str, member: str) -> Any:
        """The source's document split by lines (cache.layout.Lines), or None: then use ``doc``."""
        split = getattr(self._docs, "lines", None)
        return split(source, member) if split is not None else None

    def take_workload(self) -> int:
        """The page jobs announced since the last call (ModelSpec.workload), for the dispatcher."""
        jobs, self.workload = self.workload, 0
        return jobs

    def previous(self, name: str) -> Any:
        """While model ``name`` is rebuilt: the model it replaces (None if none), for incremental builds."""
        return self._previous.get(name)

    def _key(self, name: str) -> tuple:
        return (name, tuple(self._hashes.get(s, "") for s in sorted(self._models[name].inputs)))

    def built(self, name: str) -> bool:
        """Whether model ``name`` of these inputs' versions is in the cache already."""
        return self._key(name) in self._model_cache

    def model(self, name: str) -> Any:
        spec = self._models[name]
        key = self._key(name)
        if key not in self._model_cache:
            stale = [k for k in self._model_cache if k[0] == name]
            if stale:
                self._previous[name] = self._model_cache[stale[-1]]
            for k in stale:
                del self._model_cache[k]
            self._depth += 1
            try:
                self._model_cache[key] = spec.build(self)
                if spec.workload is not None and name in self._previous:
                    self.workload += spec.workload(self._model_cache[key])
            finally:
                self._depth -= 1
                self._previous.pop(name, None)
                release = getattr(self._docs, "release", None)
                if self._depth == 0 and release is not None:
                    release()
        return self._model_cache[key]

    def source_line(self, names: Iterable[str]) -> list[SourceInfo]:
        return [self.sources[n] for n in names if n in self.sources]


@dataclass(frozen=True)
class ModelSpec:
    """A computed model (e.g. the relay table) and the sources it is derived from."""

    name: str
    inputs: frozenset[str]
    build: Callable[[RenderInputs], Any]
    # page jobs a rebuild that replaced a previous model is expected to bring (its changed entities × their
    # pages), known before those pages are expanded: the renderer starts its workers then (RenderInputs.workload)
    workload: Callable[[Any], int] | None = None


class Registry:
    def __init__(self, families: Iterable[PageFamily], models: Iterable[ModelSpec] = ()):
        families = list(families)
        self.families = {f.name: f for f in families}
        self.models = {m.name: m for m in models}
        if len(self.families) != len(families):
            raise ValueError("duplicate page family names")
        owners: dict[str, str] = {}
        for f in families:
            for path in f.paths:
                if owners.setdefault(path, f.name) != f.name:
                    raise ValueError(f"{path} is declared by both {owners[path]} and {f.name}")
            if f.nav is not None and f.nav[2] not in f.paths:
                raise ValueError(f"family {f.name}: its navigation entry {f.nav[2]} is not one of its paths")

    def nav(self, available: Callable[[str], bool]) -> tuple[tuple[str, str], ...]:
        """The navigation, ``(path, label)`` in order: entries of families whose required sources have data.

        Such a family writes its fixed paths (the renderer fails it otherwise),
        so every entry links a page that exists in this build.
        """
        entries = sorted(f.nav for f in self.families.values()
                         if f.nav is not None and all(available(s) for s in f.required))
        return tuple((path, label) for _, label, path in entries)

    def inputs(self) -> set[str]:
        return set().union(*(f.inputs for f in self.families.values())) if self.families else set()

    def __iter__(self) -> Iterator[PageFamily]:
        return iter(self.families.values())


# what paths.relpath accepts, as one expression: canonical relative segments of safe characters that
# do not start with a dot or end with one (checked for every page, so it must be cheap)
SAFE_PATH = re.compile(r"(?:[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,126}[A-Za-z0-9_-])?/)*"
                       r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,126}[A-Za-z0-9_-])?")


def checked(page: Page) -> Page:
    """Validate a page's output path before anything is written."""
    if SAFE_PATH.fullmatch(page.path) is None:
        paths.relpath(page.path)               # raises UnsafePath with the reason
    return page
