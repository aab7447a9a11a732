"""Profile the renderer in-process on the benchmark's scenarios (cProfile or plain timings).

    python -m bench.profile --data ../shared/bench/network-10k [--scenario cold|uptime|relay|none|all]
                            [--profile] [--top 30] [--work DIR]

Prepares the cache files the fetchers would publish (details, uptime and
bandwidth summaries, plus an uptime variant with 5% of relays changed and a
details variant with one relay changed, both as ``python -m bench`` makes
them), then runs ``SiteBuilder.build`` in this process: ``cold`` (empty
output and manifest), then in the same builder ``uptime``, ``relay`` and
``none`` (nothing changed).  With ``--profile`` each scenario runs under
cProfile and prints its top entries by cumulative and by own time.  This is
a measuring tool for development; ``python -m bench`` is the benchmark.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import resource
import shutil
import time
from pathlib import Path

from alliumd.config import parse
from alliumd.fetchers import source_module

from .run import bump_one_relay, bump_uptime, load_data, mutate_lines

SCENARIOS = ("cold", "uptime", "relay", "none")


def prepare(data: Path, work: Path) -> dict[str, Path]:
    """Cache variants under ``work/variants``: validated like a fetcher publishes them (cached on disk)."""
    out = work / "variants"
    marker = out / ".done"
    files = {"details": out / "details.json", "details_changed": out / "details_changed.json",
             "uptime": out / "uptime.summary.json", "uptime_changed": out / "uptime_changed.summary.json",
             "bandwidth": out / "bandwidth.summary.json", "aroi": out / "aroi.summary.json"}
    if marker.exists():
        return files
    out.mkdir(parents=True, exist_ok=True)
    docs = load_data(data)
    files["details"].write_bytes(docs["details"][0])
    files["details_changed"].write_bytes(mutate_lines(docs["details"][0], 0, bump_one_relay, seed=0))
    for kind, raw, target in (("uptime", docs["uptime"][0], files["uptime"]),
                              ("uptime", mutate_lines(docs["uptime"][0], 0.05, bump_uptime, seed=0),
                               files["uptime_changed"]),
                              ("bandwidth", docs["bandwidth"][0], files["bandwidth"]),
                              ("aroi", docs["aroi"][0] if "aroi" in docs else None, files["aroi"])):
        if raw is None:
            continue
        raw_path = out / "raw.json"
        raw_path.write_bytes(raw)
        source = "aroi" if kind == "aroi" else f"onionoo_{kind}"
        target.write_bytes(source_module(source).validate(raw_path).summary)
        raw_path.unlink()
    marker.touch()
    return files


def install(src: Path, dst: Path) -> None:
    """Publish a cache file the way the fetchers do (a new inode, so the renderer sees a change)."""
    tmp = dst.with_suffix(".tmp")
    shutil.copyfile(src, tmp)
    os.replace(tmp, dst)


def builder_for(work: Path):
    from alliumd.pages.site import FAMILIES, MODELS
    from alliumd.renderer.build import SiteBuilder
    from alliumd.renderer.registry import Registry
    data = {"daemon": {"cache_dir": str(work / "cache"), "output_dir": str(work / "www"),
                       "state_dir": str(work / "lib"), "run_dir": str(work / "run")},
            "sources": {n: {"enabled": True} for n in ("onionoo_uptime", "onionoo_bandwidth", "aroi")}}
    cfg = parse(data, work / "allium.toml")
    return SiteBuilder(cfg, Registry(FAMILIES, MODELS))


def run(builder, profile: bool, top: int, label: str):
    prof = cProfile.Profile() if profile else None
    started, cpu = time.monotonic(), time.process_time()
    if prof:
        prof.enable()
    result = builder.build()
    if prof:
        prof.disable()
    wall, cpu = time.monotonic() - started, time.process_time() - cpu
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{label:<8} wall {wall:6.2f} s  cpu {cpu:6.2f} s  written {result.written:6d}  "
          f"unchanged {result.unchanged:6d}  deleted {result.deleted}  peak RSS {rss:.0f} MB  "
          f"errors {result.errors or '-'}", flush=True)
    slow = sorted(result.timings.items(), key=lambda kv: -kv[1])[:8]
    print("         families (s in this process): " + ", ".join(f"{k} {v:.2f}" for k, v in slow), flush=True)
    if prof:
        for order in ("cumulative", "tottime"):
            s = io.StringIO()
            pstats.Stats(prof, stream=s).sort_stats(order).print_stats(top)
            print(s.getvalue())
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--work", type=Path, default=Path("/tmp/alliumd-profile"))
    ap.add_argument("--scenario", choices=(*SCENARIOS, "all"), default="all")
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--top", type=int, default=30)
    args = ap.parse_args(argv)
    files = prepare(args.data, args.work)
    for sub in ("cache", "www", "lib", "run"):
        shutil.rmtree(args.work / sub, ignore_errors=True)
        (args.work / sub).mkdir(parents=True)
    cache = args.work / "cache"
    install(files["details"], cache / "onionoo_details.json")
    install(files["uptime"], cache / "onionoo_uptime.summary.json")
    install(files["bandwidth"], cache / "onionoo_bandwidth.summary.json")
    if files["aroi"].exists():
        install(files["aroi"], cache / "aroi.summary.json")
    wanted = SCENARIOS if args.scenario == "all" else ("cold", args.scenario)
    builder = builder_for(args.work)
    run(builder, args.profile and args.scenario in ("cold", "all"), args.top, "cold")
    if "uptime" in wanted:
        install(files["uptime_changed"], cache / "onionoo_uptime.summary.json")
        run(builder, args.profile, args.top, "uptime")
    if "relay" in wanted:
        install(files["details_changed"], cache / "onionoo_details.json")
        run(builder, args.profile, args.top, "relay")
    if "none" in wanted:
        run(builder, args.profile, args.top, "none")
    builder.close()
    workers = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(f"render workers: cpu {workers.ru_utime + workers.ru_stime:.2f} s (user {workers.ru_utime:.2f}, "
          f"sys {workers.ru_stime:.2f}), peak RSS {workers.ru_maxrss / 1024:.0f} MB (largest worker)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
