"""The relay model: Onionoo details → sorted relay views and a network summary.

Every relay object is operator-influenced input, so each field is read with a
type check and a default: Onionoo omits empty keys, older documents lack keys
(2014: no ``version``, ``as_number`` instead of ``as``), and a malformed
object must cost one relay, never the page.  Relay views are plain dicts of
str/int/float/bool/None/lists so templates stay presentation only.

``build`` makes the model (and the network summary), ``view`` one relay's
view; the public names are re-exported here.
"""

from __future__ import annotations

from .build import (DOWNTIME_DAYS, ROLES, SUMMARY_FLAGS, TOP_RELAYS, build_relays, build_relays_from,
                    build_relays_lines, is_long_down, network_summary, RelayModel)
from .view import CAPS, MAX_FAMILY_IDS, MAX_HOST_NAMES, at_publication, current_state, relay_view

__all__ = ["DOWNTIME_DAYS", "ROLES", "SUMMARY_FLAGS", "TOP_RELAYS", "build_relays", "build_relays_from",
           "build_relays_lines", "is_long_down", "network_summary", "RelayModel", "CAPS", "MAX_FAMILY_IDS",
           "MAX_HOST_NAMES", "at_publication", "current_state", "relay_view"]
