"""Alternating cold builds of two (or more) installs on one loopback server: A, B, B, A, A, B, …

    python -m bench.alternate --data ../shared/bench/network-10k --pairs 4 VENV_A/bin/python VENV_B/bin/python
    python -m bench.alternate --data ../shared/bench/network-10k --pairs 3 VENV/bin/python VENV/bin/python:ALLIUMD_RENDER_WORKERS=1

Why: this host's speed moves by tens of percent within minutes, and its kernel
time by a factor of two or three after a mass deletion (``settle_filesystem``),
so two full benchmark runs an hour apart do not compare two versions of
alliumd; cold builds that alternate, minutes apart, on the same server and the
same file system, do.  Each variant is an interpreter whose environment has
alliumd installed (a venv per checkout: ``pip install -e``), optionally with
environment variables after a colon, ``NAME=VALUE`` pairs separated by commas.
Each pair runs in the other order than the last, so neither variant is always
second.  Every build goes into fresh directories, and no tree is deleted until
the last build (a deletion would slow the next builds' file creation); it
first waits ``--quiet-start`` seconds and for the file system as ``python -m
bench`` does (started a few minutes after a benchmark deleted its trees, the
file system probe read 221 µs per file, under the 250 µs it waits for, and the
first build still spent 16 s in the kernel, against 3.3-5.3 s in a benchmark's cold runs).

Each install's alliumd is byte-compiled first, as ``python -m bench`` does.
Per build it prints wall time, user and system CPU of the process tree (rusage
of the reaped children), their minor page faults, the pages written, the peak
RSS and each process's CPU, then each variant's CPU sorted and its median.
A measuring tool for comparing changes; ``python -m bench`` is the benchmark.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from . import synth
from .run import (DROP_CACHES_HELP, REPLACED_INODES_S, LoopbackAPI, cold_run, cpu_probe, drop_caches, load_data,
                  quiet_after_replacements, serve, settle_filesystem, write_config)


def parse_variant(spec: str) -> tuple[str, dict[str, str]]:
    """``PYTHON[:NAME=VALUE,NAME=VALUE]`` → (interpreter, environment additions)."""
    python, _, extra = spec.partition(":")
    env = {}
    for item in filter(None, extra.split(",")):
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise SystemExit(f"{spec!r}: expected PYTHON[:NAME=VALUE,...]")
        env[name] = value
    return python, env


def order_of(pair: int, variants: int) -> list[int]:
    """The variants' order in pair ``pair``: as given in even pairs, reversed in odd ones."""
    order = list(range(variants))
    return order if pair % 2 == 0 else order[::-1]


def summary(run: dict) -> dict:
    """What a build's line shows of ``cold_run``'s figures."""
    return {"wall_s": round(run["wall_s"], 2), "cpu_s": round(run["cpu_s"], 2), "user_s": round(run["user_s"], 2),
            "sys_s": round(run["sys_s"], 2), "minflt": run["minflt"], "pages_written": run["pages_written"],
            "peak_rss_mb": round(run["peak_rss_mb"]), "cpu_by_process_s": run["cpu_by_process_s"]}


def byte_compile(python: str) -> str:
    """Byte-compile ``python``'s alliumd, as ``python -m bench`` does its own (bench/run.compile_bytecode):
    on this host (``PYTHONDONTWRITEBYTECODE``) an install without bytecode compiles every module again in
    each process it starts, so one variant without .pyc files would look ~1 s slower for nothing."""
    done = subprocess.run([python, "-c", _COMPILE], capture_output=True, text=True, cwd="/")  # not a checkout's
    if done.returncode != 0:
        raise SystemExit(f"{python}: byte-compiling alliumd failed:\n{done.stderr}")
    return done.stdout.strip()


_COMPILE = """\
import compileall, pathlib, alliumd
package = pathlib.Path(alliumd.__file__).resolve().parent
ok = compileall.compile_dir(str(package), quiet=1)
print(f"{'byte-compiled' if ok else 'byte-compiled with errors'} {package} ({len(list(package.rglob('*.pyc')))} .pyc)")
"""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.alternate", description=__doc__.splitlines()[0])
    ap.add_argument("variants", nargs="+", metavar="PYTHON[:NAME=VALUE,...]")
    ap.add_argument("--data", type=Path, help="directory with details/uptime/bandwidth/aroi .json(.gz)")
    ap.add_argument("--relays", type=int, default=10_000, help="size of the generated network (no --data)")
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--quiet-start", type=float, default=REPLACED_INODES_S, metavar="S",
                    help="seconds to wait first, for the file system to forget inodes deleted just before "
                         "(default %(default)s, as python -m bench; 0: no wait)")
    ap.add_argument("--no-settle", action="store_true", help="do not wait for the file system (tests)")
    ap.add_argument("--drop-caches", action="store_true", help=DROP_CACHES_HELP)
    args = ap.parse_args(argv)
    variants = [parse_variant(spec) for spec in args.variants]
    for python in dict.fromkeys(python for python, _ in variants):
        print(f"{python}: {byte_compile(python)}", flush=True)
    docs = load_data(args.data) if args.data else {k: (raw, None) for k, raw in synth.network(args.relays).items()}
    workdir = Path(tempfile.mkdtemp(prefix="alliumd-alternate-"))
    results: dict[int, list[dict]] = {i: [] for i in range(len(variants))}
    try:
        with LoopbackAPI() as api:
            for kind, (raw, packed) in docs.items():
                serve(api, kind, raw, packed)
            if args.quiet_start > 0 and not args.no_settle:
                quiet_after_replacements(time.monotonic(), args.quiet_start, "whatever was deleted just before")
            if args.no_settle:
                probe_us, waited = settle_filesystem(workdir, 0.0, files=300)
            else:
                probe_us, waited = settle_filesystem(workdir)
            print(f"file system probe: {probe_us:.0f} µs per new file (after {waited:.1f} s)", flush=True)
            for pair in range(args.pairs):
                for i in order_of(pair, len(variants)):
                    build_dir = workdir / f"pair{pair}-variant{i}"
                    build_dir.mkdir()
                    config = write_config(build_dir, api, list(docs))
                    os.sync()                      # the last build's pages reach the disk now, untimed
                    if args.drop_caches:
                        drop_caches()
                    probe = cpu_probe()
                    row = {**summary(cold_run(build_dir, config, *variants[i])), "cpu_probe_s": round(probe, 3)}
                    results[i].append(row)
                    print(f"pair {pair + 1} variant {i}: {json.dumps(row)}", flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    for i, rows in results.items():
        cpu = sorted(r["cpu_s"] for r in rows)
        print(f"variant {i} {args.variants[i]}: CPU s sorted {cpu}, median {statistics.median(cpu):.2f}; "
              f"wall median {statistics.median(r['wall_s'] for r in rows):.2f} s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
