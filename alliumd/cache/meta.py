"""The data time of a render file, stored by the fetcher beside it (``<render file>.meta``).

The fetcher knows when the upstream published a document (it validated it);
the renderer needs that time for the page chrome and staleness.  So the
fetcher writes ``{"sha256", "data_time", "sample"}`` next to the render file
*before* publishing the render file, and the renderer trusts it only for the
file whose sha256 it names: a render file replaced meanwhile is described
again once its own meta is there (it always is by the time the new file is).

A render file without a matching meta was not published by a fetcher of
this version (a cache from before it, which a fetcher's start-up describes
again, or a document a tool copied in): :func:`describe` then parses the
whole document once and reads its envelope (``relays_published`` or the
validator's ``metadata.timestamp``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import atomic
from ..core.timefmt import onionoo_epoch, parse_iso_time
from .files import load_document
from .names import SAMPLE_KEY, meta_file


@dataclass(frozen=True)
class Described:
    data_time: float | None         # when the upstream published the data (epoch), if it says
    sample: bool                    # the bundled sample, not real data


def write(render_path: Path, sha256: str, data_time: float | None, sample: bool) -> None:
    """Record what the render file with ``sha256`` is; call before publishing that file."""
    body = json.dumps({"sha256": sha256, "data_time": data_time, "sample": bool(sample)}, sort_keys=True)
    atomic.write_bytes(render_path.with_name(meta_file(render_path.name)), body.encode(), fsync=False)


def read(render_path: Path, sha256: str) -> Described | None:
    """What the fetcher recorded for the render file with ``sha256``; None if it recorded nothing for it."""
    try:
        with open(render_path.with_name(meta_file(render_path.name)), "rb") as f:
            meta = json.loads(f.read(4096))
    except (OSError, ValueError):
        return None
    if not isinstance(meta, dict) or meta.get("sha256") != sha256:
        return None
    data_time = meta.get("data_time")
    if data_time is not None and (not isinstance(data_time, (int, float)) or isinstance(data_time, bool)):
        return None
    return Described(float(data_time) if data_time is not None else None, meta.get("sample") is True)


def describe(render_path: Path, sha256: str) -> Described | None:
    """The render file's data time and sample flag; None when it is not a readable document."""
    recorded = read(render_path, sha256)
    if recorded is not None:
        return recorded
    try:
        doc = load_document(render_path)
    except (ValueError, OSError):
        return None
    return Described(document_time(doc), is_sample(doc))


def document_time(doc: Any) -> float | None:
    """When the upstream published a document, from its envelope (Onionoo, a summary, or AROI validator)."""
    if not isinstance(doc, dict):
        return None
    value = doc.get("relays_published")
    if isinstance(value, str):
        return onionoo_epoch(value)
    meta = doc.get("metadata")
    if isinstance(meta, dict) and isinstance(meta.get("timestamp"), str):
        when = parse_iso_time(meta["timestamp"])
        return when.timestamp() if when is not None else None
    return None


def is_sample(doc: Any) -> bool:
    return isinstance(doc, dict) and SAMPLE_KEY in doc
