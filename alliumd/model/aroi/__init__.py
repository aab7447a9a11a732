"""AROI: the validator's answers, each relay's and operator's validation status, and the leaderboards.

Three pure models, each computed once per version of its inputs (one
module each, re-exported here):

* ``build_validator(doc)`` reads the compact summary the ``aroi`` fetcher
  publishes (its format: ``cache.validator``) — ``status``;
* ``build_aroi(relays, groups, validator)`` classifies every relay and every
  operator (contact group) the way allium does: validated, unauthorized
  (the proof does not list the relay), misconfigured (DNS/TLS/HTTP trouble),
  incomplete (one or two AROI fields missing), not configured (none) — and
  "unknown" when the relay has a complete AROI setup but the validator has
  no (current) answer for it, where allium said "misconfigured" — ``status``,
  with the contact-page and health-card views in ``views``;
* ``build_leaderboards(...)`` ranks operators in allium's 19 categories
  (``aroileaders._rank_operators``), keeping the top 50 of each —
  ``leaderboards``, from the per-operator figures of ``metrics`` and the
  rarity scores of ``rarity``.

Operator-controlled text never leaves this package unbounded: domains are
strict (``identity.normalise_domain``), error texts are cleaned and cut,
and the reasons shown in summaries come from a fixed vocabulary.  Nothing
here reads the clock: ages are measured from the details document's own
``relays_published``.
"""

from __future__ import annotations

from ...cache.validator import SOURCE, SUMMARY_FORMAT, is_summary, numbers_only
from .status import (INCOMPLETE, JUDGED, MISCONFIGURED, NOT_CONFIGURED, PROOF_LABELS, STATUSES, TOP_REASONS,
                     UNAUTHORIZED, UNKNOWN, VALIDATED, AroiModel, build_aroi, build_validator, classify, error_reason,
                     is_unauthorized, network_summary, operator_status, relay_status, top_reasons, ValidatorModel)
from .views import STATUS_LABELS, health_card, operator_view
from .rarity import (EU_COUNTRIES, RARE_COUNTRY_MIN_SCORE, AsRarityModel, as_rarity, as_rarity_model,
                     as_rarity_scores, country_rarity,
                     rare_countries, veteran_factor)
from .metrics import SERVED_MIN_POINTS, build_operator_metrics, OperatorMetrics, served_rate
from .leaderboards import (BIG_OPERATOR, CATEGORIES, CATEGORY_BY_KEY, CHAMPIONS, ENTRY_FIELDS, TOP_KEPT, badge,
                           build_leaderboards, Category, entry, leaderboard_overview, LeaderboardModel, rank)

__all__ = ["SOURCE", "SUMMARY_FORMAT", "is_summary", "numbers_only", "INCOMPLETE", "JUDGED", "MISCONFIGURED",
           "NOT_CONFIGURED", "PROOF_LABELS", "STATUSES", "TOP_REASONS", "UNAUTHORIZED", "UNKNOWN", "VALIDATED",
           "AroiModel", "build_aroi", "build_validator", "classify", "error_reason", "is_unauthorized",
           "network_summary", "operator_status", "relay_status", "top_reasons", "ValidatorModel", "STATUS_LABELS",
           "health_card", "operator_view", "EU_COUNTRIES", "RARE_COUNTRY_MIN_SCORE", "as_rarity", "as_rarity_scores",
           "AsRarityModel", "as_rarity_model",
           "country_rarity", "rare_countries", "veteran_factor", "SERVED_MIN_POINTS", "build_operator_metrics",
           "OperatorMetrics", "served_rate", "BIG_OPERATOR", "CATEGORIES", "CATEGORY_BY_KEY", "CHAMPIONS",
           "ENTRY_FIELDS", "TOP_KEPT", "badge", "build_leaderboards", "Category", "entry", "leaderboard_overview",
           "LeaderboardModel", "rank"]
