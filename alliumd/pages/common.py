"""What every page module shares: source names, output paths, model access.

Paths are built from constants and validated fingerprints only, so no
operator-controlled string ever chooses where a page lands.  Views hold plain
data (dicts, lists, str, int, bool); templates turn them into HTML.
"""

from __future__ import annotations

from ..model.relays import RelayModel
from .registry import RenderInputs

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


# -- entity and listing paths (the site's URL interface; keep them stable) --------------
# Each takes an identifier produced by alliumd.model.identity, which is path-safe.

def relay_json_path(fingerprint: str) -> str:
    return f"relay/{fingerprint}/index.json"


def contact_path(contact_id: str) -> str:
    return f"contact/{contact_id}/index.html"


def family_path(family_id: str) -> str:
    return f"family/{family_id}/index.html"


def as_path(as_id: str) -> str:
    return f"as/{as_id}/index.html"


def country_path(country_id: str) -> str:
    return f"country/{country_id}/index.html"


def platform_path(platform_id: str) -> str:
    return f"platform/{platform_id}/index.html"


def flag_path(flag_id: str) -> str:
    return f"flag/{flag_id}/index.html"


def first_seen_path(date_id: str) -> str:
    return f"first-seen/{date_id}/index.html"


def entity_json_path(html_path: str) -> str:
    """``contact/x/index.html`` → ``contact/x/index.json`` (the page's view model as JSON)."""
    return html_path[: -len(".html")] + ".json"


FEED_NAME = "events.atom"       # next to a relay, contact or family page: its events as Atom
METRICS_NAME = "metrics.txt"    # next to a relay or contact page: its external view, OpenMetrics


def beside(html_path: str, name: str) -> str:
    """``relay/FP/index.html`` → ``relay/FP/<name>``: a file in the directory of an entity page."""
    return html_path.rpartition("/")[0] + "/" + name


def relay_feed_path(fp: str) -> str:
    return beside(relay_path(fp), FEED_NAME)


def contact_feed_path(contact_id: str) -> str:
    return beside(contact_path(contact_id), FEED_NAME)


def family_feed_path(family_id: str) -> str:
    return beside(family_path(family_id), FEED_NAME)


def relay_metrics_path(fp: str) -> str:
    return beside(relay_path(fp), METRICS_NAME)


def contact_metrics_path(contact_id: str) -> str:
    return beside(contact_path(contact_id), METRICS_NAME)


def list_path(kind: str, variant: str) -> str:
    return f"lists/{kind}-by-{variant}.html"


TOP_PATH = "relays/top.html"
HEALTH_PATH = "network-health.html"
SEARCH_PATH = "search.html"
SEARCH_INDEX_PATH = "search-index.json"
