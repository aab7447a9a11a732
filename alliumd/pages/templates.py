"""The Mako template lookup: escaping on by default, undefined names are errors.

Every ``${}`` expression is HTML-escaped (Mako does not escape by default)
with :func:`html_text`, which produces exactly what ``markupsafe.escape``
(Mako's ``h``) does but returns plain ``str``, skips the work for text
without special characters and remembers recent results: a relay page has
~300 expressions, most of them numbers and coordinates that recur on every
page, and the ``Markup`` wrapper per expression was a fifth of the render
time.  ``strict_undefined=True`` turns a missing
view-model key into an error instead of an empty string.  Templates ship as
the package ``alliumd.templates`` (the top-level ``templates/`` directory).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import sys
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import mako
from mako.lookup import TemplateLookup
from mako.runtime import Context, Namespace
from mako.template import Template
from mako.util import FastEncodingBuffer

log = logging.getLogger("alliumd.renderer")
COMPILED_DIRNAME = "templates-compiled"     # under the state directory: Mako's modules (compiled_dir)

_SPECIAL = re.compile(r"[&<>\"']")
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&#34;", "'": "&#39;"}   # markupsafe's choices


def _entity(match: re.Match) -> str:
    return _ENTITIES[match.group()]


_MEMO_LIMIT = 50_000
_MEMO_LENGTH = 80


class _EscapedTexts(dict):
    """Short strings → their escaped text; a lookup that misses is computed by ``__missing__``.

    Only exact ``str`` keys are stored, so a hit is always the escaping of an
    equal plain string (an int ``1`` never finds a text stored for ``"1"``, nor
    ``True`` one stored for ``1``).  Lookups that hit run in C: a relay page's
    ~350 expressions were ~5 M Python calls per cold build of network-10k.
    """

    def __missing__(self, value: Any) -> str:
        if isinstance(value, str):
            text = _escape(str(value))               # str subclasses (markupsafe.Markup) too: `| n` is trust
            if type(value) is str and len(value) <= _MEMO_LENGTH:   # longer: chart points, seldom repeated
                if len(self) >= _MEMO_LIMIT:
                    self.clear()
                self[value] = text
            return text
        if type(value) is int:
            return _int_text(value)
        html = getattr(value, "__html__", None)
        if html is not None:
            return html()
        return _escape(str(value))


_MEMO = _EscapedTexts()

# The templates' default filter: HTML-escapes a value like ``markupsafe.escape``, as plain ``str``.
# Strings, str subclasses such as ``Markup`` included, are always escaped (a template writes trusted
# text with ``| n``); other objects with ``__html__`` are trusted as is.  A value must be hashable: a
# template writes text and numbers, a view model formats anything else.
html_text = _MEMO.__getitem__


@lru_cache(maxsize=4096)
def _int_text(value: int) -> str:
    return str(value)            # counts and coordinates repeat across pages; digits need no escaping


def _escape(text: str) -> str:
    if _SPECIAL.search(text) is None:
        return text
    return _SPECIAL.sub(_entity, text)


def render_page(template: Template, data: dict[str, Any]) -> bytes:
    """``template.render(**data)`` through Mako's public ``render_context``, as bytes.

    Why: ``Template.render`` inspects the page function's signature on every
    call to learn which arguments it takes; a page template's ``render_body``
    takes all of them (``**pageargs``), and a cold build renders ~60k pages.
    The render's reference cycles are broken afterwards (:func:`_unlink`).
    """
    buffer = FastEncodingBuffer(encoding=template.output_encoding, errors=template.encoding_errors)
    context = Context(buffer, **data)
    try:
        template.render_context(context, **data)
    finally:
        _unlink(context)
    return buffer.getvalue()


_NAMESPACE_KEYS = ("self", "local", "parent", "next")      # where Mako keeps namespaces in a context's data


def _unlink(context: Context) -> None:
    """Break the reference cycles a Mako render leaves: every context holds a ``capture`` partial of itself,
    and its namespaces (``self``, ``parent``, ``<%namespace>``s, a ``<%call>``'s caller) hold contexts.

    Why: through them the page's whole view stayed alive until the cyclic collector found it, so every view
    survived the collections that ran meanwhile and was traversed again and again: the collector took
    0.9 s of a 15 s single-process cold render of network-10k, 0.27 s with this and with no template
    assigning names at its top level (which made Mako keep a ``locals()`` dict that refers to itself;
    ``tests/test_template_cycles.py`` keeps it so).  Reads Mako's ``Context._data`` (1.x), as its own
    ``_copy`` does; the context is not used after the render.
    """
    pending, seen = [context], set()
    while pending:
        ctx = pending.pop()
        if id(ctx) in seen:
            continue
        seen.add(id(ctx))
        data = ctx._data
        for namespace in (*map(data.get, _NAMESPACE_KEYS), *ctx.namespaces.values()):
            while isinstance(namespace, Namespace):
                if namespace.context is not None:
                    pending.append(namespace.context)
                namespace = namespace.inherits
        data.clear()
        ctx.namespaces.clear()
        ctx.caller_stack.clear()
        ctx.caller_stack.nextcaller = None


def template_dir() -> Path:
    """The installed ``alliumd.templates``; in a source checkout run as ``python -m alliumd`` from its
    root, the cwd's ``alliumd`` shadows the install's mapping, and the checkout's ``templates/`` is it."""
    try:
        return Path(str(resources.files("alliumd.templates")))
    except ModuleNotFoundError:
        checkout = Path(__file__).resolve().parents[2] / "templates"
        if not checkout.is_dir():
            raise
        return checkout


_LOOKUP_OPTIONS = dict(filesystem_checks=False, default_filters=["html_text"],
                       imports=["from alliumd.pages.templates import html_text"],
                       strict_undefined=True, input_encoding="utf-8", output_encoding="utf-8")


def make_lookup(directory: Path | None = None, compiled: Path | None = None) -> TemplateLookup:
    """The lookup of one process.  ``filesystem_checks=False``: a page's template is not stat'ed again on
    every render (a ``stat`` per page, ~2 % of a cold build); templates are part of the build info, fixed
    when the builder is made, so a changed template is picked up by a new builder (a restart), never
    halfway through a batch.  ``compiled`` (see compiled_dir): where Mako keeps the Python modules it
    generates, so that a process started later imports them instead of compiling the templates again."""
    return TemplateLookup(directories=[str(directory or template_dir())],
                          module_directory=str(compiled) if compiled is not None else None, **_LOOKUP_OPTIONS)


def compiled_dir(state_dir: Path, directory: Path | None = None) -> Path | None:
    """The directory for Mako's compiled templates, named by everything they are generated from.

    Why: every render worker is a fresh process (renderer/pool.py), started
    for each large batch, and compiling the templates it uses was a third of
    its start-up (~15 ms a template).  Mako reuses a module whose file is not
    older than its template; the name (a hash of the templates' contents, the
    lookup's options, Mako's and Python's versions) makes sure a module is
    only ever reused for exactly what it was generated from, whatever the
    files' times say.  Directories of other names are removed.  None (compile
    in memory, as before) when the directory cannot be made.
    """
    key = hashlib.sha256("\0".join((fingerprint_templates(directory), mako.__version__, sys.version,
                                     repr(sorted(_LOOKUP_OPTIONS.items())))).encode()).hexdigest()[:16]
    root = Path(state_dir) / COMPILED_DIRNAME
    target = root / key
    try:
        target.mkdir(parents=True, exist_ok=True)
        if not os.access(target, os.W_OK | os.X_OK):         # Mako would fail on the first template instead
            raise PermissionError("not writable")
        for other in root.iterdir():
            if other.name != key:
                shutil.rmtree(other, ignore_errors=True)
    except OSError as e:
        log.warning("cannot keep compiled templates in %s (%s); each process compiles its own", root, e)
        return None
    return target


def compile_all(lookup: TemplateLookup, directory: Path | None = None) -> int:
    """Compile every template of ``directory`` into ``lookup`` now; returns how many.  The daemon's
    start-up batch does it, so the first change after a start does not pay Mako's compilation (~15 ms a
    template) for the templates that batch had no page to render with."""
    root = directory or template_dir()
    names = sorted(p.name for p in root.glob("*.mako"))
    for name in names:
        lookup.get_template(name)
    return len(names)


def fingerprint_templates(directory: Path | None = None) -> str:
    """A hash over every template file: a change means a full rebuild."""
    h = hashlib.sha256()
    root = directory or template_dir()
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in (".mako", ".css", ".js")):
        h.update(str(path.relative_to(root)).encode())
        h.update(b"\0")
        h.update(path.read_bytes())
    return h.hexdigest()


def fingerprint_code() -> str:
    """A hash over alliumd's Python sources: view models and page keys are functions of this code.

    Pages whose key (the digest of their inputs) is unchanged are not
    re-rendered, so a code change must change the build info and rebuild.
    """
    h = hashlib.sha256()
    root = Path(__file__).resolve().parent.parent
    for path in sorted(root.rglob("*.py")):
        h.update(str(path.relative_to(root)).encode())
        h.update(b"\0")
        h.update(path.read_bytes())
    return h.hexdigest()
