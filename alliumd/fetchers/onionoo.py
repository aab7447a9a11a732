"""Checks shared by the Onionoo documents (details, uptime, bandwidth).

Onionoo's versioning rule: same major, higher minor → parse and ignore
unknown fields; a different major → do not parse.  Documents from before
protocol 1.0 carry no ``version`` at all and are accepted.
"""

from __future__ import annotations

from ..core.timefmt import onionoo_epoch
from . import InvalidDocument

SUPPORTED_MAJOR = 8


def parse_onionoo_time(value: object, what: str) -> float:
    """'YYYY-MM-DD hh:mm:ss' (UTC, no zone) → epoch seconds."""
    if not isinstance(value, str):
        raise InvalidDocument(f"{what} missing or not a string")
    when = onionoo_epoch(value)
    if when is None:
        raise InvalidDocument(f"{what} is not 'YYYY-MM-DD hh:mm:ss': {value[:40]!r}")
    return when


def check_envelope(doc: object) -> float:
    """Validate the envelope; return ``relays_published`` as epoch seconds."""
    if not isinstance(doc, dict):
        raise InvalidDocument("top level is not a JSON object")
    version = doc.get("version")
    if version is not None:
        major = str(version).split(".", 1)[0]
        if not major.isdigit() or int(major) != SUPPORTED_MAJOR:
            raise InvalidDocument(f"Onionoo protocol version {version!r} is not supported "
                                  f"(this alliumd reads major version {SUPPORTED_MAJOR})")
    if not isinstance(doc.get("relays"), list):
        raise InvalidDocument("'relays' missing or not a list")
    return parse_onionoo_time(doc.get("relays_published"), "relays_published")
