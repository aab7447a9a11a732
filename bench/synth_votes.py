"""A synthetic directory-authority vote set for a bench network (SYNTHETIC: no real vote is read).

The bench networks (``network-10k``) are Onionoo documents only; the
``collector`` source has nothing to fetch for them.  This module makes the
collector summary (``collector.summary.json``) such a network would have:
one consensus, a current vote from each of 9 authorities (6 of them
bandwidth authorities with an sbws bandwidth file), derived from each
relay's details record with small, deterministic per-authority variation.

It builds the parsed documents ``alliumd.summaries.votes`` would get from stem
(:class:`~alliumd.summaries.votes.StatusDoc`, :class:`~alliumd.summaries.votes.BandwidthDoc`:
the same header dicts, router-entry tuples and bandwidth cells that
``parse_status``/``parse_bandwidth_file`` produce) and hands them to
``votes.build_summary``, serialised like ``collector.validate`` does, so the
summary cannot drift from the real one's shape.  No vote text is written or
parsed (stem would need ~1 min for 10 votes of 10k relays).

    python -m bench.synth_votes DETAILS.json[.gz] OUT.json [--hour N] [--touch FRACTION]

Everything is a pure function of (details relays, ``hour``, ``touch``, ``seed``):

* ``hour`` moves valid-after by that many hours and re-draws every row's
  hourly figures (tk/MTBF grow, WFU, measurements and descriptor times
  jitter): "a new consensus hour", where every relay's row changes;
* ``touch`` re-draws the per-authority variation of that fraction of the
  relays (picked by a seeded sample) and nothing else: "a vote change
  touching 1 % of relays" (the headers and thresholds stay).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import random
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from alliumd.fetchers.onionoo_stream import dumps
from alliumd.summaries import votes

GENERATOR = 1                       # bump when the output changes (bench.profile caches the files)
BASE_VALID_AFTER = "2026-08-22 11:00:00"      # network-10k's relays_published
# (nickname, address, bandwidth authority): nine authorities as in today's network, six measuring.
# Names and addresses are the public ones; v3 identities are made up (see authority_id).
AUTHORITIES = (
    ("bastet", "204.13.164.118", True), ("dannenberg", "193.23.244.244", False),
    ("dizum", "45.66.33.45", False), ("faravahar", "216.218.219.41", False),
    ("gabelmoo", "131.188.40.189", True), ("longclaw", "199.58.81.140", True),
    ("maatuska", "171.25.193.9", True), ("moria1", "128.31.0.39", True),
    ("tor26", "217.196.147.77", True),
)
KNOWN_FLAGS = ("Authority", "BadExit", "Exit", "Fast", "Guard", "HSDir", "MiddleOnly", "Running", "Stable",
               "StaleDesc", "V2Dir", "Valid")
NO_MIDDLEONLY = {"dizum", "faravahar"}          # a little known-flags variation between authorities
# flag-thresholds typical of 2024/25 votes (bytes/s, seconds, WFU fraction); varied ±5 % per authority
THRESHOLDS = {"stable-uptime": 1_900_000, "stable-mtbf": 3_900_000, "fast-speed": 102_000,
              "guard-wfu": 0.98, "guard-tk": 691_200, "guard-bw-inc-exits": 29_000_000,
              "guard-bw-exc-exits": 27_000_000}
PARAMS = {"CircuitPriorityHalflifeMsec": 30000, "DoSCircuitCreationEnabled": 1, "DoSConnectionEnabled": 1,
          "DoSConnectionMaxConcurrentCount": 50, "DoSRefuseSingleHopClientRendezvous": 1,
          "ExtendByEd25519ID": 1, "KISTSchedRunInterval": 3, "NumDirectoryGuards": 3, "NumEntryGuards": 1,
          "NumNTorsPerTAP": 100, "UseOptimisticData": 1, "bwauthpid": 1, "cbttestfreq": 10,
          "cc_alg": 2, "guard-n-primary-guards-to-use": 2, "hs_service_max_rdv_failures": 1,
          "hsdir_spread_store": 4, "overload_onionskin_ntor_period_secs": 10800,
          "overload_onionskin_ntor_scale_percent": 500, "sendme_emit_min_version": 1}
BANDWIDTH_WEIGHTS = {"Wbd": 0, "Wbe": 0, "Wbg": 3934, "Wbm": 10000, "Wdb": 10000, "Web": 10000, "Wed": 10000,
                     "Wee": 10000, "Weg": 10000, "Wem": 10000, "Wgb": 10000, "Wgd": 0, "Wgg": 6066, "Wgm": 6066,
                     "Wmb": 10000, "Wmd": 0, "Wme": 0, "Wmg": 3934, "Wmm": 10000}
VERSIONS = ["0.4.8.4", "0.4.8.5", "0.4.8.6", "0.4.8.7", "0.4.8.8", "0.4.8.9", "0.4.8.10", "0.4.8.11",
            "0.4.8.12", "0.4.8.13", "0.4.8.14", "0.4.8.15", "0.4.8.16", "0.4.8.17", "0.4.8.18", "0.4.8.19",
            "0.4.9.1-alpha", "0.4.9.2-alpha", "0.4.9.3-alpha"]
CONSENSUS_METHOD = 34
MISS = 0.004                 # chance an authority does not list a running relay (reachability)
FLIP = 0.02                  # chance an authority disagrees with the consensus on Fast/Stable/Guard/HSDir
UNMEASURED_BY = 2            # bandwidth authorities measuring a relay the consensus calls unmeasured
T = "%Y-%m-%d %H:%M:%S"


def authority_id(nickname: str) -> str:
    """A made-up, stable v3 identity (40 upper hex) for an authority."""
    return hashlib.sha1(f"synthetic-authority-{nickname}".encode()).hexdigest().upper()


def _rng(*parts: object) -> random.Random:
    return random.Random(":".join(map(str, parts)))


def _epoch(text: str | None) -> int | None:
    try:
        return int(datetime.strptime(str(text), T).replace(tzinfo=timezone.utc).timestamp())
    except ValueError:
        return None


def touched_relays(fingerprints: list[str], fraction: float, seed: int) -> frozenset[str]:
    """The relays a ``touch`` variant re-draws (a seeded sample, at least one when fraction > 0)."""
    if fraction <= 0 or not fingerprints:
        return frozenset()
    count = max(1, round(len(fingerprints) * fraction))
    return frozenset(_rng(seed, "touch", fraction).sample(sorted(fingerprints), min(count, len(fingerprints))))


# -- per relay and authority ---------------------------------------------------------------------

def _stats(relay: dict, flags: set[str], va: int, rng: random.Random, thresholds: dict) -> tuple:
    """(wfu, tk, mtbf) consistent with the flags the authority gives: Guard means WFU and TK over the
    thresholds, Stable an MTBF over stable-mtbf; the rest is drawn from the relay's age and restarts."""
    first = _epoch(relay.get("first_seen")) or va - 30 * 86400
    restarted = _epoch(relay.get("last_restarted")) or first
    tk = max(3600, va - first - rng.randrange(0, 6 * 3600))
    up = max(60, va - restarted)
    mtbf = int(up * rng.uniform(0.6, 1.6))
    if "Stable" in flags:
        mtbf = max(mtbf, int(thresholds["stable-mtbf"] * rng.uniform(1.0, 3.0)))
    else:
        mtbf = min(mtbf, int(thresholds["stable-mtbf"] * rng.uniform(0.05, 0.95)))
    if "Guard" in flags:
        wfu = rng.uniform(thresholds["guard-wfu"], 1.0)
        tk = max(tk, int(thresholds["guard-tk"] * rng.uniform(1.0, 4.0)))
    elif relay.get("running"):
        wfu = rng.uniform(0.80, 1.0)
    else:
        wfu = rng.uniform(0.2, 0.9)
    return round(wfu, 6), tk, mtbf


def _relay_votes(relay: dict, consensus_flags: set[str], va: int, hour: int, salt: str, seed: int,
                 auths: list[dict]) -> list[tuple | None]:
    """One router-entry tuple (votes.status._vote_entry's shape, minus nothing) per authority, or None."""
    fp = relay["fingerprint"]
    running = bool(relay.get("running"))
    advertised_kb = int(relay.get("advertised_bandwidth") or 0) // 1000
    weight = int(relay.get("consensus_weight") or 0)
    ipv6 = 1 if any(str(a).startswith("[") for a in relay.get("or_addresses") or ()) else 0
    measured_auths = {a["nickname"] for a in auths if a["bwauth"]}
    if not relay.get("measured", True):          # unmeasured in the consensus: only a couple measure it
        picks = sorted(measured_auths)
        measured_auths = set(_rng(seed, fp, "unmeasured").sample(picks, min(UNMEASURED_BY, len(picks))))
    published = va - _rng(seed, fp, hour, salt, "desc").randrange(0, 18 * 3600)
    out: list[tuple | None] = []
    for auth in auths:
        nick = auth["nickname"]
        rng = _rng(seed, fp, nick, hour, salt)
        if running and rng.random() < MISS:
            out.append(None)
            continue
        if not running and rng.random() < 0.5:       # down relays: some authorities still have a descriptor
            out.append(None)
            continue
        flags = set(consensus_flags) & auth["known"]
        if running:
            for flag in ("Fast", "Stable", "Guard", "HSDir"):
                if rng.random() < FLIP:
                    flags ^= {flag}
        else:
            flags -= {"Running", "Guard", "HSDir", "Fast", "Stable"}
        if "Guard" in flags:                        # tor's dependencies: Guard and HSDir need Fast+Stable
            flags |= {"Fast", "Stable"}
        wfu, tk, mtbf = _stats(relay, flags, va, rng, auth["thresholds"])
        measured = None
        if nick in measured_auths:
            measured = max(1, int(weight * rng.uniform(0.85, 1.15))) if weight else rng.randrange(1, 20)
        table = auth["flags"]
        mask = votes.status._mask(sorted(flags), table)
        out.append((relay.get("nickname") or "Unnamed", mask, advertised_kb, measured, wfu, tk, mtbf, ipv6,
                    min(published + rng.randrange(0, 600), va)))
    return out


# -- the documents -------------------------------------------------------------------------------

def _dir_source(nick: str, address: str) -> dict[str, Any]:
    return {"id": authority_id(nick), "nickname": nick, "address": address, "hostname": address,
            "dir_port": 80, "or_port": 443, "contact": f"{nick} operators <synthetic@example.invalid>"}


def _times(va_dt: datetime) -> dict[str, str]:
    return {"valid_after": va_dt.strftime(T), "fresh_until": (va_dt + timedelta(hours=1)).strftime(T),
            "valid_until": (va_dt + timedelta(hours=3)).strftime(T)}


def build(relays: list[dict], *, hour: int = 0, touch: float = 0.0, seed: int = 1,
          base_valid_after: str = BASE_VALID_AFTER) -> dict[str, Any]:
    """The collector summary (a dict, as ``votes.build_summary`` returns it) for ``relays``."""
    va_dt = datetime.strptime(base_valid_after, T).replace(tzinfo=timezone.utc) + timedelta(hours=hour)
    va = int(va_dt.timestamp())
    times = _times(va_dt)
    stamp = va_dt.strftime("%Y-%m-%d-%H-%M-%S")
    touched = touched_relays([r["fingerprint"] for r in relays], touch, seed)

    auths = []
    for nick, address, bwauth in AUTHORITIES:
        rng = _rng(seed, "thresholds", nick, hour)
        thresholds: dict[str, int | float] = {
            k: (round(min(0.99, v * rng.uniform(0.995, 1.005)), 4) if k == "guard-wfu"
                else int(v * rng.uniform(0.95, 1.05)))
            for k, v in THRESHOLDS.items()}
        thresholds["enough-mtbf"] = 1
        thresholds["ignoring-advertised-bws"] = 1 if bwauth else 0
        known = [f for f in KNOWN_FLAGS if not (f == "MiddleOnly" and nick in NO_MIDDLEONLY)]
        auths.append({"nickname": nick, "address": address, "bwauth": bwauth, "known": set(known),
                      "flags": list(known), "thresholds": dict(sorted(thresholds.items()))})

    entries: list[dict[str, tuple]] = [{} for _ in auths]
    consensus_entries: dict[str, tuple] = {}
    consensus_flags = list(KNOWN_FLAGS)
    for relay in sorted(relays, key=lambda r: r["fingerprint"]):
        fp = relay["fingerprint"]
        flags = {f for f in relay.get("flags") or () if f in KNOWN_FLAGS}
        salt = "touched" if fp in touched else ""
        cells = _relay_votes(relay, flags, va, hour, salt, seed, auths)
        for col, cell in enumerate(cells):
            if cell is not None:
                entries[col][fp] = cell
        if relay.get("running"):
            weight = int(relay.get("consensus_weight") or 0)
            if hour:
                weight = max(1, int(weight * _rng(seed, fp, hour, "cw").uniform(0.97, 1.03)))
            consensus_entries[fp] = (relay.get("nickname") or "Unnamed",
                                     votes.status._mask(sorted(flags), consensus_flags), weight,
                                     0 if relay.get("measured", True) else 1)

    vote_inputs, bw_inputs = [], []
    for col, auth in enumerate(auths):
        nick, ident = auth["nickname"], authority_id(auth["nickname"])
        bw_doc = None
        if auth["bwauth"]:
            bw_doc = _bandwidth_doc(entries[col], va_dt, nick, seed, hour)
        published = (va_dt - timedelta(minutes=10)).strftime(T)
        header = {**times, "known_flags": list(auth["flags"]), "params": dict(PARAMS),
                  "client_versions": list(VERSIONS), "server_versions": list(VERSIONS),
                  "published": published,
                  "consensus_methods": [32, 33, 34] if nick != "dizum" else [32, 33, 34, 35],
                  "flag_thresholds": auth["thresholds"],
                  "bandwidth_file_headers": (votes.common._text_map(bw_doc.info["headers"]) if bw_doc else None),
                  "bandwidth_file_sha256": (hashlib.sha256(f"{nick}:{stamp}:{seed}".encode()).hexdigest().upper()
                                            if bw_doc else None)}
        doc = votes.StatusDoc("vote", header, [_dir_source(nick, auth["address"])], auth["flags"], entries[col])
        name = f"{stamp}-vote-{ident}-{hashlib.sha1(f'{nick}:{stamp}'.encode()).hexdigest().upper()}"
        vote_inputs.append(votes.VoteInput(name, ident, doc=doc))
        if bw_doc is not None:
            created = bw_doc.info["created"].replace("T", "-").replace(":", "-")
            bw_name = f"{created}-bandwidth-{header['bandwidth_file_sha256']}"
            bw_inputs.append(votes.BandwidthInput(bw_name, ident, doc=bw_doc))

    consensus_header = {**times, "known_flags": list(KNOWN_FLAGS), "params": dict(PARAMS),
                        "client_versions": list(VERSIONS), "server_versions": list(VERSIONS),
                        "method": CONSENSUS_METHOD, "bandwidth_weights": dict(BANDWIDTH_WEIGHTS)}
    sources = [_dir_source(nick, address) for nick, address, _ in AUTHORITIES]
    consensus = votes.StatusDoc("consensus", consensus_header, sources, consensus_flags, consensus_entries,
                                signers=sorted(s["id"] for s in sources))
    return votes.build_summary(f"{stamp}-consensus", consensus, vote_inputs, bw_inputs)


def _bandwidth_doc(entries: dict[str, tuple], va_dt: datetime, nick: str, seed: int, hour: int) -> votes.BandwidthDoc:
    """The sbws v1.4 file a bandwidth authority voted from: one line per relay it measured, plus
    excluded lines (status unmeasured/under_min_report) for a few relays it listed without a measurement."""
    created_dt = va_dt - timedelta(minutes=35 + _rng(seed, nick, hour, "bwfile").randrange(0, 20))
    relays: dict[str, tuple] = {}
    excluded = 0
    for fp, cell in entries.items():
        measured = cell[3]
        rng = _rng(seed, fp, nick, hour, "bw")
        if measured is not None:
            relays[fp] = (measured, 0, rng.randrange(5, 60), rng.randrange(0, 3))
        elif rng.random() < 0.5:
            relays[fp] = (1, 2 if rng.random() < 0.5 else 1, rng.randrange(0, 3), rng.randrange(0, 5))
            excluded += 1
    created = created_dt.strftime("%Y-%m-%dT%H:%M:%S")
    headers = {"earliest_bandwidth": (created_dt - timedelta(days=5)).strftime("%Y-%m-%dT%H:%M:%S"),
               "file_created": created, "generator_started": (created_dt - timedelta(days=20)).strftime(
                   "%Y-%m-%dT%H:%M:%S"),
               "latest_bandwidth": created, "minimum_number_eligible_relays": str(len(entries) * 60 // 100),
               "minimum_percent_eligible_relays": "60", "number_consensus_relays": str(len(entries)),
               "number_eligible_relays": str(len(relays) - excluded), "percent_eligible_relays": str(
                   (len(relays) - excluded) * 100 // max(1, len(entries))),
               "scanner_country": "US" if nick in ("bastet", "moria1", "longclaw") else "DE",
               "destinations_countries": "ZZ", "software": "sbws", "software_version": "1.8.1",
               "timestamp": str(int(created_dt.timestamp())), "version": "1.4.0"}
    info = {"version": "1.4.0", "created": created, "software": "sbws", "software_version": "1.8.1",
            "headers": votes.common._text_map(headers), "relays": len(relays), "excluded": excluded}
    return votes.BandwidthDoc(info, relays)


def summary_bytes(relays: list[dict], **kw) -> bytes:
    """The summary as ``collector.validate`` serialises it (DocInfo.summary)."""
    return dumps(build(relays, **kw))


def load_relays(path: Path) -> list[dict]:
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    return json.loads(raw)["relays"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.synth_votes", description=__doc__.splitlines()[0])
    ap.add_argument("details", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--hour", type=int, default=0)
    ap.add_argument("--touch", type=float, default=0.0)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    data = summary_bytes(load_relays(args.details), hour=args.hour, touch=args.touch, seed=args.seed)
    args.out.write_bytes(data)
    print(f"{args.out}: {len(data)} bytes", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
