"""Page keys are derived from what a deferred view reads (pages/pagekey.py), never listed by hand.

- a view that reads a field no page module "listed" still re-renders when that field changes;
- unchanged arguments reuse their key without hashing; new-but-equal ones keep it too;
- a model that changes an object in place after handing it out is caught (verify mode, on in the suite);
- relay pages: the events' text (the old hand-written key covered only their ids) is part of the key.
"""

from __future__ import annotations

import json

import pytest

from alliumd.pages import relays as relay_pages
from alliumd.pages import pagekey
from alliumd.pages.registry import Deferred, Page, PageFamily, Registry

from alliumd.model.relays import build_relays

from test_render_workers import FIXTURES, site_builder

RENDERED: list[str] = []


def record_view(record: dict) -> dict:
    """Reads ``id`` and ``motto``: a hand-written key of ``id`` alone would have forgotten the motto."""
    RENDERED.append(record["id"])
    return {"name": f"{record['id']}: {record['motto']}"}


def registry_of(records: dict[str, dict], tmp_path) -> tuple[Registry, object]:
    tpl = tmp_path / "tpl"
    tpl.mkdir(exist_ok=True)
    (tpl / "one.mako").write_text("${name}\n")

    def pages(inputs):
        for rid, record in records.items():
            yield Page(f"one/{rid}.html", "one.mako", Deferred(record_view, (record,)))

    return Registry([PageFamily("one", frozenset({"onionoo_details"}), pages)]), tpl


def test_a_field_no_key_lists_still_re_renders_its_page(tmp_path):
    records = {"a": {"id": "a", "motto": "first"}, "b": {"id": "b", "motto": "first"}}
    registry, tpl = registry_of(records, tmp_path)
    builder = site_builder(tmp_path / "s", workers=0, registry=registry, template_dir=tpl)
    www = tmp_path / "s" / "www" / "one"
    try:
        assert builder.build().written == 2
        RENDERED.clear()
        records["a"] = {"id": "a", "motto": "second"}          # a new record object, as the models make them
        result = builder.build({"onionoo_details"})
        assert RENDERED == ["a"] and result.written == 1 and result.unchanged == 1
        assert (www / "a.html").read_text() == "a: second\n" and (www / "b.html").read_text() == "b: first\n"
        RENDERED.clear()
        records["b"] = {"id": "b", "motto": "first"}           # a new object, equal: same key, no view built
        derived = builder.keys.derived
        result = builder.build({"onionoo_details"})
        assert RENDERED == [] and result.written == 0 and result.unchanged == 2
        assert builder.keys.derived == derived                 # reused without hashing
    finally:
        builder.close()


def test_changing_an_argument_in_place_is_caught(tmp_path):
    records = {"a": {"id": "a", "motto": "first"}}
    registry, tpl = registry_of(records, tmp_path)
    builder = site_builder(tmp_path / "s", workers=0, registry=registry, template_dir=tpl)
    builder.keys.verify = True
    try:
        assert builder.build().errors == []
        records["a"]["motto"] = "second"                       # the same object, changed: the rule is broken
        result = builder.build({"onionoo_details"})
        assert result.errors and "StaleKey" in result.errors[0] and "changed in place" in result.errors[0]
    finally:
        builder.close()


def test_keys_cover_every_argument_deterministically():
    base = ({"id": "a", "tags": {"y", "x"}}, [1, 2], None)
    assert pagekey.derive(record_view, base) == pagekey.derive(record_view, ({"id": "a", "tags": {"x", "y"}},
                                                                            [1, 2], None))
    assert pagekey.derive(record_view, base) != pagekey.derive(record_view, (*base[:2], 0))
    assert pagekey.derive(record_view, base) != pagekey.derive(relay_pages.relay_page_view, base)
    with pytest.raises(TypeError, match="has no key"):
        pagekey.derive(record_view, (object(),))                # no silent gap for what cannot be hashed


def test_a_relay_event_whose_text_changes_changes_the_relay_page_key():
    """The old relay_key hashed only the events' ids; the derived key holds everything the page shows."""
    relay = build_relays(json.loads((FIXTURES / "onionoo_details_small.json").read_text())).relays[0]
    fp = relay["fingerprint"]
    event = {"uid": "e1", "fp": fp, "kind": "restart", "text": "restarted", "time": "2026-08-22T11:00:00Z"}
    records = (relay, None, None, None, {"members": [], "note": None}, None, None, None, (event,), None)
    changed = (*records[:8], ({**event, "text": "went down"},), None)
    view = relay_pages.relay_page_view
    assert pagekey.derive(view, (records, relay_pages.NO_MARKS)) != pagekey.derive(view, (changed, relay_pages.NO_MARKS))
    assert view(changed, relay_pages.NO_MARKS)["events"]["items"][0]["text"] == "went down"   # the page shows it


def test_the_shared_digests_of_one_build_give_the_same_keys():
    records = ({"fingerprint": "A" * 40}, (1, ({"context": "big"}, "row")), [1, 2])
    shared: dict = {}
    alone = pagekey.derive(record_view, (records, {"m": 1}))
    assert pagekey.derive(record_view, (records, {"m": 1}), shared) == alone
    assert id(records) in shared                                      # the tuple's digest is remembered ...
    assert pagekey.derive(record_view, (records, {"m": 1}), shared) == alone       # ... and reused alike


def test_a_key_derived_again_and_equal_to_the_manifests_is_kept_as_the_manifests_string():
    """After a start the memo is empty, so each key is derived once anew: the memo keeps the manifest's string
    (one copy of each key, not two), and a key that differs is its own."""
    memo = pagekey.KeyMemo(verify=False)
    args = ({"id": "a"},)
    keys = memo.begin("fam", b"salt")
    derived = keys.key("p.html", record_view, args)
    known = "".join(list(derived))                       # an equal string that is another object (from JSON)
    assert known is not derived
    memo.finish("fam", keys, complete=True)
    memo.new_build()
    keys = memo.begin("fam", b"salt")
    assert keys.key("p.html", record_view, ({"id": "a"},), known) is known
    assert keys.key("q.html", record_view, ({"id": "b"},), known) != known
    memo.finish("fam", keys, complete=True)
    keys = memo.begin("fam", b"salt")
    assert keys.key("p.html", record_view, keys.old["p.html"][1]) is known      # reused as it is


def test_a_key_that_cannot_match_is_deferred_to_whoever_renders_the_page():
    """A new page, or one whose arguments changed since the last build, is rendered anyway: its key is
    left to the renderer of the page (a worker), then resolved; a page with a known key, or after a
    start (no memo), is keyed here as before."""
    memo = pagekey.KeyMemo(verify=False)
    keys = memo.begin("fam", b"salt")
    assert keys.key("new.html", record_view, ({"id": "a"},), None, defer=True) is None        # new page
    pagekey.resolve(keys.new, "new.html", pagekey.salted_key(record_view, ({"id": "a"},), b"salt"))
    restart = keys.key("old.html", record_view, ({"id": "b"},), "a-key-from-the-manifest", defer=True)
    assert restart == pagekey.salted_key(record_view, ({"id": "b"},), b"salt")          # derived to compare
    memo.finish("fam", keys, complete=True)
    keys = memo.begin("fam", b"salt")
    resolved = keys.old["new.html"][2]
    assert resolved == pagekey.salted_key(record_view, ({"id": "a"},), b"salt")
    assert keys.key("new.html", record_view, ({"id": "a"},), resolved, defer=True) == resolved     # reused
    assert keys.key("old.html", record_view, ({"id": "c"},), restart, defer=True) is None           # changed
    pagekey.unresolved(keys.new, "old.html")         # its render failed: no entry without a key is kept
    assert "old.html" not in keys.new
    memo.finish("fam", keys, complete=True)
    keys = memo.begin("fam", b"salt")
    assert keys.key("old.html", record_view, ({"id": "c"},), restart, defer=True) == \
        pagekey.salted_key(record_view, ({"id": "c"},), b"salt")        # as after a start: derived here


def test_keys_deferred_to_workers_are_the_keys_the_renderer_derives(tmp_path):
    records = {rid: {"id": rid, "motto": "first"} for rid in "abcdef"}
    registry, tpl = registry_of(records, tmp_path)
    builder = site_builder(tmp_path / "s", workers=2, parallel_min=0, registry=registry, template_dir=tpl)
    try:
        assert builder.build().written == 6 and builder.dispatcher.pool.started
        records["a"] = {"id": "a", "motto": "second"}
        assert builder.build({"onionoo_details"}).written == 1
        entries = builder.keys._families["one"][1]
        outputs = builder.manifest.outputs["one"]
        for rid, record in records.items():
            path = f"one/{rid}.html"
            assert entries[path][2] == outputs[path][2] == pagekey.salted_key(record_view, (record,),
                                                                              builder.keys._families["one"][0])
        derived, RENDERED[:] = builder.keys.derived, []
        assert builder.build({"onionoo_details"}).written == 0 and RENDERED == []      # every key reused
        assert builder.keys.derived == derived
    finally:
        builder.close()
