"""Fetchers: one process per enabled source.

``runtime`` is the shared process loop (schedule, fetch, validate, publish,
report); each source module only says what a valid document is, through
``validate(path) -> DocInfo``.  ``alliumd.sources`` maps source names to
these modules.
"""

from __future__ import annotations

import importlib
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


def source_module(name: str) -> ModuleType:
    spec = SOURCES[name]
    if spec.fetcher is None:
        raise LookupError(f"source {name} has no fetcher")
    return importlib.import_module(f"{__name__}.{spec.fetcher}")
