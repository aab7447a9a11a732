"""The fetcher proper: one source's fetch, validation, publication and record.

A fetcher process (fetchers/runtime.py) runs it in-process for a source that
polls in the fetcher itself (details) and for ``--once``; a source that polls
in a child runs it only in forked children, so the process that waits
between polls never imports it (``requests``, OpenSSL's hashes, the parsers
and the cache code).  An API failure is never a crash: it is a ``backoff``
state with a reason, and the last good cache stays in place.
"""

from __future__ import annotations

import contextlib
import gzip
import logging
import os
import random
import shutil
import tempfile
import time
from importlib import resources
from pathlib import Path

from .. import atomic, config as configmod, http, quarantine, sourcestate
from ..core import exitcodes
from ..memory import release_free_memory
from ..sources import SOURCES
from ..states import SourceState, failure_delay, retry_after_delay
from . import InvalidDocument, runtime, source_module
from .cachekeeping import CacheKeeping

log = logging.getLogger("alliumd.fetcher")
FUTURE_SLACK = 300.0         # a published time this far ahead of our clock is clamped and flagged


class Fetcher(CacheKeeping):
    """One source's fetch loop; its cache files are cachekeeping.py's part."""

    def __init__(self, cfg: configmod.Config, name: str, *, clock=time.time, rand=random.random,
                 record: sourcestate.SourceRecord | None = None):
        """``record``: the one the waiting process holds (a forked child's task), instead of the saved one."""
        self.cfg = cfg
        self.src = cfg.sources[name]
        self.name = name
        self.module = source_module(name)
        self.cache_path = cfg.daemon.cache_dir / self.src.cache_file
        self.render_path = cfg.daemon.cache_dir / SOURCES[name].render_file
        self.stored_gzip = SOURCES[name].stored_gzip
        self.summary_format = getattr(self.module, "SUMMARY_FORMAT", None)
        self.tmp_dir = cfg.daemon.cache_dir / atomic.TMP_DIRNAME
        self.clock = clock
        self.rand = rand
        self.session = None
        self.record = record if record is not None else sourcestate.load(cfg.daemon.state_dir, name, repair=True)
        self._verified: dict[Path, tuple] = {}     # file -> signature whose sha256 was checked
        # history sources: the summaries of the previous document's relay lines, kept between fetches and
        # across restarts as a small index into the published summary (onionoo_stream.LineMemo), read by
        # the fetch that needs it and dropped after it
        memo = getattr(self.module, "line_memo", None)
        self.line_memo = memo() if memo is not None else None
        self.memo_path = cfg.daemon.state_dir / "sources" / f"{name}.lines"

    def validate(self, path: Path):
        """The source's validation; a document nested too deeply for any parser is just invalid."""
        try:
            if self.stored_gzip:                    # inflated as read: the size cap applies there
                return self.module.validate(path, max_bytes=self.src.max_bytes)
            return self.module.validate(path)
        except RecursionError:
            raise InvalidDocument("nested too deeply") from None

    def clamped(self, data_time: float | None) -> float | None:
        """A published time in the future (a broken upstream clock, or a lie to look fresh) counts
        from now, and the record says by how much it was ahead (shown in status)."""
        now = self.clock()
        if data_time is not None and data_time > now + FUTURE_SLACK:
            log.warning("source=%s published time is %.0fs in the future; counting it from now",
                        self.name, data_time - now)
            self.record.future_by = round(data_time - now, 1)
            return now
        self.record.future_by = None
        return data_time

    # -- bookkeeping ---------------------------------------------------------------

    def save(self) -> None:
        """Persist and report the record; a full or broken state disk is logged, never fatal
        (the supervisor still gets the record, and the next save tries again)."""
        runtime.save_record(self.cfg, self.name, self.record)

    def report(self) -> None:
        runtime.report_record(self.record)

    # -- one fetch -----------------------------------------------------------------

    def fetch_now(self) -> bool:
        """One fetch with its retries; True if usable data is in the cache afterwards."""
        rec = self.record
        started = self.clock()
        rec.state, rec.last_attempt = SourceState.FETCHING.value, started
        self.report()
        if self.session is None:
            self.session = http.new_session(self.cfg.daemon.contact)
        conditional = self.cache_matches_record()
        # hook: a source needing several documents per poll (collector) brings its own fetch, same contract
        bundle = getattr(self.module, "fetch_bundle", None)
        fetch_impl, extra = ((bundle, {"cache_path": self.cache_path}) if bundle
                             else (http.fetch, {"keep_gzip": self.stored_gzip}))
        try:
            quarantine.ensure_dir(self.tmp_dir)            # removed or replaced while we ran
            result = fetch_impl(self.session, self.src.url, tmp_dir=self.tmp_dir, prefix=self.src.cache_file,
                                timeout=self.src.timeout, retries=self.src.retries,
                                max_bytes=self.src.max_bytes,
                                etag=rec.etag if conditional else None,
                                last_modified=rec.last_modified if conditional else None,
                                rand=self.rand, **extra)
        except http.FetchError as e:
            self.session.close()
            self.session = None
            self.failed(str(e), e.status, e.retry_after, started)
            return self.cache_path.exists()
        except OSError as e:              # our side: disk full, .tmp gone; the normal backoff retries
            self.session.close()
            self.session = None
            self.failed(f"cannot store the body ({type(e).__name__}: {e})", None, None, started)
            return self.cache_path.exists()
        try:
            return self._use(result, started)
        except OSError as e:
            if result.tmp_path is not None:
                result.tmp_path.unlink(missing_ok=True)
            self.failed(f"cannot publish ({type(e).__name__}: {e})", result.status, None, started)
            return self.cache_path.exists()

    def _use(self, result: http.FetchResult, started: float) -> bool:
        """Validate and publish what one fetch returned (OSError, e.g. ENOSPC, is the caller's)."""
        rec = self.record
        if result.status == 304:
            log.info("source=%s status=304 unchanged dur_ms=%d", self.name, (self.clock() - started) * 1000)
            self.ensure_summary()                      # a damaged summary is re-derived from the intact cache
            self.succeeded(304, started)
            return True
        self.load_line_memo()
        try:
            info = self.validate(result.tmp_path)
        except InvalidDocument as e:
            result.tmp_path.unlink(missing_ok=True)
            self.failed(f"invalid document: {e}", 200, None, started)
            return self.cache_path.exists()
        if result.sha256 == rec.sha256 and self.cache_matches_record():
            result.tmp_path.unlink(missing_ok=True)       # identical body: publish nothing, render nothing
            log.info("source=%s status=200 identical body, not republished", self.name)
            self.ensure_summary()
        else:
            self.publish(result.tmp_path, info)
            self._written(self.cache_path)                # the bytes result.sha256 was computed over
            log.info("source=%s status=200 published bytes=%d items=%d dur_ms=%d", self.name,
                     result.size, info.items, (self.clock() - started) * 1000)
        rec.etag, rec.last_modified = result.etag, result.last_modified
        rec.sha256, rec.bytes, rec.data_time = result.sha256, result.size, self.clamped(info.data_time)
        self.succeeded(200, started)
        return True

    def succeeded(self, status: int, started: float) -> None:
        rec = self.record
        if rec.failures:
            log.info("source=%s recovered after %d failed fetches", self.name, rec.failures)
        now = self.clock()
        rec.state, rec.last_status, rec.last_success = SourceState.IDLE.value, status, now
        rec.failures, rec.origin = 0, "network"
        rec.last_duration = now - started
        rec.next_run = now + self.src.interval
        self.save()

    def failed(self, message: str, status: int | None, retry_after: float | None, started: float) -> None:
        rec = self.record
        now = self.clock()
        level = logging.WARNING if rec.failures == 0 else logging.INFO
        rec.failures += 1
        rec.last_error, rec.last_error_at, rec.last_status = message, now, status
        rec.last_duration = now - started
        rec.state = SourceState.BACKOFF.value
        delay = (retry_after_delay(retry_after, self.src.interval) if retry_after is not None
                 else failure_delay(rec.failures, self.src.interval, self.rand()))
        rec.next_run = now + delay
        if self.cache_path.exists():
            rec.origin = "sample" if rec.origin == "sample" else "cache"
            log.log(level, "source=%s fetch failed (%s); keeping the last good cache; retry in %.0fs",
                    self.name, message, delay)
        elif self.cfg.daemon.sample_fallback and self._try_sample():
            log.warning("source=%s fetch failed (%s) and no cache exists; published the bundled sample",
                        self.name, message)
        else:
            log.log(level, "source=%s fetch failed (%s); no data available; retry in %.0fs",
                    self.name, message, delay)
        self.save()

    def _try_sample(self) -> bool:
        try:
            return self.publish_sample()
        except OSError as e:
            log.error("source=%s cannot publish the bundled sample: %s", self.name, e)
            return False

    def publish_sample(self) -> bool:
        """Publish the bundled sample document for this source; False if there is none."""
        sample = resources.files("alliumd.sample") / f"{self.name}.json.gz"
        if not sample.is_file():
            return False
        with sample.open("rb") as raw, (contextlib.nullcontext(raw) if self.stored_gzip   # as bundled
                                        else gzip.open(raw)) as body:
            fd, tmp = tempfile.mkstemp(dir=self.tmp_dir, prefix=self.src.cache_file + ".", suffix=".part")
            try:
                with os.fdopen(fd, "wb") as f:
                    shutil.copyfileobj(body, f, 1 << 20)
                info = self.validate(Path(tmp))
                self.publish(Path(tmp), info)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        rec = self.record
        rec.origin, rec.data_time = "sample", self.clamped(info.data_time)
        rec.bytes, rec.sha256 = self.cache_path.stat().st_size, None
        rec.etag = rec.last_modified = None
        return True

    # -- the loop ------------------------------------------------------------------

    def poll(self) -> None:
        """One fetch in this process (a source that polls in a child is runtime.IdleFetcher's)."""
        self.fetch_now()
        if self.line_memo is not None:
            self.line_memo.previous = {}       # on disk (memo_path) until the next fetch: no RSS between polls
        release_free_memory()                  # a parsed document's objects are garbage now

    def verified_files(self) -> list[list]:
        """The cache files whose sha256 was checked, with their signatures (as JSON)."""
        return [[str(path), list(sig)] for path, sig in self._verified.items()]

    def take_verified(self, verified: list[list]) -> None:
        self._verified = {Path(path): tuple(sig) for path, sig in verified}

    def run_once(self) -> int:
        self.prepare()
        return exitcodes.OK if self.fetch_now() else exitcodes.FAILURE

    def run_forever(self) -> int:
        self.prepare()
        return runtime.serve(self)
