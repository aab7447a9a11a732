"""One render batch: changed inputs → affected families → pages written only if changed.

Algorithm (DAEMON.md §6.2): compare cache signatures with the manifest and
hash what moved (early cutoff on identical content); add sources whose stale
marker flipped; select the families that read a changed input (all of them
when the build info changed); expand each, render each page, write the
bytes that differ, delete pages a family no longer produces, and commit the
manifest last.  A family that fails keeps its previous pages.
"""

from __future__ import annotations

import gc
import hashlib
import json
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

from mako import exceptions as mako_exceptions

from .. import __version__
from ..config import Config
from ..sources import SOURCES
from . import inputs as inputsmod, manifest as manifestmod
from .registry import STATUS_INPUT, Page, RenderInputs, Registry, SourceInfo, checked
from .templates import fingerprint_templates, make_lookup
from .writer import PageWriter

log = logging.getLogger("alliumd.renderer")


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

    @property
    def pages(self) -> int:
        return self.written + self.unchanged


class _Documents(dict):
    """Parsed cache documents, loaded on first use and at most once per batch."""

    def __init__(self, cache_dir):
        super().__init__()
        self.cache_dir = cache_dir

    def __missing__(self, source: str) -> Any:
        doc = None
        if source in SOURCES:
            path = self.cache_dir / SOURCES[source].render_file
            try:
                doc = inputsmod.load_document(path)
            except FileNotFoundError:
                doc = None
            except ValueError as e:
                log.error("cache file %s is not valid JSON (%s); ignoring it", path, e)
        self[source] = doc
        return doc


def json_bytes(view: Any) -> bytes:
    """Deterministic JSON for ``<page>.json`` outputs (views are plain data)."""
    return json.dumps(view, ensure_ascii=False, separators=(",", ":"), default=str).encode("utf-8")


def view_digest(page: Page, chrome_key: bytes) -> str:
    """Identity of everything a page's bytes depend on (``chrome_key`` covers templates and chrome)."""
    h = hashlib.blake2b(digest_size=16)
    h.update(page.template.encode())
    h.update(chrome_key)
    h.update(json.dumps(page.view, separators=(",", ":"), default=str).encode())
    return h.hexdigest()


def _published_text(t: float | None) -> str | None:
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%d %H:%M UTC") if t is not None else None


class SiteBuilder:
    def __init__(self, cfg: Config, registry: Registry, *, status_provider: Callable[[], dict] | None = None,
                 clock: Callable[[], float] = time.time):
        self.cfg = cfg
        self.registry = registry
        self.lookup = make_lookup()
        self.clock = clock
        self.status_provider = status_provider or (lambda: {})
        self.cache_dir = cfg.daemon.cache_dir
        self.manifest = manifestmod.load(cfg.daemon.state_dir)
        self.writer = PageWriter(cfg.daemon.output_dir)
        self.model_cache: dict = {}
        self.forced: set[str] = set()          # families to render in the next batch regardless
        self.build_info = self._build_info()
        self._verify_outputs_exist()

    def _build_info(self) -> str:
        h = hashlib.sha256()
        h.update(__version__.encode())
        h.update(fingerprint_templates().encode())
        h.update(repr(sorted(vars(self.cfg.render).items())).encode())
        h.update(repr(sorted(self.registry.families)).encode())
        return h.hexdigest()

    def _verify_outputs_exist(self) -> None:
        """Pages removed behind our back (e.g. a wiped web root) are rewritten by the next batch."""
        root = self.writer.root
        for family, outputs in self.manifest.outputs.items():
            missing = [r for r in outputs if not (root / r).exists()]
            for rel in missing:
                del outputs[rel]
            if missing:
                self.forced.add(family)

    # -- change detection ------------------------------------------------------------

    def scan(self) -> set[str]:
        """Sources whose cache content changed since the manifest was written."""
        changed = set()
        for name, spec in SOURCES.items():
            sig = inputsmod.signature(self.cache_dir / spec.render_file)
            entry = self.manifest.inputs.get(name)
            if sig is None:
                if entry is not None:
                    del self.manifest.inputs[name]
                    changed.add(name)
                continue
            if entry is not None and entry.get("sig") == sig:
                continue
            sha = inputsmod.file_sha256(self.cache_dir / spec.render_file)
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
              defer: frozenset[str] = frozenset()) -> BatchResult:
        """Render one batch; families named in ``defer`` are only reported in ``result.deferred``.

        The cyclic garbage collector is paused for the batch: the parsed
        documents and models are millions of long-lived objects that every
        collection would traverse again (2–4× slower rendering), and a batch
        creates little cyclic garbage.
        """
        gc.disable()
        try:
            return self._build(changed, full=full, now=now, defer=defer)
        finally:
            gc.enable()

    def _build(self, changed, *, full, now, defer) -> BatchResult:
        started = time.monotonic()
        now = self.clock() if now is None else now
        result = BatchResult()
        if self.manifest.build_info != self.build_info:
            full = True
        changed = set(changed) | self.scan() | self.stale_flips(now)
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
        docs = _Documents(self.cache_dir)
        sources = self._describe_sources(docs, {s for f in families for s in f.inputs}, now)
        hashes = {n: e["sha256"] for n, e in self.manifest.inputs.items()}
        status = self.status_provider() if any(STATUS_INPUT in f.inputs for f in families) else {}
        inputs = RenderInputs(docs, hashes, sources, self.registry.models, self.model_cache, status,
                              {"site_title": self.cfg.render.site_title}, now)
        seen: set[str] = set()
        for family in families:
            self._render_family(family, inputs, sources, seen, result)
        result.families = [f.name for f in families]
        if not result.errors:
            self.manifest.build_info = self.build_info
        manifestmod.save(self.cfg.daemon.state_dir, self.manifest)
        result.duration = time.monotonic() - started
        return result

    def _describe_sources(self, docs: _Documents, needed: set[str], now: float) -> dict[str, SourceInfo]:
        infos = {}
        for name, spec in SOURCES.items():
            entry = self.manifest.inputs.get(name)
            if entry is not None and not entry.get("described") and name in needed:
                doc = docs[name]
                entry["published"] = inputsmod.document_time(doc)
                if entry["published"] is None:
                    entry["published"] = entry["sig"][2] / 1e9      # no data time inside: use the file's
                entry["sample"] = inputsmod.is_sample(doc)
                entry["described"] = True
            stale = self._is_stale(name, now)
            if entry is not None and name in needed:
                entry["stale"] = stale
            infos[name] = SourceInfo(
                name=name, label=spec.label, available=entry is not None,
                published=_published_text(entry.get("published")) if entry else None,
                sample=bool(entry and entry.get("sample")), stale=stale)
        return infos

    def _render_family(self, family, inputs: RenderInputs, sources: dict[str, SourceInfo], seen: set[str],
                       result: BatchResult) -> None:
        missing = [s for s in family.required if not inputs.has(s)]
        if missing:
            log.info("family %s skipped: no data for %s yet", family.name, ", ".join(missing))
            return
        chrome_sources = [sources[s] for s in sorted(family.inputs) if s in sources]
        chrome_key = (self.build_info + repr(chrome_sources)).encode()   # templates + chrome
        old = self.manifest.outputs.get(family.name, {})
        new: dict[str, list] = {}
        try:
            for page in family.expand(inputs):
                checked(page)
                if page.path in seen:
                    raise ValueError(f"two pages claim {page.path}")
                seen.add(page.path)
                new[page.path] = self._emit(page, old.get(page.path), chrome_sources, chrome_key, result)
        except Exception as e:
            detail = mako_exceptions.text_error_template().render() if "mako" in type(e).__module__ else ""
            log.exception("family %s failed; its previous pages stay in place %s", family.name, detail)
            result.errors.append(f"{family.name}: {type(e).__name__}: {e}")
            # keep what was written so far plus the old entries, so nothing is deleted
            self.manifest.outputs[family.name] = {**old, **new}
            return
        for rel in old.keys() - new.keys():
            if self.writer.delete(rel):
                result.deleted += 1
        self.manifest.outputs[family.name] = new

    def _emit(self, page: Page, known: list | None, chrome_sources: list, chrome_key: bytes,
              result: BatchResult) -> list:
        """Render and write one page unless its view model is unchanged; return its manifest entry.

        The view-model hash lets an unchanged entity skip its template render
        entirely; the output hash lets a changed view that renders to the same
        bytes skip the write.
        """
        known_sha, known_view = (known or [None, None])[:2]
        if page.content_type == "raw":
            view_hash, data = None, page.view["body"]
        else:
            view_hash = view_digest(page, chrome_key)
            if view_hash == known_view and self.writer.exists(page.path):
                result.unchanged += 1
                return known
            if page.content_type == "json":
                data = json_bytes(page.view)
            else:
                chrome = {"site_title": self.cfg.render.site_title, "root": "../" * page.path.count("/"),
                          "page_path": page.path, "sources": chrome_sources}
                data = self.lookup.get_template(page.template).render(chrome=chrome, **page.view)
        written, sha = self.writer.write_if_changed(page.path, data, known_sha)
        if written:
            result.written += 1
        else:
            result.unchanged += 1
        return [sha, view_hash]

    def _drop_unknown_families(self, result: BatchResult) -> None:
        for name in [n for n in self.manifest.outputs if n not in self.registry.families]:
            for rel in self.manifest.outputs.pop(name):
                if self.writer.delete(rel):
                    result.deleted += 1
