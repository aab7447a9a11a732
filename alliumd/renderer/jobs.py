"""Rendering and writing pages: the work a render worker (or the renderer itself) does per page.

The renderer process decides *which* pages need work (page keys and view
hashes against the manifest); what remains is the same pure-ish step for
every page: build a deferred view, hash it (an unchanged view skips the
template), render the template or serialise the JSON, and write the bytes
if they differ.  This module is that step, shared by the in-process path
and by :mod:`alliumd.renderer.worker`, so both produce identical bytes.

A chunk is a list of jobs of one page family (they share the family's page
chrome and view-hash salt); a result is one ``(path, sha, view_hash,
written)`` per finished job, plus an error text if a job failed.
"""

from __future__ import annotations

import hashlib
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from mako import exceptions as mako_exceptions

from ..core import jsonx
from ..model import openmetrics

from ..pages.common import INDEX_PATH, STATUS_PATH, STYLE_PATH
from ..pages import fragments
from ..pages.pagekey import salted_key
from ..pages.registry import Deferred, SourceInfo
from ..pages.templates import make_lookup, render_page
from .writer import PageWriter

json_bytes = jsonx.view_bytes


def view_digest(template: str, view: Any, salt: bytes) -> str:
    """Identity of everything a page's bytes depend on (``salt`` covers the code, templates and chrome)."""
    h = hashlib.blake2b(digest_size=16)
    h.update(template.encode())
    h.update(b"\0")
    h.update(salt)
    h.update(b"\0")
    h.update(json_bytes(view))
    return h.hexdigest()


def page_chrome(path: str, site_title: str, sources: list[SourceInfo] | tuple,
                nav: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    """What base.mako draws around every page; its links come from the site's URL table (pages/common.py).

    ``home`` is the overview's path only when this build writes it (it leads the navigation); ``status``
    the status page's, which the footer points to for each source's latest publication.
    """
    return {"site_title": site_title, "root": "../" * path.count("/"), "page_path": path, "sources": sources,
            "nav": nav, "style": STYLE_PATH, "home": INDEX_PATH if nav and nav[0][0] == INDEX_PATH else None,
            "status": STATUS_PATH if any(p == STATUS_PATH for p, _ in nav) else None}


class Job(NamedTuple):
    """One page to produce: ``view`` is a plain dict (hash precomputed) or a :class:`Deferred`.

    A named tuple (as registry.Page): one is made and pickled per page to render, 60k in a cold build.
    """

    path: str
    template: str
    content_type: str
    view: dict[str, Any] | Deferred
    view_hash: str | None            # of a plain view; None for a deferred or raw one
    known_sha: str | None            # the manifest's hash of the current file
    known_view: str | None           # the manifest's view hash
    keyed: bool = False              # the page has a key: its view is not hashed (see produce)
    derive_key: bool = False         # its key was deferred (FamilyKeys.key): derive it here, return it


@dataclass
class Chunk:
    """Jobs of one family, with what they share."""

    family: str
    site_title: str
    sources: list[SourceInfo]
    salt: bytes
    nav: tuple[tuple[str, str], ...] = ()       # the navigation (Registry.nav): (path, label)
    jobs: list[Job] = field(default_factory=list)
    reuse_parts: bool = False                   # every page on disk is this code's (pages/fragments.py)


@dataclass
class ChunkResult:
    family: str
    done: list[tuple[str, str, str | None, bool]]      # (path, sha, view hash, written)
    error: str | None = None                           # "<path>: <Type>: <message>" of a failed job
    detail: str = ""                                   # its traceback (and Mako's template trace)
    keys: dict[str, str] = field(default_factory=dict)     # path -> key derived here (Job.derive_key)


class PageRenderer:
    """Renders and writes jobs into one output directory (one per process)."""

    def __init__(self, output_dir: str | Path, template_dir: str | Path | None = None,
                 compiled: str | Path | None = None):
        self.lookup = make_lookup(Path(template_dir) if template_dir else None,
                                  Path(compiled) if compiled else None)
        self.writer = PageWriter(Path(output_dir))

    def run(self, chunk: Chunk) -> ChunkResult:
        """Render every job; a failing page (an unsafe path, a full disk, a template error) fails
        alone: the rest of its chunk is still written, and the first error is reported."""
        done, error, detail, failed = [], None, "", 0
        keys, shared = {}, {}                  # shared: a relay's records, digested once for its pages
        with self.writer.hold():
            for job in chunk.jobs:
                try:
                    if job.derive_key:
                        keys[job.path] = salted_key(job.view.fn, job.view.args, chunk.salt, shared)
                    done.append(self.produce(job, chunk))
                except Exception as e:
                    failed += 1
                    if error is None:
                        error, detail = f"{job.path}: {type(e).__name__}: {e}", _detail(e)
        if failed > 1:
            error += f" (and {failed - 1} more pages of this chunk)"
        return ChunkResult(chunk.family, done, error, detail, keys)

    def produce(self, job: Job, chunk: Chunk) -> tuple[str, str, str | None, bool]:
        view = job.view
        if job.content_type == "raw":
            view_hash, data = None, view["body"]
        else:
            if isinstance(view, Deferred):
                view = view.build()
                if job.keyed:
                    # a keyed page's key changed: its inputs did, so its view almost surely did too, and
                    # hashing a relay page's view (charts included) would cost a tenth of rendering it
                    view_hash = None
                else:
                    view_hash = view_digest(job.template, view, chunk.salt)
                    if view_hash == job.known_view and job.known_sha and self.writer.exists(job.path):
                        return job.path, job.known_sha, view_hash, False      # new inputs, same view
            else:
                view_hash = job.view_hash
            if chunk.reuse_parts and job.known_sha and job.content_type == "html":
                self._reuse_parts(job, view)
            data = page_bytes(self.lookup, job.template, job.content_type, view, path=job.path,
                              site_title=chunk.site_title, sources=chunk.sources, nav=chunk.nav)
        written, sha = self.writer.write_if_changed(job.path, data, job.known_sha)
        return job.path, sha, view_hash, written

    def _reuse_parts(self, job: Job, view: Any) -> None:
        """Hand each reusable part of the view the text the page's current file holds for it, if any."""
        parts = fragments.fragments_of(view)
        if not parts:
            return
        current = self.writer.current(job.path, job.known_sha)
        if current is None:
            return
        text = current.decode("utf-8", "replace")
        for part in parts:
            part.html = fragments.find(text, part.name, part.token)


def page_bytes(lookup, template: str, content_type: str, view: Any, *, path: str, site_title: str,
               sources: list[SourceInfo], nav: tuple[tuple[str, str], ...]) -> bytes:
    """A page's bytes from its finished view: raw bytes as they are, JSON, OpenMetrics text (``metrics.txt``),
    or the template in its chrome."""
    if content_type == "raw":
        return view["body"]
    if content_type == "json":
        return json_bytes(view)
    if content_type == "openmetrics":
        return openmetrics.exposition(view["families"]).encode()
    return render_page(lookup.get_template(template), {"chrome": page_chrome(path, site_title, sources, nav), **view})


def _detail(error: Exception) -> str:
    """The traceback, and for a template error Mako's trace through the template source."""
    detail = "".join(traceback.format_exception(error))
    if "mako" in type(error).__module__:
        try:
            detail += mako_exceptions.text_error_template().render()
        except Exception:               # the error template itself failed: the plain traceback will do
            pass
    return detail
