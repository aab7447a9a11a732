"""A relay's consensus evaluation: what every directory authority voted, and why (pure).

Input is the ``collector`` summary (alliumd.summaries.votes): a per-authority
header (flag thresholds, known flags) and one vote-matrix row per relay.
The work is split so that relay pages stay cheap to keep fresh:

* :func:`build_context` runs once per summary and keeps what every relay's
  evaluation shares (authorities, their thresholds, the majority), with a
  digest of it;
* :func:`relay_row` picks one relay's row (plain lists, a few hundred
  bytes): with the context it is the relay page's share of the vote data
  (and so of its derived page key), so a new summary re-renders only relays whose row changed
  (or every relay when the shared context did, e.g. new thresholds);
* :func:`evaluate` turns a context and a row into the plain view the
  relay page shows; it runs in a render worker, for changed pages only.

Rules (tor's dirauth code, voteflags.c / dirvote.c, as allium summarises them in its
consensus evaluation; bandwidths in votes are kB/s, thresholds bytes/s):

* a relay is in the consensus if more than half of the voting authorities
  list it: ``floor(n/2)+1`` of ``n`` voters (the consensus's dir-sources);
* a flag is in the consensus if more than half of the authorities that list
  the relay *and* vote on that flag (its known-flags) assign it;
* Fast: bandwidth ≥ ``fast-speed``; the bandwidth is the authority's
  measurement when it has one, else the self-reported one, else 0 when the
  authority ignores advertised bandwidths (``ignoring-advertised-bws=1``);
* Stable: MTBF ≥ ``stable-mtbf`` or ≥ 5 days (tor's guarantee);
* Guard: Fast, Stable, V2Dir, bandwidth ≥ 2 MB/s (AuthDirGuardBWGuarantee)
  or ≥ min(``guard-bw-inc-exits``, ``guard-bw-exc-exits``), WFU ≥
  ``guard-wfu`` and time known ≥ ``guard-tk``;
* HSDir: Stable, Fast, V2Dir; tor also needs an uptime of
  MinUptimeHidServDirectoryV2, which votes do not carry: allium's stand-in
  (WFU ≥ 98 %, time known ≥ 25 h) is checked and labelled an estimate.

WFU/TK/MTBF come from a vote's ``stats`` lines; votes without them (all
votes before tor 0.4.x) leave those requirements "unknown", never failed.
Everything returned is plain data; text that came from the votes
(nicknames) is escaped by the templates like any other value.

``checks`` holds the rules, ``context`` the shared context and a relay's
cells, ``view`` the relay view (``evaluate``); the public names are re-exported here.
"""

from __future__ import annotations

from .checks import (CHECKED_FLAGS, DESCRIPTOR_OLD, GUARD_BW_GUARANTEE, HSDIR_TK, HSDIR_WFU, MIN_MEASUREMENTS,
                     MTBF_GUARANTEE_STABLE, NO, SHOWN_FLAGS, UNKNOWN, VOTE_BW_UNIT, YES, Check, check_reason,
                     check_text, credible_bandwidth, requirements)
from .context import build_context, relay_row
from .context import _valid_after_epoch  # noqa: F401  (tests)
from .view import diagnostics, evaluate, unavailable

__all__ = ["CHECKED_FLAGS", "DESCRIPTOR_OLD", "GUARD_BW_GUARANTEE", "HSDIR_TK", "HSDIR_WFU", "MIN_MEASUREMENTS",
           "MTBF_GUARANTEE_STABLE", "NO", "SHOWN_FLAGS", "UNKNOWN", "VOTE_BW_UNIT", "YES", "Check", "check_reason",
           "check_text", "credible_bandwidth", "requirements", "build_context", "relay_row", "diagnostics",
           "evaluate", "unavailable"]
