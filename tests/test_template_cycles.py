"""A render leaves no reference cycles behind (pages/templates.py ``_unlink``, and no template assigning
names at its top level), so a page's view is freed as soon as its bytes are made, not when the cyclic
collector gets to it."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from alliumd.pages.templates import make_lookup, render_page, template_dir

TEMPLATES = sorted(p.name for p in template_dir().glob("*.mako"))


@pytest.mark.parametrize("name", TEMPLATES)
def test_no_template_assigns_names_at_its_top_level(name):
    """A top-level ``<% x = … %>`` makes Mako keep a ``locals()`` dict of the page body after each such
    block, a dict that refers to itself and so kept the whole view alive until a collection (0.6 s of the
    collector's time in a cold build of network-10k).  Inside a ``<%def>`` it is harmless."""
    code = make_lookup().get_template(name).code
    assert "__M_locals_builtin()" not in code, f"{name}: a top-level <% name = … %> (use the expression)"


PAGE = """<%inherit file="base.mako"/>
<%namespace name="helper" file="helper.mako"/>
${helper.show(big)} <%helper:wrap>inside ${len(big)}</%helper:wrap> <%self:local>${caller_text}</%self:local>
<%def name="local()">[${caller.body()}]</%def>
"""
BASE = """<%block name="title">t</%block>|${next.body()}|${self.footer()}
<%def name="footer()">f</%def>"""
HELPER = """<%def name="show(v)">${v[0]}</%def><%def name="wrap()">(${caller.body()})</%def>"""


def render_and_collect(tmp_path: Path) -> tuple[bytes, int]:
    """Render the page above with the collector off; the page and how many unreachable objects it left."""
    for name, text in {"page.mako": PAGE, "base.mako": BASE, "helper.mako": HELPER}.items():
        (tmp_path / name).write_text(text)
    template = make_lookup(tmp_path).get_template("page.mako")
    render_page(template, {"big": [0], "caller_text": ""})      # compiles base and helper (their own garbage)
    enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        page = render_page(template, {"big": list(range(10)), "caller_text": "c"})
        return page, gc.collect()
    finally:
        if enabled:
            gc.enable()


def test_a_render_with_inheritance_namespaces_and_calls_leaves_no_cycles(tmp_path: Path):
    page, unreachable = render_and_collect(tmp_path)
    assert unreachable == 0                             # nothing unreachable: every object was freed at once
    assert b"(inside 10)" in page and b"[c]" in page and b"|f" in page


def test_without_the_unlink_a_render_would_leave_cycles(tmp_path: Path, monkeypatch):
    """The test above can fail: Mako's contexts do form cycles."""
    from alliumd.pages import templates
    monkeypatch.setattr(templates, "_unlink", lambda context: None)
    assert render_and_collect(tmp_path)[1] > 0
