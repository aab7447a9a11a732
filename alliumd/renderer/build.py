"""One render batch: changed inputs → affected families → pages written only if changed.

Algorithm: compare cache signatures with the manifest and
hash what moved (early cutoff on identical content); add sources whose stale
marker flipped; select the families that read a changed input (all of them
when the build info changed); expand each, decide per page whether it needs
work, render and write the pages that do (in-process or on the render
workers, see dispatch.py), delete pages a family no longer produces, and
commit the manifest last.  A family that fails keeps its previous pages.

Per page, cheapest test first: an unchanged page key (for a deferred view,
derived from its function and arguments: pagekey.py) skips the page without
building its view; an unchanged view hash skips the template; an unchanged output
hash skips the write.  Keys and view hashes are salted with the build info,
which covers the code, the templates and the render settings, and with the
family's page chrome (stale and sample markers).  Not with the sources'
publication times: a page is rendered again when what it shows changes, and
states the publication it was rendered from (registry.Deferred ``stamp``).
"""

from __future__ import annotations

import gc
import hashlib
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from .. import __version__
from ..config import Config
from ..core.gcpause import rendering
from ..history import store as history_store
from ..pages import rowcache
from ..pages.pagekey import KeyMemo
from . import early, manifest as manifestmod
from .dispatch import Dispatcher, FamilyRun
from .documents import Documents
from .family_jobs import FamilyRendering
from .freshness import SourceTracking
from .jobs import json_bytes, view_digest as _view_digest
from ..pages.registry import STATUS_INPUT, Page, RenderInputs, Registry
from ..pages.status import STATUS_FAMILY
from ..pages.templates import compile_all, compiled_dir, fingerprint_code, fingerprint_templates

log = logging.getLogger("alliumd.renderer")

__all__ = ["BatchResult", "SiteBuilder", "json_bytes", "view_digest"]


@dataclass
class BatchResult:
    changed: list[str] = field(default_factory=list)
    families: list[str] = field(default_factory=list)
    written: int = 0
    unchanged: int = 0
    deleted: int = 0
    duration: float = 0.0
    errors: list[str] = field(default_factory=list)
    full: bool = False
    deferred: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)     # family -> seconds spent expanding it


def view_digest(page: Page, chrome_key: bytes) -> str:
    """Identity of everything a page's bytes depend on (``chrome_key`` covers templates and chrome)."""
    return _view_digest(page.template, page.view, chrome_key)


class SiteBuilder(SourceTracking, FamilyRendering):
    """The renderer's builder: models, page keys and the manifest kept between batches.

    Change detection and source freshness are in freshness.py, turning a
    family's pages into render jobs and committing them in family_jobs.py.
    """

    def __init__(self, cfg: Config, registry: Registry, *, status_provider: Callable[[], dict] | None = None,
                 clock: Callable[[], float] = time.time, workers: int | None = None,
                 parallel_min: int | None = None, template_dir: Path | None = None):
        self.cfg = cfg
        self.registry = registry
        self.clock = clock
        self.status_provider = status_provider or (lambda: {})
        self.cache_dir = cfg.daemon.cache_dir
        self.manifest = manifestmod.load(cfg.daemon.state_dir)
        self.content_hashes: dict[str, tuple[list[int], str]] = {}    # source -> (file signature, sha256)
        self.manifest_saver = manifestmod.BackgroundSaver(cfg.daemon.state_dir)
        self._unsaved = False                  # the manifest holds status-page changes not saved (_save)
        self.template_dir = template_dir
        self.dispatcher = Dispatcher(cfg.daemon.output_dir, parallel_min=parallel_min,
                                     workers=(cfg.render.workers or None) if workers is None else workers,
                                     template_dir=template_dir,
                                     compiled=compiled_dir(cfg.daemon.state_dir, template_dir))
        self.writer = self.dispatcher.local.writer
        self.model_cache: dict = {}
        self.keys = KeyMemo()                  # derived page keys of the last build (pagekey.py)
        self.forced: set[str] = set()          # families to render in the next batch regardless
        self._base_info = self._build_info()
        self.nav: tuple[tuple[str, str], ...] = ()
        self.build_info = self._base_info
        self.reuse_parts = False               # see _build
        self.warming = False                   # see build
        self.history = history_store.store_for(cfg.daemon.state_dir, cfg.history)    # this process writes it
        self._verify_outputs_exist()

    @property
    def lookup(self):
        return self.dispatcher.local.lookup

    def close(self) -> None:
        """Stop the render workers (they also stop on their own when this process exits); the manifest
        is on disk when it returns."""
        self.dispatcher.close()
        self.history.close()
        if self._unsaved:
            self.manifest_saver.save(self.manifest)
            self._unsaved = False
        self.manifest_saver.flush()

    def _build_info(self) -> str:
        h = hashlib.sha256()
        h.update(__version__.encode())
        h.update(fingerprint_templates(self.template_dir).encode())
        h.update(fingerprint_code().encode())
        h.update(repr(sorted(vars(self.cfg.render).items())).encode())
        h.update(repr(sorted(self.registry.families)).encode())
        # page chrome says whether a source without data is disabled or not fetched yet
        h.update(repr(sorted(n for n, s in self.cfg.sources.items() if s.enabled)).encode())
        return h.hexdigest()

    def _with_nav(self, nav: tuple[tuple[str, str], ...]) -> str:
        """The build info of a batch: the navigation is on every page, so a change of it rebuilds everything
        (it changes only when a required source, in practice details, gains or loses data)."""
        return hashlib.sha256((self._base_info + repr(nav)).encode()).hexdigest()

    def _verify_outputs_exist(self) -> None:
        """Pages removed behind our back (e.g. a wiped web root) are rewritten by the next batch."""
        exists = self.writer.exists
        for family, outputs in self.manifest.outputs.items():
            missing = [r for r in outputs if not exists(r)]
            for rel in missing:
                del outputs[rel]
            if missing:
                self.forced.add(family)

    # -- the batch -------------------------------------------------------------------

    def build(self, changed: set[str] = frozenset(), *, full: bool = False, now: float | None = None,
              defer: frozenset[str] = frozenset(), rescan: bool = True, verify: bool = False,
              warm: bool = False) -> BatchResult:
        """Render one batch; families named in ``defer`` are only reported in ``result.deferred``.

        ``warm`` (the daemon's start-up batch): the pages of the families that declare ``warm`` (the
        10k-row tables) are rendered in this process even when unchanged, which writes nothing but
        fills the row cache, so the first change after a start re-renders only the rows that changed.

        ``verify`` (and ``full``) first checks that every page of the manifest still exists and renders
        the families of the missing ones: a batch skips a page whose key or view is unchanged without
        looking at the disk, so pages deleted behind our back come back on the periodic rescan
        (renderer/main.py), a full build or a restart.

        ``rescan=False`` renders only what ``changed`` names (the status page after a data batch):
        a cache file published meanwhile is left to the next batch, which then reports it.

        Garbage collection: everything alive when the batch starts (models,
        templates, the manifest: millions of long-lived objects) is frozen,
        so the collections that the batch's allocations trigger only look at
        what the batch creates: page views and Mako's per-render cycles,
        which must be collected (with the collector off, a 10k-relay build
        grew by a gigabyte of uncollected render contexts).  Bulk model
        building pauses the collector itself (core/gcpause.gc_paused), and
        what survives a family's expansion (the models it built: millions of
        objects in a cold build) is frozen after it, so the full collections
        later in the batch do not walk them again (they were 1.6 s of the
        renderer's 11 s in a 10k-relay cold build).  Cyclic garbage frozen
        with them waits for the end of the batch: only what the last young
        collection had not reached yet.  During the batch the collector runs
        less often (core/gcpause.rendering).
        """
        gc.freeze()
        self.keys.new_build()
        try:
            self.warming = warm
            if warm:
                compile_all(self.lookup, self.template_dir)
            with rendering():           # and less often (core/gcpause.RENDER_THRESHOLDS)
                return self._build(changed, full=full, now=now, defer=defer, rescan=rescan, verify=verify)
        finally:
            self.warming = False
            self.keys.new_build()       # the batch's argument digests hold its objects: let them go
            rowcache.end_batch()        # table rows not used in this batch: their relays changed
            gc.unfreeze()

    def _build(self, changed, *, full, now, defer, rescan, verify) -> BatchResult:
        started = time.monotonic()
        if verify or full:
            self._verify_outputs_exist()
        now = self.clock() if now is None else now
        result = BatchResult()
        docs = Documents(self.cache_dir)
        changed = set(changed) | (self.scan() | self.stale_flips(now) if rescan else set())
        # the navigation follows the scanned inputs, not a look at the directory before the scan:
        # a source published in between would otherwise be rendered under the navigation without it
        self.nav = self.registry.nav(lambda s: s in self.manifest.inputs and docs.available(s))
        self.build_info = self._with_nav(self.nav)
        # pages reuse parts of their current files only if this code and these templates wrote every one
        # (pages/fragments.py); the first batch after an upgrade rewrites them all
        self.reuse_parts = self.manifest.build_info == self.build_info
        if not self.reuse_parts:
            full = True
        result.full = full
        result.changed = sorted(changed)
        families = list(self.registry) if full else [
            f for f in self.registry if f.depends_on(changed) or f.name in self.forced]
        self.forced -= {f.name for f in families}
        result.deferred = [f.name for f in families if f.name in defer]
        families = [f for f in families if f.name not in defer]
        if full:
            self._drop_unknown_families(result)
        if not families:
            result.duration = time.monotonic() - started
            self._save(changed, result.families)
            return result
        sources = self._describe_sources({s for f in families for s in f.inputs}, now)
        hashes = {n: e["sha256"] for n, e in self.manifest.inputs.items()}
        status = self.status_provider() if any(STATUS_INPUT in f.inputs for f in families) else {}
        inputs = RenderInputs(docs, hashes, sources, self.registry.models, self.model_cache, status,
                              self._settings(), now)
        self.dispatcher.begin_batch()
        seen: set[str] = set()
        runs: list[FamilyRun] = []
        for i, family in enumerate(families, 1):
            t0 = time.monotonic()
            run = self._render_family(family, inputs, sources, seen, result)
            gc.freeze()                 # the models this family built: out of the collections that follow
            if run is not None:
                runs.append(run)
                self._finish_ready(runs, result, more=i < len(families))
            result.timings[family.name] = round(time.monotonic() - t0, 3)
        docs.release()
        self.dispatcher.drain()
        self._finish_ready(runs, result)
        result.families = [f.name for f in families]
        if not result.errors:
            self.manifest.build_info = self.build_info
        self._save(changed, result.families)
        result.duration = time.monotonic() - started
        return result

    def _settings(self) -> dict:
        return {"site_title": self.cfg.render.site_title,
                "hide_down_after_days": self.cfg.render.hide_down_after_days, "history": self.history}

    def early_inputs(self, final: Iterable[str], now: float | None = None) -> early.EarlyInputs:
        """What a model built ahead of the batch may read: the documents of the ``final`` sources."""
        final = frozenset(final)
        hashes = {name: sha for name in final if (sha := self.content_hash(name)) is not None}
        return early.EarlyInputs(Documents(self.cache_dir), hashes,
                                 self.registry.models, self.model_cache, self._settings(),
                                 self.clock() if now is None else now, final)

    def build_early(self, final: Iterable[str], now: float | None = None,
                    stop: Callable[[], bool] = lambda: False) -> list[str]:
        """Build the models that read only the ``final`` sources, ahead of the batch (see early.py), until
        ``stop()`` says the batch is due; the names of those built."""
        return early.build_early(self.early_inputs(final, now), self.registry.models, stop)

    def _save(self, changed: set[str], families: list[str]) -> None:
        """Save the manifest after a batch, except after one that read no source and rendered only the
        status page (the batch after each data batch and after each fetch report).

        The status page is rewritten by every such batch, so a manifest that misses its newest hash costs
        nothing: the next batch, or the start after a crash, renders it again.  Not saving spares the ~16 MB
        of JSON (network-10k) that each save serializes and writes: twice per publication, and once per
        fetch of any source.  The next other batch, or ``close``, saves it.  A batch after a save that
        failed (a full disk) saves, whatever it rendered.
        """
        if changed == {STATUS_INPUT} and families == [STATUS_FAMILY] and not self.manifest_saver.failed:
            self._unsaved = True
            return
        self._unsaved = False
        self.manifest_saver.save(self.manifest)
