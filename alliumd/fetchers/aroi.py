"""The AROI validator's ``latest.json``: what a publishable document is, and its compact summary.

The validator (aroivalidator.1aeo.com) publishes one result per relay it
checked (its ``latest.json``).  A document is refused unless it has ``metadata``
with an ISO 8601 ``timestamp``, a ``statistics`` object and a non-empty
``results`` list whose every entry has a 40-hex ``fingerprint``, a boolean
``valid`` and ``proof_type``/``domain``/``error`` that are strings or null:
an empty or broken answer would turn every operator "unknown".  The
renderer reads only the summary (``cache/validator.py`` defines it, ``summaries/aroi.py`` reduces a result): per
fingerprint the verdict, proof type, strict domain and a bounded error text
(~1 MB for the whole network instead of ~3.7 MB with every validation step).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..cache.names import SAMPLE_KEY
from ..cache import validator
from ..core.timefmt import parse_iso_time
from ..summaries.aroi import summary_entry
from . import DocInfo, InvalidDocument, load_json

SUMMARY_FORMAT = validator.SUMMARY_FORMAT
OPTIONAL_TEXT = ("proof_type", "domain", "error")


def validate(path: Path) -> DocInfo:
    return validate_doc(load_json(path))


def validate_doc(doc: Any) -> DocInfo:
    if not isinstance(doc, dict):
        raise InvalidDocument("top level is not a JSON object")
    for key, kind in (("metadata", dict), ("statistics", dict), ("results", list)):
        if not isinstance(doc.get(key), kind):
            raise InvalidDocument(f"'{key}' missing or not {'a list' if kind is list else 'an object'}")
    stamp = doc["metadata"].get("timestamp")
    when = parse_iso_time(stamp) if isinstance(stamp, str) else None
    if when is None:
        raise InvalidDocument(f"metadata.timestamp is not an ISO 8601 time: {str(stamp)[:40]!r}")
    results = doc["results"]
    if not results:
        raise InvalidDocument("'results' is empty")
    entries: dict[str, dict[str, Any]] = {}
    for i, result in enumerate(results):
        fp, entry = _result(result, i)
        entries.setdefault(fp, entry)              # a duplicate keeps the first result
    head: dict[str, Any] = {"format": SUMMARY_FORMAT, "source": validator.SOURCE}
    if isinstance(doc.get(SAMPLE_KEY), str):
        head[SAMPLE_KEY] = doc[SAMPLE_KEY]
    head["metadata"] = {"timestamp": stamp, **validator.numbers_only(doc["metadata"], depth=1)}
    head["statistics"] = validator.numbers_only(doc["statistics"], depth=3)
    head["results"] = dict(sorted(entries.items()))
    summary = json.dumps(head, separators=(",", ":")).encode("ascii")     # ASCII: no lone surrogate survives
    return DocInfo(data_time=when.timestamp(), items=len(entries), is_sample=SAMPLE_KEY in doc,
                   summary=summary)


def _result(result: Any, index: int) -> tuple[str, dict[str, Any]]:
    """Check one result's shape; return its fingerprint and summary entry."""
    if not isinstance(result, dict):
        raise InvalidDocument(f"results[{index}] is not an object")
    fp = result.get("fingerprint")
    fp = fp.upper() if isinstance(fp, str) else fp
    if not isinstance(fp, str) or len(fp) != 40 or any(c not in "0123456789ABCDEF" for c in fp):
        raise InvalidDocument(f"results[{index}] has no valid 40-hex fingerprint: {str(fp)[:50]!r}")
    if not isinstance(result.get("valid"), bool):
        raise InvalidDocument(f"results[{index}] ({fp}): 'valid' is not a boolean")
    for key in OPTIONAL_TEXT:
        value = result.get(key)
        if value is not None and not isinstance(value, str):
            raise InvalidDocument(f"results[{index}] ({fp}): '{key}' is neither a string nor null")
    return fp, summary_entry(result["valid"], result.get("proof_type"), result.get("domain"), result.get("error"))
