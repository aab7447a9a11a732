"""The cache directory contract (alliumd/cache): fetchers record each render file's data time beside it,
before the file itself, and the renderer reads it from there instead of re-deriving it from the document."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alliumd import atomic, config as configmod
from alliumd.cache import files as cachefiles, meta as cachemeta, store
from alliumd.core.timefmt import onionoo_epoch
from alliumd.fetchers.runtime import Fetcher
from alliumd.fetchers import stored
from daemon_harness import write_config

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def recorded(path: Path) -> cachemeta.Described | None:
    return cachemeta.read(path, cachefiles.file_sha256(path))


def test_fetchers_record_the_data_time_of_what_they_publish(tmp_path, api):
    api.set("/uptime", (FIXTURES / "onionoo_uptime_small.json").read_bytes())
    extra = f'[sources.onionoo_uptime]\nenabled = true\nurl = "{api.url("/uptime")}"\ninterval = 60\n'
    cfg = configmod.load(write_config(tmp_path, api.url("/details"), extra=extra))
    for name in ("onionoo_details", "onionoo_uptime"):
        f = Fetcher(cfg, name)
        f.prepare()
        assert f.fetch_now()
        described = recorded(f.render_path)
        assert described == cachemeta.Described(f.record.data_time, False), name
        published = json.loads(stored.read_all(f.cache_path))["relays_published"]
        assert described.data_time == onionoo_epoch(published)


def test_a_cache_from_before_the_meta_is_described_at_start_up(tmp_path, api):
    cfg = configmod.load(write_config(tmp_path, api.url("/details")))
    f = Fetcher(cfg, "onionoo_details")
    f.prepare()
    assert f.fetch_now()
    meta_path = f.render_path.with_name(f.render_path.name + ".meta")
    expected = recorded(f.render_path)
    meta_path.unlink()                                     # what an older alliumd left behind
    assert recorded(f.render_path) is None
    Fetcher(cfg, "onionoo_details").prepare()
    assert recorded(f.render_path) == expected


def test_the_meta_is_published_before_its_render_file(tmp_path, monkeypatch):
    order = []
    real = atomic.write_bytes
    monkeypatch.setattr(atomic, "write_bytes", lambda target, *a, **kw: (order.append(Path(target).name),
                                                                           real(target, *a, **kw)))
    render = tmp_path / "onionoo_uptime.summary.json"
    sha = store.publish_summary(render, b'{"relays_published":"2026-08-22 11:00:00"}', 1787396400.0, True)
    assert order == ["onionoo_uptime.summary.json.meta", "onionoo_uptime.summary.json"]
    assert sha == cachefiles.file_sha256(render)
    assert recorded(render) == cachemeta.Described(1787396400.0, True)


@pytest.mark.parametrize("render_file", [True, False])
def test_a_document_gets_a_meta_only_when_the_renderer_reads_it(tmp_path, render_file):
    (tmp_path / ".tmp").mkdir()
    tmp = tmp_path / ".tmp" / "doc.part"
    tmp.write_bytes(b'{"relays":[]}')
    target = tmp_path / "doc.json"
    store.publish_document(tmp, target, render_file=render_file, data_time=5.0, sample=False)
    assert target.read_bytes() == b'{"relays":[]}' and not tmp.exists()
    assert (recorded(target) is not None) == render_file
