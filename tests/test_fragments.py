"""Reusable page parts (pages/fragments.py): a relay page rewritten for something else copies its charts
from its current file, with exactly the bytes a fresh render gives; a changed history, a batch after an
upgrade (other code wrote the pages) or a file the renderer did not write means they are drawn again."""

from __future__ import annotations

import copy

import pytest

from alliumd.pages import fragments, relays as relay_pages
from alliumd.pages.registry import Deferred
from alliumd.renderer.jobs import Chunk, Job, PageRenderer

from test_relay_page import THYME, load_doc, make_inputs, bandwidth_model, uptime_model

def relay_page(inputs, fp=THYME):
    page = next(p for p in relay_pages.expand_relay(inputs) if p.path == f"relay/{fp}/index.html")
    assert isinstance(page.view, Deferred)
    return page


def models(doc):
    fps = [r["fingerprint"] for r in doc["relays"]]
    return uptime_model(fps), bandwidth_model(fps)


def produce(renderer, page, known_sha, reuse=True):
    chunk = Chunk("relay", "Test", [], b"salt", reuse_parts=reuse)
    job = Job(page.path, page.template, "html", page.view, None, known_sha, None, keyed=True)
    return renderer.produce(job, chunk)


@pytest.fixture
def counted(monkeypatch):
    """How often the charts' view is computed."""
    calls = []
    real = relay_pages.relay_charts

    def charts(*args):
        calls.append(args)
        return real(*args)
    monkeypatch.setattr(relay_pages, "relay_charts", charts)
    return calls


def test_markers_are_found_only_with_their_token():
    page = "<p>a</p>" + fragments.opening("charts", "ab12") + "<svg>x</svg>" + fragments.closing("charts") + "<p>b"
    assert fragments.find(page, "charts", "ab12") == "<svg>x</svg>"
    assert fragments.find(page, "charts", "ab13") is None
    assert fragments.find(page, "other", "ab12") is None
    assert fragments.find(page.replace(fragments.closing("charts"), ""), "charts", "ab12") is None
    assert fragments.token_of("a", None) != fragments.token_of(None, "a") != fragments.token_of("a", "")


def test_a_page_rewritten_for_its_ranks_copies_its_charts_byte_for_byte(tmp_path, counted):
    doc = load_doc()
    up, bw = models(doc)
    renderer = PageRenderer(tmp_path / "www")
    path, sha, _, written = produce(renderer, relay_page(make_inputs(doc, uptime=up, bandwidth=bw)), None)
    assert written and len(counted) == 1
    first = (tmp_path / "www" / path).read_text()
    assert "<svg" in first and first.count("<!--part charts ") == 1

    # something else on the page changes (the relay's nickname): the page is rewritten, its charts copied
    changed = copy.deepcopy(doc)
    next(r for r in changed["relays"] if r["fingerprint"] == THYME)["nickname"] = "Renamed"
    page = relay_page(make_inputs(changed, uptime=up, bandwidth=bw))
    _, sha2, _, written = produce(renderer, page, sha)
    assert written and len(counted) == 1                       # the charts were not computed again
    reused = (tmp_path / "www" / path).read_text()
    assert "Renamed" in reused

    fresh = PageRenderer(tmp_path / "fresh")                   # the same page drawn from scratch
    produce(fresh, relay_page(make_inputs(changed, uptime=up, bandwidth=bw)), None)
    assert (tmp_path / "fresh" / path).read_text() == reused and len(counted) == 2


def test_a_changed_history_an_upgrade_or_a_foreign_file_draws_the_charts_again(tmp_path, counted):
    doc = load_doc()
    up, bw = models(doc)
    renderer = PageRenderer(tmp_path / "www")
    path, sha, _, _ = produce(renderer, relay_page(make_inputs(doc, uptime=up, bandwidth=bw)), None)
    assert len(counted) == 1

    other_up = copy.deepcopy(up)                               # the uptime history changed
    other_up.relays[THYME]["series_json"] = uptime_model([THYME, "0" * 40]).relays["0" * 40]["series_json"]
    _, sha, _, written = produce(renderer, relay_page(make_inputs(doc, uptime=other_up, bandwidth=bw)), sha)
    assert written and len(counted) == 2

    _, sha, _, _ = produce(renderer, relay_page(make_inputs(doc, uptime=up, bandwidth=bw)), sha, reuse=False)
    assert len(counted) == 3                                   # other code wrote the pages: drawn again

    # a file that is not what the renderer wrote (its hash is not the manifest's) is never copied from
    file = tmp_path / "www" / path
    file.write_text(file.read_text().replace("<svg", "<svg data-evil=\"1\""))
    _, produced, _, _ = produce(renderer, relay_page(make_inputs(doc, uptime=up, bandwidth=bw)), sha)
    assert len(counted) == 4 and produced == sha               # drawn again: the bytes the renderer wrote


def test_only_a_regular_file_with_the_recorded_hash_is_read_back(tmp_path):
    from alliumd.renderer.writer import PageWriter, digest
    writer = PageWriter(tmp_path / "www")
    writer.write_if_changed("relay/A/index.html", b"<p>page</p>", None)
    sha = digest(b"<p>page</p>")
    assert writer.current("relay/A/index.html", sha) == b"<p>page</p>"
    assert writer.current("relay/A/index.html", digest(b"other")) is None
    assert writer.current("relay/B/index.html", sha) is None                 # missing
    (tmp_path / "secret").write_bytes(b"<p>page</p>")
    (tmp_path / "www" / "relay" / "C").mkdir()
    (tmp_path / "www" / "relay" / "C" / "index.html").symlink_to(tmp_path / "secret")
    assert writer.current("relay/C/index.html", sha) is None                 # a symlink is not followed
    import os
    os.mkfifo(tmp_path / "www" / "relay" / "fifo.html")
    assert writer.current("relay/fifo.html", sha) is None                    # no blocking on a FIFO


def test_a_daemon_reuses_parts_only_of_pages_its_own_code_wrote(tmp_path, counted, monkeypatch):
    """In the renderer: the first build draws every chart; a details change that renames a relay copies
    its charts; after an upgrade (other code: other build info) the first batch draws them all again."""
    import json

    from alliumd import atomic
    from alliumd.renderer import build as buildmod
    from test_render_workers import FIXTURES, site_builder

    builder = site_builder(tmp_path, workers=0)
    try:
        builder.build(full=True)
        drawn = len(counted)
        assert not builder.reuse_parts and drawn >= 10           # a cold build has nothing to reuse
        doc = json.loads((FIXTURES / "onionoo_details_small.json").read_text())
        next(r for r in doc["relays"] if r["fingerprint"] == THYME)["nickname"] = "Renamed"
        atomic.write_bytes(tmp_path / "cache" / "onionoo_details.json", json.dumps(doc).encode(), fsync=False)
        result = builder.build({"onionoo_details"})
        assert builder.reuse_parts and result.errors == [] and len(counted) == drawn
        assert "Renamed" in (tmp_path / "www" / "relay" / THYME / "index.html").read_text()
    finally:
        builder.close()

    monkeypatch.setattr(buildmod, "fingerprint_code", lambda: "the next release")
    upgraded = site_builder(tmp_path, workers=0)
    try:
        result = upgraded.build()
        assert not upgraded.reuse_parts and result.full and result.errors == []
        assert len(counted) == 2 * drawn                           # every chart drawn by the new code
        upgraded.build({"onionoo_details"})
        assert upgraded.reuse_parts
    finally:
        upgraded.close()
