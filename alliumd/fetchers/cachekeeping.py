"""A fetcher's cache files (Fetcher's part): check them against the source record, repair the record
and the derived files (render summary, data-time meta, line memo) at start-up, and publish a new document.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from .. import atomic, http, quarantine
from ..cache import files as cachefiles, meta as cachemeta, names, store as cachestore
from . import InvalidDocument

log = logging.getLogger("alliumd.fetcher")


class CacheKeeping:
    """Cache files of a Fetcher (``cache_path``, ``render_path``, ``record``, ``line_memo``…)."""

    def _intact(self, path: Path, sha256: str | None) -> bool:
        """True when ``path`` hashes to ``sha256`` (hashed again only when its inode/size/mtime change)."""
        try:
            st = os.stat(path)
        except OSError:
            return False
        if not stat.S_ISREG(st.st_mode):
            return False
        if sha256 is None:
            return True
        sig = cachefiles.signature_of(st)
        if self._verified.get(path) == sig:
            return True
        if cachefiles.file_sha256(path) != sha256:
            log.error("source=%s %s does not match its recorded sha256 (damaged on disk)", self.name, path.name)
            self._verified.pop(path, None)
            return False
        self._verified[path] = sig
        return True

    def _written(self, path: Path) -> None:
        """``path`` was just published from bytes whose sha256 we computed: its current signature is
        verified (without this, the next poll hashed the document it had just written once more: ~0.2 s
        for a 240 MB uptime document)."""
        try:
            self._verified[path] = cachefiles.signature_of(os.stat(path))
        except OSError:
            self._verified.pop(path, None)

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
        self.adopt_plain_document()
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

    def adopt_plain_document(self) -> None:
        """A gzip-stored source's document as earlier alliumd versions kept it (plain ``<source>.json``):
        compressed once into the new name when there is no newer one, then removed.  Its record no
        longer matches (another size and hash), so it is described again and fetched unconditionally."""
        if not self.stored_gzip:
            return
        plain = self.cache_path.with_name(names.document_file(self.name))
        if not plain.is_file():
            return
        try:
            if not self.cache_path.exists():
                with open(plain, "rb") as src, atomic.staged(self.cache_path, tmp_dir=self.tmp_dir) as dst:
                    dst.writelines(http.gzip_chunks(iter(lambda: src.read(1 << 20), b"")))
                log.info("source=%s cached document %s kept gzipped as %s", self.name, plain.name,
                         self.cache_path.name)
            plain.unlink()
        except OSError as e:                       # e.g. disk full: the plain one stays, unused
            log.error("source=%s cannot compress the plain cached document %s: %s", self.name, plain.name, e)

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
        self._written(self.render_path)
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
