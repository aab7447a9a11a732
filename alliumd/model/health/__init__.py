"""The network health dashboard: eleven cards of network-wide metrics.

Pure: computed once per input version from the relay model and the (optional)
uptime and bandwidth models; reference times come from the details document.
Figures cover running relays unless a row says otherwise.  Each card is plain
data (rows of label/value text, small tables, chart view models) so that the
template only lays it out.  Every pass over the relays is linear.

One module per card group: ``capacity`` (roles, bandwidth, uptime,
utilization), ``diversity`` (operators, geography, providers, versions,
platforms), ``policy`` (exit policies), ``growth`` (relay age and new
relays, validated stacks, Happy Families); ``dashboard`` groups them by
the sources they read, ``common`` holds what they share and ``relay`` one
relay's health status.  The public names are re-exported here.
"""

from __future__ import annotations

from .common import (COUNT_FLAGS, EU, EXIT_PORTS, FIVE_EYES, FOURTEEN_EYES, NEW_WINDOWS, RARE_COUNTRY_MAX,
                     TOP_AS_RATIOS, TOP_N, UNDERWEIGHTED, VERSION_STATUSES, os_family)
from .dashboard import assemble, details_cards, growth_card_of, uptime_card_of
from .capacity import capacity_card, roles_card, uptime_card, utilization_card
from .diversity import geography_card, operators_card, platforms_card, providers_card, versions_card
from .policy import allows, exit_policy_card, policy_ports
from .growth import growth_card, happy_families_card, new_relay_counts, validated_stack_card
from .relay import LOW_UPTIME, overload_view, relay_diagnostics

__all__ = ["COUNT_FLAGS", "EU", "EXIT_PORTS", "FIVE_EYES", "FOURTEEN_EYES", "NEW_WINDOWS", "RARE_COUNTRY_MAX",
           "TOP_AS_RATIOS", "TOP_N", "UNDERWEIGHTED", "VERSION_STATUSES", "os_family", "assemble", "details_cards",
           "growth_card_of", "uptime_card_of", "capacity_card", "roles_card", "uptime_card", "utilization_card",
           "geography_card", "operators_card", "platforms_card", "providers_card", "versions_card", "allows",
           "exit_policy_card", "policy_ports", "growth_card", "happy_families_card", "new_relay_counts",
           "validated_stack_card", "LOW_UPTIME", "overload_view", "relay_diagnostics"]
