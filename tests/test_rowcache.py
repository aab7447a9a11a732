"""The table-row cache (pages/rowcache.py): reused rows are byte-identical, changed rows are rendered again,
identity keys cannot be confused, memory is bounded, and hostile text is escaped exactly once."""

from __future__ import annotations

import gc
import json
import weakref

import golden_site
import pytest

from mako.runtime import Context
from mako.util import FastEncodingBuffer

from alliumd.pages import rowcache
from alliumd.pages.rowcache import RowCache
from alliumd.pages.templates import make_lookup, template_dir
from alliumd.renderer.jobs import page_chrome

HOSTILE = "<script>alert('x')</script>&\"'"
ESCAPED = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&#34;&#39;"


class Row(dict):
    """A row view-model that can be weakly referenced (to watch the cache keep it alive)."""


class Capture:
    """A row def with a render context as the template gives it: counts the rows it renders."""

    def __init__(self):
        self.calls = 0
        self.context = Context(FastEncodingBuffer())

    def __call__(self, row, root):
        self.calls += 1
        self.context.writer()(f"<tr>{root}{row['name']}</tr>\n")


def test_an_unchanged_row_is_reused_and_a_changed_one_rendered_again():
    cache, capture = RowCache(), Capture()
    a, b = Row(name="a"), Row(name="b")
    assert cache.render(capture.context, capture, a, "../") == "<tr>../a</tr>\n"
    assert cache.render(capture.context, capture, b, "../") == "<tr>../b</tr>\n"
    assert capture.calls == 2
    cache.end_batch()
    changed = Row(name="b2")                       # the model made a new object for the changed relay
    assert cache.render(capture.context, capture, a, "../") == "<tr>../a</tr>\n"
    assert cache.render(capture.context, capture, changed, "../") == "<tr>../b2</tr>\n"
    assert capture.calls == 3 and cache.hits == 1


def test_every_other_argument_is_part_of_the_key():
    cache, capture = RowCache(), Capture()
    a = Row(name="a")
    assert cache.render(capture.context, capture, a, "../") == "<tr>../a</tr>\n"
    assert cache.render(capture.context, capture, a, "../../") == "<tr>../../a</tr>\n"
    assert cache.render(capture.context, capture, a, "../") == "<tr>../a</tr>\n"
    assert capture.calls == 2


def test_an_equal_but_different_object_is_not_a_hit_and_entries_keep_their_object_alive():
    cache, capture = RowCache(), Capture()
    a = Row(name="a")
    cache.render(capture.context, capture, a, "")
    assert cache.get(Row(name="a"), ("",)) is None        # equal content, another object: rendered anew
    ref = weakref.ref(a)
    del a
    gc.collect()
    assert ref() is not None        # held by its entry, so its id cannot be reused while the entry exists
    cache.end_batch()
    cache.end_batch()               # a batch that used the cache comes first: nothing was looked up since
    assert ref() is not None
    cache.get(Row(name="other"), ("",))
    cache.end_batch()               # a batch that used the cache without this row: it is dropped
    gc.collect()
    assert ref() is None and len(cache) == 0


def test_rows_not_used_in_the_last_batch_are_dropped_but_a_batch_without_tables_keeps_them():
    cache, capture = RowCache(), Capture()
    a, b = Row(name="a"), Row(name="b")
    cache.render(capture.context, capture, a, "")
    cache.render(capture.context, capture, b, "")
    cache.end_batch()
    cache.end_batch()                                # e.g. the status page's batch: no table rendered
    cache.render(capture.context, capture, a, "")            # reused from the generation before
    cache.end_batch()
    assert capture.calls == 2 and len(cache) == 1
    cache.render(capture.context, capture, b, "")
    assert capture.calls == 3


def test_after_a_batch_rows_still_in_use_elsewhere_stay_and_rows_only_the_caches_hold_go(fresh_caches):
    """A medium batch renders most tables on a worker: the renderer keeps the rows of relays that did not
    change (their objects are still the model's) though it did not use them; a changed relay's old row goes,
    also when two caches hold it."""
    capture = Capture()
    model = [Row(name=str(i)) for i in range(4)]           # what the models hold
    for row in model:
        rowcache.GROUP_ROWS.render(capture.context, capture, row, "../")
    del row
    rowcache.ALL_RELAYS_ROWS.render(capture.context, capture, model[3], "")
    rowcache.end_batch()
    gone = weakref.ref(model[3])
    model[3] = Row(name="3 changed")                        # the model replaced the changed relay's row
    rowcache.GROUP_ROWS.render(capture.context, capture, model[0], "../")      # a batch that used one row
    rowcache.ALL_RELAYS_ROWS.render(capture.context, capture, model[0], "")
    rowcache.end_batch()
    gc.collect()
    assert gone() is None                                   # held by no one but the two caches: dropped
    assert len(rowcache.GROUP_ROWS) == 3 and len(rowcache.ALL_RELAYS_ROWS) == 1
    calls = capture.calls
    for row in model[:3]:                                   # the next batch finds the unchanged rows
        rowcache.GROUP_ROWS.render(capture.context, capture, row, "../")
    assert capture.calls == calls
    rowcache.GROUP_ROWS.render(capture.context, capture, model[3], "../")
    assert capture.calls == calls + 1


def test_the_rows_of_a_table_share_one_key_for_their_other_arguments():
    """~36k rows at network scale: one (object, html) pair per row, not a key and an arguments tuple each."""
    cache, capture = RowCache(), Capture()
    rows = [Row(name=str(i)) for i in range(3)]
    for row in rows:
        cache.render(capture.context, capture, row, "../")           # a new, equal arguments tuple per call
    (table,) = cache._current.values()
    assert [entry for entry in table.values()] == [(row, f"<tr>../{row['name']}</tr>\n") for row in rows]
    assert len(cache) == 3


def test_the_cache_is_bounded():
    cache, capture = RowCache(limit=10), Capture()
    rows = [Row(name=str(i)) for i in range(100)]
    for row in rows:
        cache.render(capture.context, capture, row, "")
        assert len(cache) <= 20
    assert cache.render(capture.context, capture, rows[-1], "") == "<tr>99</tr>\n"      # the newest are kept
    assert capture.calls == 100


# -- through the templates ---------------------------------------------------------------------------

def all_relays_view(rows):
    return {"published": "2026-01-01 00:00:00 UTC", "count": str(len(rows)), "relays": rows}


def relay_row(i, nickname):
    return {"running": i % 2 == 0, "fingerprint": f"{i:040X}", "nickname": nickname, "fp_short": f"{i:08X}",
            "flags_text": "Fast, Running", "country_code": "de" if i % 3 else None, "as_number": "AS1",
            "observed_bandwidth_text": "1.0 MB/s", "consensus_weight_text": "1,000", "version": "0.4.8.12",
            "os": "Linux", "first_seen_date": "2024-01-01"}


@pytest.fixture
def fresh_caches():
    rowcache.clear()
    yield
    rowcache.clear()


def render_all(lookup, rows):
    return lookup.get_template("relays_all.mako").render(
        chrome=page_chrome("relays/all.html", "T", [], ()), **all_relays_view(rows)).decode()


def test_relays_all_reuses_rows_and_escapes_hostile_text_exactly_once(fresh_caches):
    lookup = make_lookup()
    cache = rowcache.ALL_RELAYS_ROWS
    rows = [relay_row(i, HOSTILE if i == 3 else f"relay{i}") for i in range(200)]
    first = render_all(lookup, rows)
    assert cache.misses == 200 and cache.hits == 0
    assert first.count(ESCAPED) == 1 and "<script>" not in first and "&amp;lt;" not in first
    cache.end_batch()
    rows[5] = {**rows[5], "nickname": "renamed"}
    second = render_all(lookup, rows)
    assert cache.hits == 199 and cache.misses == 201
    assert second.count(ESCAPED) == 1 and "&amp;lt;" not in second       # a reused row is not escaped again
    assert second == first.replace(">relay5<", ">renamed<")


def test_cached_and_uncached_group_and_list_tables_are_the_same_bytes(fresh_caches, tmp_path, monkeypatch):
    """The golden site with every table through the cache (min_rows 0) matches the golden manifest,
    rows were reused within the build (flag pages share rows, the 17 listings of a kind share theirs),
    and the workers-free build left the renderer's cache bounded."""
    monkeypatch.setattr(rowcache, "MIN_ROWS", 0)
    golden = json.loads(golden_site.GOLDEN.read_text())
    current = golden_site.manifest(golden_site.build(tmp_path))
    assert current == golden
    assert rowcache.GROUP_ROWS.hits > 0 and rowcache.LIST_ROWS.hits > 0 and rowcache.ALL_RELAYS_ROWS.misses > 0
    assert all(len(c) <= 2 * c.limit for c in rowcache.CACHES)


# -- the daemon's start-up batch ----------------------------------------------------------------------

def _rename_thyme(base, nickname):
    """The fixture with one relay renamed, in its own layout (one relay per line: the relay model
    keeps the views of unchanged lines, and so the row objects)."""
    from alliumd import atomic
    from test_render_workers import FIXTURES
    raw = (FIXTURES / "onionoo_details_small.json").read_bytes()
    renamed = raw.replace(b'"nickname":"Thyme01",', b'"nickname":"%s",' % nickname.encode())
    assert renamed.count(b"\n") == raw.count(b"\n") and renamed != raw
    atomic.write_bytes(base / "cache" / "onionoo_details.json", renamed, fsync=False)


def test_a_warm_start_up_batch_fills_the_row_cache_and_writes_nothing(fresh_caches, tmp_path, monkeypatch):
    """After a restart (a new builder, empty caches) the start-up batch renders the big tables without
    writing them, so the first change renders only the rows that changed, not the whole table; and it
    compiles every template, also those of pages it did not render."""
    from test_render_workers import site_builder

    monkeypatch.setattr(rowcache, "MIN_ROWS", 0)
    cold = site_builder(tmp_path, workers=0)
    cold.build(full=True)
    cold.close()
    all_html = tmp_path / "www" / "relays" / "all.html"
    before = all_html.stat()

    rowcache.clear()                                   # a new renderer process
    builder = site_builder(tmp_path, workers=0)
    try:
        start = builder.build(full=True, warm=True)
        assert start.written == 0 and start.errors == []
        assert all_html.stat().st_mtime_ns == before.st_mtime_ns and all_html.stat().st_ino == before.st_ino
        compiled = set(builder.lookup._collection)          # Mako's compiled templates of this process
        assert {p.name for p in template_dir().glob("*.mako")} <= compiled and "relay.mako" in compiled
        relays = rowcache.ALL_RELAYS_ROWS.misses
        assert relays > 10 and rowcache.ALL_RELAYS_ROWS.hits == 0      # every row rendered once, kept
        assert rowcache.GROUP_ROWS.misses > 0 and rowcache.LIST_ROWS.misses > 0

        _rename_thyme(tmp_path, "Renamed")
        result = builder.build({"onionoo_details"})
        assert result.errors == [] and "Renamed" in all_html.read_text()
        assert rowcache.ALL_RELAYS_ROWS.misses == relays + 1               # only the renamed relay's row
        assert rowcache.ALL_RELAYS_ROWS.hits == relays - 1
    finally:
        builder.close()


def test_without_warming_the_first_change_renders_every_row_and_the_bytes_are_the_same(
        fresh_caches, tmp_path, monkeypatch):
    from test_render_workers import site_builder

    monkeypatch.setattr(rowcache, "MIN_ROWS", 0)
    sites = {}
    for warm in (True, False):
        base = tmp_path / str(warm)
        cold = site_builder(base, workers=0)
        cold.build(full=True)
        cold.close()
        rowcache.clear()
        builder = site_builder(base, workers=0)
        try:
            builder.build(full=True, warm=warm)
            _rename_thyme(base, "Renamed")
            misses = rowcache.ALL_RELAYS_ROWS.misses
            builder.build({"onionoo_details"})
            rendered = rowcache.ALL_RELAYS_ROWS.misses - misses
        finally:
            builder.close()
        sites[warm] = (rendered, golden_site.manifest(base / "www"))
    assert sites[True][0] == 1 and sites[False][0] > 10
    assert sites[True][1] == sites[False][1]                 # warming changes what is rendered, not the bytes


def test_a_warmed_page_whose_bytes_differ_from_its_manifest_entry_is_rewritten(fresh_caches, tmp_path):
    """Warming renders the page anyway, so an entry whose hash is not what the code renders (a key
    that missed a change) is corrected, as a rendered page would be."""
    from alliumd.renderer import manifest as manifestmod
    from test_render_workers import site_builder

    cold = site_builder(tmp_path, workers=0)
    cold.build(full=True)
    entry = cold.manifest.outputs["relays_all"]["relays/all.html"]
    entry[0] = "0" * 64
    cold.close()                    # its own saves are on disk: the damaged entry is saved last
    manifestmod.save(tmp_path / "lib", cold.manifest)
    builder = site_builder(tmp_path, workers=0)
    try:
        result = builder.build(full=True, warm=True)
        assert result.written == 1 and result.errors == []
        assert builder.manifest.outputs["relays_all"]["relays/all.html"][0] != "0" * 64
        assert builder.build(full=True, warm=True).written == 0
    finally:
        builder.close()


def _model(builder, name):
    [model] = [m for key, m in builder.model_cache.items() if key[0] == name]
    return model


def test_new_relay_views_keep_every_table_row_whose_shown_fields_are_the_same(fresh_caches, tmp_path, monkeypatch):
    """A publication in which every running relay's view changes in a field no table shows (here: a new
    publication time no relay was seen in, so each one's ``last_seen`` reads as a time, not as "the
    publication's") changes no table row: the row objects are kept, so the renderer's row cache still
    holds their HTML and the next batch renders none of them again.  (A plain new hour keeps the views
    themselves: test_new_hour.py.)"""
    from alliumd import atomic
    from test_render_workers import FIXTURES, site_builder

    monkeypatch.setattr(rowcache, "MIN_ROWS", 0)
    builder = site_builder(tmp_path, workers=0)
    try:
        builder.build(full=True)
        before_all = _model(builder, "all_relays_rows").rows
        before_groups = dict(_model(builder, "groups").rows)
        relays_before = _model(builder, "relays").relays
        raw = (FIXTURES / "onionoo_details_small.json").read_bytes()
        hour = raw.replace(b'"relays_published":"2026-08-22 11:00:00"', b'"relays_published":"2026-08-22 12:00:00"')
        assert hour != raw
        atomic.write_bytes(tmp_path / "cache" / "onionoo_details.json", hour, fsync=False)
        misses = rowcache.ALL_RELAYS_ROWS.misses
        result = builder.build({"onionoo_details"})
        assert result.errors == [] and result.written > 0
        relays_after = _model(builder, "relays").relays
        assert sum(a is not b for a, b in zip(relays_before, relays_after)) > 10     # new views…
        after_all = _model(builder, "all_relays_rows").rows
        assert len(after_all) == len(before_all) and all(a is b for a, b in zip(after_all, before_all))
        after_groups = _model(builder, "groups").rows
        assert all(after_groups[fp] is row for fp, row in before_groups.items())     # …the same rows
        assert rowcache.ALL_RELAYS_ROWS.misses == misses                             # no row rendered again
    finally:
        builder.close()
