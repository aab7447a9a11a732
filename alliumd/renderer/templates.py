"""The Mako template lookup: escaping on by default, undefined names are errors.

``default_filters=['h']`` HTML-escapes every ``${}`` expression (Mako does
not by default); ``strict_undefined=True`` turns a missing view-model key
into an error instead of an empty string.  Templates ship as the package
``alliumd.templates`` (the top-level ``templates/`` directory).
"""

from __future__ import annotations

import hashlib
from importlib import resources
from pathlib import Path

from mako.lookup import TemplateLookup


def template_dir() -> Path:
    return Path(str(resources.files("alliumd.templates")))


def make_lookup(directory: Path | None = None) -> TemplateLookup:
    return TemplateLookup(directories=[str(directory or template_dir())],
                          default_filters=["h"], strict_undefined=True,
                          input_encoding="utf-8", output_encoding="utf-8")


def fingerprint_templates(directory: Path | None = None) -> str:
    """A hash over every template file: a change means a full rebuild."""
    h = hashlib.sha256()
    root = directory or template_dir()
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in (".mako", ".css", ".js")):
        h.update(str(path.relative_to(root)).encode())
        h.update(b"\0")
        h.update(path.read_bytes())
    return h.hexdigest()
