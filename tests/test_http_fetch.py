"""alliumd.http.fetch against a real loopback server: every success and failure path."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import sys
import time
from pathlib import Path

import pytest

from alliumd import PROJECT_URL, __version__, http

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # import loopback without a package
from loopback import LoopbackAPI  # noqa: E402

DOC = {"version": "8.0", "relays_published": "2026-08-22 11:00:00",
       "relays": [{"nickname": f"relay{i}", "fingerprint": f"{i:040X}", "running": True} for i in range(400)]}
BODY = json.dumps(DOC).encode()
CONTACT = "ops@example.org"


@pytest.fixture
def api():
    with LoopbackAPI() as server:
        server.set("/details", BODY)
        yield server


@pytest.fixture
def session():
    s = http.new_session(CONTACT)
    s.trust_env = False            # ignore *_proxy variables: traffic stays on 127.0.0.1
    yield s
    s.close()


@pytest.fixture
def tmp_dir(tmp_path) -> Path:
    return tmp_path / ".tmp"


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def get(api, session, tmp_dir, path="/details", *, timeout=5.0, retries=0, max_bytes=10_000_000,
        sleep=None, **kw) -> http.FetchResult:
    return http.fetch(session, api.url(path), tmp_dir=tmp_dir, prefix="onionoo_details.json",
                      timeout=timeout, retries=retries, max_bytes=max_bytes,
                      sleep=sleep if sleep is not None else (lambda s: None), rand=lambda: 1.0, **kw)


def fails(api, session, tmp_dir, **kw) -> http.FetchError:
    with pytest.raises(http.FetchError) as info:
        get(api, session, tmp_dir, **kw)
    assert os.listdir(tmp_dir) == [], "a failed fetch left a temp file behind"
    return info.value


# -- success -------------------------------------------------------------------------------

def test_200_writes_decoded_body_to_temp_file(api, session, tmp_dir):
    r = get(api, session, tmp_dir)
    doc = api.set("/details", BODY)             # same bytes: the registered validators
    assert r.status == 200 and r.attempts == 1
    assert r.tmp_path.parent == tmp_dir
    assert r.tmp_path.name.startswith("onionoo_details.json.") and r.tmp_path.name.endswith(".part")
    assert r.tmp_path.read_bytes() == BODY
    assert r.size == len(BODY) and r.sha256 == hashlib.sha256(BODY).hexdigest()
    assert r.etag == doc.etag and r.last_modified == doc.last_modified_http
    assert os.listdir(tmp_dir) == [r.tmp_path.name]


def test_conditional_headers_give_304(api, session, tmp_dir):
    first = get(api, session, tmp_dir)
    first.tmp_path.unlink()
    r = get(api, session, tmp_dir, etag=first.etag, last_modified=first.last_modified)
    assert r.status == 304 and r.tmp_path is None and r.size == 0 and r.sha256 is None
    assert r.etag == first.etag
    sent = api.requests_log[-1].headers
    assert sent["If-None-Match"] == first.etag and sent["If-Modified-Since"] == first.last_modified
    assert "If-None-Match" not in api.requests_log[0].headers
    assert os.listdir(tmp_dir) == []


def test_if_modified_since_alone_gives_304(api, session, tmp_dir):
    first = get(api, session, tmp_dir)
    r = get(api, session, tmp_dir, last_modified=first.last_modified)
    assert r.status == 304
    assert "If-None-Match" not in api.requests_log[-1].headers


def test_changed_document_gives_200_despite_validators(api, session, tmp_dir):
    first = get(api, session, tmp_dir)
    api.set_json("/details", {**DOC, "relays": DOC["relays"][:3]})
    r = get(api, session, tmp_dir, etag=first.etag, last_modified=first.last_modified)
    assert r.status == 200 and r.etag != first.etag
    assert json.loads(r.tmp_path.read_bytes())["relays"] == DOC["relays"][:3]


def test_gzip_is_decoded_and_counted_in_decoded_bytes(api, session, tmp_dir):
    r = get(api, session, tmp_dir)
    assert "gzip" in api.requests_log[-1].headers["Accept-Encoding"]
    compressed = len(gzip.compress(BODY, mtime=0))
    assert compressed < len(BODY) // 4               # the wire carried far fewer bytes ...
    assert r.size == len(BODY)                        # ... than the decoded size reported
    assert r.tmp_path.read_bytes() == BODY


def test_max_bytes_counts_decoded_bytes_not_wire_bytes(api, session, tmp_dir):
    compressed = len(gzip.compress(BODY, mtime=0))
    e = fails(api, session, tmp_dir, max_bytes=compressed + 10)
    assert "max_bytes" in str(e) and not e.transient
    assert get(api, session, tmp_dir, max_bytes=len(BODY)).size == len(BODY)   # exactly at the cap is fine


def test_user_agent_names_alliumd_and_contact(api, session, tmp_dir):
    get(api, session, tmp_dir)
    ua = api.requests_log[-1].headers["User-Agent"]
    assert ua.startswith(f"alliumd/{__version__} ")
    assert PROJECT_URL in ua and CONTACT in ua
    assert http.user_agent("").startswith(f"alliumd/{__version__} (+{PROJECT_URL}) python-requests/")


# -- transient errors and retries -----------------------------------------------------------

def test_500_is_retried_then_fails(api, session, tmp_dir):
    api.fault("/details", "status", code=500)
    sleeps = Sleeps()
    e = fails(api, session, tmp_dir, retries=2, sleep=sleeps)
    assert api.count("/details") == 3
    assert e.status == 500 and e.transient and e.retry_after is None
    assert "HTTP 500" in str(e) and "after 3 attempts" in str(e)
    assert sleeps == [1.0, 2.0]                       # rand=1: 2**(n-1) * 1.0


def test_retry_backoff_is_jittered_and_capped(api, session, tmp_dir):
    api.fault("/details", "status", code=502)
    sleeps = Sleeps()
    with pytest.raises(http.FetchError):
        http.fetch(session, api.url("/details"), tmp_dir=tmp_dir, prefix="p", timeout=5, retries=7,
                   max_bytes=10**6, sleep=sleeps, rand=lambda: 0.0)
    assert api.count("/details") == 8
    assert sleeps == [0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 15.0]   # half of min(2**(n-1), 30)


def test_transient_error_then_success(api, session, tmp_dir):
    api.fault("/details", "status", code=503, times=1)
    r = get(api, session, tmp_dir, retries=2)
    assert r.status == 200 and r.attempts == 2 and api.count("/details") == 2
    assert r.tmp_path.read_bytes() == BODY
    assert os.listdir(tmp_dir) == [r.tmp_path.name]


def test_zero_retries_means_one_attempt(api, session, tmp_dir):
    api.fault("/details", "status", code=500)
    e = fails(api, session, tmp_dir, retries=0)
    assert api.count("/details") == 1 and "attempts" not in str(e)


def test_hang_is_bounded_by_total_timeout(api, session, tmp_dir):
    api.fault("/details", "hang")
    t0 = time.monotonic()
    e = fails(api, session, tmp_dir, timeout=1.0)
    elapsed = time.monotonic() - t0
    assert 0.9 <= elapsed < 2.0
    assert "timeout" in str(e) and e.transient


def test_drip_is_bounded_by_total_timeout(api, session, tmp_dir):
    # every gap (0.2 s) is shorter than the read timeout: only the total deadline stops it
    api.fault("/details", "drip", interval=0.2, chunk=16)
    t0 = time.monotonic()
    e = fails(api, session, tmp_dir, timeout=1.0)
    elapsed = time.monotonic() - t0
    assert 0.9 <= elapsed < 2.0
    assert "timeout" in str(e) and e.transient
    assert api.count("/details") == 1


def test_timeout_attempts_are_retried_within_their_own_deadline(api, session, tmp_dir):
    api.fault("/details", "hang", times=1)
    t0 = time.monotonic()
    r = get(api, session, tmp_dir, timeout=0.5, retries=1)
    assert r.status == 200 and r.attempts == 2
    assert time.monotonic() - t0 < 1.5
    # the connection interrupted by the deadline was not reused in a broken state
    assert get(api, session, tmp_dir).tmp_path.read_bytes() == BODY


def test_deadline_restores_alarm_handler(api, session, tmp_dir):
    import signal
    before = signal.getsignal(signal.SIGALRM)
    api.fault("/details", "hang", times=1)
    fails(api, session, tmp_dir, timeout=0.3)
    assert signal.getsignal(signal.SIGALRM) is before
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_truncated_body_is_an_error(api, session, tmp_dir):
    api.fault("/details", "truncate")
    e = fails(api, session, tmp_dir, retries=1)
    assert "truncated" in str(e) and e.transient
    assert api.count("/details") == 2


def test_connection_refused(session, tmp_dir):
    api = LoopbackAPI().start()
    api.stop()
    with pytest.raises(http.FetchError, match="connection failed") as info:
        http.fetch(session, api.url("/details"), tmp_dir=tmp_dir, prefix="p", timeout=2, retries=1,
                   max_bytes=100, sleep=lambda s: None)
    assert info.value.transient and "after 2 attempts" in str(info.value)
    assert os.listdir(tmp_dir) == []


# -- size caps ------------------------------------------------------------------------------

def test_oversize_via_content_length(api, session, tmp_dir):
    api.fault("/details", "oversize", size=3_000_000)
    e = fails(api, session, tmp_dir, retries=2, max_bytes=1_000_000)
    assert str(e) == "body of 3000000 bytes exceeds max_bytes 1000000"
    assert not e.transient and e.status == 200 and api.count("/details") == 1


def test_oversize_via_chunked_body(api, session, tmp_dir):
    api.fault("/details", "oversize", size=3_000_000, chunked=True)
    e = fails(api, session, tmp_dir, retries=2, max_bytes=1_000_000)
    assert str(e) == "body exceeds max_bytes 1000000"
    assert not e.transient and api.count("/details") == 1


def test_oversize_via_gzip_bomb(api, session, tmp_dir):
    api.fault("/details", "oversize", size=3_000_000, compress=True)
    e = fails(api, session, tmp_dir, retries=2, max_bytes=1_000_000)
    assert str(e) == "body exceeds max_bytes 1000000"
    assert not e.transient and api.count("/details") == 1


# -- non-transient answers -----------------------------------------------------------------

def test_404_is_not_retried(api, session, tmp_dir):
    e = fails(api, session, tmp_dir, path="/nope", retries=3)
    assert e.status == 404 and not e.transient and "check the URL" in str(e)
    assert api.count("/nope") == 1


@pytest.mark.parametrize("code", [429, 503])
def test_retry_after_ends_the_fetch_without_retrying_or_sleeping(api, session, tmp_dir, code):
    api.fault("/details", "retry_after", code=code, seconds=120)
    sleeps = Sleeps()
    e = fails(api, session, tmp_dir, retries=3, sleep=sleeps)
    assert e.status == code and e.retry_after == 120.0 and not e.transient
    assert "Retry-After 120s" in str(e)
    assert api.count("/details") == 1 and sleeps == []


def test_retry_after_as_http_date(api, session, tmp_dir):
    api.fault("/details", "retry_after", code=429, seconds="Fri, 01 Jan 2100 00:00:00 GMT")
    e = fails(api, session, tmp_dir, retries=3)
    assert e.retry_after > 365 * 86400 and api.count("/details") == 1


def test_parse_retry_after():
    assert http.parse_retry_after(None) is None
    assert http.parse_retry_after("") is None
    assert http.parse_retry_after(" 30 ") == 30.0
    assert http.parse_retry_after("soon") is None
    assert http.parse_retry_after("Thu, 01 Jan 1970 00:01:40 GMT", now=40.0) == 60.0
    assert http.parse_retry_after("Thu, 01 Jan 1970 00:01:40 GMT", now=1000.0) == 0.0
