"""alliumd.paths: data-derived strings never choose where a file lands."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from alliumd import paths
from alliumd.paths import UnsafePath

FP = "037B6C60DAD4DF32FDA29BF458D5C8C816AA8F3E"


# -- fingerprint ---------------------------------------------------------------------------

def test_fingerprint_upper_cases():
    assert paths.fingerprint(FP.lower()) == FP
    assert paths.fingerprint(FP) == FP


@pytest.mark.parametrize("value", [
    FP[:39], FP + "A", "", "G" * 40, FP[:39] + "g", FP[:39] + " ", " " + FP[:39], FP[:20] + "/" + FP[21:],
    "../" + FP[3:], FP[:39] + "\0", "0x" + FP[2:],
])
def test_fingerprint_rejects_wrong_length_or_non_hex(value):
    with pytest.raises(UnsafePath):
        paths.fingerprint(value)


@pytest.mark.parametrize("value", [None, 123, b"A" * 40, ["A" * 40], 0x037B6C60DAD4DF32FDA29BF458D5C8C816AA8F3E])
def test_fingerprint_rejects_non_str(value):
    with pytest.raises(UnsafePath):
        paths.fingerprint(value)


def test_unsafe_path_is_a_value_error():
    assert issubclass(UnsafePath, ValueError)


def test_is_fingerprint_requires_upper_case():
    assert paths.is_fingerprint(FP)
    assert not paths.is_fingerprint(FP.lower())
    assert not paths.is_fingerprint(FP[:39])
    assert not paths.is_fingerprint(None)


@pytest.mark.parametrize("check", ["fingerprint", "is_fingerprint"])
def test_fingerprint_rejects_trailing_newline(check):
    value = FP + "\n"
    if check == "is_fingerprint":
        assert not paths.is_fingerprint(value)
    else:
        with pytest.raises(UnsafePath):
            paths.fingerprint(value)


# -- relpath -------------------------------------------------------------------------------

@pytest.mark.parametrize("value", [
    "index.html", "relays/all.html", f"relay/{FP}/index.html", "static/style.css", "a-b_c.d/e",
    "_x", "9", "a" * 128,
])
def test_relpath_accepts_site_paths(value):
    assert paths.relpath(value) == value


@pytest.mark.parametrize("value", [
    "/etc/passwd", "/index.html", "//x",                 # absolute
    "..", "../x", "a/../../x", "a/..",                   # parent segments
    ".hidden", "a/.git/config", ".tmp/x.part",           # hidden files
    "", ".",                                             # empty
    "a\0b", "a/b\0",                                     # NUL
    "a\\b", "..\\..\\x", "C:\\x",                        # backslashes
    "a b", "a/b?c", "a:b", "-rf", "é",                   # characters outside the safe set
    "a" * 129, "x/" + "b" * 200,                         # overly long segment
    "a.", "relay/x./index.html",                         # trailing dots
])
def test_relpath_rejects(value):
    with pytest.raises(UnsafePath):
        paths.relpath(value)


def test_relpath_rejects_non_str_garbage():
    with pytest.raises((UnsafePath, TypeError)):
        paths.relpath(None)


@pytest.mark.parametrize("value", ["a/./b", "a//b", "./a", "a/", "a/."])
def test_relpath_rejects_dot_and_empty_segments(value):
    with pytest.raises(UnsafePath):
        paths.relpath(value)


@pytest.mark.parametrize("value", ["a\n", "relay/x\n/index.html"])
def test_relpath_rejects_newline(value):
    with pytest.raises(UnsafePath):
        paths.relpath(value)


# -- inside --------------------------------------------------------------------------------

def test_inside_joins_and_resolves(tmp_path):
    assert paths.inside(tmp_path, "relays/all.html") == tmp_path.resolve() / "relays" / "all.html"
    assert paths.inside(str(tmp_path), "index.html") == tmp_path.resolve() / "index.html"


@pytest.mark.parametrize("rel", ["../x", "/etc/passwd", "a/../../x", ".ssh/id"])
def test_inside_rejects_escapes(tmp_path, rel):
    with pytest.raises(UnsafePath):
        paths.inside(tmp_path / "root", rel)


def test_inside_rejects_symlinked_directory_pointing_outside(tmp_path):
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / "relay").symlink_to(outside)
    with pytest.raises(UnsafePath, match="escapes"):
        paths.inside(root, "relay/index.html")


def test_inside_rejects_symlinked_file_pointing_outside(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    secret = tmp_path / "secret"
    secret.write_text("s")
    (root / "index.html").symlink_to(secret)
    with pytest.raises(UnsafePath):
        paths.inside(root, "index.html")
    (root / "dangling").symlink_to(tmp_path / "nowhere")
    with pytest.raises(UnsafePath):
        paths.inside(root, "dangling")


def test_inside_allows_symlink_staying_inside_root(tmp_path):
    root = tmp_path / "root"
    (root / "real").mkdir(parents=True)
    (root / "alias").symlink_to(root / "real")
    assert paths.inside(root, "alias/x.html") == root.resolve() / "real" / "x.html"


def test_inside_works_when_root_itself_is_a_symlink(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "www"
    link.symlink_to(real)
    assert paths.inside(link, "index.html") == real.resolve() / "index.html"


def test_inside_never_returns_path_outside_root(tmp_path):
    root = (tmp_path / "r").resolve()
    root.mkdir()
    for rel in ["a", "a/b", "a.b/c-d", "x/y/z.html"]:
        got = paths.inside(root, rel)
        assert root in got.parents
        assert os.path.commonpath([root, got]) == str(root)
    assert not Path(root / "a").exists()          # inside() itself creates nothing
