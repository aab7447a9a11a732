"""One AROI validator result reduced to the summary entry of ``cache.validator`` (pure; fetchers/aroi calls it)."""

from __future__ import annotations

import re
from typing import Any

from ..core.domain import normalise_domain
from ..core.text import plain_text

ERROR_CHARS = 300                 # an error text kept per relay (the validator's are up to ~400)
_PROOF_RE = re.compile(r"[a-z0-9-]{1,40}")


def summary_entry(valid: bool, proof_type: Any, domain: Any, error: Any) -> dict[str, Any]:
    """One validator result reduced to what alliumd uses (shapes are checked by the fetcher)."""
    entry: dict[str, Any] = {"valid": valid}
    proof = proof_type.strip().lower() if isinstance(proof_type, str) else None
    if proof and _PROOF_RE.fullmatch(proof):
        entry["proof_type"] = proof
    host = normalise_domain(domain) if isinstance(domain, str) else None
    if host:
        entry["domain"] = host
    text = clean_error(error)
    if text:
        entry["error"] = text
    return entry


def clean_error(error: Any) -> str | None:
    """A validator error as plain, bounded text (it quotes operator domains and URLs: display only)."""
    if not isinstance(error, str):
        return None
    return plain_text(error, ERROR_CHARS, fold=True, ellipsis=True) or None
