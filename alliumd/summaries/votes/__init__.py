"""Directory-authority votes, the consensus and bandwidth files → one compact summary (pure).

The ``collector`` source downloads the latest consensus, the latest vote of
every authority and the bandwidth file each bandwidth authority voted from;
this module turns their bytes into the one document the renderer reads, so
the pages never see raw votes (allium stored every vote twice over: parsed
and again as a relay index).

Parsing uses stem (the Tor project's descriptor library): it parses every
real fixture (2016 full votes, the 2018 set, 2020 consensuses, bandwidth
files v1.0–v1.4) field for field.  Router entries are streamed and reduced
at once (``DocumentHandler.ENTRIES``, validated: a malformed entry rejects
its document), so memory stays at the reductions; the header is read
unvalidated (stem's header checks hard-code 2019 parameter ranges that a
newer consensus may leave) and checked here on the fields we use.

The summary (``collector.summary.json``, compact JSON)::

    {"format": 1, "source": "collector",
     "relays_published": consensus valid-after "YYYY-MM-DD hh:mm:ss",
     "flags": [flag, …],                  bit i of every flags mask is flags[i] (sorted)
     "vote_fields": VOTE_FIELDS, "bandwidth_fields": BANDWIDTH_FIELDS,
     "bandwidth_status": BANDWIDTH_STATUS,
     "consensus": {"file", "valid_after", "fresh_until", "valid_until", "method",
                   "known_flags", "params", "client_versions", "server_versions",
                   "bandwidth_weights", "voters": [v3 id], "signers": [v3 id],
                   "relays", "unmeasured", "flag_counts": {flag: n}},
     "authorities": [authority, …],      sorted by nickname; the vote matrix columns
     "relays": {FINGERPRINT: {"n": nickname,
                              ["c": [flags mask, weight, unmeasured 0/1],]   in the consensus
                              "v": [vote cell | null per authority],
                              ["b": [bandwidth cell | null per authority]]}}   when any bw file

    authority: {"id": v3 identity (40 hex), "nickname", "address", "hostname", "dir_port",
                "or_port", "contact", "in_consensus": listed as a voter, "signed": signed it,
                "vote": vote | null, "vote_error": str | null,
                "bandwidth_file": bandwidth file | null, "bandwidth_file_error": str | null}
    vote:      {"file", "valid_after", "published", "current": same valid-after as the consensus,
                "consensus_methods", "known_flags", "flag_thresholds", "params",
                "client_versions", "server_versions", "bandwidth_file_headers": {…} | null,
                "bandwidth_file_sha256": hex | null, "relays", "measured", "flag_counts"}
    bandwidth file: {"file", "version", "created", "software", "software_version",
                "headers": {…}, "relays", "excluded"}
    vote cell:      [flags mask, bandwidth, measured | null, wfu | null, tk | null, mtbf | null,
                     ipv6 0/1, descriptor published (epoch s) | null]
    bandwidth cell: [bw, status (index in BANDWIDTH_STATUS), success | null, errors | null]

Only *current* votes (same valid-after as the consensus) fill the matrix; an
authority whose latest vote is older keeps its header summary (``current``
false).  Text taken from the documents (contact lines, versions, header
values) is plain text, capped, without control characters; the templates
escape it like any other operator-controlled string.
"""

from __future__ import annotations

from .bandwidth import BandwidthDoc, BandwidthRef, bandwidth_reference, parse_bandwidth_file
from .common import (BANDWIDTH_FIELDS, BANDWIDTH_STATUS, BANDWIDTH_TYPE, CONSENSUS_TYPE, FORMAT, MAX_MAP, MAX_TEXT,
                     MICRODESC_CONSENSUS_TYPE, VOTE_FIELDS, VOTE_TYPE, InvalidStatus, clean_text, epoch, sha256_hex,
                     time_text)
from .status import StatusDoc, parse_status
from .summary import BandwidthInput, VoteInput, build_summary, flags_of

__all__ = ["BANDWIDTH_FIELDS", "BANDWIDTH_STATUS", "BANDWIDTH_TYPE", "CONSENSUS_TYPE", "FORMAT", "MAX_MAP", "MAX_TEXT",
           "MICRODESC_CONSENSUS_TYPE", "VOTE_FIELDS", "VOTE_TYPE", "BandwidthDoc", "BandwidthInput", "BandwidthRef",
           "InvalidStatus", "StatusDoc", "VoteInput", "bandwidth_reference", "build_summary", "clean_text", "epoch",
           "flags_of", "parse_bandwidth_file", "parse_status", "sha256_hex", "time_text"]
