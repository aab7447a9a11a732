"""Relay groupings: family, AS, contact, country, platform, flag and first-seen day.

Built once per details version in a single pass over the relay model (plus
one walk over effective families), so every group page, every sorted
listing and the search index read the same precomputed aggregates.

What allium got wrong and this fixes:

* one family is one group (the connected set of relays that list each other
  in ``effective_family``), named by ``identity.family_id``; allium made one
  near-identical page per member fingerprint;
* a declaration counts only when it is mutual, so a relay cannot join
  somebody else's family by listing it;
* contacts are grouped by strictly validated AROI domain, else by hash;
* aggregate figures (roles, bandwidth, weight, probabilities) cover running
  relays only, like the network overview; listed-but-down relays stay in the
  relay table.

The package: ``common`` (kinds, listing words, ``clean_text``), ``keys``
(each relay's group ids, mutual families), ``model`` (memberships and
aggregates, incremental updates), ``glance`` (uptime and data at a
glance) and ``views`` (a group's figures, sorted listings); the public
names are re-exported here.

Everything operator-controlled that reaches a view goes through
``clean_text`` (no control characters, no lone surrogates, bounded length),
so pages and JSON stay valid whatever the document holds.
"""

from __future__ import annotations

from .common import CONTACT_TEXT_LIMIT, KINDS, LABEL_LIMIT, LIST_KINDS, LIST_TITLES, ROLES, clean_text
from .keys import contact_group_id, family_ids, relay_group_keys, relay_row
from .model import INCREMENTAL_LIMIT, build_groups, Group, group_label, GroupsModel, most_common
from .glance import (UPTIME_CHART_LIMIT, UPTIME_CHART_TITLE, data_size, history_row, history_rows, history_summary,
                     HistoryRows, relay_total_data, relay_uptime, rows_with_history, uptime_chart, uptime_text,
                     uptime_value)
from .views import VARIANT_BY_NAME, VARIANTS, contact_texts, group_total_data, sorted_groups, summary, Variant

__all__ = ["CONTACT_TEXT_LIMIT", "KINDS", "LABEL_LIMIT", "LIST_KINDS", "LIST_TITLES", "ROLES", "clean_text",
           "contact_group_id", "family_ids", "relay_group_keys", "relay_row", "INCREMENTAL_LIMIT", "build_groups",
           "Group", "group_label", "GroupsModel", "most_common", "UPTIME_CHART_LIMIT", "UPTIME_CHART_TITLE",
           "data_size", "history_row", "history_rows", "history_summary", "HistoryRows", "relay_total_data",
           "relay_uptime", "rows_with_history", "uptime_chart", "uptime_text", "uptime_value", "VARIANT_BY_NAME",
           "VARIANTS", "contact_texts", "group_total_data", "sorted_groups", "summary", "Variant"]
