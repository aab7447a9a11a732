"""Memory over many publications: the renderer's RSS after each new hour and each churn batch.

    python -m bench.soak --data ../shared/bench/network-10k [--rounds 5] [--work DIR]

A daemon's renderer sees a new Onionoo hour every hour, so what matters for
a service left running is whether its memory settles or keeps growing.  The
cold build runs in a child process (as ``alliumd --once`` before a daemon
starts), and so does reading the documents; this process then does what the daemon's renderer does: the
start-up batch (``warm``), then per round the next hour with 1 % churn and
1 % churn within that hour (bench/scenarios.py), printing after each batch
its time, pages written, this process's RSS, the live object count and the
row caches' sizes.  A growing object count is a leak; an RSS that rises
while the count stays flat is the allocator's high-water mark.
"""

from __future__ import annotations

import argparse
import gc
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil

from alliumd.pages import rowcache

from . import profile, scenarios

def cold(data: Path, work: Path) -> None:
    """Prepare ``work`` (the cache variants, a fresh cache) and build the site cold: run in a child
    process, so reading the large documents leaves nothing in the measured one."""
    profile.fresh_site(work, profile.prepare(data, work))
    builder = profile.builder_for(work)
    try:
        builder.build()
    finally:
        builder.close()


def publish(cache: Path, details: bytes) -> None:
    tmp = cache / ".details.tmp"
    tmp.write_bytes(details)
    os.replace(tmp, cache / "onionoo_details.json")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--work", type=Path, default=Path("/tmp/alliumd-soak"))
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args(argv)
    subprocess.run([sys.executable, "-c", "import sys; from pathlib import Path; from bench.soak import cold; "
                    "cold(Path(sys.argv[1]), Path(sys.argv[2]))", str(args.data.resolve()), str(args.work)],
                   check=True, cwd=Path(__file__).resolve().parent.parent)
    files = profile.prepare(args.data, args.work)       # made by the child: only their paths here
    cache = args.work / "cache"
    me = psutil.Process()

    def report(label: str, seconds: float, written: int) -> None:
        gc.collect()
        print(f"{label:<16} {seconds:6.1f} s  written {written:6d}  RSS {me.memory_info().rss / 1e6:6.0f} MB  "
              f"objects {len(gc.get_objects()):8d}  cached rows {sum(len(c) for c in rowcache.CACHES):6d}",
              flush=True)

    builder = profile.builder_for(args.work)
    try:
        started = time.monotonic()
        result = builder.build(full=True, warm=True)
        report("start-up", time.monotonic() - started, result.written)
        details = files["details"].read_bytes()
        for r in range(args.rounds):
            for label, change in (("next hour", lambda d: scenarios.churn(scenarios.next_hour(d), 200 + r)[0]),
                                  ("churn", lambda d: scenarios.churn(d, 100 + r)[0])):
                details = change(details)
                publish(cache, details)
                started = time.monotonic()
                result = builder.build()
                report(f"{r + 1} {label}", time.monotonic() - started, result.written)
    finally:
        builder.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
