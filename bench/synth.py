"""A deterministic synthetic Tor network in Onionoo's layout (details, uptime, bandwidth).

For benchmarking when ``--data`` is not given.  Shapes follow Onionoo's documents
(one relay object per line, graph histories with 0–999 values, nulls, a
factor); content is invented and says so in ``build_revision``.  Same seed,
same bytes.
"""

from __future__ import annotations

import hashlib
import json
import random

SEED = 20261126
PUBLISHED = "2026-08-22 11:00:00"
COUNTRIES = [("de", "Germany", 0.25), ("us", "United States of America", 0.2), ("nl", "Netherlands", 0.1),
             ("fr", "France", 0.08), ("fi", "Finland", 0.05), ("se", "Sweden", 0.05), ("ch", "Switzerland", 0.04),
             ("ca", "Canada", 0.04), ("gb", "United Kingdom", 0.04), ("at", "Austria", 0.03),
             ("pl", "Poland", 0.03), ("ro", "Romania", 0.03), ("jp", "Japan", 0.03), ("br", "Brazil", 0.03)]
PERIODS = {"1_month": (14400, 186), "6_months": (43200, 362), "1_year": (172800, 182), "5_years": (864000, 182)}
BW_PERIODS = {"1_month": (86400, 31), "6_months": (86400, 182), "1_year": (172800, 182), "5_years": (864000, 182)}


def _fp(i: int) -> str:
    return hashlib.sha1(f"{SEED}:{i}".encode()).hexdigest().upper()


def _graph(rng: random.Random, interval: int, count: int, level: float, noise: int) -> dict:
    values = [max(0, min(999, int(level * 999) - rng.randrange(noise + 1))) for _ in range(count)]
    for _ in range(count // 40):
        values[rng.randrange(1, count - 1)] = None
    return {"first": "2026-07-22 14:00:00", "last": "2026-08-22 10:00:00", "interval": interval,
            "factor": 0.001001001001001001, "count": count, "values": values}


def _envelope(lines: list[str]) -> bytes:
    return ('{"version":"8.0",\n"build_revision":"synthetic",\n"relays_published":"' + PUBLISHED
            + '",\n"relays":[\n' + ",\n".join(lines) + '\n],\n"bridges_published":"' + PUBLISHED
            + '",\n"bridges":[]}\n').encode()


def network(n: int) -> dict[str, bytes]:
    rng = random.Random(SEED)
    fps = [_fp(i) for i in range(n)]
    operators = max(1, n // 3)
    details, uptime, bandwidth = [], [], []
    for i, fp in enumerate(fps):
        op = rng.randrange(operators)
        cc, cname, _ = rng.choices(COUNTRIES, weights=[c[2] for c in COUNTRIES])[0]
        exit_, guard = rng.random() < 0.2, rng.random() < 0.45
        flags = ["Fast", "Running", "Stable", "V2Dir", "Valid"] + (["Exit"] if exit_ else []) + \
            (["Guard"] if guard else []) + (["HSDir"] if rng.random() < 0.6 else [])
        bw = rng.randrange(50_000, 120_000_000)
        family = sorted({fp, *(fps[j] for j in range(max(0, i - 2), i) if (j * 7 + op) % 5 == 0)})
        relay = {"nickname": f"synth{i}", "fingerprint": fp,
                 "or_addresses": [f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}:9001"],
                 "last_seen": PUBLISHED, "first_seen": f"20{rng.randrange(15, 27)}-0{rng.randrange(1, 9)}-1{rng.randrange(0, 9)} 00:00:00",
                 "running": rng.random() > 0.03, "flags": sorted(flags), "country": cc, "country_name": cname,
                 "as": f"AS{64500 + op % 700}", "as_name": f"Synthetic Hosting {op % 700}",
                 "consensus_weight": bw // 1000 + 1, "bandwidth_rate": bw * 2, "bandwidth_burst": bw * 3,
                 "observed_bandwidth": bw, "advertised_bandwidth": bw,
                 "exit_policy": ["accept *:80", "accept *:443", "reject *:*"] if exit_ else ["reject *:*"],
                 "exit_policy_summary": {"accept": ["80", "443"]} if exit_ else {"reject": ["1-65535"]},
                 "contact": f"ciissversion:2 url:https://op{op}.example proof:uri-rsa email:op{op}[]example.org",
                 "platform": f"Tor 0.4.8.{rng.randrange(10, 20)} on {rng.choice(['Linux'] * 9 + ['FreeBSD'])}",
                 "version": "0.4.8.17", "version_status": "recommended", "effective_family": family,
                 "consensus_weight_fraction": 1 / n, "guard_probability": 1 / n if guard else 0.0,
                 "middle_probability": 1 / n, "exit_probability": 1 / n if exit_ else 0.0,
                 "recommended_version": True, "measured": True}
        details.append(json.dumps(relay, separators=(",", ":")))
        level = rng.choice([1.0, 1.0, 1.0, 0.97, 0.9, 0.6])
        up = {"fingerprint": fp, "uptime": {p: _graph(rng, iv, c, level, 30) for p, (iv, c) in PERIODS.items()},
              "flags": {"Running": {p: _graph(rng, iv, c, level, 30) for p, (iv, c) in PERIODS.items()}}}
        uptime.append(json.dumps(up, separators=(",", ":")))
        hist = {p: dict(_graph(rng, iv, c, 0.8, 400), factor=bw / 999) for p, (iv, c) in BW_PERIODS.items()}
        bandwidth.append(json.dumps({"fingerprint": fp, "write_history": hist, "read_history": hist},
                                    separators=(",", ":")))
    return {"details": _envelope(details), "uptime": _envelope(uptime), "bandwidth": _envelope(bandwidth)}
