"""allium's rarity scores for the leaderboards: countries, autonomous systems, veteran scaling (country_utils.py)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


EU_COUNTRIES = frozenset({"AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE",
                          "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE"})
_GEOPOLITICAL = (   # (points, countries): the first group a country is in counts
    (3, frozenset("SY YE AF MM SD SO LY IQ ML CF SS TD NI HT PK NG".split())),                 # conflict zones
    (3, frozenset("CN IR KP SA BY TM UZ LA VN CU ER AZ BH CM DJ GQ TJ EG".split())),           # not free
    (2, frozenset("MT CY IS MV FJ MG MU SC BB JM TT BH BN KI TV TO WS VU SB PW FM MH NR AG BS DM GD KN LC "
                  "VC CV".split())),                                                         # island nations
    (2, frozenset("AF BF BI CF TD KZ KG TJ TM UZ BT NP PY BO ML NE RW UG ZM ZW MW LS SZ AW".split())),
    (1, frozenset("DZ AO BJ BW CM CG CI EG ET GA GH GN KE LR LY MA MZ NA NG SN SL TZ TN ZA ZM ZW BD IN ID "
                  "LK MN PK PH TH VN AR BR CL CO EC PE UY VE MX GT HN SV CR PA DO JM AL BA MK MD ME".split())),
)
_REGIONAL = (
    (2, frozenset("DZ AO BJ BW BF BI CM CV CF TD KM CG CI DJ EG GQ ER ET GA GM GH GN GW KE LS LR LY MG MW ML "
                  "MR MU MA MZ NA NE NG RW ST SN SC SL SO ZA SS SD SZ TZ TG TN UG ZM ZW KZ KG TJ TM UZ FJ KI "
                  "MH FM NR PW PG WS SB TO TV VU".split())),                                  # underrepresented
    (1, frozenset("AG BS BB BZ DM DO GD GY HT JM KN LC VC SR TT CR SV GT HN NI PA BD BT MV NP LK BN KH LA MM "
                  "TL".split())),                                                             # emerging
)
RARE_COUNTRY_MIN_SCORE = 6


def _points(code: str, table) -> int:
    return next((points for points, members in table if code in members), 0)


def country_rarity(code: str, country_relays: int, network_relays: int) -> int:
    """allium's weighted rarity of a country (4·relay count + 3·network share + 2·geopolitics + region)."""
    count_factor = max(7 - country_relays, 0) if country_relays else 0
    share = country_relays * 100 / network_relays if network_relays else 100.0
    share_factor = 6 if share < 0.05 else 4 if share < 0.1 else 2 if share < 0.2 else 0
    return count_factor * 4 + share_factor * 3 + _points(code, _GEOPOLITICAL) * 2 + _points(code, _REGIONAL)


def rare_countries(country_counts: Counter, network_relays: int) -> frozenset[str]:
    """Upper-case codes of the network's countries that score as rare (≥ 6)."""
    return frozenset(code for code, n in country_counts.items()
                     if country_rarity(code, n, network_relays) >= RARE_COUNTRY_MIN_SCORE)


def as_rarity(cw_fraction: float, operators: int) -> int:
    """allium's AS rarity, 0–5: a small share of consensus weight (0–3) plus few operators there (0–2)."""
    pct = cw_fraction * 100
    base = 0 if pct >= 5.0 else 1 if pct >= 0.5 else 2 if pct >= 0.05 else 3 if pct > 0 else 0
    bonus = 0 if operators <= 0 else 2 if operators == 1 else 1 if operators <= 10 else 0
    return base + bonus


def as_rarity_scores(relays: list[dict[str, Any]], keys: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per AS id: {"score" (as_rarity), "fraction" (its relays' consensus weight fraction), "operators"}.

    One pass over the relays, once per build: the leaderboards' diversity
    score and every relay page's "AS rarity" read the same figures.
    """
    fraction: Counter = Counter()
    contacts: dict[str, set[str]] = {}
    for r in relays:
        k = keys[r["fingerprint"]]
        as_id = k["as"]
        if as_id:
            fraction[as_id] += r["consensus_weight_fraction"] or 0.0
            contacts.setdefault(as_id, set())
            if k["contact"]:
                contacts[as_id].add(k["contact"])
    return {a: {"score": as_rarity(fraction[a], len(contacts[a])), "fraction": fraction[a],
                "operators": len(contacts[a])} for a in fraction}


@dataclass
class AsRarityModel:
    """:func:`as_rarity_scores` of one build, and the AS groups it was computed from (for the next build)."""

    scores: dict[str, dict[str, Any]]
    groups: dict[str, Any] = field(default_factory=dict, repr=False)      # AS id → its group object


def as_rarity_model(by_fingerprint: dict[str, dict[str, Any]], groups: Any,
                    previous: AsRarityModel | None = None) -> AsRarityModel:
    """:func:`as_rarity_scores` per AS group of the groups model, keeping the previous entry of an AS whose
    group is the very same object (the groups model shares a group none of whose relays came, went or
    changed: same members, same views, same contact ids), so a new document costs the ASes it touched.

    A group lists its members in relay-model order, so a weight fraction is summed in the same order as
    :func:`as_rarity_scores` sums it: the same float.
    """
    keys = groups.relay_keys
    old_scores, old_groups = (previous.scores, previous.groups) if previous is not None else ({}, {})
    scores: dict[str, dict[str, Any]] = {}
    for as_id, group in groups.groups["as"].items():
        if not as_id:
            continue
        if old_groups.get(as_id) is group:
            scores[as_id] = old_scores[as_id]
            continue
        fraction = sum(by_fingerprint[fp]["consensus_weight_fraction"] or 0.0 for fp in group.fingerprints)
        operators = len({c for fp in group.fingerprints if (c := keys[fp]["contact"])})
        scores[as_id] = {"score": as_rarity(fraction, operators), "fraction": fraction, "operators": operators}
    return AsRarityModel(scores, {as_id: groups.groups["as"][as_id] for as_id in scores})


def veteran_factor(relays: int) -> float:
    """allium's scaling of veteran days by operator size."""
    for minimum, factor in ((300, 1.3), (200, 1.25), (100, 1.2), (50, 1.15), (20, 1.1), (10, 1.05)):
        if relays >= minimum:
            return factor
    return 1.0
