"""A hostile or broken upstream (issue 15, item 6): deep nesting, non-standard JSON, huge operator
strings, absurd poll intervals and published times in the future."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from alliumd import config as configmod, statusview
from alliumd.fetchers import InvalidDocument, onionoo_details, onionoo_uptime
from alliumd.fetchers.runtime import Fetcher
from alliumd.model.relays import CAPS, relay_view
from daemon_harness import details_doc, now_published, onionoo_bytes, write_config

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _fetcher(tmp_path, api, path="/details", name="onionoo_details", extra="") -> Fetcher:
    cfg_path = write_config(tmp_path, api.url("/details"), interval=3600, extra=extra)
    cfg_path.write_text(cfg_path.read_text().replace("graceful_timeout = 5", "graceful_timeout = 5\n"
                                                                             "sample_fallback = false"))
    f = Fetcher(configmod.load(cfg_path), name, rand=lambda: 0.5)
    f.prepare()
    return f


def _deep(depth: int) -> bytes:
    doc = details_doc(now_published())
    body = onionoo_bytes(doc)
    return body.replace(b'"relays":[\n', b'"relays":[\n' + b"[" * depth + b"]" * depth + b",\n", 1)


@pytest.mark.parametrize("depth", [2_000, 100_000])
def test_deeply_nested_json_is_a_clean_invalid_document(tmp_path, depth):
    path = tmp_path / "doc.json"
    path.write_bytes(_deep(depth))
    with pytest.raises(InvalidDocument):
        onionoo_details.validate(path)
    path.write_bytes(b'{"version":"8.0","relays_published":"2026-01-01 00:00:00","relays":['
                     + b"[" * depth + b"]" * depth + b"]}")
    with pytest.raises(InvalidDocument):
        onionoo_uptime.validate(path)


def test_deeply_nested_json_is_reported_in_status_and_keeps_the_cache(tmp_path, api):
    f = _fetcher(tmp_path, api)
    assert f.fetch_now()
    good = f.cache_path.read_bytes()
    api.set("/details", _deep(100_000))
    assert f.fetch_now() is True                                 # the last good cache is still usable
    assert f.record.state == "backoff" and "invalid document" in f.record.last_error
    assert f.cache_path.read_bytes() == good


def _nonstandard_doc() -> tuple[bytes, list[str]]:
    doc = details_doc(now_published())
    body = onionoo_bytes(doc)
    bad = [doc["relays"][3]["fingerprint"], doc["relays"][7]["fingerprint"]]
    lines = body.split(b"\n")
    for i, line in enumerate(lines):
        try:
            own = json.loads(line.rstrip(b",")).get("fingerprint")
        except (ValueError, AttributeError):
            own = None
        if own == bad[0]:
            lines[i] = line.replace(b'"consensus_weight":', b'"consensus_weight":NaN,"x":', 1)
        if own == bad[1]:
            lines[i] = line.replace(b'"nickname":"', b'"nickname":"\\ud800', 1)
    return b"\n".join(lines), bad


def test_nan_infinity_and_lone_surrogates_are_counted_and_refused(tmp_path, api):
    body, bad = _nonstandard_doc()
    path = tmp_path / "doc.json"
    path.write_bytes(body)
    with pytest.raises(InvalidDocument, match=r"2 of 40 relays hold NaN/Infinity or a lone surrogate"):
        onionoo_details.validate(path)
    # the fetcher keeps the last good cache (no relay page silently dropped) and says why in status
    f = _fetcher(tmp_path, api)
    assert f.fetch_now()
    good = f.cache_path.read_bytes()
    api.set("/details", body)
    f.fetch_now()
    assert f.cache_path.read_bytes() == good
    assert "2 of 40 relays" in f.record.last_error and bad[0][:8] in f.record.last_error
    # "NaN" inside a string is fine
    ok = onionoo_bytes(details_doc(now_published())).replace(b'"nickname":"', b'"nickname":"NaN', 1)
    path.write_bytes(ok)
    assert onionoo_details.validate(path).items == 40


def test_operator_strings_are_capped_at_their_limits():
    relay = json.loads((FIXTURES / "onionoo_details_small.json").read_text())["relays"][0]
    relay = {**relay, "nickname": "N" * 1_000_000, "contact": "c" * 200_000, "platform": "Tor 0.4 on " + "x" * 9999,
             "as_name": "a" * 5000, "country_name": "k" * 500, "version": "9" * 500,
             "verified_host_names": ["h" * 1000] * 1000}
    view = relay_view(relay, None)
    assert view["nickname"] == "N" * 19 and CAPS["nickname"] == 19
    assert len(view["contact"]) == CAPS["contact"] == 1024
    assert len(view["platform"]) == CAPS["platform"]
    assert len(view["as_name"]) == CAPS["as_name"] and len(view["country_name"]) == CAPS["country_name"]
    assert len(view["version"]) == CAPS["version"]
    assert len(view["verified_host_names"]) == 16 and all(len(h) == 253 for h in view["verified_host_names"])


def test_interval_floor_unless_explicitly_lowered(tmp_path):
    path = tmp_path / "allium.toml"
    path.write_text('[sources.onionoo_details]\ninterval = 0.001\n')
    with pytest.raises(configmod.ConfigError, match=r"interval: must be at least \[daemon\] min_interval \(60 s\)"):
        configmod.load(path)
    path.write_text('[sources.onionoo_details]\ninterval = 59\n')
    with pytest.raises(configmod.ConfigError):
        configmod.load(path)
    path.write_text('[sources.onionoo_details]\ninterval = 60\n')
    assert configmod.load(path).sources["onionoo_details"].interval == 60
    path.write_text('[daemon]\nmin_interval = 0.001\n[sources.onionoo_details]\ninterval = 0.001\n')
    assert configmod.load(path).sources["onionoo_details"].interval == 0.001


def test_a_published_time_in_the_future_is_clamped_and_flagged(tmp_path, api):
    future = time.strftime("%Y-%m-%d %H:00:00", time.gmtime(time.time() + 3 * 86400))
    api.set("/details", onionoo_bytes(details_doc(future)))
    f = _fetcher(tmp_path, api)
    before = time.time()
    assert f.fetch_now()
    rec = f.record
    assert before - 1 <= rec.data_time <= time.time() + 1
    assert rec.future_by > 2 * 86400
    entry = statusview.source_entry(f.cfg, rec, time.time() + 7 * 3600, running=True)
    assert entry["stale"] is True                   # it ages from the fetch, not from three days ahead
    assert "in the future" in entry["note"]
    api.set("/details", onionoo_bytes(details_doc(now_published())))
    assert f.fetch_now() and f.record.future_by is None
