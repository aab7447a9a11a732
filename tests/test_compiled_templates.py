"""Mako's compiled templates are kept under the state directory (pages/templates.compiled_dir), so a render
worker started later imports them instead of compiling the templates again; only ever for the very
templates, options and versions they were generated from."""

from __future__ import annotations

from pathlib import Path

import mako.template
import pytest

from alliumd.pages.templates import COMPILED_DIRNAME, compiled_dir, make_lookup, render_page


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


def test_render_page_gives_what_template_render_gives(tmp_path):
    """renderer/jobs renders pages through templates.render_page (Mako's render_context, without the
    per-call signature inspection of Template.render): the same bytes, inheritance, defs, namespaces,
    escaping and undefined names included."""
    tpl = tmp_path / "tpl"
    tpl.mkdir()
    (tpl / "base.mako").write_text("<html><title>${chrome['title']}</title>${next.body()}</html>\n")
    (tpl / "defs.mako").write_text("<%def name='item(x)'><li>${x}</li></%def>")
    (tpl / "page.mako").write_text("<%inherit file='base.mako'/><%namespace name='d' file='defs.mako'/>"
                                   "<ul>\n% for x in items:\n${d.item(x)}\n% endfor\n</ul>${note | n}\n")
    lookup = make_lookup(tpl)
    page = lookup.get_template("page.mako")
    data = {"chrome": {"title": "<T>"}, "items": ["a&b", 3, "<i>"], "note": "<b>kept</b>"}
    assert render_page(page, data) == page.render(**data)
    assert b"&lt;T&gt;" in render_page(page, data) and b"<b>kept</b>" in render_page(page, data)
    with pytest.raises(NameError):
        render_page(page, {"chrome": {"title": "t"}, "items": []})       # strict_undefined: 'note' is missing
