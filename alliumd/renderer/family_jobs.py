"""One family's part of a batch (SiteBuilder's part): expand its pages, decide per page what work it needs,
hand the jobs to the dispatcher, and commit the family's manifest entries and deletions when all are done.

Per page, cheapest test first: an unchanged derived key (deferred views)
skips building the view, an unchanged view hash skips the template, an
unchanged output hash skips the write.  A skipped page is not looked up on
disk: the builder checks that every page it knows exists at start-up, on
full builds and on the periodic rescan (build.py ``verify``), not ~60,000
stat() calls per batch.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ..pages.pagekey import FamilyKeys, resolve as resolve_key, unresolved as drop_unresolved
from ..pages.registry import Deferred, Page, RenderInputs, SourceInfo, checked
from .dispatch import CHUNK_SIZE, FamilyRun
from .jobs import Chunk, ChunkResult, Job, view_digest as _view_digest

if TYPE_CHECKING:
    from .build import BatchResult

log = logging.getLogger("alliumd.renderer")


class FamilyRendering:
    """Rendering a family's pages for a SiteBuilder (``cfg``, ``manifest``, ``keys``, ``dispatcher``…)."""

    def _render_family(self, family, inputs: RenderInputs, sources: dict[str, SourceInfo], seen: set[str],
                       result: BatchResult) -> FamilyRun | None:
        missing = [s for s in family.required if not inputs.has(s)]
        if missing:
            log.info("family %s skipped: no data for %s yet", family.name, ", ".join(missing))
            return None
        chrome_sources = [sources[s] for s in sorted(family.chrome_sources) if s in sources]
        # code, templates and chrome: stale and sample markers, not publication times (SourceInfo.keyed)
        salt = (self.build_info + repr([s.keyed() for s in chrome_sources])).encode()
        run = FamilyRun(family.name, self.manifest.outputs.get(family.name, {}))

        def new_chunk() -> Chunk:
            return Chunk(family.name, self.cfg.render.site_title, chrome_sources, salt, self.nav,
                         reuse_parts=self.reuse_parts)

        chunk = new_chunk()
        warm = self.warming and family.warm
        keys = self.keys.begin(family.name, salt)
        run.key_entries = keys.new
        fixed = set(family.paths)
        old, new, unchanged = run.old, run.new, keys.unchanged
        try:
            for page in family.expand(inputs):
                path = page.path
                if path in seen:
                    raise ValueError(f"two pages claim {path}")
                seen.add(path)
                if fixed:
                    fixed.discard(path)
                known = old.get(path)
                if known is None:       # a path the manifest holds passed this check when it was first written
                    checked(page)
                elif len(known) == 3 and type(page.view) is Deferred and page.content_type != "raw" and \
                        unchanged(path, page.view.fn, page.view.args, known[2]):
                    new[path] = known   # the same function of the same arguments: most pages of a batch
                    run.unchanged += 1
                    if warm:
                        self._warm(page, run, chunk)
                    continue
                job = self._job(page, known, run, salt, keys)
                if job is None:
                    if warm:
                        self._warm(page, run, chunk)
                    continue
                chunk.jobs.append(job)
                if len(chunk.jobs) >= CHUNK_SIZE:
                    self._announce(inputs)
                    self.dispatcher.dispatch(run, chunk, self._chunk_done)
                    chunk = new_chunk()
            if fixed:           # pages are linked because the family declares them (navigation)
                raise ValueError(f"declared pages not written: {', '.join(sorted(fixed))}")
            self.keys.finish(family.name, keys, complete=True)
        except Exception as e:
            log.exception("family %s failed; its previous pages stay in place", family.name)
            run.error = run.error or f"{type(e).__name__}: {e}"
            self.keys.finish(family.name, keys, complete=False)
        self._announce(inputs)
        self.dispatcher.dispatch(run, chunk, self._chunk_done)     # the pages expanded so far
        run.expanded = True
        return run

    def _announce(self, inputs: RenderInputs) -> None:
        """Pass on the page jobs that the models built so far announced (ModelSpec.workload) before the next
        chunk goes out, so a worker the batch will need starts now and that chunk can wait for it."""
        jobs = inputs.take_workload()
        if jobs:
            self.dispatcher.expect(jobs)

    def _job(self, page: Page, known: list | None, run: FamilyRun, salt: bytes, keys: FamilyKeys) -> Job | None:
        """The work ``page`` needs, or None when its manifest entry ``known`` still holds (recorded in ``run``)."""
        view = page.view
        if isinstance(view, Deferred) and page.content_type != "raw":
            known_key = known[2] if known is not None and len(known) == 3 else None
            # a key that cannot match is derived where the page is rendered (a shipped view's too: its key is
            # that of what it ships, pagekey.derive)
            key = keys.key(page.path, view.fn, view.args, known_key, defer=True)
            if known_key is not None and key == known_key:                     # most pages of a batch
                run.new[page.path] = known
                run.unchanged += 1
                return None
        known_sha, known_view = (known + [None, None])[:2] if known else (None, None)
        if page.content_type == "raw":
            return self._queued(run, page, None, Job(page.path, page.template, "raw", page.view, None,
                                                    known_sha, None))
        if isinstance(view, Deferred):
            return self._queued(run, page, key, Job(page.path, page.template, page.content_type, page.view,
                                                    None, known_sha, known_view, keyed=True,
                                                    derive_key=key is None))
        view_hash = _view_digest(page.template, page.view, salt)
        if view_hash == known_view:
            run.new[page.path] = [known_sha, view_hash, None]
            run.unchanged += 1
            return None
        return self._queued(run, page, None, Job(page.path, page.template, page.content_type, page.view,
                                                 view_hash, known_sha, known_view))

    def _warm(self, page: Page, run: FamilyRun, chunk: Chunk) -> None:
        """Render an unchanged page here so its rows land in this process's row cache (build ``warm``).

        Its bytes are those of its file, so nothing is written; if they are not (the key missed a
        change), the file is rewritten and the manifest takes the new hash, as for any rendered page.
        A failure is only logged: the page itself did not change.
        """
        known = run.new[page.path]
        job = Job(page.path, page.template, page.content_type, page.view, known[1], known[0], known[1],
                  keyed=known[2] is not None)
        try:
            path, sha, view_hash, written = self.dispatcher.local.produce(job, chunk)
        except Exception:
            log.exception("warming %s failed (the page is unchanged and stays)", page.path)
            return
        if written:
            log.warning("%s: unchanged by its key, but its bytes differed; rewritten", path)
            run.new[path] = [sha, view_hash if view_hash is not None else known[1], known[2]]
            run.written += 1
            run.unchanged -= 1

    @staticmethod
    def _queued(run: FamilyRun, page: Page, key: str | None, job: Job) -> Job:
        run.keys[page.path] = key
        return job

    @staticmethod
    def _chunk_done(run: FamilyRun, done: ChunkResult) -> None:
        run.pending -= 1
        for path, sha, view_hash, written in done.done:
            key = run.keys.pop(path, None)
            if key is None and path in done.keys:         # deferred: derived where the page was rendered
                key = done.keys[path]
                resolve_key(run.key_entries, path, key)
            run.new[path] = [sha, view_hash, key]
            if written:
                run.written += 1
            else:
                run.unchanged += 1
        if done.error is not None:
            log.error("family %s failed while rendering %s; its previous pages stay in place\n%s",
                      run.name, done.error, done.detail)
            run.error = run.error or done.error

    def _finish_ready(self, runs: list[FamilyRun], result: BatchResult, *, more: bool = False) -> None:
        """Commit every family whose pages are all done (deletions, manifest entries, counts); ``more``:
        another family expands next (the workers get more of the backlog meanwhile: Dispatcher.poll)."""
        self.dispatcher.poll(ahead=more)
        for run in [r for r in runs if r.finished]:
            runs.remove(run)
            for path in run.keys:              # pages that failed: a deferred key was never derived
                drop_unresolved(run.key_entries, path)
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
