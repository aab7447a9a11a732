"""Onionoo details: what a publishable details document is.

An empty relay list is refused: Onionoo never publishes an empty network,
and accepting one would wipe every relay page.  The document is checked
relay line by relay line (fetchers/onionoo_stream.py) and nothing is kept:
the renderer reads the cached document itself, so validating it costs one
line of memory instead of the ~150 MB a full parse of the network builds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .. import paths
from . import DocInfo, InvalidDocument
from ..cache.names import SAMPLE_KEY
from .onionoo import check_envelope
from .onionoo_stream import read


def validate(path: Path) -> DocInfo:
    streamed = read(path, _check_relay)
    if not streamed.seen:
        raise InvalidDocument("'relays' is empty")
    return DocInfo(data_time=streamed.published, items=streamed.seen, is_sample=SAMPLE_KEY in streamed.envelope)


def _check_relay(relay: Any, index: int) -> None:
    if not isinstance(relay, dict):
        raise InvalidDocument(f"relays[{index}] is not an object")
    if not paths.is_fingerprint(relay.get("fingerprint")):
        raise InvalidDocument(f"relays[{index}] has no valid 40-hex fingerprint: "
                              f"{str(relay.get('fingerprint'))[:50]!r}")


def validate_doc(doc: object) -> DocInfo:
    """The same checks on an already parsed document."""
    published = check_envelope(doc)
    relays = doc["relays"]
    if not relays:
        raise InvalidDocument("'relays' is empty")
    for i, relay in enumerate(relays):
        _check_relay(relay, i)
    return DocInfo(data_time=published, items=len(relays), is_sample=SAMPLE_KEY in doc)
