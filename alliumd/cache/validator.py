"""The AROI validator summary format: what ``fetchers/aroi`` writes (via ``summaries.aroi``) and ``model.aroi`` reads.

The summary (``aroi.summary.json``, compact JSON)::

    {"format": 1, "source": "aroi", ["alliumd_sample": "…",]
     "metadata": {"timestamp": "<ISO 8601>", "total_relays", "valid_relays", "invalid_relays", "success_rate"},
     "statistics": {"dns_rsa": {"total", "valid", "success_rate"}, "uri_rsa": {…}, "no_proof": {"total"}},
     "results": {FINGERPRINT: {"valid": bool, ["proof_type": "uri-rsa",] ["domain": "example.org",]
                               ["error": "…"]}, …}}                          (sorted by fingerprint)

``metadata.timestamp`` keeps the validator's own key (cache.meta.document_time reads it without a meta);
metadata and statistics keep numbers only; a domain is kept only when it is a strict domain.
"""

from __future__ import annotations

import math
from typing import Any

from .names import AROI_SUMMARY_FORMAT

SOURCE = "aroi"
SUMMARY_FORMAT = AROI_SUMMARY_FORMAT


def numbers_only(obj: Any, depth: int = 2) -> dict[str, Any]:
    """A dict keeping only finite numbers (and, ``depth`` levels down, dicts of them)."""
    out: dict[str, Any] = {}
    if not isinstance(obj, dict):
        return out
    for key, value in list(obj.items())[:32]:
        if not isinstance(key, str) or len(key) > 40:
            continue
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            out[key] = value
        elif depth > 1 and isinstance(value, dict):
            out[key] = numbers_only(value, depth - 1)
    return out


def is_summary(doc: Any) -> bool:
    return (isinstance(doc, dict) and doc.get("source") == SOURCE and doc.get("format") == SUMMARY_FORMAT
            and isinstance(doc.get("results"), dict))
