"""Symlinks swapped into the output tree at runtime (issue 15, item 5): the renderer never writes
or deletes outside ``output_dir``, a bad page fails alone, and ``sweep_tmp`` never follows ``.tmp``."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from alliumd import atomic, config as configmod
from alliumd.pages.site import FAMILIES, MODELS
from alliumd.paths import UnsafePath
from alliumd.renderer.build import SiteBuilder
from alliumd.renderer.jobs import Chunk, Job, PageRenderer
from alliumd.pages.registry import Registry
from alliumd.renderer.writer import PageWriter

FIXTURES = Path(__file__).resolve().parent / "fixtures"
FP = "A" * 40


@pytest.fixture
def outside(tmp_path) -> Path:
    d = tmp_path / "outside"
    d.mkdir()
    (d / "index.html").write_bytes(b"precious")
    return d


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_a_directory_swapped_for_a_symlink_after_the_first_write_is_never_written_through(tmp_path, outside):
    w = PageWriter(tmp_path / "www")
    _, sha = w.write_if_changed(f"relay/{FP}/index.html", b"one", None)
    shutil.rmtree(w.root / "relay" / FP)
    (w.root / "relay" / FP).symlink_to(outside)
    for known in (sha, None):
        with pytest.raises(UnsafePath):
            w.write_if_changed(f"relay/{FP}/index.html", b"two", known)
        with pytest.raises(UnsafePath):
            w.write_if_changed(f"relay/{FP}/new.json", b"two", known)
    assert _tree(outside) == {"index.html": b"precious"}


def test_a_held_directory_swapped_for_a_symlink_is_still_not_written_through(tmp_path, outside):
    """Within a chunk the writer keeps the last page's directory open for the next page (PageWriter.hold):
    when that directory is removed meanwhile the path is walked afresh, which refuses a symlink swapped in
    and recreates a directory that is simply gone."""
    w = PageWriter(tmp_path / "www")
    with w.hold():
        w.write_if_changed(f"relay/{FP}/index.html", b"one", None)
        w.write_if_changed(f"relay/{FP}/index.json", b"two", None)
        assert _tree(w.root) == {f"relay/{FP}/index.html": b"one", f"relay/{FP}/index.json": b"two"}
        shutil.rmtree(w.root / "relay" / FP)
        (w.root / "relay" / FP).symlink_to(outside)
        with pytest.raises(UnsafePath):
            w.write_if_changed(f"relay/{FP}/feed.xml", b"three", None)
        (w.root / "relay" / FP).unlink()
        w.write_if_changed(f"relay/{FP}/index.html", b"four", None)
        w.write_if_changed(f"relay/{FP}/index.json", b"five", None)
    assert _tree(outside) == {"index.html": b"precious"}
    assert _tree(w.root) == {f"relay/{FP}/index.html": b"four", f"relay/{FP}/index.json": b"five"}


def test_a_symlinked_parent_higher_up_is_refused_too(tmp_path, outside):
    w = PageWriter(tmp_path / "www")
    w.write_if_changed(f"relay/{FP}/index.html", b"one", None)
    shutil.rmtree(w.root / "relay")
    (outside / FP).mkdir()
    (w.root / "relay").symlink_to(outside)
    with pytest.raises(UnsafePath):
        w.write_if_changed(f"relay/{FP}/index.html", b"two", None)
    assert _tree(outside) == {"index.html": b"precious"}


@pytest.mark.parametrize("anonymous", [True, False])
def test_a_page_swapped_for_a_symlink_is_replaced_not_followed(tmp_path, outside, anonymous):
    w = PageWriter(tmp_path / "www")
    w._anonymous = anonymous and w._anonymous
    _, sha = w.write_if_changed("index.html", b"one", None)
    (w.root / "index.html").unlink()
    (w.root / "index.html").symlink_to(outside / "index.html")
    assert w.write_if_changed("index.html", b"two", None)[0]
    assert not (w.root / "index.html").is_symlink() and (w.root / "index.html").read_bytes() == b"two"
    assert _tree(outside) == {"index.html": b"precious"}


def test_delete_through_a_symlinked_directory_deletes_nothing_outside(tmp_path, outside):
    w = PageWriter(tmp_path / "www")
    w.write_if_changed(f"relay/{FP}/index.html", b"one", None)
    shutil.rmtree(w.root / "relay" / FP)
    (w.root / "relay" / FP).symlink_to(outside)
    assert w.delete(f"relay/{FP}/index.html") is False
    assert _tree(outside) == {"index.html": b"precious"}
    # a page that is itself a symlink: the link goes, its target stays
    (w.root / "page.html").symlink_to(outside / "index.html")
    assert w.delete("page.html") is True
    assert _tree(outside) == {"index.html": b"precious"}


def test_sweep_tmp_does_not_follow_a_symlinked_tmp(tmp_path, outside):
    (outside / "victim.part").write_bytes(b"x")
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / atomic.TMP_DIRNAME).symlink_to(outside)
    assert atomic.sweep_tmp(tmp_path / "cache") == 0
    assert (outside / "victim.part").exists()
    # and a symlinked .part inside a real .tmp is removed as a link, its target kept
    os.unlink(tmp_path / "cache" / atomic.TMP_DIRNAME)
    (tmp_path / "cache" / atomic.TMP_DIRNAME).mkdir()
    (tmp_path / "cache" / atomic.TMP_DIRNAME / "a.part").symlink_to(outside / "victim.part")
    (tmp_path / "cache" / atomic.TMP_DIRNAME / "b.part").write_bytes(b"y")
    assert atomic.sweep_tmp(tmp_path / "cache") == 1
    assert (outside / "victim.part").exists()


def test_one_unsafe_page_fails_alone_not_its_chunk(tmp_path, outside):
    r = PageRenderer(tmp_path / "www")
    (r.writer.root / "relay").mkdir()
    (r.writer.root / "relay" / FP).symlink_to(outside)
    chunk = Chunk("relay", "t", [], b"salt")
    paths = [f"relay/{'B' * 40}/index.html", f"relay/{FP}/index.html", f"relay/{'C' * 40}/index.html"]
    for path in paths:
        chunk.jobs.append(Job(path, "", "raw", {"body": path.encode()}, None, None, None))
    result = r.run(chunk)
    assert [d[0] for d in result.done] == [paths[0], paths[2]]
    assert result.error.startswith(f"relay/{FP}/index.html: UnsafePath")
    for path in (paths[0], paths[2]):
        assert (r.writer.root / path).read_bytes() == path.encode()
    assert _tree(outside) == {"index.html": b"precious"}


def test_the_renderer_survives_a_symlinked_relay_directory_and_deleting_through_it(tmp_path, outside):
    cfg = configmod.parse({"daemon": {"cache_dir": "cache", "output_dir": "www", "state_dir": "lib",
                                      "run_dir": "run"}}, tmp_path / "allium.toml")
    cfg.daemon.cache_dir.mkdir(parents=True)
    doc = json.loads((FIXTURES / "onionoo_details_small.json").read_text())
    details = cfg.daemon.cache_dir / "onionoo_details.json"
    details.write_text(json.dumps(doc))
    builder = SiteBuilder(cfg, Registry(FAMILIES, MODELS), workers=0)
    try:
        assert not builder.build(full=True).errors
        www = cfg.daemon.output_dir
        running = [r["fingerprint"] for r in doc["relays"] if r["running"]]
        victim, other = running[0], running[1]
        shutil.rmtree(www / "relay" / victim)
        (www / "relay" / victim).symlink_to(outside)

        second = builder.build(full=True)                  # rewrites: the victim's page fails alone
        assert second.errors and all(e.split(":")[0] in ("relay", "relay_feeds", "relay_metrics") for e in second.errors), \
            second.errors                                  # the families writing into relay/<FP>/
        assert (www / "relay" / other / "index.html").exists()
        assert _tree(outside) == {"index.html": b"precious"}

        doc["relays"] = [r for r in doc["relays"] if r["fingerprint"] != victim]
        details.write_text(json.dumps(doc))
        third = builder.build(set())                       # the victim vanished: its page is deleted
        assert not [e for e in third.errors if not e.startswith("relay:")]
        assert _tree(outside) == {"index.html": b"precious"}
        assert (www / "relay" / other / "index.html").exists()
    finally:
        builder.close()
