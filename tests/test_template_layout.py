"""Templates only lay out finished view values: formatting lives in the Python view code (pages/).

Every Python expression in a template (``${…}``, ``% …`` control lines,
``<% … %>`` blocks) may call only layout helpers: the template's own
``<%def>``s and namespaces (charts.mako drawing, base.mako blocks),
``zip``/``enumerate`` to walk parallel lists, and ``.get``.  A formatting
call (``count(…)``, ``", ".join(…)``, ``.capitalize()``, ``len(…)``…), a
``<%! %>`` module block or an import fails this test, so a helper cannot
creep back into a template.
"""

from __future__ import annotations

import io
import keyword
import re
import tokenize
from pathlib import Path

import pytest

from alliumd.pages.templates import template_dir

TEMPLATES = sorted(template_dir().glob("*.mako"))
LAYOUT_CALLS = {"zip", "enumerate", "get", "body"}        # next.body(), caller.body(), context.get()
NAMESPACE = re.compile(r'<%namespace\s+name="(\w+)"')
DEF = re.compile(r'<%def\s+name="(\w+)\(')


def expressions(text: str) -> list[str]:
    """The Python code of a template: ``${…}`` bodies (braces matched), control lines, ``<% %>`` blocks."""
    out = []
    for match in re.finditer(r"<%\s(.*?)%>", text, re.S):
        out.append(match.group(1))
    for line in text.splitlines():
        stripped = line.lstrip()
        if stripped.startswith("%") and not stripped.startswith("%%"):
            out.append(stripped[1:])
    start = text.find("${")
    while start != -1:
        depth, i = 1, start + 2
        while depth and i < len(text):
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        out.append(text[start + 2:i - 1])
        start = text.find("${", i)
    return out


def calls(code: str) -> list[str]:
    """Called names in ``code`` ("join" for ``", ".join(x)``, "ch.time_chart" for a namespace call)."""
    tokens = [t for t in tokenize.generate_tokens(io.StringIO(code.replace("\n", " ")).readline)
              if t.type in (tokenize.NAME, tokenize.OP, tokenize.STRING, tokenize.NUMBER)]
    out = []
    for i, tok in enumerate(tokens[:-1]):
        if tok.type == tokenize.NAME and tokens[i + 1].string == "(" and not keyword.iskeyword(tok.string):
            dotted = i >= 2 and tokens[i - 1].string == "." and tokens[i - 2].type == tokenize.NAME
            out.append(f"{tokens[i - 2].string}.{tok.string}" if dotted else tok.string)
    return out


def disallowed(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    problems = []
    if "<%!" in text:
        problems.append("a <%! %> module block")
    # Mako's built-in namespaces; ``local`` is the template's own defs (a call through it skips copying the
    # render context, which a bare def call does: the row defs of the big tables, see pages/rowcache.py)
    namespaces = set(NAMESPACE.findall(text)) | {"self", "next", "caller", "parent", "local"}
    defs = set(DEF.findall(text))
    for code in expressions(text):
        if re.search(r"\b(import|lambda)\b|^\s*def\s", code):
            problems.append(f"code: {code.strip()[:60]!r}")
        for name in calls(code):
            owner, _, func = name.rpartition(".")
            if func in LAYOUT_CALLS or owner in namespaces or (not owner and name in defs):
                continue
            problems.append(f"call {name}() in {code.strip()[:60]!r}")
    return problems


def test_templates_exist():
    names = {p.name for p in TEMPLATES}
    assert {"relay.mako", "group.mako", "index.mako", "list.mako", "relays_all.mako", "top.mako",
            "_leaderboards.mako", "base.mako", "charts.mako"} <= names


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_template_only_lays_out_values(path):
    assert disallowed(path) == []


def test_the_check_catches_formatting(tmp_path):
    """The checks themselves: each of these is what the templates used to do."""
    cases = {
        "module.mako": "<%!\n    from alliumd.model.format import count\n%>\\\n${x}\n",
        "count.mako": "<td>${count(r['consensus_weight'])}</td>\n",
        "join.mako": '<td>${", ".join(r[\'roles\'])}</td>\n',
        "method.mako": "<td>${role['role'].capitalize()}</td>\n",
        "control.mako": "% for _ in range(3 - len(entries)):\n-\n% endfor\n",
        "block.mako": "<% more = len(family) - 3 %>\\\n${more}\n",
        "helper.mako": "<%\n    def v(value):\n        return value\n%>\n",
    }
    for name, text in cases.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        assert disallowed(tmp_path / name), name
    (tmp_path / "layout.mako").write_text(
        '<%namespace name="ch" file="charts.mako"/>\\\n<%def name="row(r)">${r[\'a\']}</%def>\\\n'
        "% for c, cid in zip(cs, ids):\n${ch.bar_chart(c, cid)}${row(c)}${self.kv('a', c.get('b'))}\n% endfor\n",
        encoding="utf-8")
    assert disallowed(tmp_path / "layout.mako") == []
