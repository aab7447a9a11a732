"""The fetcher process: one per enabled source, each on its own schedule.

Run as ``python -m alliumd.fetchers.runtime --config PATH --source NAME``.
The loop waits for the next poll (or a ``refresh`` command on stdin), does one
fetch, validates the body, publishes it atomically into ``cache_dir`` and
reports its state.  An API failure is never a crash: it is a ``backoff``
state with a reason, and the last good cache stays in place.

Exit codes: 0 stopped on request (or ``--once`` left a usable cache),
1 ``--once`` found no data at all, 78 bad config, 76 supervisor gone.
"""

from __future__ import annotations

import argparse
import gzip
import logging
import os
import random
import select
import shutil
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path

from .. import atomic, childproc, config as configmod, http, logs, quarantine, sourcestate
from ..cache import files as cachefiles, meta as cachemeta, store as cachestore
from ..core import channel, exitcodes
from ..memory import release_free_memory
from ..sources import SOURCES
from ..states import SourceState, failure_delay, first_run_delay, retry_after_delay
from . import InvalidDocument, source_module

log = logging.getLogger("alliumd.fetcher")
PARENT_CHECK = 5.0
FUTURE_SLACK = 300.0         # a published time this far ahead of our clock is clamped and flagged


class Fetcher:
    def __init__(self, cfg: configmod.Config, name: str, *, clock=time.time, rand=random.random):
        self.cfg = cfg
        self.src = cfg.sources[name]
        self.name = name
        self.module = source_module(name)
        self.cache_path = cfg.daemon.cache_dir / self.src.cache_file
        self.render_path = cfg.daemon.cache_dir / SOURCES[name].render_file
        self.summary_format = getattr(self.module, "SUMMARY_FORMAT", None)
        self.tmp_dir = cfg.daemon.cache_dir / atomic.TMP_DIRNAME
        self.clock = clock
        self.rand = rand
        self.session = None
        self.record = sourcestate.load(cfg.daemon.state_dir, name, repair=True)
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
        try:
            sourcestate.save(self.cfg.daemon.state_dir, self.record)
        except OSError as e:
            log.error("source=%s cannot save its state: %s", self.name, e)
        self.report()

    def report(self) -> None:
        childproc.report(channel.SourceReport(self.record.to_json()))

    def _intact(self, path: Path, sha256: str | None) -> bool:
        """True when ``path`` hashes to ``sha256`` (hashed again only when its inode/size/mtime change)."""
        try:
            st = os.stat(path)
        except OSError:
            return False
        if not os.path.isfile(path):
            return False
        if sha256 is None:
            return True
        sig = (st.st_ino, st.st_size, st.st_mtime_ns)
        if self._verified.get(path) == sig:
            return True
        if cachefiles.file_sha256(path) != sha256:
            log.error("source=%s %s does not match its recorded sha256 (damaged on disk)", self.name, path.name)
            self._verified.pop(path, None)
            return False
        self._verified[path] = sig
        return True

    def cache_matches_record(self) -> bool:
        """True when the cache file is the one the record describes (validators are usable).

        Size first, then the recorded sha256: a same-size garbled cache must
        not be confirmed by a 304 or mistaken for an identical body.
        """
        try:
            if self.cache_path.stat().st_size != self.record.bytes:
                return False
        except OSError:
            return False
        return self._intact(self.cache_path, self.record.sha256)

    def prepare(self) -> None:
        """Start-up: sweep our stale temp files and make the record agree with the cache."""
        quarantine.ensure_dir(self.tmp_dir)
        atomic.sweep_tmp(self.cfg.daemon.cache_dir, prefix=self.src.cache_file + ".")
        for path in {self.cache_path, self.render_path}:
            quarantine.ensure_not_dir(path)
        rec = self.record
        if not self.cache_path.exists():
            rec.etag = rec.last_modified = rec.sha256 = rec.bytes = rec.data_time = None
            rec.origin = None
        elif not self.cache_matches_record():
            # a cache we did not record (copied in, state lost, or damaged): describe it, fetch unconditionally
            try:
                info = self.validate(self.cache_path)
                rec.data_time, rec.bytes = self.clamped(info.data_time), self.cache_path.stat().st_size
                rec.origin = "sample" if info.is_sample else "cache"
            except InvalidDocument as e:
                quarantine.move_aside(self.cache_path, f"invalid document: {e}")
                rec.bytes = rec.data_time = rec.origin = None
            rec.etag = rec.last_modified = rec.sha256 = None
            rec.summary_sha256 = None                  # derived from a document we no longer trust
        self.ensure_summary()
        self.ensure_meta()

    def ensure_meta(self) -> None:
        """The render file's data time, recorded beside it for the renderer (cache.meta): a cache from
        before alliumd recorded it, or one whose record was lost, is described once more here."""
        if not self.render_path.exists():
            return
        try:
            sha = cachefiles.file_sha256(self.render_path)
            if cachemeta.read(self.render_path, sha) is not None:
                return
            info = self.validate(self.cache_path)
            cachemeta.write(self.render_path, sha, info.data_time, info.is_sample)
        except InvalidDocument as e:
            log.warning("cannot describe cached %s (%s)", self.cache_path, e)
        except OSError as e:                # e.g. disk full: the renderer parses the document instead
            log.error("source=%s cannot record the data time: %s", self.name, e)

    def ensure_summary(self) -> None:
        """Re-derive the render summary from the cached document when it is missing, outdated or damaged."""
        if self.summary_format is None or not self.cache_path.exists():
            return
        if (self.record.summary_format == self.summary_format and self.record.summary_sha256 is not None
                and self._intact(self.render_path, self.record.summary_sha256)):
            return
        try:
            info = self.validate(self.cache_path)
        except InvalidDocument as e:
            log.warning("cannot summarise cached %s (%s)", self.cache_path, e)
            return
        try:
            self.write_summary(info)
        except OSError as e:                # e.g. disk full: the next poll tries again
            log.error("source=%s cannot write the summary: %s", self.name, e)
            return
        log.info("source=%s summary re-derived from the cached document", self.name)

    def write_summary(self, info) -> None:
        quarantine.ensure_not_dir(self.render_path)
        sha = cachestore.publish_summary(self.render_path, info.summary, info.data_time, info.is_sample)
        self.record.summary_format = self.summary_format
        self.record.summary_sha256 = sha
        self.save_line_memo(info.summary)

    def load_line_memo(self) -> None:
        """Before summarising a new document: the previous one's lines (unless still in memory)."""
        if self.line_memo is None or self.line_memo.previous:
            return
        try:
            restored = self.line_memo.restore(self.memo_path.read_bytes(), self.render_path.read_bytes())
        except OSError:
            return
        if restored:
            log.debug("source=%s %d relay line summaries known from the previous document", self.name, restored)

    def save_line_memo(self, summary: bytes) -> None:
        """The line index of ``summary`` (just published); a failure only costs the next fetch time."""
        if self.line_memo is None:
            return
        try:
            atomic.write_bytes(self.memo_path, self.line_memo.export(summary), fsync=False)
        except OSError as e:
            log.warning("source=%s cannot keep the line index %s: %s", self.name, self.memo_path, e)

    def publish(self, tmp_path: Path, info) -> None:
        """Publish a validated document (summary first: the renderer reads only the summary)."""
        if info.summary is not None:
            self.write_summary(info)
        quarantine.ensure_not_dir(self.cache_path)
        cachestore.publish_document(tmp_path, self.cache_path, render_file=info.summary is None,
                                    data_time=info.data_time, sample=info.is_sample)

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
        fetch_impl, extra = (bundle, {"cache_path": self.cache_path}) if bundle else (http.fetch, {})
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
        with sample.open("rb") as raw, gzip.open(raw) as body:
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

    def run_once(self) -> int:
        self.prepare()
        return exitcodes.OK if self.fetch_now() else exitcodes.FAILURE

    def run_forever(self) -> int:
        self.prepare()
        rec = self.record
        age = self.clock() - rec.last_success if rec.last_success and self.cache_path.exists() else None
        wait = first_run_delay(age, self.src.interval, self.rand())
        if rec.failures and rec.next_run and rec.next_run > self.clock():
            wait = rec.next_run - self.clock()             # keep honouring an earlier backoff
        rec.next_run = self.clock() + wait
        if rec.state not in (SourceState.IDLE.value, SourceState.BACKOFF.value):
            rec.state = SourceState.BACKOFF.value if rec.failures else SourceState.IDLE.value
        self.save()
        while True:
            command = self.wait_for(rec.next_run)
            if command == "eof":
                log.info("supervisor gone; exiting")
                return exitcodes.PARENT_GONE
            self.fetch_now()
            if self.line_memo is not None:
                self.line_memo.previous = {}   # on disk (memo_path) until the next fetch: no RSS between polls
            release_free_memory()      # a parsed document's objects are garbage now

    def wait_for(self, due: float) -> str:
        """Sleep until ``due`` or a ``refresh`` command; return "due", "refresh" or "eof"."""
        reader = channel.LineReader()
        while True:
            remaining = due - self.clock()
            if remaining <= 0:
                return "due"
            ready, _, _ = select.select([sys.stdin.fileno()], [], [], min(remaining, PARENT_CHECK))
            if not childproc.parent_alive():
                return "eof"
            if not ready:
                continue
            chunk = os.read(sys.stdin.fileno(), 4096)
            if not chunk:
                return "eof"
            if any(channel.Command.of(msg) == channel.REFRESH for msg in reader.feed(chunk)):
                log.info("source=%s refresh requested", self.name)
                return "refresh"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="alliumd-fetcher", description=__doc__.splitlines()[0])
    ap.add_argument("--config", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--once", action="store_true")
    args = ap.parse_args(argv)
    logs.setup(f"fetcher/{args.source}")
    childproc.become_child()
    try:
        cfg = configmod.load(args.config)
        logs.setup(f"fetcher/{args.source}", cfg.daemon.log_level)
        fetcher = Fetcher(cfg, args.source)
    except (configmod.ConfigError, LookupError, KeyError) as e:
        log.error("%s", e)
        return exitcodes.CONFIG
    try:
        return fetcher.run_once() if args.once else fetcher.run_forever()
    except childproc.Terminated:
        return exitcodes.OK


if __name__ == "__main__":
    sys.exit(main())
