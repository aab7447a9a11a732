"""The overview, the all-relays table and one page per relay (from Onionoo details)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..model import format as fmt
from ..renderer.registry import Page, PageFamily, RenderInputs
from .common import DETAILS_ONLY, INDEX_PATH, RELAYS_ALL_PATH, relay_path, relays as _relays


def expand_index(inputs: RenderInputs) -> Iterator[Page]:
    model = _relays(inputs)
    yield Page(INDEX_PATH, "index.mako", {"published": model.published, "summary": model.summary})


def expand_relays_all(inputs: RenderInputs) -> Iterator[Page]:
    model = _relays(inputs)
    yield Page(RELAYS_ALL_PATH, "relays_all.mako", {
        "published": model.published,
        "relays": model.relays,
        "count": fmt.count(len(model.relays)),
    })


def expand_relay(inputs: RenderInputs) -> Iterator[Page]:
    model = _relays(inputs)
    for relay in model.relays:
        yield Page(relay_path(relay["fingerprint"]), "relay.mako", {
            "published": model.published,
            "relay": relay,
            "family": family_members(relay, model.by_fingerprint),
        })


def family_members(relay: dict[str, Any], by_fingerprint: dict[str, dict]) -> list[dict[str, Any]]:
    """Family members with their nickname when they have a page, bare fingerprint otherwise."""
    members = []
    for fp in relay["family"]:
        other = by_fingerprint.get(fp)
        members.append({"fingerprint": fp, "present": other is not None,
                        "nickname": other["nickname"] if other else None})
    return members


FAMILIES = [
    PageFamily("index", DETAILS_ONLY, expand_index, required=DETAILS_ONLY, description="network overview"),
    PageFamily("relays_all", DETAILS_ONLY, expand_relays_all, required=DETAILS_ONLY,
               description="table of all relays"),
    PageFamily("relay", DETAILS_ONLY, expand_relay, required=DETAILS_ONLY, description="one page per relay"),
]
