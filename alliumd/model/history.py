"""Reading the graph-history summaries (``cache.graphs``) into model entries, relay by relay."""

from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator

from .. import paths
from ..cache.graphs import (FLAG_PRIORITY, PERIOD_KEYS, decode_scaled, is_summary,  # noqa: F401  (readers' names)
                            series_last)
from ..core.gcpause import gc_paused
from ..core.jsonx import dumps


def relay_items(relays: Any) -> Iterator[tuple[str, str]]:
    """A parsed summary's ``relays`` object as (fingerprint, relay JSON) pairs, as the renderer reads lines."""
    if not isinstance(relays, dict):
        return
    for fp, relay in relays.items():
        yield fp, dumps(relay).decode("utf-8")


def build_entries(items: Iterable[tuple[str, str]], previous: dict[str, dict[str, Any]],
                  build: Callable[[str], dict[str, Any] | None]) -> dict[str, dict[str, Any]]:
    """Fingerprint → model entry, built from (fingerprint, relay summary JSON) pairs.

    A relay whose summary text equals its text in ``previous`` keeps its
    entry object: unchanged relays are recognised downstream by identity and
    cost no parse here.  Entries without a valid fingerprint, or that
    ``build`` rejects (None), are left out.
    """
    relays = {}
    with gc_paused():
        for fp, raw in items:
            old = previous.get(fp)
            if old is not None and old["raw"] == raw:
                relays[fp] = old
                continue
            entry = build(raw) if paths.is_fingerprint(fp) else None
            if entry is not None:
                relays[fp] = entry
    return relays
