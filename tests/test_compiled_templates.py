"""Mako's compiled templates are kept under the state directory (pages/templates.compiled_dir), so a render
worker started later imports them instead of compiling the templates again; only ever for the very
templates, options and versions they were generated from."""

from __future__ import annotations

from pathlib import Path

import mako.template

from alliumd.pages.templates import COMPILED_DIRNAME, compiled_dir, make_lookup


def templates(tmp_path: Path, text: str) -> Path:
    tpl = tmp_path / "tpl"
    tpl.mkdir(exist_ok=True)
    (tpl / "page.mako").write_text(text)
    return tpl


def test_a_later_process_imports_the_compiled_template_instead_of_compiling_it(tmp_path, monkeypatch):
    tpl = templates(tmp_path, "<p>${name}</p>\n")
    compiled = compiled_dir(tmp_path / "lib", tpl)
    assert compiled.parent == tmp_path / "lib" / COMPILED_DIRNAME
    first = make_lookup(tpl, compiled).get_template("page.mako").render(name="<b>")
    assert first == b"<p>&lt;b&gt;</p>\n"                       # escaped as always
    assert [p.name for p in compiled.iterdir() if p.suffix == ".py"] == ["page.mako.py"]
    compiles = []
    real = mako.template._compile_module_file
    monkeypatch.setattr(mako.template, "_compile_module_file", lambda *a: compiles.append(a) or real(*a))
    assert make_lookup(tpl, compiled).get_template("page.mako").render(name="<b>") == first
    assert compiles == []                                        # a fresh lookup (a new worker) compiled nothing


def test_changed_templates_get_a_new_directory_and_the_old_one_goes(tmp_path):
    tpl = templates(tmp_path, "<p>${name}</p>\n")
    old = compiled_dir(tmp_path / "lib", tpl)
    make_lookup(tpl, old).get_template("page.mako")
    (tpl / "page.mako").write_text("<i>${name}</i>\n")          # even with the same or an older mtime
    new = compiled_dir(tmp_path / "lib", tpl)
    assert new != old and not old.exists()
    assert make_lookup(tpl, new).get_template("page.mako").render(name="x") == b"<i>x</i>\n"
    assert compiled_dir(tmp_path / "lib", tpl) == new             # the same templates: the same directory


def test_without_a_usable_state_directory_templates_compile_in_memory(tmp_path):
    tpl = templates(tmp_path, "${name}\n")
    (tmp_path / "lib").write_text("a file where the state directory should be")
    assert compiled_dir(tmp_path / "lib", tpl) is None
    assert make_lookup(tpl, None).get_template("page.mako").render(name="ok") == b"ok\n"
