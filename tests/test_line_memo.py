"""The history fetchers' line memo survives a restart: only changed relay lines are summarised again.

A real fetcher (alliumd.fetchers.runtime.Fetcher) fetches the uptime
document from the loopback API, is replaced by a new one (a restart: the
in-process memo is gone), and fetches a document in which one relay's line
changed.  The published summary must equal a summary made from scratch.
"""

from __future__ import annotations

import json

import pytest

from alliumd.cache import names
from alliumd.config import parse
from alliumd.fetchers import onionoo_stream, runtime
from alliumd.summaries import histories as history

from daemon_harness import FIXTURES, onionoo_bytes
from loopback import LoopbackAPI

UPTIME = json.loads((FIXTURES / "onionoo_uptime_small.json").read_text())


def onionoo_layout(doc: dict) -> bytes:
    """Onionoo's own layout (the bridges array over two lines): the line-by-line path reads it."""
    return onionoo_bytes(doc).replace(b'"bridges":[]}', b'"bridges":[\n]\n}')


@pytest.fixture(autouse=True)
def no_memo():
    onionoo_stream.LineMemo.forget_all()
    yield
    onionoo_stream.LineMemo.forget_all()


def fetcher(tmp_path, url: str) -> runtime.Fetcher:
    cfg = parse({"daemon": {"cache_dir": str(tmp_path / "cache"), "output_dir": str(tmp_path / "www"),
                            "state_dir": str(tmp_path / "lib"), "run_dir": str(tmp_path / "run")},
                 "sources": {"onionoo_uptime": {"enabled": True, "url": url, "retries": 0}}},
                tmp_path / "allium.toml")
    for d in (cfg.daemon.cache_dir, cfg.daemon.state_dir / "sources"):
        d.mkdir(parents=True, exist_ok=True)
    f = runtime.Fetcher(cfg, "onionoo_uptime")
    f.prepare()
    return f


def test_a_restarted_fetcher_summarises_only_the_changed_relay_line(tmp_path, monkeypatch):
    doc = json.loads(json.dumps(UPTIME))
    with LoopbackAPI() as api:
        api.set("/uptime", onionoo_layout(doc))
        first = fetcher(tmp_path, api.url("/uptime"))
        assert first.fetch_now()
        assert first.memo_path.exists()
        onionoo_stream.LineMemo.forget_all()                   # a restart: the process memo is gone

        doc["relays"][2]["uptime"]["1_month"]["values"][-1] = 123
        api.set("/uptime", onionoo_layout(doc))
        calls = []
        real = history.uptime_relay
        monkeypatch.setattr(history, "uptime_relay", lambda obj: calls.append(obj["fingerprint"]) or real(obj))
        second = fetcher(tmp_path, api.url("/uptime"))
        assert second.fetch_now()
    assert calls == [doc["relays"][2]["fingerprint"]]
    published = second.render_path.read_bytes()
    monkeypatch.setattr(history, "uptime_relay", real)
    onionoo_stream.LineMemo.forget_all()
    scratch = tmp_path / "scratch.json"
    scratch.write_bytes(onionoo_layout(doc))
    assert published == onionoo_stream.summarise(scratch, source="onionoo_uptime",
                                                 summary_format=names.UPTIME_SUMMARY_FORMAT,
                                                 relay_summary=real, workers=1).summary


def test_an_index_of_another_summary_is_ignored():
    memo = onionoo_stream.LineMemo()
    memo.previous = {b"d" * 32: ("A" * 40, b'{"x":1}')}
    summary = b'{"format":1,\n"relays":{\n"' + b"A" * 40 + b'":{"x":1}\n}}'
    index = memo.export(summary)
    assert onionoo_stream.LineMemo().restore(index, summary + b" ") == 0          # summary replaced
    assert onionoo_stream.LineMemo().restore(index[:-1], summary) == 0            # truncated index
    restored = onionoo_stream.LineMemo()
    assert restored.restore(index, summary) == 1 and restored.previous == memo.previous


def test_kept_summaries_take_no_more_heap_than_their_size():
    """A relay summary is kept (memo, document) in an allocation of its own size: orjson's output buffer
    (~128 kB, shrunk in place) left a hole per relay that fragmented a fetcher's heap to ~9x the summaries."""
    import tracemalloc
    relays = [{**r, "fingerprint": f"{i:040X}"} for i in range(40) for r in UPTIME["relays"][:1]]
    tracemalloc.start()
    try:
        kept = [onionoo_stream._summarise_relay(history.uptime_relay, r, i) for i, r in enumerate(relays)]
        traced, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    size = sum(len(summary) for _, summary in kept)
    assert size > 0 and traced < 3 * size + 64_000, (traced, size)
