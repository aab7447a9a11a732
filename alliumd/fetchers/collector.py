"""CollecTor: the latest consensus, every authority's vote for it and the bandwidth files they used.

One poll needs several documents, so this source brings its own fetch
(``fetch_bundle``, called by the runtime instead of one ``http.fetch``):

1. ``index.json`` (the configured URL; conditional GET with the record's
   validators; ``.gz``/``.xz``/``.bz2`` copies are decompressed, capped);
2. the newest consensus in ``recent/relay-descriptors/consensuses/``; its
   valid-after hour T is the hour this bundle describes;
3. per authority seen in ``votes/`` file names (``…-vote-<v3 id>-<digest>``,
   never a fixed table), its vote for T, or else its newest vote of the last
   24 h (kept as a header summary: "last voted at …");
4. per current vote that names one (``bandwidth-file-digest``, else the
   ``file_created``/``timestamp`` of ``bandwidth-file-headers``), the
   bandwidth file in ``bandwidths/`` it was made from.

Only what is new is downloaded: files live in a content-addressed store
(``<cache_dir>/collector-files/<sha256>``) and a file already there (known
by the index's sha256, or by name from the previous bundle) is reused.
Every download goes through ``alliumd.http.fetch`` (capped, deadline-bounded,
retried) and is checked against the index's size and sha256.  File URLs are
built from the configured index URL, never from the index's ``path``: a
tampered index cannot send us to another host.

The cached document (``collector.json``) is the *bundle manifest*: which
files, their sha256 and the authority each belongs to; a vote or bandwidth
file that the server refused for good (404, too large) is listed with its
error so the summary can say so.  ``validate`` parses the files the manifest
names (summaries/votes/) into the render summary; the store keeps the files of
the published and the new manifest, and nothing else.  When nothing new was
selected the hook answers like a 304 and nothing is parsed or written.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import random
import re
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from .. import atomic, http
from ..summaries import votes
from . import DocInfo, InvalidDocument
from .onionoo_stream import dumps
from .collector_index import (DIRS, IndexFile, decompress, match_bandwidth, parse_index, select,  # noqa: F401
                              _index_file, _name_time)

log = logging.getLogger("alliumd.fetcher.collector")

SUMMARY_FORMAT = votes.FORMAT
BUNDLE_FORMAT = 1
BUNDLE_KIND = "alliumd collector bundle"
STORE_DIRNAME = "collector-files"
DOWNLOAD_SHARE = 0.8             # of the fetch's worst-case time; the rest is for parsing
HEAD_BYTES = 64 * 1024           # a vote's header (for its bandwidth-file reference) fits in this

_SHA_HEX_RE = re.compile(r"[0-9a-f]{64}")


# -- the bundle: manifest + store ---------------------------------------------------------

def store_dir(manifest_path: Path) -> Path:
    """Where a manifest's files live: next to the published manifest (also for its temp copy)."""
    parent = Path(manifest_path).parent
    if parent.name == atomic.TMP_DIRNAME:
        parent = parent.parent
    return parent / STORE_DIRNAME


def read_manifest(path: Path) -> dict | None:
    try:
        doc = json.loads(Path(path).read_bytes())
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    if not isinstance(doc, dict) or doc.get("kind") != BUNDLE_KIND or not isinstance(doc.get("files"), list):
        return None
    return doc


def manifest_bytes(manifest: dict) -> bytes:
    return json.dumps(manifest, sort_keys=True, indent=1).encode() + b"\n"


def _entry(f: IndexFile, sha: str | None, size: int | None, authority: str | None, error: str | None = None) -> dict:
    out: dict[str, Any] = {"role": f.role, "name": f.name}
    if authority:
        out["authority"] = authority
    if error:
        out["error"] = votes.clean_text(error)
    else:
        out["sha256"], out["size"] = sha, size
    return out


def _load(store: Path, entry: dict) -> bytes:
    sha = entry.get("sha256")
    if not isinstance(sha, str) or not _SHA_HEX_RE.fullmatch(sha):
        raise InvalidDocument(f"bundle entry {entry.get('name')!r} has no sha256")
    try:
        data = (store / sha).read_bytes()
    except OSError:
        raise InvalidDocument(f"bundle file {entry.get('name')} is missing from {store}") from None
    if hashlib.sha256(data).hexdigest() != sha:
        raise InvalidDocument(f"bundle file {entry.get('name')} is corrupt (sha256 mismatch)")
    return data


def validate(path: Path) -> DocInfo:
    """Parse the bundle a manifest names into the render summary (summaries/votes/)."""
    manifest = read_manifest(path)
    if manifest is None or manifest.get("format") != BUNDLE_FORMAT:
        raise InvalidDocument("not an alliumd collector bundle manifest")
    store = store_dir(path)
    entries = [e for e in manifest["files"] if isinstance(e, dict)]
    cons = [e for e in entries if e.get("role") == "consensus"]
    if len(cons) != 1 or "error" in cons[0]:
        raise InvalidDocument("bundle has no consensus")
    try:
        consensus = votes.parse_status(_load(store, cons[0]), "consensus")
    except votes.InvalidStatus as e:
        raise InvalidDocument(f"consensus {cons[0]['name']}: {e}") from None
    vote_inputs = []
    for e in (e for e in entries if e.get("role") == "vote"):
        item = votes.VoteInput(str(e.get("name")), str(e.get("authority")), error=e.get("error"))
        if item.error is None:
            try:
                item.doc = votes.parse_status(_load(store, e), "vote")
            except votes.InvalidStatus as err:
                item.error = str(err)
        vote_inputs.append(item)
    if not any(v.doc for v in vote_inputs):
        raise InvalidDocument("bundle has no usable vote" + (f" ({vote_inputs[0].error})" if vote_inputs else ""))
    bw_inputs = []
    for e in (e for e in entries if e.get("role") == "bandwidth"):
        item = votes.BandwidthInput(str(e.get("name")), str(e.get("authority")), error=e.get("error"))
        if item.error is None:
            try:
                item.doc = votes.parse_bandwidth_file(_load(store, e))
            except votes.InvalidStatus as err:
                item.error = str(err)
        bw_inputs.append(item)
    summary = votes.build_summary(cons[0]["name"], consensus, vote_inputs, bw_inputs)
    when = _name_time(summary["relays_published"].replace(" ", "-").replace(":", "-"))
    return DocInfo(data_time=when, items=len(summary["relays"]), summary=dumps(summary))


# -- fetching the bundle ------------------------------------------------------------------

def files_base(index_url: str) -> str:
    """Where recent/… lives: the index URL without ``index/index.json[.gz|.xz|.bz2]``."""
    parts = urlsplit(index_url)
    path = parts.path
    m = re.search(r"/index/index\.json(\.gz|\.xz|\.bz2)?$", path)
    path = path[:m.start()] if m else path.rsplit("/", 1)[0]
    return urlunsplit((parts.scheme, parts.netloc, path.rstrip("/"), "", ""))


class _Bundle:
    """One poll's downloads, bounded by one deadline; what is in the store is never fetched again."""

    def __init__(self, session, *, store: Path, tmp_dir: Path, prefix: str, timeout: float, retries: int,
                 max_bytes: int, rand, deadline: float, previous: dict | None):
        self.session, self.store, self.tmp_dir, self.prefix = session, store, tmp_dir, prefix
        self.timeout, self.retries, self.max_bytes, self.rand = timeout, retries, max_bytes, rand
        self.deadline = deadline
        self.known = {e["name"]: e["sha256"] for e in (previous or {}).get("files", [])
                      if isinstance(e, dict) and isinstance(e.get("sha256"), str)}
        self.downloaded = 0

    def stored(self, f: IndexFile) -> str | None:
        """The sha256 of ``f`` if the store already holds it."""
        sha = f.sha256 or self.known.get(f.name)
        if sha and (self.store / sha).is_file():
            if f.size is None or (self.store / sha).stat().st_size == f.size:
                return sha
        return None

    def ensure(self, url: str, f: IndexFile, *, permanent_ok: bool) -> tuple[str | None, int | None, str | None]:
        """(sha256, size, None) once ``f`` is in the store, or (None, None, error) for a permanent
        refusal when ``permanent_ok``; transient failures raise FetchError (the poll fails)."""
        sha = self.stored(f)
        if sha:
            return sha, (self.store / sha).stat().st_size, None
        remaining = self.deadline - time.monotonic()
        if remaining < 1.0:
            raise http.FetchError(f"collector: deadline reached before {f.name} (files so far are kept)")
        try:
            result = http.fetch(self.session, url, tmp_dir=self.tmp_dir, prefix=self.prefix,
                                timeout=min(self.timeout, remaining / (self.retries + 1)),
                                retries=self.retries, max_bytes=self.max_bytes, rand=self.rand)
        except http.FetchError as e:
            if permanent_ok and not e.transient and e.retry_after is None:
                return None, None, f"{e}"
            raise http.FetchError(f"{f.name}: {e}", status=e.status, retry_after=e.retry_after,
                                  transient=e.transient) from None
        try:
            if f.size is not None and result.size != f.size:
                raise http.FetchError(f"{f.name}: {result.size} bytes, the index says {f.size}")
            if f.sha256 and result.sha256 != f.sha256:
                raise http.FetchError(f"{f.name}: sha256 differs from the index")
            self.store.mkdir(parents=True, exist_ok=True)
            atomic.publish_file(result.tmp_path, self.store / result.sha256)
        finally:
            result.tmp_path.unlink(missing_ok=True)
        self.downloaded += 1
        return result.sha256, result.size, None


def fetch_bundle(session, url: str, *, tmp_dir: Path, prefix: str, timeout: float, retries: int,
                 max_bytes: int, etag: str | None = None, last_modified: str | None = None,
                 sleep=time.sleep, rand=random.random, cache_path: Path) -> http.FetchResult:
    """The runtime hook: like ``http.fetch`` for the index URL, but the "body" is a new bundle
    manifest (in ``tmp_dir``); 304 when the index or the selected files are unchanged."""
    started = time.monotonic()
    deadline = started + DOWNLOAD_SHARE * (timeout * (retries + 1))
    index = http.fetch(session, url, tmp_dir=tmp_dir, prefix=prefix, timeout=timeout, retries=retries,
                       max_bytes=max_bytes, etag=etag, last_modified=last_modified, sleep=sleep, rand=rand)
    if index.status == 304:
        return index
    try:
        files = parse_index(decompress(index.tmp_path.read_bytes(), max_bytes))
        selection = select(files)
    except InvalidDocument as e:
        raise http.FetchError(f"invalid index: {e}", status=200, transient=False) from None
    finally:
        index.tmp_path.unlink(missing_ok=True)

    store = store_dir(cache_path)
    try:
        published = cache_path.read_bytes()
    except OSError:
        published = None
    previous = read_manifest(cache_path) if published is not None else None
    bundle = _Bundle(session, store=store, tmp_dir=tmp_dir, prefix=prefix, timeout=timeout, retries=retries,
                     max_bytes=max_bytes, rand=rand, deadline=deadline, previous=previous)
    base = files_base(url)
    fetch_one = functools.partial(_fetch_entry, bundle, base)
    try:
        entries = [fetch_one(selection.consensus, None, permanent_ok=False)]
        current: list[tuple[IndexFile, dict]] = []
        for vote in selection.votes:
            entry = fetch_one(vote, vote.authority, permanent_ok=True)
            entries.append(entry)
            if vote.time == selection.consensus.time and "error" not in entry:
                current.append((vote, entry))
        for vote, entry in current:
            ref = votes.bandwidth_reference(_head(store / entry["sha256"]))
            bw = match_bandwidth(ref, selection.bandwidths)
            if bw is not None:
                entries.append(fetch_one(bw, vote.authority, permanent_ok=True))
    except OSError as e:
        raise http.FetchError(f"collector store: {e}", transient=True) from None

    manifest = {"format": BUNDLE_FORMAT, "kind": BUNDLE_KIND,
                "valid_after": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(selection.consensus.time)),
                "files": entries}
    body = manifest_bytes(manifest)
    _prune(store, [manifest, previous])
    log.info("collector: consensus %s, %d votes, %d bandwidth files, %d new downloads",
             selection.consensus.name, len(selection.votes), sum(e["role"] == "bandwidth" for e in entries),
             bundle.downloaded)
    if body == published and bundle.downloaded == 0:       # nothing new: nothing to parse or publish
        return http.FetchResult(304, None, etag=index.etag, last_modified=index.last_modified)
    return _as_result(body, tmp_dir, prefix, index)


def _fetch_entry(bundle: _Bundle, base: str, f: IndexFile, authority: str | None, *, permanent_ok: bool) -> dict:
    sha, size, error = bundle.ensure(f"{base}/{DIRS[f.role]}/{f.name}", f, permanent_ok=permanent_ok)
    return _entry(f, sha, size, authority, error)


def _head(path: Path) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(HEAD_BYTES)


def _as_result(body: bytes, tmp_dir: Path, prefix: str, index: http.FetchResult) -> http.FetchResult:
    fd, tmp = tempfile.mkstemp(dir=tmp_dir, prefix=prefix + ".", suffix=".part")
    with os.fdopen(fd, "wb") as f:
        f.write(body)
    return http.FetchResult(200, Path(tmp), len(body), hashlib.sha256(body).hexdigest(),
                            index.etag, index.last_modified, index.attempts)


def _prune(store: Path, manifests: list[dict | None]) -> None:
    """Delete stored files that neither the published nor the new manifest names."""
    keep = {e.get("sha256") for m in manifests if m for e in m.get("files", []) if isinstance(e, dict)}
    try:
        entries = list(os.scandir(store))
    except FileNotFoundError:
        return
    for entry in entries:
        if entry.is_file() and entry.name not in keep:
            try:
                os.unlink(entry.path)
            except FileNotFoundError:
                pass
