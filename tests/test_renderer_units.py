"""Renderer units: the registry, the page writer and incremental site builds."""

from __future__ import annotations

import calendar
import copy
import filecmp
import json
import os
import shutil
import time
from pathlib import Path

import pytest

from alliumd import atomic
from alliumd.config import parse
from alliumd.model.relays import build_relays
from alliumd.pages import site
from alliumd.paths import UnsafePath
from alliumd.renderer import build as buildmod
from alliumd.renderer import manifest as manifestmod
from alliumd.pages.registry import (STATUS_INPUT, ModelSpec, Page, PageFamily, Registry, RenderInputs,
                                       checked)
from alliumd.renderer.writer import PageWriter, digest

FIXTURE = Path(__file__).parent / "fixtures" / "onionoo_details_small.json"
DETAILS = "onionoo_details"
DOC = json.loads(FIXTURE.read_text(encoding="utf-8"))
PUBLISHED = calendar.timegm(time.strptime(DOC["relays_published"], "%Y-%m-%d %H:%M:%S"))
NOW = PUBLISHED + 600.0                        # fresh data: no stale marker anywhere

RAVEN = "99E2E45C93D0888D877158C7BDD272A1344F0415"   # in the index top 25, in nobody's family
ZUZU = "B085FE1700622B72188150C54D066F382359700E"    # not in the top 25, in nobody's family


def noop(_inputs):
    return iter(())


# =========================================================================================
# Registry
# =========================================================================================

def fam(name: str, *inputs: str) -> PageFamily:
    return PageFamily(name, frozenset(inputs), noop)


def affected(reg: Registry, changed: set[str]) -> list[PageFamily]:
    """The families a batch selects for ``changed`` (SiteBuilder: ``f.depends_on(changed)``, in order)."""
    return [f for f in reg if f.depends_on(changed)]


def test_a_change_selects_only_families_reading_a_changed_input():
    reg = Registry([fam("a", "x"), fam("b", "y"), fam("c", "x", "z"), fam("static")])
    assert [f.name for f in affected(reg, {"x"})] == ["a", "c"]
    assert [f.name for f in affected(reg, {"y"})] == ["b"]
    assert [f.name for f in affected(reg, {"z", "y"})] == ["b", "c"]
    assert affected(reg, {"unknown"}) == []
    assert affected(reg, set()) == []


def test_registry_keeps_declaration_order_and_reports_inputs():
    reg = Registry([fam("z", "x"), fam("a", "y")])
    assert [f.name for f in reg] == ["z", "a"]
    assert reg.inputs() == {"x", "y"}
    assert Registry([]).inputs() == set()


def test_duplicate_family_names_rejected():
    with pytest.raises(ValueError, match="duplicate"):
        Registry([fam("a", "x"), fam("a", "y")])


def test_real_site_registry_dependencies():
    """Each source re-renders exactly the families that show it (issue: incremental rendering)."""
    reg = Registry(site.FAMILIES, site.MODELS)
    details = {f.name for f in affected(reg, {DETAILS})}
    assert {"index", "relays_all", "relay", "group_as", "group_country", "group_platform", "group_first_seen",
            "group_contact", "group_family", "group_flag", "lists", "lists_total_data", "top", "health",
            "search_index"} <= details
    assert [f.name for f in affected(reg, {STATUS_INPUT})] == ["status"]
    uptime = {f.name for f in affected(reg, {"onionoo_uptime"})}
    assert {"relay", "group_contact", "group_family", "group_flag", "top", "health", "index"} <= uptime
    assert not uptime & {"group_as", "group_country", "group_platform", "group_first_seen", "lists",
                         "search_index", "relays_all"}
    # AROI: the boards (also on the home page), contact pages, health card and relay pages; nothing else
    aroi = {f.name for f in affected(reg, {"aroi"})}
    assert {"leaderboards", "index", "group_contact", "health"} <= aroi
    # (and the network memory: an AROI status change is an event of the relay, its contact and family)
    assert aroi <= {"leaderboards", "index", "group_contact", "health", "relay", "events", "relay_feeds",
                    "contact_feeds", "family_feeds", "group_family", "relay_metrics", "contact_metrics"}
    bandwidth = {f.name for f in affected(reg, {"onionoo_bandwidth"})}
    assert {"relay", "group_contact", "group_family", "health", "lists_total_data"} <= bandwidth
    assert not bandwidth & {"group_as", "group_country", "group_platform", "group_first_seen", "lists",
                            "group_flag"}


def test_checked_validates_page_path():
    assert checked(Page("a/b.html", "t", {})).path == "a/b.html"
    with pytest.raises(UnsafePath):
        checked(Page("../x.html", "t", {}))


def make_inputs(hashes: dict, model_cache: dict, calls: list) -> RenderInputs:
    spec = ModelSpec("m", frozenset({"x", "y"}), lambda inp: calls.append(1) or object())
    other = ModelSpec("n", frozenset({"z"}), lambda inp: calls.append(2) or object())
    return RenderInputs({"x": {}}, hashes, {}, {"m": spec, "n": other}, model_cache, None, {}, 0.0)


def test_model_computed_once_per_input_hash():
    cache, calls = {}, []
    inputs = make_inputs({"x": "h1", "y": "k1"}, cache, calls)
    first = inputs.model("m")
    assert inputs.model("m") is first
    # a new batch with the same hashes reuses the shared cache
    assert make_inputs({"x": "h1", "y": "k1", "z": "other"}, cache, calls).model("m") is first
    assert calls == [1]


def test_model_recomputed_when_an_input_hash_changes():
    cache, calls = {}, []
    first = make_inputs({"x": "h1", "y": "k1"}, cache, calls).model("m")
    second = make_inputs({"x": "h1", "y": "k2"}, cache, calls).model("m")
    assert second is not first and calls == [1, 1]
    # the stale entry was evicted: one entry per model name
    assert [k for k in cache if k[0] == "m"] == [("m", ("h1", "k2"))]
    # an unrelated input does not invalidate it
    assert make_inputs({"x": "h1", "y": "k2", "z": "new"}, cache, calls).model("m") is second
    assert calls == [1, 1]


def test_models_cached_independently():
    cache, calls = {}, []
    inputs = make_inputs({"x": "h", "y": "k", "z": "q"}, cache, calls)
    m, n = inputs.model("m"), inputs.model("n")
    assert m is not n and calls == [1, 2]
    make_inputs({"x": "h", "y": "k", "z": "q2"}, cache, calls).model("n")
    assert inputs.model("m") is m and calls == [1, 2, 2]


def test_render_inputs_doc_and_has():
    inputs = RenderInputs({"a": {"k": 1}, "b": None}, {}, {}, {}, {}, None, {}, 0.0)
    assert inputs.doc("a") == {"k": 1} and inputs.has("a")
    assert not inputs.has("b") and not inputs.has("c") and inputs.doc("c") is None
    assert inputs.status == {}


# =========================================================================================
# PageWriter
# =========================================================================================

def sig(p: Path) -> tuple[int, int]:
    st = os.stat(p)
    return st.st_ino, st.st_mtime_ns


@pytest.fixture
def writer(tmp_path) -> PageWriter:
    return PageWriter(tmp_path / "www")


def test_write_if_changed_writes_a_new_file(writer):
    written, sha = writer.write_if_changed("relay/X/index.html", b"<p>hi</p>", None)
    target = writer.root / "relay" / "X" / "index.html"
    assert written and sha == digest(b"<p>hi</p>")
    assert target.read_bytes() == b"<p>hi</p>"
    assert sorted(os.listdir(writer.root)) == ["relay"]                # nothing temporary left, no .tmp/


def test_write_if_changed_skips_identical_bytes_keeping_mtime_and_inode(writer):
    _, sha = writer.write_if_changed("index.html", b"same", None)
    target = writer.root / "index.html"
    os.utime(target, ns=(1_000_000_000, 1_000_000_000))       # an old mtime a rewrite would change
    before = sig(target)
    assert writer.write_if_changed("index.html", b"same", sha) == (False, sha)
    assert sig(target) == before


def test_write_if_changed_rewrites_when_manifest_sha_unknown(writer):
    writer.write_if_changed("index.html", b"same", None)
    target = writer.root / "index.html"
    before = sig(target)
    written, _ = writer.write_if_changed("index.html", b"same", None)
    assert written and sig(target) != before


def test_write_if_changed_rewrites_deleted_file(writer):
    _, sha = writer.write_if_changed("relay/X/index.html", b"page", None)
    target = writer.root / "relay" / "X" / "index.html"
    target.unlink()
    assert writer.write_if_changed("relay/X/index.html", b"page", sha) == (True, sha)
    assert target.read_bytes() == b"page"


def test_write_if_changed_recreates_a_deleted_directory(writer):
    _, sha = writer.write_if_changed("relay/X/index.html", b"page", None)
    shutil.rmtree(writer.root / "relay")
    assert writer.write_if_changed("relay/X/index.html", b"page", sha) == (True, sha)
    assert (writer.root / "relay" / "X" / "index.html").read_bytes() == b"page"


def test_write_if_changed_rewrites_different_bytes(writer):
    _, sha = writer.write_if_changed("index.html", b"old", None)
    written, new_sha = writer.write_if_changed("index.html", b"new", sha)
    assert written and new_sha != sha
    assert (writer.root / "index.html").read_bytes() == b"new"


@pytest.mark.parametrize("rel", ["../escape.html", "/abs.html", ".hidden", "a/../../b", "a\\b", ""])
def test_unsafe_paths_raise_and_write_nothing(tmp_path, rel):
    w = PageWriter(tmp_path / "www")
    with pytest.raises(UnsafePath):
        w.write_if_changed(rel, b"x", None)
    with pytest.raises(UnsafePath):
        w.delete(rel)
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == ["www"]


def test_write_through_symlink_out_of_root_is_refused(tmp_path):
    w = PageWriter(tmp_path / "www")
    outside = tmp_path / "outside"
    outside.mkdir()
    (w.root / "relay").symlink_to(outside)
    with pytest.raises(UnsafePath):
        w.write_if_changed("relay/index.html", b"x", None)
    assert os.listdir(outside) == []


def test_delete_removes_file_and_empty_parents_but_not_root(writer):
    writer.write_if_changed("relay/A/index.html", b"a", None)
    writer.write_if_changed("relay/B/index.html", b"b", None)
    assert writer.delete("relay/A/index.html") is True
    assert not (writer.root / "relay" / "A").exists()
    assert (writer.root / "relay" / "B" / "index.html").exists()     # non-empty parent stays
    assert writer.delete("relay/B/index.html") is True
    assert not (writer.root / "relay").exists()
    assert writer.root.is_dir()
    writer.write_if_changed("index.html", b"i", None)
    assert writer.delete("index.html") is True
    assert writer.root.is_dir()
    assert writer.delete("index.html") is False                      # already gone


def test_delete_then_write_same_directory_again(writer):
    writer.write_if_changed("relay/A/index.html", b"a", None)
    writer.delete("relay/A/index.html")
    assert writer.write_if_changed("relay/A/index.html", b"a2", None)[0]
    assert (writer.root / "relay" / "A" / "index.html").read_bytes() == b"a2"


def test_writer_sweeps_stale_temp_files_on_start(tmp_path):
    tmp = tmp_path / "www" / atomic.TMP_DIRNAME
    tmp.mkdir(parents=True)
    (tmp / "index.html.abc.part").write_bytes(b"torn")
    PageWriter(tmp_path / "www")
    assert not tmp.exists()                          # swept, and the emptied directory removed


# =========================================================================================
# SiteBuilder with the real families and templates
# =========================================================================================

class Site:
    """One config + cache + output tree; ``builder()`` makes a fresh SiteBuilder (like a restart)."""

    def __init__(self, base: Path, status: dict | None = None):
        self.base = base
        self.cfg = parse({"daemon": {"cache_dir": str(base / "cache"), "output_dir": str(base / "www"),
                                     "state_dir": str(base / "lib"), "run_dir": str(base / "run")}},
                         base / "allium.toml")
        self.cache = base / "cache"
        self.cache.mkdir(parents=True, exist_ok=True)
        self.out = base / "www"
        self.status = status if status is not None else {"daemon": {"running": True}}
        self._builder = None

    def publish(self, doc: dict | bytes) -> None:
        data = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
        atomic.write_bytes(self.cache / "onionoo_details.json", data, fsync=False)

    @property
    def builder(self) -> buildmod.SiteBuilder:
        if self._builder is None:
            self._builder = buildmod.SiteBuilder(self.cfg, Registry(site.FAMILIES, site.MODELS),
                                                 status_provider=lambda: self.status, clock=lambda: NOW)
        return self._builder

    def build(self, changed=frozenset(), **kw) -> buildmod.BatchResult:
        return self.builder.build(set(changed), now=NOW, **kw)

    def tree(self) -> dict[str, tuple[int, int]]:
        return {str(p.relative_to(self.out)): sig(p) for p in self.out.rglob("*")
                if p.is_file() and atomic.TMP_DIRNAME not in p.parts}

    def content(self) -> dict[str, bytes]:
        return {rel: (self.out / rel).read_bytes() for rel in self.tree()}


def copy_history(src: Site, dst: Site) -> None:
    """A consistent copy of ``src``'s history store (SQLite's backup API: it may be open in WAL mode)."""
    import sqlite3
    (dst.base / "lib").mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(src.base / "lib" / "history.sqlite3")
    target = sqlite3.connect(dst.base / "lib" / "history.sqlite3")
    source.backup(target)
    source.close()
    target.close()


def renamed(doc: dict, fp: str, nickname: str) -> dict:
    doc = copy.deepcopy(doc)
    for r in doc["relays"]:
        if r["fingerprint"] == fp:
            r["nickname"] = nickname
    return doc


def changed_paths(before: dict, after: dict) -> set[str]:
    return {p for p in after if before.get(p) != after[p]} | (before.keys() - after.keys())


def relay_page(fp: str) -> str:
    return f"relay/{fp}/index.html"


def relay_json(fp: str) -> str:
    return f"relay/{fp}/index.json"


def other_relay_pages(paths: set[str], *fps: str) -> set[str]:
    """Relay pages (HTML or JSON) in ``paths`` that belong to none of ``fps``."""
    return {p for p in paths if p.startswith("relay/") and p.split("/")[1] not in fps}


@pytest.fixture
def built(tmp_path) -> Site:
    s = Site(tmp_path / "a")
    s.publish(DOC)
    s.build({STATUS_INPUT})
    return s


def test_first_build_writes_everything(tmp_path):
    s = Site(tmp_path / "a")
    s.publish(DOC)
    r = s.build({STATUS_INPUT})
    relays = build_relays(DOC).relays
    pages = set(s.tree())
    assert {"index.html", "relays/all.html", "status.html", "static/style.css", "network-health.html",
            "relays/top.html", "search.html", "search-index.json"} <= pages
    assert {relay_page(rel["fingerprint"]) for rel in relays} <= pages
    assert {relay_json(rel["fingerprint"]) for rel in relays} <= pages
    assert len(relays) == len(DOC["relays"]) == 40
    assert r.full and r.errors == [] and r.deleted == 0 and r.unchanged == 0
    assert r.written == len(pages)
    assert set(r.families) == {f.name for f in site.FAMILIES}
    assert r.changed == sorted({DETAILS, STATUS_INPUT})
    assert b"Thyme01" in (s.out / relay_page("037B6C60DAD4DF32FDA29BF458D5C8C816AA8F3E")).read_bytes()
    m = manifestmod.load(s.cfg.daemon.state_dir)
    assert m.build_info == s.builder.build_info
    assert set().union(*(set(v) for v in m.outputs.values())) == pages


def test_second_build_without_change_writes_nothing(built):
    before = built.tree()
    r = built.build()
    assert (r.written, r.deleted, r.families, r.changed) == (0, 0, [], [])
    assert built.tree() == before


def test_restarted_builder_without_change_writes_nothing(built):
    before = built.tree()
    built._builder = None                   # a new renderer process: manifest loaded from disk
    r = built.build({STATUS_INPUT})
    assert r.written == 0 and r.unchanged == 1 and not r.full
    assert built.tree() == before


def test_renaming_a_top_relay_rewrites_only_its_page_index_and_all(built):
    before = built.tree()
    built.publish(renamed(DOC, RAVEN, "corvus"))
    r = built.build()
    after = built.tree()
    assert r.changed == [DETAILS] and r.errors == [] and not r.full
    changed = changed_paths(before, after)
    assert {relay_page(RAVEN), relay_json(RAVEN), "index.html", "relays/all.html", "relays/top.html"} <= changed
    assert other_relay_pages(changed, RAVEN) == set(), "an unrelated relay page was rewritten"
    for kind in ("as/", "country/", "platform/", "first-seen/", "contact/", "family/"):
        entities = {p.split("/")[1] for p in changed if p.startswith(kind)}
        assert len(entities) <= 1, f"groups other than the relay's own {kind} were rewritten: {entities}"
    assert r.written == len(changed) and r.deleted == 0
    assert b"corvus" in (built.out / relay_page(RAVEN)).read_bytes()
    assert b"corvus" in (built.out / "index.html").read_bytes()


def test_renaming_a_minor_relay_leaves_index_untouched(built):
    before = built.tree()
    built.publish(renamed(DOC, ZUZU, "Zuzu2"))
    r = built.build()
    changed = changed_paths(before, built.tree())
    assert {relay_page(ZUZU), "relays/all.html"} <= changed and "index.html" not in changed
    assert other_relay_pages(changed, ZUZU) == set()
    assert r.written == len(changed)


def test_renaming_a_family_member_rewrites_the_pages_that_name_it(built):
    thyme01, thyme02 = "037B6C60DAD4DF32FDA29BF458D5C8C816AA8F3E", "2572FBDDA4567DA66E7684A9A3C5B4E4A54BBB37"
    before = built.tree()
    built.publish(renamed(DOC, thyme01, "Rosemary01"))
    built.build()
    changed = changed_paths(before, built.tree())
    assert {relay_page(thyme01), relay_page(thyme02), "relays/all.html"} <= changed
    assert b"Rosemary01" in (built.out / relay_page(thyme02)).read_bytes()
    assert "status.html" not in changed and "static/style.css" not in changed


def test_removing_a_relay_deletes_its_page_and_directory(built):
    doc = copy.deepcopy(DOC)
    doc["relays"] = [r for r in doc["relays"] if r["fingerprint"] != ZUZU]
    built.publish(doc)
    r = built.build()
    assert r.deleted >= 2                                   # the page and its JSON (and maybe groups)
    assert not (built.out / "relay" / ZUZU).exists()
    assert (built.out / "relay").is_dir()
    assert relay_page(ZUZU) not in manifestmod.load(built.cfg.daemon.state_dir).outputs["relay"]


def test_republishing_identical_bytes_renders_nothing(built):
    before = built.tree()
    cache_file = built.cache / "onionoo_details.json"
    ino = os.stat(cache_file).st_ino
    built.publish(cache_file.read_bytes())
    assert os.stat(cache_file).st_ino != ino            # really a new file
    r = built.build()
    assert (r.changed, r.families, r.written) == ([], [], 0)
    assert built.tree() == before


def test_status_only_change_touches_only_status_page(built):
    before = built.tree()
    built.status = {"daemon": {"running": True},
                    "sources": {DETAILS: {"label": "Onionoo details", "enabled": True, "state": "backoff",
                                          "last_error": "HTTP 500 Server Error"}}}
    r = built.build({STATUS_INPUT})
    assert r.families == ["status"]
    assert changed_paths(before, built.tree()) == {"status.html"}
    assert b"HTTP 500 Server Error" in (built.out / "status.html").read_bytes()
    r = built.build({STATUS_INPUT})                     # same snapshot again: nothing written
    assert (r.written, r.unchanged) == (0, 1)


def test_page_deleted_while_running_is_rewritten_on_next_change(built):
    (built.out / "relays" / "all.html").unlink()
    built.publish(renamed(DOC, ZUZU, "Zuzu3"))
    r = built.build()
    assert (built.out / "relays" / "all.html").exists() and r.errors == []


def test_page_deleted_while_running_is_restored_by_the_periodic_rescan(built):
    """A batch skips unchanged pages without a stat(); the rescan's verify pass and a full build look."""
    (built.out / relay_page(ZUZU)).unlink()
    (built.out / "index.html").unlink()
    r = built.build(verify=True)
    assert r.errors == [] and r.written == 2
    assert (built.out / relay_page(ZUZU)).exists() and (built.out / "index.html").exists()
    (built.out / relay_page(ZUZU)).unlink()
    r = built.build({STATUS_INPUT}, full=True)
    assert r.errors == [] and r.written == 1 and (built.out / relay_page(ZUZU)).exists()


def test_pages_deleted_while_down_are_restored_on_restart(built):
    shutil.rmtree(built.out)
    built._builder = None                      # the renderer restarts; the cache did not change
    built.build({STATUS_INPUT})
    assert (built.out / "index.html").exists()
    assert (built.out / "static" / "style.css").exists()
    assert (built.out / relay_page(ZUZU)).exists()


# Regression guard: RenderInputs.has()/doc() once used dict.get(), which bypasses the lazy
# _Documents.__missing__, so a batch whose details entry was already "described" (full rebuild,
# stale flip, explicit change) silently skipped every details family.


def test_full_build_renders_every_page_and_rewrites_none(built):
    before = built.tree()
    r = built.build({STATUS_INPUT}, full=True)
    assert r.full and r.errors == []
    assert (r.written, r.unchanged) == (0, len(before))
    assert built.tree() == before


def test_details_published_during_a_batch_get_the_navigation_of_that_batch(tmp_path):
    """The daemon's first batch can start before the first details file and scan it: its pages must
    carry the navigation of what they show, or the next batch rewrites every page for the nav alone."""
    s = Site(tmp_path / "race")
    builder = s.builder
    scan = builder.scan

    def publish_then_scan():
        s.publish(DOC)                         # the fetcher publishes after the batch began
        return scan()

    builder.scan = publish_then_scan
    first = s.build({STATUS_INPUT})
    assert first.errors == [] and (s.out / relay_page(ZUZU)).exists()
    assert b'href="relays/all.html"' in (s.out / "index.html").read_bytes()
    builder.scan = scan
    again = s.build()
    assert (again.full, again.written) == (False, 0)


def test_details_turning_stale_marks_the_data_pages(built):
    max_age = built.cfg.sources[DETAILS].max_age
    assert built.builder.next_stale_flip(NOW) == PUBLISHED + max_age
    later = PUBLISHED + max_age + 60
    r = built.builder.build(set(), now=later)
    assert r.changed == [DETAILS]
    assert b'class="badge warn">stale' in (built.out / "index.html").read_bytes()
    assert b'class="badge warn">stale' in (built.out / relay_page(ZUZU)).read_bytes()


def test_incremental_build_equals_cold_build(tmp_path):
    changes = renamed(renamed(DOC, RAVEN, "corvus"), ZUZU, "Zuzu2")
    changes["relays"] = [r for r in changes["relays"] if r["nickname"] != "Mole02"]   # top relay removed
    hot = Site(tmp_path / "hot")
    hot.publish(DOC)
    hot.build({STATUS_INPUT})
    hot.publish(changes)
    assert hot.build().written > 0
    cold = Site(tmp_path / "cold")
    cold.publish(changes)
    copy_history(hot, cold)          # the history store is an input too: the cold build starts from it
    cold.build({STATUS_INPUT})
    assert set(hot.tree()) == set(cold.tree())
    cmp = filecmp.dircmp(hot.out, cold.out, ignore=[atomic.TMP_DIRNAME])
    assert hot.content() == cold.content()
    assert not cmp.left_only and not cmp.right_only


def test_missing_details_skips_data_families(tmp_path):
    s = Site(tmp_path / "a")
    r = s.build({STATUS_INPUT})
    tree = set(s.tree())
    assert {"status.html", "static/style.css"} <= tree and r.errors == []
    assert not any(p.startswith(("relay/", "as/", "contact/")) or p == "index.html" for p in tree)


# =========================================================================================
# SiteBuilder with a tiny custom registry and tiny templates
# =========================================================================================

@pytest.fixture
def tiny(tmp_path, monkeypatch):
    tpl = tmp_path / "tpl"
    tpl.mkdir()
    (tpl / "list.mako").write_text("${title}:${' '.join(names)}\n")
    (tpl / "one.mako").write_text("${name}\n")
    (tpl / "status.mako").write_text("${state}\n")
    state = {"fail": False}

    def expand_list(inputs):
        yield Page("list.html", "list.mako", {"title": "L", "names": inputs.model("names")})

    def expand_one(inputs):
        if state["fail"]:
            yield Page("one/AAA.html", "one.mako", {"name": "partial"})
            raise RuntimeError("expand broke")
        for n in inputs.model("names"):
            yield Page(f"one/{n}.html", "one.mako", {"name": n})

    def expand_status(inputs):
        yield Page("status.html", "status.mako", {"state": inputs.status.get("state", "?")})

    models = [ModelSpec("names", frozenset({DETAILS}),
                        lambda inputs: sorted(r["nickname"] for r in inputs.doc(DETAILS)["relays"]))]
    families = [PageFamily("list", frozenset({DETAILS}), expand_list, required=frozenset({DETAILS})),
                PageFamily("one", frozenset({DETAILS}), expand_one, required=frozenset({DETAILS})),
                PageFamily("status", frozenset({STATUS_INPUT}), expand_status)]
    s = Site(tmp_path / "site", status={"state": "idle"})
    s.publish({"relays_published": DOC["relays_published"], "relays": [{"nickname": "b"}, {"nickname": "a"}]})
    s._builder = buildmod.SiteBuilder(s.cfg, Registry(families, models), status_provider=lambda: s.status,
                                      template_dir=tpl)
    s.tpl, s.state, s.registry_parts = tpl, state, (families, models)
    return s


def test_tiny_registry_first_and_incremental_builds(tiny):
    r = tiny.build({STATUS_INPUT})
    assert tiny.content() == {"list.html": b"L:a b\n", "one/a.html": b"a\n", "one/b.html": b"b\n",
                              "status.html": b"idle\n"}
    assert r.written == 4
    before = tiny.tree()
    tiny.publish({"relays_published": DOC["relays_published"], "relays": [{"nickname": "c"}, {"nickname": "a"}]})
    r = tiny.build()
    assert r.families == ["list", "one"]
    assert (r.written, r.unchanged, r.deleted) == (2, 1, 1)
    after = tiny.tree()
    assert after["one/a.html"] == before["one/a.html"]
    assert after["status.html"] == before["status.html"]
    assert set(after) == {"list.html", "one/a.html", "one/c.html", "status.html"}


def test_failing_family_keeps_its_previous_pages(tiny):
    tiny.build({STATUS_INPUT})
    before = tiny.content()
    tiny.state["fail"] = True
    tiny.publish({"relays_published": DOC["relays_published"], "relays": [{"nickname": "z"}]})
    r = tiny.build()
    assert len(r.errors) == 1 and r.errors[0].startswith("one: RuntimeError")
    after = tiny.content()
    assert after["one/a.html"] == before["one/a.html"] and after["one/b.html"] == before["one/b.html"]
    assert after["list.html"] == b"L:z\n"               # the healthy family still moved on
    tiny.state["fail"] = False
    tiny.publish({"relays_published": DOC["relays_published"], "relays": [{"nickname": "y"}]})
    r = tiny.build()
    assert r.errors == [] and r.deleted == 3
    assert set(tiny.tree()) == {"list.html", "one/y.html", "status.html"}


def test_template_change_rebuilds_everything(tiny):
    tiny.build({STATUS_INPUT})
    (tiny.tpl / "one.mako").write_text("<${name}>\n")
    families, models = tiny.registry_parts
    tiny._builder = buildmod.SiteBuilder(tiny.cfg, Registry(families, models), status_provider=lambda: tiny.status, template_dir=tiny.tpl)
    r = tiny.build()
    assert r.full and set(r.families) == {"list", "one", "status"}
    assert (r.written, r.unchanged) == (2, 2)
    assert (tiny.out / "one" / "a.html").read_bytes() == b"<a>\n"


def test_dropped_family_pages_are_deleted(tiny):
    tiny.build({STATUS_INPUT})
    families, models = tiny.registry_parts
    tiny._builder = buildmod.SiteBuilder(tiny.cfg, Registry([f for f in families if f.name != "one"], models),
                                         status_provider=lambda: tiny.status, template_dir=tiny.tpl)
    r = tiny.build()
    assert r.full and r.deleted == 2
    assert set(tiny.tree()) == {"list.html", "status.html"}
    assert not (tiny.out / "one").exists()


def test_two_families_claiming_one_path_is_an_error(tiny):
    families, models = tiny.registry_parts
    clash = PageFamily("clash", frozenset({DETAILS}),
                       lambda inputs: iter([Page("list.html", "one.mako", {"name": "x"})]))
    tiny._builder = buildmod.SiteBuilder(tiny.cfg, Registry([*families, clash], models),
                                         status_provider=lambda: tiny.status, template_dir=tiny.tpl)
    r = tiny.build({STATUS_INPUT})
    assert any("two pages claim list.html" in e for e in r.errors)
    assert (tiny.out / "list.html").read_bytes() == b"L:a b\n"


def test_unsafe_page_path_from_expand_is_refused(tiny, tmp_path):
    families, models = tiny.registry_parts
    evil = PageFamily("evil", frozenset({DETAILS}),
                      lambda inputs: iter([Page("../../escaped.html", "one.mako", {"name": "x"})]))
    tiny._builder = buildmod.SiteBuilder(tiny.cfg, Registry([*families, evil], models),
                                         status_provider=lambda: tiny.status, template_dir=tiny.tpl)
    r = tiny.build({STATUS_INPUT})
    assert any(e.startswith("evil: UnsafePath") for e in r.errors)
    assert not list(tmp_path.rglob("escaped.html"))


def test_a_status_follow_up_leaves_a_newly_published_file_to_the_next_batch(built):
    """The status page after a data batch renders only itself: a cache file published meanwhile is
    reported (and waited for by clients) as its own data batch, not hidden in the status batch."""
    fp = DOC["relays"][0]["fingerprint"]
    built.publish(renamed(DOC, fp, "RenamedMeanwhile"))
    r = built.build({STATUS_INPUT}, rescan=False)
    assert r.families == ["status"] and r.changed == [STATUS_INPUT]
    assert b"RenamedMeanwhile" not in (built.out / relay_page(fp)).read_bytes()
    r = built.build()
    assert DETAILS in r.changed and "relay" in r.families
    assert b"RenamedMeanwhile" in (built.out / relay_page(fp)).read_bytes()


def test_explicitly_changed_details_rerender_without_a_new_file(built):
    r = built.build({DETAILS})
    assert set(r.families) == {f.name for f in affected(Registry(site.FAMILIES, site.MODELS), {DETAILS})}
    static = sum(len(v) for k, v in built.builder.manifest.outputs.items() if k not in r.families)
    assert r.errors == [] and (r.written, r.unchanged) == (0, len(built.tree()) - static)


def test_data_already_stale_at_first_build_is_marked(tmp_path):
    s = Site(tmp_path / "a")
    s.publish(DOC)
    late = PUBLISHED + s.cfg.sources[DETAILS].max_age + 60
    r = s.builder.build({STATUS_INPUT}, now=late)
    assert r.errors == []
    assert b'class="badge warn">stale' in (s.out / "index.html").read_bytes()
    fresh = Site(tmp_path / "b")
    fresh.publish(DOC)
    fresh.build({STATUS_INPUT})
    assert b'class="badge warn">stale' not in (fresh.out / "index.html").read_bytes()


# =========================================================================================
# Cache documents read line by line
# =========================================================================================

from alliumd.cache import files as cachefiles, layout, meta as cachemeta  # noqa: E402

ONIONOO = (b'{"version":"8.0",\n"relays_published":"2026-08-22 11:00:00",\n"relays":[\n'
           b'{"fingerprint":"A","n":1},\n{"fingerprint":"B","n":2}\n],\n'
           b'"bridges_published":"2026-08-22 10:59:01",\n"bridges":[\n{"x":1}\n]}\n')


def test_split_lines_gives_the_envelope_and_raw_items():
    lines = layout.split_lines(ONIONOO, "relays")
    assert lines.envelope == {"version": "8.0", "relays_published": "2026-08-22 11:00:00",
                              "bridges_published": "2026-08-22 10:59:01"}
    assert [bytes(i) for i in lines.items] == [b'{"fingerprint":"A","n":1}', b'{"fingerprint":"B","n":2}']
    assert json.loads(bytes(lines.items[1])) == {"fingerprint": "B", "n": 2}


@pytest.mark.parametrize("body", [
    json.dumps(json.loads(ONIONOO), indent=1).encode(),             # pretty-printed
    json.dumps(json.loads(ONIONOO)).encode(),                       # one line
    ONIONOO.replace(b'"n":1},\n', b'"n":1}\n'),                     # a missing comma
    ONIONOO.replace(b'"n":2}\n', b'"n":2},\n'),                     # a trailing comma
    ONIONOO.replace(b'{"fingerprint":"B"', b'\n{"fingerprint":"B"'),  # a blank line
])
def test_any_other_layout_is_left_to_a_full_parse(body):
    assert layout.split_lines(body, "relays") is None


def test_the_data_time_is_what_the_fetcher_recorded_for_that_file(tmp_path, monkeypatch):
    path = tmp_path / "doc.json"
    path.write_bytes(ONIONOO.replace(b'"version":"8.0",\n', b'"version":"8.0",\n"alliumd_sample":"x",\n'))
    sha = cachefiles.file_sha256(path)
    cachemeta.write(path, sha, 1787396400.0, True)
    with monkeypatch.context() as m:
        m.setattr(cachemeta, "load_document", lambda p: pytest.fail("the renderer re-derived the data time"))
        assert cachemeta.describe(path, sha) == cachemeta.Described(1787396400.0, True)
    # a meta for another file (replaced meanwhile, or copied in by a tool): the document's envelope says
    cachemeta.write(path, "0" * 64, 1.0, False)
    assert cachemeta.read(path, sha) is None
    assert cachemeta.describe(path, sha) == cachemeta.Described(1787396400.0, True)
    (tmp_path / "doc.json.meta").write_text('{"sha256": "%s", "data_time": "soon", "sample": false}' % sha)
    assert cachemeta.read(path, sha) is None                        # a damaged meta is not trusted
    assert cachemeta.describe(tmp_path / "missing.json", sha) is None
    assert cachefiles.looks_complete(path) and not cachefiles.looks_complete(tmp_path / "missing.json")
    path.write_bytes(ONIONOO[:-5])
    assert not cachefiles.looks_complete(path)


def test_families_needing_only_the_details_models_expand_before_the_relay_pages():
    """Their pages keep the render workers busy while the renderer builds the relay pages' models
    (pages/site.EXPANSION_ORDER); every declared family is expanded exactly once."""
    names = [f.name for f in site.FAMILIES]
    assert len(names) == len(set(names)) == len(site.EXPANSION_ORDER)
    details_only = [f.name for f in site.FAMILIES if f.inputs == frozenset({DETAILS})]
    assert {"group_as", "group_country", "group_first_seen", "search_index"} <= set(details_only)
    assert all(names.index(n) < names.index("relay") for n in details_only)
