"""Fetchers: one process per enabled source.

``runtime`` is the shared process loop (schedule, wait, report) and
``fetcher`` the shared fetch (fetch, validate, publish); each source module
only says what a valid document is, through ``validate(path) -> DocInfo``.
``alliumd.sources`` maps source names to these modules.

Sources whose documents are too large for the renderer (Onionoo uptime is
~240 MB of JSON for the whole network) reduce them while validating: their
``DocInfo.summary`` holds the compact document the renderer reads
(``SourceSpec.render_file``), and the module's ``SUMMARY_FORMAT`` says which
version of that summary it writes, so a new alliumd re-derives summaries
from the cached documents without refetching.
"""

from __future__ import annotations

import importlib
import json
from typing import Any
from dataclasses import dataclass
from types import ModuleType

from ..sources import SOURCES


class InvalidDocument(ValueError):
    """The body is not a valid document for its source; it is never published."""


@dataclass(frozen=True)
class DocInfo:
    data_time: float | None     # when the upstream published this data (epoch), if it says
    items: int                  # e.g. number of relays, for logs and progress
    is_sample: bool = False
    summary: bytes | None = None    # the derived render document, for summarised sources


def load_json(path) -> Any:
    """Parse a fetched JSON body; a body that is not JSON is an :class:`InvalidDocument`."""
    try:
        with open(path, "rb") as f:
            return json.load(f)
    except (ValueError, UnicodeDecodeError) as e:
        raise InvalidDocument(f"not valid JSON: {str(e)[:120]}") from None


def source_module(name: str) -> ModuleType:
    return importlib.import_module(f"{__name__}.{SOURCES[name].fetcher}")
