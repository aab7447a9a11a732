"""Crawl a generated site and report every link that does not resolve to a file.

Reused by the link tests (tests/test_site_links.py) and the full-size check
(``python -m bench.linkcheck``).  What counts as a link:

- in every ``.html`` page, every ``href`` and ``src`` attribute (``<a>``,
  ``<link rel=stylesheet|alternate>``, ``<script>``, ``<img>``…), parsed with a
  regex (fast enough for 30k pages), HTML entities unescaped;
- in every ``.json`` file, the site-relative paths under a ``links`` key and
  every ``href``/``path`` value (the entity JSON's ``links`` and ``related``);
- in ``search-index.json``, every page ``search.js`` builds a link to
  (relay, family, contact, AS and country pages, see templates/search.js).

Links with a scheme (``http:``, ``https:``, ``mailto:``…), protocol-relative
links and ``#fragment``-only links are not followed.  A relative link is
resolved against its page's directory after dropping ``?query`` and
``#fragment``; a link to a directory (``a/b/``) resolves to its
``index.html``; a link leaving the site's root is broken.
"""

from __future__ import annotations

import html
import json
import os
import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

# a start tag (text is escaped, so a raw "<" opens a tag) and its attributes, one after another, so that
# " src=x" inside another attribute's quoted value is not taken for an attribute
TAG = re.compile(rb"<[A-Za-z][^\s/>]*((?:[^<>\"']+|\"[^\"]*\"|'[^']*')*)>")
ATTRIBUTE = re.compile(rb"""([^\s"'>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?""")
LINK_ATTRIBUTES = frozenset({b"href", b"src"})
LABELS = frozenset({"flag", "label", "title", "kind"})     # text next to a path under ``links``
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
# search.js: kind of page → the index entries whose ids it links (see templates/search.js href())
SEARCH_LINKS = (("relay", "relays", "f"), ("family", "relays", "fam"), ("contact", "relays", "c"),
                ("as", "relays", "as"), ("country", "relays", "cc"), ("family", "families", "id"))


@dataclass
class Broken:
    page: str        # the site-relative file holding the link
    link: str        # the link as written
    target: str      # what it resolved to (site-relative), or why it cannot resolve

    def __str__(self) -> str:
        return f"{self.page}: {self.link!r} -> {self.target}"


@dataclass
class Report:
    pages: int = 0           # HTML pages read
    json_files: int = 0      # JSON files read
    links: int = 0           # links checked (followed to a file)
    skipped: int = 0         # external and fragment-only links (not followed)
    broken: list[Broken] = field(default_factory=list)

    def summary(self) -> str:
        return (f"{self.pages} pages, {self.json_files} JSON files, {self.links} links checked, "
                f"{self.skipped} external/fragment links skipped, {len(self.broken)} broken")

    def first(self, n: int = 20) -> str:
        """The first ``n`` offenders and the distinct broken targets, for an assertion message."""
        targets = sorted({b.target for b in self.broken})
        lines = [self.summary()] + [str(b) for b in self.broken[:n]]
        lines.append(f"{len(targets)} distinct broken targets: {targets[:n]}")
        return "\n".join(lines)


class Site:
    """The files under ``root`` (site-relative POSIX paths), listed once."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.files: set[str] = set()
        for directory, _, names in os.walk(self.root):
            rel = os.path.relpath(directory, self.root)
            if ".tmp" in Path(rel).parts:
                continue
            base = "" if rel == "." else rel.replace(os.sep, "/") + "/"
            self.files.update(base + name for name in names)

    def resolve(self, page: str, link: str) -> str | None:
        """The site-relative file ``link`` (written in ``page``) points at; None if outside the site."""
        path = unquote(link.split("#", 1)[0].split("?", 1)[0])
        joined = posixpath.normpath(posixpath.join(posixpath.dirname(page), path)) if path else page
        if joined == ".." or joined.startswith("../") or joined.startswith("/"):
            return None
        if path.endswith("/") or (joined not in self.files and joined + "/index.html" in self.files):
            return posixpath.join(joined, "index.html") if joined != "." else "index.html"
        return joined


def html_links(body: bytes) -> Iterator[str]:
    """The ``href`` and ``src`` values of every start tag, unescaped."""
    for tag in TAG.finditer(body):
        for match in ATTRIBUTE.finditer(tag.group(1)):
            name, *values = match.groups()
            raw = next((v for v in values if v is not None), None)
            if raw is not None and name.lower() in LINK_ATTRIBUTES:
                yield html.unescape(raw.decode("utf-8", "replace")).strip()


def json_links(doc: Any, inside_links: bool = False) -> Iterator[str]:
    """Site-relative paths in a JSON view: every string under ``links`` but labels, every ``href`` and ``path``."""
    if isinstance(doc, dict):
        for key, value in doc.items():
            if isinstance(value, str) and ((inside_links and key not in LABELS) or key in ("href", "path")):
                yield value
            elif isinstance(value, (dict, list)):
                yield from json_links(value, inside_links or key == "links")
    elif isinstance(doc, list):
        for value in doc:
            if isinstance(value, str) and inside_links:
                yield value
            elif isinstance(value, (dict, list)):
                yield from json_links(value, inside_links)


def search_links(index: Any) -> Iterator[str]:
    """The pages search.js links from the search index (site-relative)."""
    if not isinstance(index, dict):
        return
    for kind, member, key in SEARCH_LINKS:
        for entry in index.get(member) or ():
            if isinstance(entry, dict) and isinstance(entry.get(key), str):
                yield f"{kind}/{entry[key]}/index.html"
    for kind, member in (("as", "as_names"), ("country", "countries"), ("contact", "contacts")):
        for gid in index.get(member) or {}:
            yield f"{kind}/{gid}/index.html"


def crawl(root: Path) -> Report:
    """Check every link of the site under ``root``."""
    site = Site(root)
    report = Report()

    def check(page: str, link: str, site_relative: bool = False) -> None:
        if not link.split("#", 1)[0] or SCHEME.match(link) or link.startswith("//"):
            report.skipped += 1
            return
        report.links += 1
        target = site.resolve("index.html" if site_relative else page, link)
        if target is None:
            report.broken.append(Broken(page, link, "outside the site"))
        elif target not in site.files:
            report.broken.append(Broken(page, link, target))

    for page in sorted(site.files):
        if page.endswith(".html"):
            report.pages += 1
            for link in html_links((site.root / page).read_bytes()):
                check(page, link)
        elif page.endswith(".json"):
            report.json_files += 1
            try:
                doc = json.loads((site.root / page).read_bytes())
            except ValueError:
                report.broken.append(Broken(page, "(the file itself)", "not valid JSON"))
                continue
            links = search_links(doc) if posixpath.basename(page) == "search-index.json" else json_links(doc)
            for link in links:
                check(page, link, site_relative=True)
    return report
