"""Issue 16 #4: the web root holds only published files (no empty ``.tmp/``)."""

from __future__ import annotations

from alliumd.renderer.writer import PageWriter


def test_page_writer_leaves_no_tmp_directory_in_the_web_root(tmp_path):
    root = tmp_path / "www"
    writer = PageWriter(root)
    assert writer.write_if_changed("relay/x/index.html", b"<p>x</p>", None)[0]
    assert writer.write_if_changed("relay/x/index.html", b"<p>y</p>", "old")[0]   # a replace, too
    writer.close()
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*")) == \
        ["relay", "relay/x", "relay/x/index.html"]


def test_an_older_versions_tmp_directory_is_swept_and_removed(tmp_path):
    root = tmp_path / "www"
    (root / ".tmp").mkdir(parents=True)
    (root / ".tmp" / "index.html.abc.part").write_bytes(b"partial")
    PageWriter(root).close()
    assert not (root / ".tmp").exists()


def test_a_tmp_that_is_not_ours_is_left_alone(tmp_path):
    root = tmp_path / "www"
    (root / ".tmp").mkdir(parents=True)
    (root / ".tmp" / "keep.txt").write_text("not a temp file")
    PageWriter(root).close()
    assert (root / ".tmp" / "keep.txt").read_text() == "not a temp file"
