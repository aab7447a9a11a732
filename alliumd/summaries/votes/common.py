"""What the vote, consensus and bandwidth-file parsers share: constants, the error, text and number normalisers."""

from __future__ import annotations

import base64
import binascii
import calendar
import re
from datetime import datetime
from typing import Iterable

from ...cache.names import COLLECTOR_SUMMARY_FORMAT
from ...core.text import plain_text

FORMAT = COLLECTOR_SUMMARY_FORMAT
VOTE_FIELDS = ("flags", "bandwidth", "measured", "wfu", "tk", "mtbf", "ipv6", "published")
BANDWIDTH_FIELDS = ("bw", "status", "success", "errors")
BANDWIDTH_STATUS = ("voted", "unmeasured", "under_min_report", "not_voted")

VOTE_TYPE = "network-status-vote-3 1.0"
CONSENSUS_TYPE = "network-status-consensus-3 1.0"
MICRODESC_CONSENSUS_TYPE = "network-status-microdesc-consensus-3 1.0"
BANDWIDTH_TYPE = "bandwidth-file 1.0"

MAX_TEXT = 200            # longest scraped/header text kept
MAX_MAP = 200             # most keys kept from a key=value header map
_HEX40_RE = re.compile(r"[0-9A-F]{40}")            # relay fingerprints and authority v3 identities
_FLAG_RE = re.compile(r"[A-Za-z0-9_-]{1,32}")
_KEY_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_BW_ERROR_KEYS = ("error_circ", "error_stream", "error_misc", "error_destination", "error_second_relay")


class InvalidStatus(ValueError):
    """A document that is not a usable vote, consensus or bandwidth file."""


def _stem():
    """stem, imported by the parsers only: the renderer reads summaries through this module's
    helpers and need not load it (~20 MB, 60 ms)."""
    from stem.descriptor import DocumentHandler, parse_file
    return DocumentHandler, parse_file


# -- small normalisers ------------------------------------------------------------------

def clean_text(value: object, limit: int = MAX_TEXT) -> str | None:
    """Plain text for the summary: str, control characters folded to a space, capped."""
    if value is None:
        return None
    return plain_text(str(value), limit)


def time_text(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%d %H:%M:%S") if isinstance(value, datetime) else None


def epoch(value: datetime | None) -> int | None:
    return calendar.timegm(value.utctimetuple()) if isinstance(value, datetime) else None


def _number_map(mapping: dict | None) -> dict[str, int | float]:
    """``params``/``flag-thresholds``/weights: well-formed keys with numeric values only."""
    out: dict[str, int | float] = {}
    for key, value in sorted((mapping or {}).items())[:MAX_MAP]:
        if isinstance(value, (int, float)) and not isinstance(value, bool) and _KEY_RE.fullmatch(str(key)):
            out[key] = value
    return out


def _text_map(mapping: dict | None) -> dict[str, str]:
    """Bandwidth-file headers: well-formed keys, values as capped plain text."""
    return {k: clean_text(v) for k, v in sorted((mapping or {}).items())[:MAX_MAP] if _KEY_RE.fullmatch(str(k))}


def _versions(values: Iterable | None) -> list[str]:
    return [clean_text(v, 64) for v in (values or [])][:MAX_MAP]


def sha256_hex(b64_or_hex: str | None) -> str | None:
    """A sha256 digest given as base64 (tor's bandwidth-file-digest, CollecTor's index) → upper hex."""
    if not b64_or_hex:
        return None
    text = b64_or_hex.strip()
    if re.fullmatch(r"[0-9A-Fa-f]{64}", text):
        return text.upper()
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw.hex().upper() if len(raw) == 32 else None


def _num(text: str | None, kind):
    if text is None:
        return None
    try:
        return kind(float(text)) if kind is int else kind(text)
    except ValueError:
        return None
