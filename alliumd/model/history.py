"""Reading the graph-history summaries (``cache.graphs``) into model entries, relay by relay."""

from __future__ import annotations

import hashlib
from typing import Any, Callable, Iterable, Iterator

from .. import paths
from ..cache.graphs import (FLAG_PRIORITY, PERIOD_KEYS, decode_scaled, is_summary,  # noqa: F401  (readers' names)
                            series_last)
from ..core.gcpause import gc_paused
from ..core.jsonx import dumps, loads


def relay_items(relays: Any) -> Iterator[tuple[str, str]]:
    """A parsed summary's ``relays`` object as (fingerprint, relay JSON) pairs, as the renderer reads lines."""
    if not isinstance(relays, dict):
        return
    for fp, relay in relays.items():
        yield fp, dumps(relay).decode("utf-8")


def build_entries(items: Iterable[tuple[str, str]], previous: dict[str, dict[str, Any]],
                  build: Callable[[str], dict[str, Any] | None]) -> dict[str, dict[str, Any]]:
    """Fingerprint → model entry, built from (fingerprint, relay summary JSON) pairs.

    A relay whose summary text is the same as in ``previous`` (same digest)
    keeps its entry object: unchanged relays are recognised downstream by
    identity and cost no parse here.  Entries without a valid fingerprint,
    or that ``build`` rejects (None), are left out.  Each entry carries its
    summary text (``"series_json"``, read by :func:`series_summary`) and its ``"digest"``.
    """
    relays = {}
    shared: dict[tuple, Any] = {}
    with gc_paused():
        for fp, raw in items:
            data = raw.encode("utf-8")
            digest = hashlib.blake2b(data, digest_size=16).hexdigest()
            old = previous.get(fp)
            if old is not None and old["digest"] == digest:
                relays[fp] = old
                continue
            entry = build(raw) if paths.is_fingerprint(fp) else None
            if entry is not None:
                entry["series_json"] = raw
                entry["digest"] = digest
                relays[fp] = _share(entry, shared)
    return relays


SHARED_COUNTS = ("points", "read_points")      # {period: points}: most relays have the same


def _share(entry: dict[str, Any], shared: dict[tuple, Any]) -> dict[str, Any]:
    """One object per equal point-count dict and per equal flag-uptime list in one build (entries are
    never modified once built): ~12 flags per relay made those lists a third of the uptime model."""
    for key in SHARED_COUNTS:
        counts = entry.get(key)
        if isinstance(counts, dict):
            entry[key] = shared.setdefault(tuple(counts.items()), counts)
    flags = entry.get("flags")
    if isinstance(flags, dict):
        entry["flags"] = {flag: shared.setdefault(tuple(values), values) for flag, values in flags.items()}
    return entry


def series_summary(entry: Any) -> Any:
    """The parsed summary of a model entry (its chart series), or None when it has none.

    A relay's summary text is kept only for its charts, which a relay page
    draws once per change: parsing it is left to the page (a render worker).
    Kept as it came, not zlib-packed as before: on network-10k packing cost
    the renderer 0.75 s and the workers 0.27 s of CPU per cold build, for
    14 MB (30 MB of text instead of 16 MB packed).
    """
    text = series_text(entry)
    if text is None:
        return None
    try:
        return loads(text)
    except ValueError:
        return None


def series_text(entry: Any) -> str | None:
    """A model entry's summary text (what its chart series are parsed from), or None without one."""
    text = entry.get("series_json") if isinstance(entry, dict) else None
    return text if isinstance(text, str) else None
