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
family's page chrome (source times, stale and sample markers).
"""

from __future__ import annotations

import gc
import hashlib
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from .. import __version__
from ..config import Config
from ..history import store as history_store
from ..memory import release_free_memory
from ..sources import SOURCES
from ..cache import files as cachefiles, layout, meta as cachemeta
from ..pages.pagekey import FamilyKeys, KeyMemo
from . import manifest as manifestmod
from .dispatch import CHUNK_SIZE, Dispatcher, FamilyRun
from .jobs import Chunk, ChunkResult, Job, json_bytes, view_digest as _view_digest
from ..pages.registry import STATUS_INPUT, Deferred, Page, RenderInputs, Registry, SourceInfo, checked
from ..pages.templates import fingerprint_code, fingerprint_templates

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


class _Documents(dict):
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


def view_digest(page: Page, chrome_key: bytes) -> str:
    """Identity of everything a page's bytes depend on (``chrome_key`` covers templates and chrome)."""
    return _view_digest(page.template, page.view, chrome_key)


def _published_text(t: float | None) -> str | None:
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%d %H:%M UTC") if t is not None else None


def _salted(key: str, salt: bytes) -> str:
    h = hashlib.blake2b(salt, digest_size=16)
    h.update(b"\0")
    h.update(key.encode())
    return h.hexdigest()


class SiteBuilder:
    def __init__(self, cfg: Config, registry: Registry, *, status_provider: Callable[[], dict] | None = None,
                 clock: Callable[[], float] = time.time, workers: int | None = None,
                 parallel_min: int | None = None, template_dir: Path | None = None):
        self.cfg = cfg
        self.registry = registry
        self.clock = clock
        self.status_provider = status_provider or (lambda: {})
        self.cache_dir = cfg.daemon.cache_dir
        self.manifest = manifestmod.load(cfg.daemon.state_dir)
        self.template_dir = template_dir
        self.dispatcher = Dispatcher(cfg.daemon.output_dir, parallel_min=parallel_min,
                                     workers=(cfg.render.workers or None) if workers is None else workers,
                                     template_dir=template_dir)
        self.writer = self.dispatcher.local.writer
        self.model_cache: dict = {}
        self.keys = KeyMemo()                  # derived page keys of the last build (pagekey.py)
        self.forced: set[str] = set()          # families to render in the next batch regardless
        self._base_info = self._build_info()
        self.nav: tuple[tuple[str, str], ...] = ()
        self.build_info = self._base_info
        self.history = history_store.store_for(cfg.daemon.state_dir, cfg.history)    # this process writes it
        self._verify_outputs_exist()

    @property
    def lookup(self):
        return self.dispatcher.local.lookup

    def close(self) -> None:
        """Stop the render workers (they also stop on their own when this process exits)."""
        self.dispatcher.close()
        self.history.close()

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

    # -- change detection ------------------------------------------------------------

    def scan(self) -> set[str]:
        """Sources whose cache content changed since the manifest was written."""
        changed = set()
        for name, spec in SOURCES.items():
            sig = cachefiles.signature(self.cache_dir / spec.render_file)
            entry = self.manifest.inputs.get(name)
            if sig is None:
                if entry is not None:
                    del self.manifest.inputs[name]
                    changed.add(name)
                continue
            if entry is not None and entry.get("sig") == sig:
                continue
            sha = cachefiles.file_sha256(self.cache_dir / spec.render_file)
            if entry is not None and entry.get("sha256") == sha:
                entry["sig"] = sig
                continue
            self.manifest.inputs[name] = {"sig": sig, "sha256": sha, "published": None,
                                          "sample": False, "stale": None, "described": False}
            changed.add(name)
        return changed

    def _is_stale(self, name: str, now: float) -> bool:
        entry = self.manifest.inputs.get(name)
        if not entry or entry.get("published") is None:
            return False
        return now - entry["published"] > self.cfg.sources[name].max_age

    def stale_flips(self, now: float) -> set[str]:
        return {n for n, e in self.manifest.inputs.items()
                if e.get("described") and e.get("stale") is not None and e["stale"] != self._is_stale(n, now)}

    def next_stale_flip(self, now: float) -> float | None:
        """When the next source turns stale (the renderer wakes then to mark pages)."""
        times = [e["published"] + self.cfg.sources[n].max_age for n, e in self.manifest.inputs.items()
                 if e.get("published") is not None and n in self.cfg.sources
                 and e["published"] + self.cfg.sources[n].max_age > now]
        return min(times) if times else None

    # -- the batch -------------------------------------------------------------------

    def build(self, changed: set[str] = frozenset(), *, full: bool = False, now: float | None = None,
              defer: frozenset[str] = frozenset(), rescan: bool = True) -> BatchResult:
        """Render one batch; families named in ``defer`` are only reported in ``result.deferred``.

        ``rescan=False`` renders only what ``changed`` names (the status page after a data batch):
        a cache file published meanwhile is left to the next batch, which then reports it.

        Garbage collection: everything alive when the batch starts (models,
        templates, the manifest: millions of long-lived objects) is frozen,
        so the collections that the batch's allocations trigger only look at
        what the batch creates: page views and Mako's per-render cycles,
        which must be collected (with the collector off, a 10k-relay build
        grew by a gigabyte of uncollected render contexts).  Bulk model
        building pauses the collector itself (core/gcpause.gc_paused).
        """
        gc.freeze()
        self.keys.new_build()
        try:
            return self._build(changed, full=full, now=now, defer=defer, rescan=rescan)
        finally:
            self.keys.new_build()       # the batch's argument digests hold its objects: let them go
            gc.unfreeze()

    def _build(self, changed, *, full, now, defer, rescan) -> BatchResult:
        started = time.monotonic()
        now = self.clock() if now is None else now
        result = BatchResult()
        docs = _Documents(self.cache_dir)
        self.nav = self.registry.nav(docs.available)
        self.build_info = self._with_nav(self.nav)
        if self.manifest.build_info != self.build_info:
            full = True
        changed = set(changed) | (self.scan() | self.stale_flips(now) if rescan else set())
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
            manifestmod.save(self.cfg.daemon.state_dir, self.manifest)
            return result
        sources = self._describe_sources({s for f in families for s in f.inputs}, now)
        hashes = {n: e["sha256"] for n, e in self.manifest.inputs.items()}
        status = self.status_provider() if any(STATUS_INPUT in f.inputs for f in families) else {}
        inputs = RenderInputs(docs, hashes, sources, self.registry.models, self.model_cache, status,
                              {"site_title": self.cfg.render.site_title,
                               "hide_down_after_days": self.cfg.render.hide_down_after_days,
                               "history": self.history}, now)
        self.dispatcher.begin_batch()
        seen: set[str] = set()
        runs: list[FamilyRun] = []
        for family in families:
            t0 = time.monotonic()
            run = self._render_family(family, inputs, sources, seen, result)
            if run is not None:
                runs.append(run)
                self._finish_ready(runs, result)
            result.timings[family.name] = round(time.monotonic() - t0, 3)
        docs.release()
        self.dispatcher.drain()
        self._finish_ready(runs, result)
        result.families = [f.name for f in families]
        if not result.errors:
            self.manifest.build_info = self.build_info
        manifestmod.save(self.cfg.daemon.state_dir, self.manifest)
        result.duration = time.monotonic() - started
        return result

    def _describe_sources(self, needed: set[str], now: float) -> dict[str, SourceInfo]:
        infos = {}
        for name, spec in SOURCES.items():
            entry = self.manifest.inputs.get(name)
            if entry is not None and not entry.get("described") and name in needed:
                described = cachemeta.describe(self.cache_dir / spec.render_file, entry["sha256"])
                published, sample = (described.data_time, described.sample) if described else (None, False)
                entry["published"] = min(published, now) if published is not None else entry["sig"][2] / 1e9
                entry["sample"] = sample
                entry["described"] = True
            stale = self._is_stale(name, now)
            if entry is not None and name in needed:
                entry["stale"] = stale
            config = self.cfg.sources.get(name)
            infos[name] = SourceInfo(
                name=name, label=spec.label, available=entry is not None,
                published=_published_text(entry.get("published")) if entry else None,
                sample=bool(entry and entry.get("sample")), stale=stale,
                enabled=bool(config.enabled) if config is not None else False)
        return infos

    def _render_family(self, family, inputs: RenderInputs, sources: dict[str, SourceInfo], seen: set[str],
                       result: BatchResult) -> FamilyRun | None:
        missing = [s for s in family.required if not inputs.has(s)]
        if missing:
            log.info("family %s skipped: no data for %s yet", family.name, ", ".join(missing))
            return None
        chrome_sources = [sources[s] for s in sorted(family.chrome_sources) if s in sources]
        salt = (self.build_info + repr(chrome_sources)).encode()           # code, templates and chrome
        run = FamilyRun(family.name, self.manifest.outputs.get(family.name, {}))

        def new_chunk() -> Chunk:
            return Chunk(family.name, self.cfg.render.site_title, chrome_sources, salt, self.nav)

        chunk = new_chunk()
        exists = self.writer.exists
        keys = self.keys.begin(family.name)
        fixed = set(family.paths)
        try:
            for page in family.expand(inputs):
                checked(page)
                if page.path in seen:
                    raise ValueError(f"two pages claim {page.path}")
                seen.add(page.path)
                fixed.discard(page.path)
                job = self._job(page, run, salt, exists, keys)
                if job is None:
                    continue
                chunk.jobs.append(job)
                if len(chunk.jobs) >= CHUNK_SIZE:
                    self.dispatcher.dispatch(run, chunk, self._chunk_done)
                    chunk = new_chunk()
            if fixed:           # pages are linked because the family declares them (navigation)
                raise ValueError(f"declared pages not written: {', '.join(sorted(fixed))}")
            self.keys.finish(family.name, keys, complete=True)
        except Exception as e:
            log.exception("family %s failed; its previous pages stay in place", family.name)
            run.error = run.error or f"{type(e).__name__}: {e}"
            self.keys.finish(family.name, keys, complete=False)
        self.dispatcher.dispatch(run, chunk, self._chunk_done)     # the pages expanded so far
        run.expanded = True
        return run

    def _job(self, page: Page, run: FamilyRun, salt: bytes, exists: Callable[[str], bool],
             keys: FamilyKeys) -> Job | None:
        """The work ``page`` needs, or None when its manifest entry still holds (recorded in ``run``)."""
        known = run.old.get(page.path)
        known_sha, known_view, known_key = (known + [None, None, None])[:3] if known else (None, None, None)
        if page.content_type == "raw":
            return self._queued(run, page, None, Job(page.path, page.template, "raw", page.view, None,
                                                    known_sha, None))
        if isinstance(page.view, Deferred):
            key = _salted(keys.key(page.path, page.view.fn, page.view.args), salt)
            if key == known_key and exists(page.path):
                run.new[page.path] = known
                run.unchanged += 1
                return None
            return self._queued(run, page, key, Job(page.path, page.template, page.content_type, page.view,
                                                    None, known_sha, known_view, keyed=True))
        view_hash = _view_digest(page.template, page.view, salt)
        if view_hash == known_view and exists(page.path):
            run.new[page.path] = [known_sha, view_hash, None]
            run.unchanged += 1
            return None
        return self._queued(run, page, None, Job(page.path, page.template, page.content_type, page.view,
                                                 view_hash, known_sha, known_view))

    @staticmethod
    def _queued(run: FamilyRun, page: Page, key: str | None, job: Job) -> Job:
        run.keys[page.path] = key
        return job

    @staticmethod
    def _chunk_done(run: FamilyRun, done: ChunkResult) -> None:
        run.pending -= 1
        for path, sha, view_hash, written in done.done:
            run.new[path] = [sha, view_hash, run.keys.pop(path, None)]
            if written:
                run.written += 1
            else:
                run.unchanged += 1
        if done.error is not None:
            log.error("family %s failed while rendering %s; its previous pages stay in place\n%s",
                      run.name, done.error, done.detail)
            run.error = run.error or done.error

    def _finish_ready(self, runs: list[FamilyRun], result: BatchResult) -> None:
        """Commit every family whose pages are all done (deletions, manifest entries, counts)."""
        self.dispatcher.poll()
        for run in [r for r in runs if r.finished]:
            runs.remove(run)
            result.written += run.written
            result.unchanged += run.unchanged
            if run.error is not None:
                result.errors.append(f"{run.name}: {run.error}")
                # keep what was written so far plus the old entries, so nothing is deleted; render it again
                # in the next batch (a full disk or a transient failure must not leave it stale for good)
                self.manifest.outputs[run.name] = {**run.old, **run.new}
                self.forced.add(run.name)
                continue
            for rel in run.old.keys() - run.new.keys():
                if self.dispatcher.delete(rel):
                    result.deleted += 1
            self.manifest.outputs[run.name] = run.new

    def _drop_unknown_families(self, result: BatchResult) -> None:
        for name in [n for n in self.manifest.outputs if n not in self.registry.families]:
            for rel in self.manifest.outputs.pop(name):
                if self.dispatcher.delete(rel):
                    result.deleted += 1
