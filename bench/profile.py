"""Profile the renderer in-process on the benchmark's scenarios (cProfile or plain timings).

    python -m bench.profile --data ../shared/bench/network-10k [--scenario cold|uptime|relay|none|all]
                            [--votes] [--profile] [--top 30] [--work DIR]

Prepares the cache files the fetchers would publish (details, uptime and
bandwidth summaries, plus an uptime variant with 5% of relays changed and a
details variant with one relay changed, both as ``python -m bench`` makes
them), then runs ``SiteBuilder.build`` in this process: ``cold`` (empty
output and manifest), then in the same builder ``uptime``, ``relay``,
``none`` (nothing changed) and ``churn`` (1 % of the relays, drawn among the running ones, change a flag,
their version, restart or go down, in the same hour: the history store
records their events and only their dependents are rewritten) and ``hour``
(the next Onionoo hour, nothing else changed: ``relays_published`` and each
running relay's ``last_seen`` move; a page states the publication it shows,
so only the pages that show the hour itself, and relays whose content the
bench's document changed, are rewritten).  ``--restart`` puts a new builder's
start-up batch between ``cold`` and the scenarios, as a daemon started after ``alliumd --once`` has.  With ``--profile`` each scenario runs under
cProfile and prints its top entries by cumulative and by own time.  This is
a measuring tool for development; ``python -m bench`` is the benchmark.

Each scenario also prints the garbage collections its batch ran in this process (how many, how many
of them full, their time), as the collector's thresholds (core/gcpause.rendering) and Mako's cycles
(pages/templates._unlink) decide them.

``--votes`` adds the ``collector`` source with a SYNTHETIC vote set for the
network's relays (bench/synth_votes.py: 9 authorities, 6 measuring), installed
before ``cold``, and two scenarios after the others: ``vote-hour`` (a new
consensus hour: every relay's vote row changes) and ``vote-1pct`` (the same
hour with 1 % of the relays' rows re-drawn).  Choosing one of them implies
``--votes``.  Every scenario also prints the pages written per family and the
render workers' CPU it took.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import os
import pstats
import resource
import shutil
import time
from pathlib import Path

from alliumd.config import parse
from alliumd.fetchers import source_module

from .run import load_data
from .scenarios import bump_uptime, change_one_relay, churn, mutate_lines, next_hour

SCENARIOS = ("cold", "uptime", "relay", "none", "churn", "hour")
VOTE_SCENARIOS = ("vote-hour", "vote-1pct")
VOTE_TOUCH = 0.01            # vote-1pct: the fraction of relays whose rows change


# scenario, the prepared variant it installs (None: nothing changes), the cache file it replaces
STEPS = (("uptime", "uptime_changed", "onionoo_uptime.summary.json"),
         ("relay", "details_changed", "onionoo_details.json"),
         ("none", None, None),
         ("churn", "details_churn", "onionoo_details.json"),
         ("hour", "details_hour", "onionoo_details.json"),
         ("vote-hour", "votes_hour", "collector.summary.json"),
         ("vote-1pct", "votes_1pct", "collector.summary.json"))


def prepare(data: Path, work: Path) -> dict[str, Path]:
    """Cache variants under ``work/variants``: validated like a fetcher publishes them (cached on disk)."""
    out = work / "variants"
    marker = out / ".done-3"         # bumped when the variants change (3: uptime summary format 3)
    files = {"details": out / "details.json", "details_changed": out / "details_changed.json",
             "uptime": out / "uptime.summary.json", "uptime_changed": out / "uptime_changed.summary.json",
             "bandwidth": out / "bandwidth.summary.json", "aroi": out / "aroi.summary.json"}
    files["details_churn"] = out / "details_churn-2.json"      # 2: bench/scenarios.churn (running relays)
    files["details_hour"] = out / "details_hour-2.json"        # 2: only the hour moves (scenarios.next_hour)
    if marker.exists():
        if not files["details_churn"].exists():
            files["details_churn"].write_bytes(churn(files["details"].read_bytes(), seed=1)[0])
        if not files["details_hour"].exists():
            files["details_hour"].write_bytes(next_hour(files["details"].read_bytes()))
        return files
    out.mkdir(parents=True, exist_ok=True)
    docs = load_data(data)
    files["details"].write_bytes(docs["details"][0])
    files["details_changed"].write_bytes(change_one_relay(docs["details"][0], seed=0)[0])
    files["details_churn"].write_bytes(churn(docs["details"][0], seed=1)[0])
    files["details_hour"].write_bytes(next_hour(docs["details"][0]))
    for kind, raw, target in (("uptime", docs["uptime"][0], files["uptime"]),
                              ("uptime", mutate_lines(docs["uptime"][0], 0.05, bump_uptime, seed=0)[0],
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


def prepare_votes(files: dict[str, Path]) -> dict[str, Path]:
    """The synthetic collector summaries (bench/synth_votes.py) next to the other variants, made from
    the prepared details once per generator version: base (hour 0), the next hour, and that hour with
    ``VOTE_TOUCH`` of the relays re-drawn."""
    from . import synth_votes
    out = files["details"].parent
    votes = {"votes": out / "collector.summary.json", "votes_hour": out / "collector_hour.summary.json",
             "votes_1pct": out / "collector_1pct.summary.json"}
    marker = out / f".votes-done-{synth_votes.GENERATOR}"
    if marker.exists() and all(p.exists() for p in votes.values()):
        return votes
    started = time.monotonic()
    relays = synth_votes.load_relays(files["details"])
    for key, kw in (("votes", {}), ("votes_hour", {"hour": 1}), ("votes_1pct", {"hour": 1, "touch": VOTE_TOUCH})):
        tmp = votes[key].with_suffix(".tmp")
        tmp.write_bytes(synth_votes.summary_bytes(relays, **kw))
        os.replace(tmp, votes[key])
    marker.touch()
    print(f"synthetic vote summaries made in {time.monotonic() - started:.1f} s", flush=True)
    return votes


def install(src: Path, dst: Path) -> None:
    """Publish a cache file the way the fetchers do: its data time recorded beside it first (cache.meta),
    then the file (a new inode, so the renderer sees a change)."""
    from alliumd.cache import files as cachefiles, meta as cachemeta
    doc = cachefiles.load_document(src)
    cachemeta.write(dst, cachefiles.file_sha256(src), cachemeta.document_time(doc), cachemeta.is_sample(doc))
    tmp = dst.with_suffix(".tmp")
    shutil.copyfile(src, tmp)
    os.replace(tmp, dst)


def fresh_site(work: Path, files: dict[str, Path], votes: bool = False) -> None:
    """Empty cache, site and state directories under ``work``, the prepared documents published into the
    cache (``votes``: the synthetic collector summary too)."""
    for sub in ("cache", "www", "lib", "run"):
        shutil.rmtree(work / sub, ignore_errors=True)
        (work / sub).mkdir(parents=True)
    cache = work / "cache"
    install(files["details"], cache / "onionoo_details.json")
    install(files["uptime"], cache / "onionoo_uptime.summary.json")
    install(files["bandwidth"], cache / "onionoo_bandwidth.summary.json")
    if files["aroi"].exists():
        install(files["aroi"], cache / "aroi.summary.json")
    if votes:
        install(files["votes"], cache / "collector.summary.json")


def builder_for(work: Path, votes: bool = False, workers: int | None = None):
    from alliumd.pages.site import FAMILIES, MODELS
    from alliumd.renderer.build import SiteBuilder
    from alliumd.pages.registry import Registry
    data = {"daemon": {"cache_dir": str(work / "cache"), "output_dir": str(work / "www"),
                       "state_dir": str(work / "lib"), "run_dir": str(work / "run")},
            "sources": {n: {"enabled": True} for n in ("onionoo_uptime", "onionoo_bandwidth", "aroi",
                                                        *(("collector",) if votes else ()))}}
    cfg = parse(data, work / "allium.toml")
    return SiteBuilder(cfg, Registry(FAMILIES, MODELS), workers=workers)


def worker_cpu() -> float:
    """CPU seconds of this process's children: reaped ones (rusage) plus live ones (/proc)."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = ru.ru_utime + ru.ru_stime
    me, tick = os.getpid(), os.sysconf("SC_CLK_TCK")
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == me:                   # ppid; utime, stime are fields 14, 15 of stat
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def page_shas(builder) -> dict[str, dict[str, object]]:
    """{family: {path: sha}} from the manifest (a page is written only when its bytes change)."""
    return {fam: {path: (entry[0] if entry else None) for path, entry in pages.items()}
            for fam, pages in builder.manifest.outputs.items()}


class Collections:
    """The cyclic collector's runs while it is entered (gc.callbacks): count, full ones, seconds."""

    def __init__(self):
        self.count = self.full = 0
        self.seconds = 0.0
        self._started = 0.0

    def _callback(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        self.seconds += time.perf_counter() - self._started
        self.count += 1
        self.full += info["generation"] == 2

    def __enter__(self):
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc):
        gc.callbacks.remove(self._callback)

    def __str__(self) -> str:
        return f"{self.count} garbage collections ({self.full} full), {self.seconds:.2f} s"


def run(builder, profile: bool, top: int, label: str, full: bool = False, warm: bool = False,
        stats: Path | None = None):
    prof = cProfile.Profile() if profile else None
    before, workers = page_shas(builder), worker_cpu()
    started, cpu = time.monotonic(), time.process_time()
    if prof:
        prof.enable()
    with Collections() as collections:
        result = builder.build(full=full, warm=warm)
    if prof:
        prof.disable()
    wall, cpu = time.monotonic() - started, time.process_time() - cpu
    workers = worker_cpu() - workers
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{label:<9} wall {wall:6.2f} s  cpu {cpu:6.2f} s  workers cpu {workers:6.2f} s  "
          f"written {result.written:6d}  unchanged {result.unchanged:6d}  deleted {result.deleted}  "
          f"peak RSS {rss:.0f} MB  errors {result.errors or '-'}", flush=True)
    print(f"          {collections} in this process", flush=True)
    slow = sorted(result.timings.items(), key=lambda kv: -kv[1])[:8]
    print("          families (s in this process): " + ", ".join(f"{k} {v:.2f}" for k, v in slow), flush=True)
    after = page_shas(builder)
    written = {fam: sum(1 for path, sha in pages.items() if before.get(fam, {}).get(path, "-") != sha)
               for fam, pages in after.items()}
    print(f"          families rendered ({len(result.families)}): {', '.join(result.families) or '-'}", flush=True)
    print("          pages written per family: "
          + (", ".join(f"{k} {v}" for k, v in sorted(written.items(), key=lambda kv: -kv[1]) if v) or "-"),
          flush=True)
    if prof:
        if stats is not None:                  # for pstats, snakeviz, `python -m pstats FILE`
            prof.dump_stats(stats.with_name(f"{stats.name}.{label}"))
        for order in ("cumulative", "tottime"):
            s = io.StringIO()
            pstats.Stats(prof, stream=s).sort_stats(order).print_stats(top)
            print(s.getvalue())
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--work", type=Path, default=Path("/tmp/alliumd-profile"))
    ap.add_argument("--scenario", choices=(*SCENARIOS, *VOTE_SCENARIOS, "all"), default="all")
    ap.add_argument("--votes", action="store_true", help="add the collector source with synthetic votes")
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--top", type=int, default=30)
    ap.add_argument("--stats", type=Path, help="with --profile: also write each scenario's cProfile stats "
                                              "to STATS.<scenario>")
    ap.add_argument("--workers", type=int, help="render workers (1: every page in this process, profiled)")
    ap.add_argument("--restart", action="store_true",
                    help="after cold, a new builder's start-up batch, as the daemon after `alliumd --once`: "
                         "the scenarios then run on the state a running daemon has")
    args = ap.parse_args(argv)
    files = prepare(args.data, args.work)
    with_votes = args.votes or args.scenario in VOTE_SCENARIOS
    if with_votes:
        files.update(prepare_votes(files))
    fresh_site(args.work, files, with_votes)
    cache = args.work / "cache"
    wanted = ((*SCENARIOS, *(VOTE_SCENARIOS if with_votes else ())) if args.scenario == "all"
              else ("cold", "vote-hour", args.scenario) if args.scenario == "vote-1pct" else ("cold", args.scenario))
    builder = builder_for(args.work, with_votes, args.workers)
    run(builder, args.profile and args.scenario in ("cold", "all"), args.top, "cold", stats=args.stats)
    if args.restart:
        builder.close()
        builder = builder_for(args.work, with_votes, args.workers)
        run(builder, False, args.top, "restart", full=True, warm=True)     # renderer/main.py's start-up batch
    for scenario, variant, target in STEPS:        # in this order, each on the state the previous left
        if scenario in wanted:
            if variant is not None:
                install(files[variant], cache / target)
            run(builder, args.profile, args.top, scenario, stats=args.stats)
    builder.close()
    workers = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(f"render workers: cpu {workers.ru_utime + workers.ru_stime:.2f} s (user {workers.ru_utime:.2f}, "
          f"sys {workers.ru_stime:.2f}), peak RSS {workers.ru_maxrss / 1024:.0f} MB (largest worker)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
