"""The history documents kept gzipped in the cache (fetchers/stored.py): stored as sent, read inflated
with the size cap, refused when corrupt or too large, and an older plain cache adopted at start-up."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from alliumd import config as configmod, http
from alliumd.fetchers import InvalidDocument, onionoo_uptime, stored
from alliumd.fetchers.runtime import Fetcher
from daemon_harness import write_config

FIXTURES = Path(__file__).resolve().parent / "fixtures"
UPTIME = FIXTURES / "onionoo_uptime_small.json"


def uptime_config(tmp_path, api, *, max_bytes=2_000_000):
    extra = (f'[sources.onionoo_uptime]\nenabled = true\nurl = "{api.url("/uptime")}"\n'
             f'interval = 60\nmax_bytes = {max_bytes}\n')
    return configmod.load(write_config(tmp_path, api.url("/details"), extra=extra))


# -- the reader ------------------------------------------------------------------------------

def test_lines_and_read_all_read_gzip_and_plain_alike(tmp_path):
    body = b'{\n"a":1,\n' + b'"long":"' + b"x" * 3_000_000 + b'"\n}'        # one line longer than a read
    plain, packed = tmp_path / "plain.json", tmp_path / "packed.json.gz"
    plain.write_bytes(body)
    packed.write_bytes(gzip.compress(body))
    for path in (plain, packed):
        assert b"".join(stored.lines(path)) == body
        assert list(stored.lines(path))[2] == b'"long":"' + b"x" * 3_000_000 + b'"\n'
        assert stored.read_all(path) == body
        assert stored.inflated_size(path) == len(body)
    assert stored.is_gzip(packed) and not stored.is_gzip(plain)


def test_the_cap_holds_inflated_even_inside_one_line(tmp_path):
    bomb = tmp_path / "bomb.json.gz"
    bomb.write_bytes(gzip.compress(b'{"relays":"' + b"0" * 5_000_000 + b'"}'))    # 5 MB from ~5 kB
    assert bomb.stat().st_size < 20_000
    with pytest.raises(InvalidDocument, match="inflates to more than max_bytes"):
        list(stored.lines(bomb, 1_000_000))
    with pytest.raises(InvalidDocument, match="inflates to more than max_bytes"):
        stored.read_all(bomb, 1_000_000)
    assert len(stored.read_all(bomb, 6_000_000)) == 5_000_013


def test_corrupt_gzip_is_an_invalid_document(tmp_path):
    data = gzip.compress(UPTIME.read_bytes())
    cut, flipped = tmp_path / "cut.gz", tmp_path / "flipped.gz"
    cut.write_bytes(data[: len(data) // 2])
    flipped.write_bytes(data[:200] + bytes([data[200] ^ 0xFF]) + data[201:])
    for path in (cut, flipped):
        with pytest.raises(InvalidDocument, match="corrupt gzip data|not valid JSON|relay"):
            onionoo_uptime.validate(path)


def test_a_gzipped_document_summarises_like_the_plain_one(tmp_path):
    packed = tmp_path / "uptime.json.gz"
    packed.write_bytes(gzip.compress(UPTIME.read_bytes()))
    assert onionoo_uptime.validate(packed).summary == onionoo_uptime.validate(UPTIME).summary
    with pytest.raises(InvalidDocument, match="max_bytes"):
        onionoo_uptime.validate(packed, max_bytes=UPTIME.stat().st_size - 1)


# -- the fetch ---------------------------------------------------------------------------------

@pytest.fixture
def session():
    s = http.new_session("ops@example.org")
    s.trust_env = False
    yield s
    s.close()


def test_a_gzip_answer_is_stored_as_sent_and_an_identity_one_compressed(api, session, tmp_path):
    body = UPTIME.read_bytes()
    api.set("/uptime", body)
    got = http.fetch(session, api.url("/uptime"), tmp_dir=tmp_path, prefix="u", timeout=5, retries=0,
                     max_bytes=len(body), keep_gzip=True)
    assert got.tmp_path.read_bytes() == gzip.compress(body, mtime=0)          # the loopback's gzip, as sent
    assert got.size == got.tmp_path.stat().st_size < len(body) // 4
    session.headers["Accept-Encoding"] = "identity"
    plain = http.fetch(session, api.url("/uptime"), tmp_dir=tmp_path, prefix="u", timeout=5, retries=0,
                       max_bytes=len(body), keep_gzip=True)
    assert api.requests_log[-1].headers["Accept-Encoding"] == "identity"
    assert stored.is_gzip(plain.tmp_path) and gzip.decompress(plain.tmp_path.read_bytes()) == body
    with pytest.raises(http.FetchError, match="exceeds max_bytes"):           # capped as sent, not as stored
        http.fetch(session, api.url("/uptime"), tmp_dir=tmp_path, prefix="u", timeout=5, retries=0,
                   max_bytes=len(body) - 1, keep_gzip=True)


def test_the_fetcher_keeps_the_uptime_document_gzipped(tmp_path, api):
    api.set("/uptime", UPTIME.read_bytes())
    f = Fetcher(uptime_config(tmp_path, api), "onionoo_uptime")
    f.prepare()
    assert f.fetch_now()
    assert f.cache_path.name == "onionoo_uptime.json.gz" and stored.is_gzip(f.cache_path)
    assert stored.read_all(f.cache_path) == UPTIME.read_bytes()
    assert f.render_path.read_bytes() == onionoo_uptime.validate(UPTIME).summary
    assert f.record.bytes == f.cache_path.stat().st_size


def test_a_body_that_inflates_beyond_max_bytes_is_refused_and_the_cache_kept(tmp_path, api):
    good = UPTIME.read_bytes()
    api.set("/uptime", good)
    f = Fetcher(uptime_config(tmp_path, api, max_bytes=len(good) + 1000), "onionoo_uptime")
    f.prepare()
    assert f.fetch_now()
    kept, summary = f.cache_path.read_bytes(), f.render_path.read_bytes()
    doc = json.loads(good)
    doc["relays"][0]["nickname"] = "x" * (len(good) + 10)                   # small on the wire
    api.set("/uptime", json.dumps(doc).encode())
    assert f.fetch_now()                                                      # the last good cache serves
    assert "inflates to more than max_bytes" in f.record.last_error
    assert f.cache_path.read_bytes() == kept and f.render_path.read_bytes() == summary


def test_a_plain_document_of_an_older_alliumd_is_kept_gzipped_at_start_up(tmp_path, api):
    cfg = uptime_config(tmp_path, api)
    cache = cfg.daemon.cache_dir
    cache.mkdir(parents=True)
    (cache / "onionoo_uptime.json").write_bytes(UPTIME.read_bytes())           # as alliumd ≤ 0.1 kept it
    f = Fetcher(cfg, "onionoo_uptime")
    f.prepare()
    assert not (cache / "onionoo_uptime.json").exists()
    assert stored.read_all(f.cache_path) == UPTIME.read_bytes()
    assert f.render_path.read_bytes() == onionoo_uptime.validate(UPTIME).summary   # derived from it
    assert f.record.data_time is not None and f.record.sha256 is None             # fetched unconditionally
