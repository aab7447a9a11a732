"""Each LoopbackAPI behaviour, checked with plain requests/urllib calls over a real socket."""
from __future__ import annotations

import email.utils
import gzip
import http.client
import json
import os
import sys
import threading
import time
import urllib.error
import urllib.request

import pytest
import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # import loopback without a package
from loopback import JSON, LoopbackAPI  # noqa: E402

DOC = {"version": "8.0", "relays": [{"nickname": f"r{i}", "fingerprint": f"{i:040X}"} for i in range(50)]}
BODY = json.dumps(DOC).encode()


@pytest.fixture
def api():
    with LoopbackAPI() as server:
        server.set("/details", BODY)
        yield server


@pytest.fixture
def session():
    """A Session that ignores *_proxy env vars: traffic must stay on 127.0.0.1."""
    with requests.Session() as s:
        s.trust_env = False
        yield s


# urllib sends no Accept-Encoding, so it sees identity bodies; no proxies either.
urlopen = urllib.request.build_opener(urllib.request.ProxyHandler({})).open


def test_200_with_validators_and_cache_headers(api, session):
    r = session.get(api.url("/details"), timeout=5)
    assert r.status_code == 200 and r.json() == DOC
    assert r.headers["Content-Type"] == JSON
    assert r.headers["Cache-Control"] == "public, max-age=300"
    assert r.headers["ETag"].startswith('"') and r.headers["ETag"].endswith('"')
    lm = email.utils.parsedate_to_datetime(r.headers["Last-Modified"]).timestamp()
    assert abs(lm - time.time()) < 5
    assert session.get(api.url("/nope"), timeout=5).status_code == 404


def test_304_via_if_none_match(api, session):
    etag = session.get(api.url("/details"), timeout=5).headers["ETag"]
    r = session.get(api.url("/details"), headers={"If-None-Match": etag}, timeout=5)
    assert r.status_code == 304 and r.content == b"" and r.headers["ETag"] == etag
    assert api.requests_log[-1].headers["If-None-Match"] == etag
    stale = session.get(api.url("/details"), headers={"If-None-Match": '"stale"'}, timeout=5)
    assert stale.status_code == 200


def test_304_via_if_modified_since(api, session):
    lm = session.get(api.url("/details"), timeout=5).headers["Last-Modified"]
    r = session.get(api.url("/details"), headers={"If-Modified-Since": lm}, timeout=5)
    assert r.status_code == 304 and r.content == b""
    earlier = email.utils.formatdate(email.utils.parsedate_to_datetime(lm).timestamp() - 1, usegmt=True)
    assert session.get(api.url("/details"), headers={"If-Modified-Since": earlier}, timeout=5).status_code == 200


def test_set_new_bytes_same_second_gets_later_last_modified(api, session):
    old = session.get(api.url("/details"), timeout=5).headers
    new_doc = api.set_json("/details", {"relays": []})  # well within the same second
    assert api.set_json("/details", {"relays": []}) == new_doc  # same bytes: unchanged validators
    r = session.get(api.url("/details"), headers={"If-Modified-Since": old["Last-Modified"]}, timeout=5)
    assert r.status_code == 200 and r.json() == {"relays": []}
    new_lm = email.utils.parsedate_to_datetime(r.headers["Last-Modified"])
    assert new_lm > email.utils.parsedate_to_datetime(old["Last-Modified"])
    assert r.headers["ETag"] != old["ETag"] and r.headers["ETag"] == new_doc.etag
    pinned = api.set("/pinned", b"{}", last_modified=1_700_000_000.9, etag="v1")
    assert pinned.last_modified_http == "Tue, 14 Nov 2023 22:13:20 GMT" and pinned.etag == '"v1"'


def test_gzip_only_when_accepted(api, session):
    r = session.get(api.url("/details"), stream=True, timeout=5)  # requests sends Accept-Encoding: gzip
    assert r.headers["Content-Encoding"] == "gzip"
    assert int(r.headers["Content-Length"]) == len(gzip.compress(BODY, mtime=0)) < len(BODY)
    assert r.raw.read(decode_content=False) == gzip.compress(BODY, mtime=0)
    assert session.get(api.url("/details"), timeout=5).content == BODY  # decoded by requests
    with urlopen(api.url("/details"), timeout=5) as plain:
        assert plain.headers["Content-Encoding"] is None and plain.read() == BODY


def test_requests_log_and_count(api, session):
    session.get(api.url("/details?type=relay"), headers={"User-Agent": "alliumd-test/1"}, timeout=5)
    method, path, headers = api.requests_log[-1]
    assert (method, path) == ("GET", "/details?type=relay")
    assert headers["User-Agent"] == "alliumd-test/1" and "gzip" in headers["Accept-Encoding"]
    assert "If-None-Match" not in headers
    assert api.count("/details") == 1 and api.count("/details?type=relay") == 1
    assert api.count("/details?type=bridge") == 0 and api.wait_count("/details", 1, timeout=0.1)


def test_fault_status_is_html_and_one_shot(api, session):
    api.fault("/details", "status", code=500, times=1)
    r = session.get(api.url("/details"), timeout=5)
    assert r.status_code == 500 and r.headers["Content-Type"].startswith("text/html")
    assert b"HTTP ERROR 500" in r.content
    with pytest.raises(requests.exceptions.JSONDecodeError):
        r.json()
    assert session.get(api.url("/details"), timeout=5).status_code == 200  # the one shot is used up


def test_fault_persistent_until_cleared(api, session):
    api.fault("/details", "status", code=503)
    assert [session.get(api.url("/details"), timeout=5).status_code for _ in range(3)] == [503] * 3
    api.clear_fault("/details")
    assert session.get(api.url("/details"), timeout=5).status_code == 200


def test_fault_retry_after(api, session):
    api.fault("/details", "retry_after", code=429, seconds=7)
    r = session.get(api.url("/details"), timeout=5)
    assert r.status_code == 429 and r.headers["Retry-After"] == "7"


def test_fault_not_modified_always(api, session):
    api.fault("/details", "not_modified")
    r = session.get(api.url("/details"), timeout=5)  # no conditional headers at all
    assert r.status_code == 304 and r.content == b""


def test_fault_invalid_json(api, session):
    api.fault("/details", "invalid_json")
    r = session.get(api.url("/details"), timeout=5)
    assert r.status_code == 200 and r.headers["Content-Type"] == JSON
    with pytest.raises(ValueError):
        json.loads(r.content)


def test_fault_hang_client_read_timeout(api, session):
    api.fault("/details", "hang")
    t0 = time.monotonic()
    with pytest.raises(requests.exceptions.ReadTimeout):
        session.get(api.url("/details"), timeout=(1, 0.3))
    assert time.monotonic() - t0 < 1.5
    api.fault("/slow", "hang", seconds=0.2)  # with `seconds`, the answer arrives late
    api.set("/slow", b"{}")
    assert session.get(api.url("/slow"), timeout=(1, 2)).content == b"{}"


def test_fault_drip_needs_a_total_deadline(api, session):
    api.fault("/details", "drip", interval=0.05, chunk=8)
    received, deadline = 0, time.monotonic() + 0.5
    with session.get(api.url("/details"), stream=True, timeout=(1, 1)) as r:
        assert int(r.headers["Content-Length"]) > 8 * 20  # the whole body is promised up front
        with pytest.raises(TimeoutError):
            for piece in r.iter_content(64):  # never trips the 1 s read timeout
                received += len(piece)
                if time.monotonic() > deadline:
                    raise TimeoutError("total deadline")
    assert 0 < received < int(r.headers["Content-Length"])


def test_fault_truncate_is_a_client_error(api, session):
    api.fault("/details", "truncate")
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        session.get(api.url("/details"), timeout=5)
    with pytest.raises(http.client.IncompleteRead):
        with urlopen(api.url("/details"), timeout=5) as plain:
            plain.read()


def test_fault_oversize_with_content_length(api, session):
    api.fault("/details", "oversize")
    with session.get(api.url("/details"), stream=True, timeout=5) as r:
        assert int(r.headers["Content-Length"]) == 3_000_000  # a client can reject before reading
        assert r.raw.read(20).startswith(b'{"version"')


def test_fault_oversize_chunked_found_only_while_streaming(api, session):
    api.fault("/details", "oversize", size=2_000_000, chunked=True)
    cap, seen = 1_000_000, 0
    with session.get(api.url("/details"), stream=True, timeout=5) as r:
        assert "Content-Length" not in r.headers and r.headers["Transfer-Encoding"] == "chunked"
        for piece in r.iter_content(65536):
            seen += len(piece)
            if seen > cap:
                break
    assert seen > cap
    api.fault("/details", "oversize", size=2_000_000, compress=True)  # gzip bomb: count decoded bytes
    r = session.get(api.url("/details"), timeout=5)
    assert int(r.headers["Content-Length"]) < 100_000 and len(r.content) == 2_000_000


def test_fault_arguments_are_checked(api):
    with pytest.raises(ValueError):
        api.fault("/details", "explode")
    with pytest.raises(TypeError):
        api.fault("/details", "drip", intervall=1)


def test_stop_is_fast_with_a_hanging_client(session):
    api = LoopbackAPI().start()
    api.fault("/details", "hang")
    errors = []

    def client():
        try:
            session.get(api.url("/details"), timeout=10)
        except requests.exceptions.RequestException as exc:
            errors.append(exc)

    t = threading.Thread(target=client, daemon=True)
    t.start()
    assert api.wait_count("/details", 1, timeout=2)
    t0 = time.monotonic()
    api.stop()
    assert time.monotonic() - t0 < 1.0
    t.join(2)
    assert not t.is_alive() and isinstance(errors[0], requests.exceptions.ConnectionError)
    with pytest.raises(urllib.error.URLError):  # the port is closed now
        urlopen(api.url("/details"), timeout=1)
