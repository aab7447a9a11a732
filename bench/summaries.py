"""Time the history fetchers' validation and summary in-process, without HTTP or the renderer.

    python -m bench.summaries --data ../shared/bench/network-10k [--rounds 5]

The uptime and bandwidth fetchers are ~4-5 s of a 10k-relay cold build's CPU, most of it reading the
document line by line and summarising each relay's graphs (``fetchers/onionoo_stream.summarise``).  In
the full benchmark their share moves with the host's speed by a second from run to run; here each
document is validated ``--rounds`` times in one process (the line memo emptied before each round, so
every round is a cold fetcher's work) and the fastest round is reported with the CPU probe, next to the
SHA-256 of the summary, so that a change to the summarisers shows both its time and that the summary's
bytes stayed the same.  A measuring tool for development; ``python -m bench`` is the benchmark.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import tempfile
import time
from pathlib import Path

from alliumd.fetchers import onionoo_bandwidth, onionoo_uptime
from alliumd.fetchers.onionoo_stream import LineMemo

from .run import cpu_probe, load_data

VALIDATORS = {"uptime": onionoo_uptime.validate, "bandwidth": onionoo_bandwidth.validate}


def time_validation(validate, path: Path, rounds: int) -> tuple[float, str, int]:
    """(the fastest round's CPU seconds, the summary's SHA-256, its relays) of ``validate(path)``; a summary
    that differs between rounds (a summariser depending on anything but the document) is an error."""
    best, digests, items = float("inf"), set(), 0
    for _ in range(rounds):
        LineMemo.forget_all()                    # a cold fetcher: no previous document's lines to reuse
        gc.collect()
        started = time.process_time()
        info = validate(path)
        best = min(best, time.process_time() - started)
        digests.add(hashlib.sha256(info.summary).hexdigest())
        items = info.items
    if len(digests) != 1:
        raise SystemExit(f"{path.name}: the summary differed between rounds ({len(digests)} SHA-256s)")
    return best, digests.pop(), items


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.summaries", description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, required=True,
                    help="the benchmark's data directory: details, uptime, bandwidth .json(.gz)")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args(argv)
    docs = load_data(args.data)
    print(f"{args.data}; CPU probe (5M-step Python loop): {cpu_probe():.3f} s; fastest of {args.rounds} rounds")
    with tempfile.TemporaryDirectory(prefix="alliumd-summaries-") as tmp:
        for kind, validate in VALIDATORS.items():
            if kind not in docs:
                continue
            path = Path(tmp) / f"{kind}.json"
            path.write_bytes(docs[kind][0])
            cpu, digest, items = time_validation(validate, path, args.rounds)
            print(f"  {kind:<10} {len(docs[kind][0]) / 1e6:7.1f} MB  {items:6d} relays  {cpu:6.3f} s CPU  "
                  f"summary sha256 {digest[:16]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
