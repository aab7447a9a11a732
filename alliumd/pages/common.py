"""What every page module shares: source names, output paths, model access.

Paths are built from constants and validated fingerprints only, so no
operator-controlled string ever chooses where a page lands.  Views hold plain
data (dicts, lists, str, int, bool); templates turn them into HTML.
"""

from __future__ import annotations

from ..model.relays import RelayModel
from ..renderer.registry import RenderInputs

DETAILS = "onionoo_details"
UPTIME = "onionoo_uptime"
BANDWIDTH = "onionoo_bandwidth"
DETAILS_ONLY = frozenset({DETAILS})

INDEX_PATH = "index.html"
RELAYS_ALL_PATH = "relays/all.html"
STATUS_PATH = "status.html"
STYLE_PATH = "static/style.css"


def relay_path(fingerprint: str) -> str:
    return f"relay/{fingerprint}/index.html"


def relays(inputs: RenderInputs) -> RelayModel:
    return inputs.model("relays")
