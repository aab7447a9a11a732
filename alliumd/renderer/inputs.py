"""Cache files as render inputs: signatures, content hashes, parsed documents.

A signature (inode, size, mtime_ns) is cheap to read and changes on every
atomic publish; only when it changes is the file hashed, and only when the
hash changes is the input considered changed (early cutoff: a republished
identical file renders nothing).
"""

from __future__ import annotations

import calendar
import hashlib
import json
import os
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..fetchers.onionoo import SAMPLE_KEY


def signature(path: Path) -> list[int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return [st.st_ino, st.st_size, st.st_mtime_ns]


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def load_document(path: Path) -> Any:
    with open(path, "rb") as f:
        return json.load(f)


def document_time(doc: Any) -> float | None:
    """When the upstream published this document, if it says (Onionoo or AROI validator)."""
    if not isinstance(doc, dict):
        return None
    value = doc.get("relays_published")
    if isinstance(value, str):
        try:
            return float(calendar.timegm(time.strptime(value, "%Y-%m-%d %H:%M:%S")))
        except ValueError:
            return None
    meta = doc.get("metadata")
    if isinstance(meta, dict) and isinstance(meta.get("timestamp"), str):
        try:
            dt = datetime.fromisoformat(meta["timestamp"])
        except ValueError:
            return None
        return (dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)).timestamp()
    return None


def is_sample(doc: Any) -> bool:
    return isinstance(doc, dict) and SAMPLE_KEY in doc
