"""Stylesheets, copied byte for byte from the templates package."""

from __future__ import annotations

from collections.abc import Iterator

from .registry import Page, PageFamily, RenderInputs
from .templates import template_dir
from .common import STYLE_PATH

CHARTS_CSS_PATH = "static/charts.css"     # charts, relay health list, dashboard cards
STYLESHEETS = ((STYLE_PATH, "style.css"), (CHARTS_CSS_PATH, "charts.css"))


def expand_static(inputs: RenderInputs) -> Iterator[Page]:
    for path, name in STYLESHEETS:
        yield Page(path, name, {"body": (template_dir() / name).read_bytes()}, content_type="raw")


FAMILIES = [PageFamily("static", frozenset(), expand_static, description="stylesheets",
                       paths=tuple(path for path, _ in STYLESHEETS))]
