"""Onionoo details: what a publishable details document is.

An empty relay list is refused: Onionoo never publishes an empty network,
and accepting one would wipe every relay page.
"""

from __future__ import annotations

from pathlib import Path

from .. import paths
from . import DocInfo, InvalidDocument, load_json
from .onionoo import SAMPLE_KEY, check_envelope


def validate(path: Path) -> DocInfo:
    return validate_doc(load_json(path))


def validate_doc(doc: object) -> DocInfo:
    published = check_envelope(doc)
    relays = doc["relays"]
    if not relays:
        raise InvalidDocument("'relays' is empty")
    for i, relay in enumerate(relays):
        if not isinstance(relay, dict):
            raise InvalidDocument(f"relays[{i}] is not an object")
        if not paths.is_fingerprint(relay.get("fingerprint")):
            raise InvalidDocument(f"relays[{i}] has no valid 40-hex fingerprint: "
                                  f"{str(relay.get('fingerprint'))[:50]!r}")
    return DocInfo(data_time=published, items=len(relays), is_sample=SAMPLE_KEY in doc)
