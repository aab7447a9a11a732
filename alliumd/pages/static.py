"""The stylesheet, copied byte for byte from the templates package."""

from __future__ import annotations

from collections.abc import Iterator

from ..renderer.registry import Page, PageFamily, RenderInputs
from ..renderer.templates import template_dir
from .common import STYLE_PATH


def expand_static(inputs: RenderInputs) -> Iterator[Page]:
    body = (template_dir() / "style.css").read_bytes()
    yield Page(STYLE_PATH, "style.css", {"body": body}, content_type="raw")


FAMILIES = [PageFamily("static", frozenset(), expand_static, description="stylesheet")]
