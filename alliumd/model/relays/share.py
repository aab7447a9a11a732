"""One object per distinct value across the relay views of one model build.

Ten thousand relay views repeat most of their values: a family's member
list names the same fingerprints in every member's view, thousands of
relays have the same exit policy, flags, country, AS, platform or bandwidth
text, and most lists are empty.  Parsed from JSON, each is its own object:
the views of network-10k held 78 MB, 32 MB with their values shared.
Values are only ever read (views are plain data for templates, and a
changed relay gets a new view), so equal values can be one object; the
pages do not change by a byte.  The table lives for one build: a long-running
renderer must not accumulate every value it ever saw.
"""

from __future__ import annotations

from typing import Any

from ...core.canonical import Canonical

# the view keys (model/relays/view.py) whose values are strings (or None) …
STRINGS = (
    "fingerprint", "nickname", "flags_text", "contact", "primary_address", "dir_address",
    "role", "country", "country_code", "country_name", "as_number", "as_name", "region_name",
    "city_name", "coordinates_text", "bandwidth_rate_text", "bandwidth_burst_text",
    "observed_bandwidth_text", "advertised_bandwidth_text", "consensus_weight_fraction_text",
    "guard_probability_text", "middle_probability_text", "exit_probability_text", "platform", "os",
    "version", "version_status", "exit_policy_summary", "exit_policy_v6_summary", "first_seen",
    "first_seen_ago", "first_seen_date", "last_seen", "last_seen_ago", "last_restarted",
    "last_restarted_ago", "last_changed_address_or_port", "last_changed_address_or_port_ago", "state",
    "state_since", "state_duration", "overload_general",
)
# … and lists of strings
LISTS = (
    "flags", "roles", "verified_host_names", "or_addresses", "ipv4_addresses", "ipv6_addresses",
    "exit_addresses", "unreachable_or_addresses", "family", "alleged_family", "indirect_family",
    "family_ids", "exit_policy",
)


class Shared(Canonical):
    """The canonical objects of one build: ``share(view)`` swaps each value for its canonical equal."""

    def share(self, view: dict[str, Any]) -> dict[str, Any]:
        text, string_list = self.text, self.string_list
        for key in STRINGS:
            value = view[key]
            if value is not None:
                view[key] = text(value)
        for key in LISTS:
            view[key] = string_list(view[key])        # view.py builds these lists of strings only
        return view
