"""Bandwidth files: which one a vote used (a header scan) and the file itself reduced to per-relay cells."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from .common import (BANDWIDTH_TYPE, InvalidStatus, _BW_ERROR_KEYS, _HEX40_RE, _num, _stem, _text_map,
                     clean_text, sha256_hex)


# -- vote header scan (before the full parse: which bandwidth file does a vote use?) ------

@dataclass(frozen=True)
class BandwidthRef:
    """How a vote names its bandwidth file: the file's sha256 and/or its creation time."""

    sha256: str | None
    times: tuple[str, ...]          # "YYYY-MM-DD-HH-MM-SS" candidates (file_created, timestamp)


def bandwidth_reference(head: bytes) -> BandwidthRef | None:
    """Scan a vote's header lines (no full parse) for ``bandwidth-file-digest``/``-headers``."""
    sha = None
    times: list[str] = []
    for raw in head.split(b"\n"):
        if raw.startswith((b"dir-source ", b"r ")):
            break
        line = raw.decode("ascii", "replace").strip()
        if line.startswith("bandwidth-file-digest "):
            for item in line.split()[1:]:
                if item.startswith("sha256="):
                    sha = sha256_hex(item[7:])
        elif line.startswith("bandwidth-file-headers"):
            values = dict(item.split("=", 1) for item in line.split()[1:] if "=" in item)
            created = values.get("file_created", "")
            if re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", created):
                times.append(created.replace("T", "-").replace(":", "-"))
            stamp = values.get("timestamp", "")
            if stamp.isdigit() and len(stamp) <= 11:
                times.append(datetime.fromtimestamp(int(stamp), timezone.utc).strftime("%Y-%m-%d-%H-%M-%S"))
    return BandwidthRef(sha, tuple(times)) if sha or times else None


# -- bandwidth files ----------------------------------------------------------------------

@dataclass
class BandwidthDoc:
    info: dict[str, Any]
    relays: dict[str, tuple]        # fingerprint → bandwidth cell


def parse_bandwidth_file(data: bytes) -> BandwidthDoc:
    """A bandwidth file v1.0 (Torflow) … v1.4+ (sbws), with or without CollecTor's @type line."""
    _, parse_file = _stem()
    try:
        doc = next(parse_file(io.BytesIO(data), descriptor_type=BANDWIDTH_TYPE, validate=True), None)
    except (ValueError, TypeError, KeyError, AttributeError, IndexError) as e:
        raise InvalidStatus(f"unparseable bandwidth file: {clean_text(e, 160)}") from None
    if doc is None or not isinstance(doc.timestamp, datetime):
        raise InvalidStatus("not a bandwidth file (no timestamp line)")
    relays: dict[str, tuple] = {}
    excluded = 0
    for fp, values in (doc.measurements or {}).items():
        fp = str(fp).upper().lstrip("$")
        if not _HEX40_RE.fullmatch(fp):
            raise InvalidStatus(f"bandwidth line with an invalid node_id: {clean_text(fp, 50)!r}")
        bw = _num(values.get("bw"), int)
        if bw is None:
            raise InvalidStatus(f"bandwidth line for {fp} without bw=")
        if values.get("vote") == "0":
            status = 2 if values.get("under_min_report") == "1" else 1 if values.get("unmeasured") == "1" else 3
            excluded += 1
        else:
            status = 0
        errors = [_num(values.get(k), int) for k in _BW_ERROR_KEYS if k in values]
        relays[fp] = (bw, status, _num(values.get("success"), int),
                      sum(e for e in errors if e is not None) if errors else None)
    if not relays:
        raise InvalidStatus("bandwidth file has no relay lines")
    header = doc.header or {}
    created = header.get("file_created") or doc.timestamp.strftime("%Y-%m-%dT%H:%M:%S")
    info = {"version": clean_text(doc.version, 16), "created": clean_text(created, 32),
            "software": clean_text(doc.software or ("torflow" if doc.version == "1.0.0" else None), 32),
            "software_version": clean_text(doc.software_version, 32),
            "headers": _text_map(header), "relays": len(relays), "excluded": excluded}
    return BandwidthDoc(info, relays)
