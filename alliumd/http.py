"""One HTTP fetch: conditional, streamed to a temp file, size-capped, deadline-bounded.

Why not urllib3's Retry: it sleeps inside the call for whatever Retry-After
says, and a sleeping worker looks hung.  Here a fetch makes up to
``1 + retries`` attempts with short jittered backoff for transient errors
(connection problems, timeouts, 5xx, truncated bodies); a 429/503 with
Retry-After ends the fetch at once and the *schedule* honours it.

``requests``' read timeout bounds the gap between bytes, not the download,
so a slow-drip server could hold an attempt for hours.  The total
``timeout`` of an attempt is enforced with ``SIGALRM`` (the fetcher process
is single-threaded and this runs on its main thread), which interrupts the
request wherever it is blocked.

``requests`` is imported by the functions that use it, not by this module:
the idle process of a fetcher whose polls run in a child
(fetchers/pollchild.py) imports this module but never fetches itself, and
requests with its TLS stack is ~15 MB of a process that otherwise holds ~24.
"""

from __future__ import annotations

import contextlib
import email.utils
import hashlib
import os
import random
import signal
import tempfile
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from . import __version__, PROJECT_URL
from .states import retry_backoff

if TYPE_CHECKING:                       # pragma: no cover
    import requests

CHUNK = 64 * 1024
GZIP_LEVEL = 1          # an identity body stored gzipped: fast, and JSON shrinks ~10× even so


class AttemptTimeout(Exception):
    """The total deadline of one attempt passed."""


class FetchError(Exception):
    """A fetch failed; ``retry_after`` is set when the server asked us to come back later."""

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None,
                 transient: bool = True):
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after
        self.transient = transient


@dataclass
class FetchResult:
    status: int                  # 200 or 304
    tmp_path: Path | None        # decoded body (200 only), in the caller's temp dir
    size: int = 0
    sha256: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    attempts: int = 1


def user_agent(contact: str = "") -> str:
    import requests
    who = f"+{PROJECT_URL}" + (f"; {contact}" if contact else "")
    return f"alliumd/{__version__} ({who}) python-requests/{requests.__version__}"


def new_session(contact: str = "") -> requests.Session:
    import requests
    s = requests.Session()
    s.headers["User-Agent"] = user_agent(contact)
    s.headers["Accept-Encoding"] = "gzip, deflate"
    return s


@contextlib.contextmanager
def deadline(seconds: float):
    """Raise :class:`AttemptTimeout` in this (main) thread after ``seconds``."""

    def expired(signum, frame):
        raise AttemptTimeout(f"no complete answer within {seconds:g}s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, max(seconds, 0.001))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP-date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (now if now is not None else time.time()))


def _check_status(r: requests.Response, max_bytes: int) -> None:
    """Turn a non-200 answer into the right FetchError (304 is handled by the caller)."""
    reason = f"HTTP {r.status_code} {r.reason or ''}".strip()
    if r.status_code in (429, 503):
        ra = parse_retry_after(r.headers.get("Retry-After"))
        raise FetchError(reason + (f", Retry-After {ra:.0f}s" if ra is not None else ""),
                         status=r.status_code, retry_after=ra, transient=ra is None)
    if r.status_code >= 500 or r.status_code == 408:
        raise FetchError(reason, status=r.status_code)
    if r.status_code != 200:
        raise FetchError(f"{reason} (check the URL)", status=r.status_code, transient=False)
    declared = r.headers.get("Content-Length")
    if declared and declared.isdigit() and not r.headers.get("Content-Encoding") and int(declared) > max_bytes:
        raise FetchError(f"body of {int(declared)} bytes exceeds max_bytes {max_bytes}", status=200,
                         transient=False)


def _attempt(session: requests.Session, url: str, headers: dict, tmp_dir: Path, prefix: str,
             timeout: float, max_bytes: int, keep_gzip: bool = False) -> FetchResult:
    """One attempt under one total deadline; the temp file is removed on any failure,
    including an alarm that fires after the last byte.  ``keep_gzip``: store the body gzipped
    (fetchers/stored.py), as sent when the server compressed it."""
    tmp = None
    try:
        with deadline(timeout):
            with session.get(url, headers=headers, stream=True, allow_redirects=True,
                             timeout=(min(10.0, timeout), min(30.0, timeout))) as r:
                if r.status_code == 304:
                    return FetchResult(304, None, etag=r.headers.get("ETag"),
                                       last_modified=r.headers.get("Last-Modified"))
                _check_status(r, max_bytes)
                digest = hashlib.sha256()
                size = 0
                fd, tmp = tempfile.mkstemp(dir=tmp_dir, prefix=prefix + ".", suffix=".part")
                chunks = _stored_chunks(r, max_bytes) if keep_gzip else r.iter_content(CHUNK)
                with os.fdopen(fd, "wb") as f:
                    for chunk in _capped(chunks, max_bytes):       # as stored
                        size += len(chunk)
                        digest.update(chunk)
                        f.write(chunk)
                return FetchResult(200, Path(tmp), size, digest.hexdigest(), r.headers.get("ETag"),
                                   r.headers.get("Last-Modified"))
    except BaseException:
        if tmp is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        raise


def _stored_chunks(r: requests.Response, max_bytes: int):
    """The body as it is to be stored gzipped: the bytes on the wire when they are gzip (inflated only
    when read, with the size cap there), else the decoded body, capped and compressed here.  requests'
    own error mapping (iter_content's) is kept for the raw stream."""
    import requests
    from urllib3.exceptions import DecodeError, ProtocolError, ReadTimeoutError, SSLError
    if r.headers.get("Content-Encoding", "").strip().lower() not in ("gzip", "x-gzip"):
        yield from gzip_chunks(_capped(r.iter_content(CHUNK), max_bytes))
        return
    try:
        yield from r.raw.stream(CHUNK, decode_content=False)
    except ProtocolError as e:
        raise requests.exceptions.ChunkedEncodingError(e) from None
    except DecodeError as e:
        raise requests.exceptions.ContentDecodingError(e) from None
    except ReadTimeoutError as e:
        raise requests.exceptions.ConnectionError(e) from None
    except SSLError as e:
        raise requests.exceptions.SSLError(e) from None


def _capped(chunks: Iterable[bytes], max_bytes: int) -> Iterator[bytes]:
    """``chunks`` until they exceed ``max_bytes`` in all, then a FetchError (the body is refused)."""
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > max_bytes:
            raise FetchError(f"body exceeds max_bytes {max_bytes}", status=200, transient=False)
        yield chunk


def gzip_chunks(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """``chunks`` as one gzip stream (level GZIP_LEVEL)."""
    packer = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)
    for chunk in chunks:
        if out := packer.compress(chunk):
            yield out
    yield packer.flush()


def fetch(session: requests.Session, url: str, *, tmp_dir: Path, prefix: str, timeout: float,
          retries: int, max_bytes: int, etag: str | None = None, last_modified: str | None = None,
          sleep=time.sleep, rand=random.random, keep_gzip: bool = False) -> FetchResult:
    """Fetch ``url`` with up to ``1 + retries`` attempts; raise :class:`FetchError` on failure.

    Conditional headers use the server's own validators, never our clock.  ``max_bytes`` caps the
    body as stored (``keep_gzip``: compressed; the reader caps it inflated).
    """
    import requests
    headers = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    tmp_dir.mkdir(parents=True, exist_ok=True)
    attempt = 0
    while True:
        attempt += 1
        try:
            result = _attempt(session, url, headers, tmp_dir, prefix, timeout, max_bytes, keep_gzip)
            result.attempts = attempt
            return result
        except FetchError as e:
            error = e
        except AttemptTimeout as e:
            error = FetchError(f"timeout: {e}")
        except requests.exceptions.Timeout as e:
            error = FetchError(f"timeout: {_short(e)}")
        except requests.exceptions.ConnectionError as e:
            error = FetchError(f"connection failed: {_short(e)}")
        except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError) as e:
            error = FetchError(f"truncated or corrupt body: {_short(e)}")
        except requests.exceptions.RequestException as e:
            error = FetchError(f"request failed: {_short(e)}", transient=False)
        if not error.transient or attempt > retries:
            if attempt > 1:
                error.args = (f"{error.args[0]} (after {attempt} attempts)",)
            raise error
        sleep(retry_backoff(attempt, rand()))


def _short(e: Exception) -> str:
    """The innermost useful part of a requests/urllib3 error message."""
    inner = e.args[0] if e.args else e
    inner = getattr(inner, "reason", inner)            # urllib3 MaxRetryError → the real cause
    text = str(inner)
    if "): " in text and text.startswith(("HTTPConnection", "HTTPSConnection", "<")):
        text = text.split("): ", 1)[1]                 # drop the connection object's repr
    for marker in ("Failed to establish a new connection: ",):
        text = text.split(marker, 1)[-1]
    return text.strip("'\" ")[:200]
