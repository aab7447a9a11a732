"""alliumd benchmark: cold build, uptime-only change, one-relay change, 1 % churn (same hour and next hour), no change.

    python -m bench --data ../shared/bench/network-10k      # the full-size network (README there)
    python -m bench                                          # a generated deterministic network
    python -m bench --quick                                  # a small version, in seconds
    python -m bench --quick --check                          # assert what each scenario writes (CI)

Each dataset is measured twice: as given, and with every timestamp moved so that
it was published this hour (bench/shift.py), because months-old data and fresh
data must cost the same; their cold runs alternate (given, shifted, shifted, given,
…) so that both see the host at the same speed, then each dataset's warm scenarios
run.  The documents are served from a loopback HTTP server (tests/loopback.py)
and ``alliumd`` runs as it does in production: ``--once`` for the cold build, then a daemon for the warm scenarios, driven through the control
socket (what ``alliumctl refresh`` sends).  Peak RSS is the whole process tree
(supervisor, fetchers, renderer, render workers), sampled with psutil every
50 ms; CPU time comes from the kernel's rusage of reaped children (cold) and
the tree's CPU counters (warm).  Medians over ``--runs`` runs.

alliumd's modules are byte-compiled first, as ``pip install .`` (the production
install) does: where ``PYTHONDONTWRITEBYTECODE`` is set, an editable checkout
would otherwise compile every module again in each process the daemon starts
(``--no-compile`` measures that).

Every warm scenario changes something a page shows, and the site is compared
before and after it (bench/scenarios.py says what each may and must write): a
scenario that writes no page, or pages that do not show its change, fails the
benchmark (exit 1) whatever its timings.  Results: a table per dataset on
stdout and JSON in ``bench/results/``.  Timings are reported against the
targets, never asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import itertools
import json
import operator
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from alliumd.core import control  # noqa: E402
from daemon_harness import Daemon, wait_for  # noqa: E402
from loopback import LoopbackAPI  # noqa: E402

from . import scenarios, shift, synth  # noqa: E402

ROUTES = {"details": "/details", "uptime": "/uptime", "bandwidth": "/bandwidth", "aroi": "/latest.json"}
SOURCE_OF = {"details": "onionoo_details", "uptime": "onionoo_uptime", "bandwidth": "onionoo_bandwidth",
             "aroi": "aroi"}
# the targets (2 cores): reported next to the figures, never asserted
TARGETS = {"cold": {"wall_s": 15.0, "cpu_s": 25.0}, "uptime_change": {"wall_s": 4.0},
           "one_relay_change": {"wall_s": 2.0}, "no_change": {"wall_s": 0.1}, "peak_rss_mb": 600.0,
           "churn": {"wall_s": 3.0}, "hour_churn": {"wall_s": 3.0}}       # issue 11: the 1 % churn publication
REPLACED_INODES_S = 365.0   # see quiet_after_replacements: ext4's 360 s for a dirty inode table block, and a margin
FS_PROBE_FILES = 2000       # see settle_filesystem: 300 did not see a slow file system
WARM = ("uptime_change", "one_relay_change", "churn", "hour_churn", "no_change")


# -- data ------------------------------------------------------------------------------------

def load_data(directory: Path) -> dict[str, tuple[bytes, bytes | None]]:
    """{kind: (raw bytes, gzip bytes)} from a directory of <kind>.json[.gz] documents."""
    docs = {}
    for kind in ROUTES:
        gz, plain = directory / f"{kind}.json.gz", directory / f"{kind}.json"
        if gz.exists():
            packed = gz.read_bytes()
            docs[kind] = (gzip.decompress(packed), packed)
        elif plain.exists():
            docs[kind] = (plain.read_bytes(), None)
    if "details" not in docs:
        raise SystemExit(f"{directory}: no details.json(.gz)")
    return docs


def shifted_to_now(docs: dict[str, tuple[bytes, bytes | None]], lead: int = 0) -> tuple[dict, int]:
    """The same documents published ``lead`` hours before this hour (every timestamp moved by the same
    whole hours): each run's ``hour_churn`` moves them one hour on, and its last one lands on this hour
    instead of in the future (a future data time is counted from the fetch, which no real hour does)."""
    hours = shift.hours_to_now(docs["details"][0]) - lead
    return {kind: (shift.shift(raw, hours), None) for kind, (raw, _) in docs.items()}, hours


def serve(api: LoopbackAPI, kind: str, raw: bytes, packed: bytes | None = None) -> None:
    doc = api.set(ROUTES[kind], raw)
    doc.__dict__["gzipped"] = packed or gzip.compress(raw, 1, mtime=0)   # pre-fill the cached gzip


# -- measuring ----------------------------------------------------------------------------------

def _role(cmdline: list[str]) -> str:
    """A short name for a process of the tree: 'supervisor', 'renderer', 'render workers', a fetcher..."""
    text = " ".join(cmdline)
    if "alliumd.renderer.worker" in text:
        return "render workers"
    if "--source" in cmdline[:-1]:
        return "fetcher " + cmdline[cmdline.index("--source") + 1]
    if "-m" in cmdline[:-1]:
        module = cmdline[cmdline.index("-m") + 1]
        named = {"alliumd": "supervisor", "alliumd.renderer.main": "renderer"}
        return named.get(module, module.removeprefix("alliumd."))
    return "supervisor" if "alliumd" in text else (cmdline[-1].rsplit("/", 1)[-1] if cmdline else "?")


def sampled_role(cmdline: list[str], known: str | None) -> str:
    """A process's role from this sample's command line, read each time (a child's first look may be before
    its exec), except when there is none: a process that is exiting (its memory torn down, which takes a
    400 MB renderer tens of milliseconds) shows an empty one, and keeps the role it had (its last CPU sample
    was reported as "?")."""
    return _role(cmdline) if cmdline or known is None else known


class TreeSampler:
    """Peak RSS of a process and all its descendants, and each one's CPU time, sampled in a thread.

    The CPU time by process is each process's last sample (up to one interval of its end is missed):
    it shows where the time goes; the run's total comes from ``getrusage`` (cold_run)."""

    def __init__(self, pid: int, interval: float = 0.05):
        self.pid, self.interval, self.peak = pid, interval, 0
        self.at_peak: dict[str, int] = {}      # role -> RSS when the tree peaked (where the memory is)
        self.cpu: dict[int, tuple[str, float, float]] = {}     # pid -> (role, user s, sys s) last seen
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            try:
                root = psutil.Process(self.pid)
                total, roles = 0, {}
                for p in [root] + root.children(recursive=True):
                    try:
                        rss = p.memory_info().rss
                        cmdline = p.cmdline()
                        times = p.cpu_times()
                    except psutil.Error:
                        continue
                    known = self.cpu.get(p.pid)
                    role = sampled_role(cmdline, known[0] if known else None)
                    self.cpu[p.pid] = (role, times.user, times.system)
                    total += rss
                    roles[role] = roles.get(role, 0) + rss
                if total > self.peak:
                    self.peak, self.at_peak = total, roles
            except psutil.Error:
                pass
            self._stop.wait(self.interval)

    def figures(self) -> dict:
        by_role: dict[str, list[float]] = {}
        for role, user, system in self.cpu.values():
            total = by_role.setdefault(role, [0.0, 0.0])
            total[0] += user
            total[1] += system
        return {"peak_rss_mb": self.peak / 1e6,
                "rss_at_peak_mb": {role: round(rss / 1e6) for role, rss in sorted(self.at_peak.items())},
                "cpu_by_process_s": {role: [round(u, 2), round(s, 2)] for role, (u, s) in
                                     sorted(by_role.items(), key=lambda item: -sum(item[1]))}}

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def settle_filesystem(workdir: Path, limit_s: float = 360.0, good_us: float = 250.0,
                      files: int = FS_PROBE_FILES) -> tuple[float, float]:
    """Wait until creating files runs at its normal speed again; return (the last probe in µs per file,
    the seconds waited).

    On ext4 without a journal (this kind of host: ``perf`` shows the kernel in ``recently_deleted``
    under ``ext4_tmpfile`` and ``ext4_mkdir``) the inode allocator passes over every free inode
    deleted in the last 60 s, or 360 s while its inode table block is dirty, before it takes one:
    right after a mass deletion (the test suite's trees, an earlier benchmark's 300k files) each new
    file or directory costs a scan of its block group, and a cold build measured then took 34-42 s
    with 24 s in the kernel in each of two processes, against 18-21 s and 3 s a few minutes later.
    A probe of 300 files did not see it (the first few hundred allocations find never-used inodes),
    one of 2,000 did (1,000-1,400 µs per file against ~100-250).  The probe's files are kept until
    the benchmark's work directory is deleted, so probing deletes nothing itself.
    """
    probes = workdir / "fs-probe"
    probes.mkdir(exist_ok=True)
    started = time.monotonic()
    os.sync()                            # clean inode table blocks: a deletion counts for 60 s, not 360
    for round_ in itertools.count():
        probe = probes / str(round_)
        probe.mkdir()
        began = time.monotonic()
        for i in range(files):
            sub = probe / str(i)
            sub.mkdir()
            (sub / "index.html").write_bytes(b"x" * 8192)
        per_file = (time.monotonic() - began) / files * 1e6
        if per_file <= good_us or time.monotonic() - started > limit_s:
            return per_file, time.monotonic() - started
        time.sleep(10)


def cpu_probe(rounds: int = 3) -> float:
    """Seconds a fixed pure-Python loop takes (median of ``rounds``): the host's speed next to the figures.

    A shared host's CPU speed varies by tens of percent from hour to hour; two runs of the benchmark
    compare only when their probes do.
    """
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        total = 0
        for i in range(5_000_000):
            total += i
        times.append(time.perf_counter() - started)
    return statistics.median(times)


MEMORY_PROBE_OBJECTS = 1 << 22       # 4M int objects, ~150 MB with their list: far beyond any cache
MEMORY_PROBE_READS = 1 << 20


def memory_probe(rounds: int = 3) -> float:
    """Seconds to read 1M objects of a 150 MB list in a scattered order (median of ``rounds``).

    Why a second probe: the CPU probe's loop runs from the first-level cache, and a cold build of
    network-10k took 23.1 s of CPU at a CPU probe of 0.112 s and 29.4 s at 0.114 s (bench-20261207-203727.json,
    its kernel time 5.8 s against 3.6 s), so the host's memory (the renderer's ~400 MB of models, the
    kernel's inode tables) was the suspect.  This probe reads memory the way the models are read: through
    ``operator.itemgetter`` in C, so Python's own speed counts for little.  It did not see the slow runs
    either (0.068-0.085 s before runs of 23.7 to 32.1 s of CPU, README "Benchmark"): the slow runs' excess
    is mostly kernel time, which neither probe predicts; the report keeps both, so a reader can tell.
    """
    data = list(range(MEMORY_PROBE_OBJECTS))             # objects laid out in order of creation
    order = [(i * 2_654_435_761) % MEMORY_PROBE_OBJECTS for i in range(MEMORY_PROBE_READS)]   # scattered
    gather = operator.itemgetter(*order)
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        gather(data)                                    # a tuple of 1M references: a cache miss each
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def write_config(workdir: Path, api: LoopbackAPI, kinds: list[str]) -> Path:
    from alliumd.sources import SOURCES
    lines = ["[daemon]", 'cache_dir = "cache"', 'output_dir = "www"', 'state_dir = "lib"', 'run_dir = "run"',
             "sample_fallback = false", "[render]", "debounce = 0.2", "max_delay = 2"]
    for kind in kinds:
        name = SOURCE_OF[kind]
        if SOURCES[name].fetcher is None:
            continue
        lines += [f"[sources.{name}]", "enabled = true", f'url = "{api.url(ROUTES[kind])}"',
                  "interval = 86400", "timeout = 600", "retries = 0", "max_bytes = 2_000_000_000"]
    path = workdir / "allium.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def tree_size(www: Path) -> tuple[int, int]:
    files = size = 0
    for dirpath, _, names in os.walk(www):
        for name in names:
            files += 1
            size += os.path.getsize(os.path.join(dirpath, name))
    return files, size



def tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by a process and its live descendants."""
    total = 0.0
    try:
        root = psutil.Process(pid)
        procs = [root] + root.children(recursive=True)
    except psutil.Error:
        return total
    for proc in procs:
        try:
            t = proc.cpu_times()
            total += t.user + t.system
        except psutil.Error:
            continue
    return total


def quiet_after_replacements(since: float, window_s: float = REPLACED_INODES_S,
                             what: str = "the pages the last dataset's scenarios replaced") -> None:
    """Wait until ``window_s`` have passed since ``since``: before the cold runs, now (``what`` was deleted
    then, say a test suite's trees, which cost the first dataset's median cold run 5.9 and 6.7 s in the
    kernel against 3.8 and 4.4 s for the second's, while the probe read 62 and 79 µs per file); before the
    second dataset's warm scenarios, when the first one's daemon stopped.  No sync before it: the window is
    the dirty-block one, and settle_filesystem syncs right after.

    A dataset's warm scenarios replace ~10k pages; each replaced page frees an inode, in block groups that
    the other site's directories share: ext4 without a journal passes over an inode freed in the last 60 s,
    or 360 s while its inode table block is dirty, before it takes one (settle_filesystem).  When the cold
    runs of the second dataset came after the first one's warm scenarios, without this wait they took 25.8,
    23.0 and 19.7 s (8.6 s in the kernel in the median run against 5.3 s in the first dataset's), though the
    probe read 105 µs per file.  The cold runs now come first; the wait is kept before the second dataset's
    warm scenarios, whose replaced pages would pass over the first one's freed inodes alike."""
    wait = window_s - (time.monotonic() - since)
    if wait > 0:
        print(f"  waiting {wait:.0f} s: {what} freed inodes that ext4 passes over for up to 360 s", flush=True)
        time.sleep(wait)


def cold_run(workdir: Path, config: Path, python: str = sys.executable, env: dict[str, str] | None = None) -> dict:
    """One ``alliumd --once`` into empty directories (``workdir`` is fresh: see ``main``), by ``python``'s
    install of alliumd with ``env`` added to the environment (bench/alternate.py compares installs)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    proc = subprocess.Popen([python, "-m", "alliumd", "--config", str(config), "--once"],
                            stderr=subprocess.PIPE, text=True, env={**os.environ, **env} if env else None)
    with TreeSampler(proc.pid) as sampler:
        _, err = proc.communicate()
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{python}: alliumd --once failed ({proc.returncode}):\n{err}")
    batch = json.loads((workdir / "lib" / "renderer.json").read_text())["last_batch"]
    files, size = tree_size(workdir / "www")
    user, system = after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime
    return {"wall_s": wall, "cpu_s": user + system, "user_s": user, "sys_s": system,
            "minflt": after.ru_minflt - before.ru_minflt, "render_s": batch["last_duration"], **sampler.figures(),
            "pages_written": batch["pages_written"], "files": files, "output_mb": size / 1e6,
            "log": err.strip().splitlines()}


def _state(path: Path) -> dict:
    """A JSON state file the daemon writes atomically ({} while it does not exist yet)."""
    try:
        return json.loads(path.read_bytes())
    except (OSError, ValueError):
        return {}


def warm_change(daemon: Daemon, api: LoopbackAPI, kind: str, raw: bytes | None) -> dict:
    """Serve a new document (or the same one), ask for a refresh, time until its render batch is done.

    Only a batch that lists the source among its changed inputs counts (the status-only batches
    that follow every fetch report do not).  For an unchanged document the scenario ends when
    the fetch is done, after a grace period in which no render for the source may start.
    Progress is read from the state files the fetcher and the renderer write after every attempt
    and batch (``lib/sources/<source>.json``, ``lib/renderer.json``): polling them costs nothing,
    whereas a status call every 20 ms makes the supervisor walk /proc for memory figures on the
    very cores that are being measured.
    """
    source = SOURCE_OF[kind]
    source_file = daemon.dir / "lib" / "sources" / f"{source}.json"
    renderer_file = daemon.dir / "lib" / "renderer.json"
    render_marker = _state(renderer_file).get("last_data_batch", {}).get("batch")
    attempt_marker = _state(source_file).get("last_attempt")
    if raw is not None:
        serve(api, kind, raw)

    def fetched_record():
        record = _state(source_file)
        return record if record.get("last_attempt") != attempt_marker and record.get("state") != "fetching" \
            else None

    def batch_for_source():
        batch = _state(renderer_file).get("last_data_batch") or {}
        if batch.get("batch") != render_marker and source in (batch.get("changed") or []):
            return batch
        return None

    cpu_before = tree_cpu(daemon.proc.pid)
    with TreeSampler(daemon.proc.pid, interval=0.1) as sampler:
        started = time.monotonic()
        # what `alliumctl refresh` sends, without timing the start of a Python process for alliumctl
        control.call(daemon.dir / "run", "Refresh", {"source": source})
        src = wait_for(fetched_record, 600, interval=0.01, what=f"{source} fetch")
        fetched = time.monotonic() - started
        if raw is None:
            time.sleep(1.0)
            late = batch_for_source()
            return {"wall_s": fetched, "cpu_s": tree_cpu(daemon.proc.pid) - cpu_before,
                    "render_pages_written": late["pages_written"] if late else 0,
                    "http": src["last_status"], **sampler.figures()}
        renderer = wait_for(batch_for_source, 120, interval=0.01, what="render of the change")
        wall = time.monotonic() - started
    return {"wall_s": wall, "cpu_s": tree_cpu(daemon.proc.pid) - cpu_before, "fetch_s": fetched,
            "render_pages_written": renderer["pages_written"], "pages_unchanged": renderer["pages_unchanged"],
            "render_s": renderer["last_duration"], "http": src["last_status"], **sampler.figures()}


def observed(daemon: Daemon, scenario: str, subjects: set[str], measure) -> dict:
    """Run ``measure()`` between two snapshots of the site; the figures plus what it wrote and any
    violation of the scenario's expectation (bench/scenarios.py)."""
    www = daemon.dir / "www"
    before = scenarios.snapshot(www)
    figures = measure()
    time.sleep(0.3)                      # a status-only batch may still be writing status.html
    outcome = scenarios.check(scenario, scenarios.compare(before, scenarios.snapshot(www)), www, subjects)
    return {**figures, "pages_written": len(outcome.written), "written_by_kind": outcome.by_kind(),
            "violations": outcome.violations}


def median_of(runs: list[dict]) -> dict:
    keys = [k for k, v in runs[0].items() if isinstance(v, (int, float)) and not isinstance(v, bool)]
    medians = {k: statistics.median(r[k] for r in runs) for k in keys}
    if "rss_at_peak_mb" in runs[0]:        # where the memory was in the run with the highest peak
        medians["rss_at_peak_mb"] = max(runs, key=lambda r: r["peak_rss_mb"])["rss_at_peak_mb"]
    if "cpu_by_process_s" in runs[0]:      # (user, sys) by process: the median run's (by CPU time)
        medians["cpu_by_process_s"] = sorted(runs, key=lambda r: r.get("cpu_s", 0))[len(runs) // 2][
            "cpu_by_process_s"]
    if "written_by_kind" in runs[0]:
        medians["written_by_kind"] = runs[-1]["written_by_kind"]
    if "peak_rss_mb" in runs[0]:
        medians["runs_peak_rss_mb"] = [round(r["peak_rss_mb"]) for r in runs]
    medians["violations"] = [f"run {i + 1}: {v}" for i, r in enumerate(runs) for v in r.get("violations", [])]
    return medians


# -- the cold runs of every dataset, then each one's warm scenarios -------------------------------

def cold_phase(datasets: dict[str, dict], runs: int, workdir: Path, *, settle: bool = True,
               drop: bool = False) -> None:
    """The cold runs of every dataset, interleaved (given 1, now 1, now 2, given 2, …), into each dataset's results.

    Why interleaved: the host's speed drifts within minutes (the CPU probe read 0.11 to 0.21 s between runs a
    minute apart), and one dataset measured ten minutes after the other met the CPU target on one and missed
    it by 6 s on the other in the same code.  Side by side, the datasets' cold runs see the same host, so
    their difference is the data's (the question of issue 10: does months-old data cost more?).

    Each cold run gets fresh directories, and the trees of earlier runs are deleted only after the last
    scenario: on ext4 without a journal (this host), creating files within minutes of a mass deletion
    costs a scan of the deleted inodes per file (settle_filesystem), which would time the kernel's inode
    allocator instead of alliumd.  ``settle=False`` (``--check``, which asserts what the scenarios write,
    not how fast) probes the file system once, with 300 files, instead of waiting up to six minutes for it
    to be fast again: in the test suite, right after other tests deleted their trees, that wait was most
    of the suite's time.
    """
    probe_us, waited = settle_filesystem(workdir) if settle else settle_filesystem(workdir, 0.0, files=300)
    cold: dict[str, list[dict]] = {variant: [] for variant in datasets}
    for run in range(runs):
        # each pair in the other order than the last (given 1, shifted 1, shifted 2, given 2, …): later cold runs
        # of a benchmark took more system time than earlier ones (the kernel's caches of the runs before:
        # --drop-caches, README), which a fixed order would have charged to the second dataset
        order = list(datasets.items()) if run % 2 == 0 else list(reversed(datasets.items()))
        for variant, ds in order:
            rundir = ds["dir"] / f"run{run}"
            rundir.mkdir()
            ds["config"] = write_config(rundir, ds["api"], list(ds["docs"]))
            # the last run's ~600 MB of pages reach the disk now, not while this run is timed: the kernel's
            # writeback threads would compete with it for the two cores (every run starts like the first)
            os.sync()
            if drop:
                drop_caches()
            probe, memory = cpu_probe(), memory_probe()          # the host's speed right before each run
            cold[variant].append({**cold_run(rundir, ds["config"]), "cpu_probe_s": probe,
                                  "memory_probe_s": memory})
            c = cold[variant][-1]
            print(f"  cold run {run + 1}, {variant}: {c['wall_s']:.2f} s, {c['cpu_s']:.1f} s CPU "
                  f"({c['user_s']:.1f} user, {c['sys_s']:.1f} sys; probes before it: CPU {probe:.3f} s, "
                  f"memory {memory:.3f} s)", flush=True)
    for variant, measured in cold.items():
        results = datasets[variant]["results"]
        results["fs_probe_us"], results["fs_settle_s"] = round(probe_us), round(waited, 1)
        results["cold"] = median_of(measured)
        results["cold_runs_wall_s"] = [round(c["wall_s"], 2) for c in measured]
        results["cold_runs_cpu_s"] = [round(c["cpu_s"], 1) for c in measured]
        results["cold_runs_probe_s"] = [round(c["cpu_probe_s"], 3) for c in measured]
        results["cold_runs_memory_probe_s"] = [round(c["memory_probe_s"], 3) for c in measured]
        results["cold_runs_sys_s"] = [round(c["sys_s"], 1) for c in measured]
        results["cpu_probe_s"] = results["cold_runs_probe_s"][0]          # the dataset's: before its first run
        results["cold_log"] = measured[-1]["log"]
        first = measured[0]
        if first["files"] != first["pages_written"] or first["pages_written"] == 0:
            results["cold"]["violations"].append(
                f"cold build wrote {first['pages_written']} pages but the site has {first['files']} files")


def warm_phase(ds: dict, runs: int) -> None:
    """The warm scenarios of one dataset, on a daemon started on its last cold run's directories."""
    daemon = Daemon(ds["config"])
    try:
        daemon.wait_ready(timeout=600)
        # a warm daemon: its renderer has finished its startup batch (which builds every model)
        wait_for(lambda: (r := daemon.status()["renderer"])["last_render"] and r["state"] == "idle"
                 and not r.get("queue"), 600, interval=0.1, what="the renderer's startup batch")
        os.sync()                    # the cold runs' pages: written back before, not during, the scenarios
        ds["results"].update(warm_scenarios(daemon, ds["api"], ds["docs"], runs))
    finally:
        daemon.stop()
        daemon.kill_leftovers()


def warm_scenarios(daemon: Daemon, api: LoopbackAPI, docs: dict, runs: int) -> dict:
    """Each run changes the currently served documents further (so every run changes something)."""
    current = {kind: raw for kind, (raw, _) in docs.items()}
    measured: dict[str, list[dict]] = {name: [] for name in WARM}
    for run in range(runs):
        if "uptime" in current:
            current["uptime"], touched = scenarios.mutate_lines(current["uptime"], 0.05, scenarios.bump_uptime,
                                                                seed=run)
            measured["uptime_change"].append(observed(
                daemon, "uptime", touched, lambda: warm_change(daemon, api, "uptime", current["uptime"])))
        current["details"], fp = scenarios.change_one_relay(current["details"], seed=run)
        measured["one_relay_change"].append(observed(
            daemon, "one_relay", {fp}, lambda: warm_change(daemon, api, "details", current["details"])))
        # 1 % of the relays with an event each: in the same hour, then in the next hour (each run's
        # next hour is one hour later again)
        current["details"], touched = scenarios.churn(current["details"], seed=100 + run)
        measured["churn"].append(observed(
            daemon, "churn", touched, lambda: warm_change(daemon, api, "details", current["details"])))
        current["details"], touched = scenarios.churn(scenarios.next_hour(current["details"]), seed=200 + run)
        measured["hour_churn"].append(observed(
            daemon, "hour_churn", touched, lambda: warm_change(daemon, api, "details", current["details"])))
        measured["no_change"].append(observed(
            daemon, "no_change", set(), lambda: warm_change(daemon, api, "details", None)))
        print(f"  warm run {run + 1}: " + ", ".join(f"{name} {m[-1]['wall_s']:.2f} s "
                                                     f"({m[-1]['pages_written']} pages)"
                                                     for name, m in measured.items() if m), flush=True)
    out = {name: median_of(m) for name, m in measured.items() if m}
    for name, m in measured.items():          # every run's figures next to the medians
        if m:
            out[name]["runs_wall_s"] = [round(r["wall_s"], 2) for r in m]
    return out


# -- main ----------------------------------------------------------------------------------------

def interpreter() -> str:
    """Which CPython build runs the benchmark and the daemon it starts (the same executable), in words.

    Why: the build moves every figure.  On this kind of machine ``python3`` is a pyenv build (libpython as a
    shared library, no profile-guided optimisation) and ``/usr/bin/python3.11`` Debian's (statically linked,
    PGO and LTO): a cold build of network-10k took 25.7 s of CPU under Debian's against 33.1 s (README,
    "Benchmark").  The service runs the interpreter its venv was made from (README: "As a systemd service").
    """
    base = os.path.realpath(getattr(sys, "_base_executable", sys.executable))
    try:
        with open("/proc/self/maps") as maps:
            shared = any("libpython" in line for line in maps)
    except OSError:
        shared = None
    linked = {True: "libpython shared", False: "libpython linked in", None: "libpython ?"}[shared]
    return f"{platform.python_implementation()} {platform.python_version()} at {base} ({linked})"


DROP_CACHES_HELP = ("before each cold build, after its sync, drop the kernel's page, dentry and inode caches "
                    "(root only): the system time of consecutive cold builds otherwise grows with the trees "
                    "of the builds before them")


def drop_caches() -> None:
    """Empty the kernel's clean page cache, dentries and inodes (after a sync every cached page is clean).

    Why: six consecutive cold builds, each keeping its ~60k files, spent 3.95, 4.33, 4.15, 5.85, 6.44 and
    6.99 s in the kernel (``python -m bench.alternate``, two installs); with this before each,
    4.33, 3.83, 3.78, 4.35, 3.98 and 4.03 s (one install).  A production ``alliumd --once`` does not
    run next to five earlier copies of its site."""
    try:
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
    except OSError as e:
        raise SystemExit(f"--drop-caches: {e} (it needs root)") from None


def compile_bytecode() -> str:
    """Byte-compile the alliumd package being measured, as ``pip install .`` does; says what it did."""
    import compileall
    import alliumd
    package = Path(alliumd.__file__).resolve().parent
    ok = compileall.compile_dir(str(package), quiet=1)
    state = "byte-compiled" if ok else "byte-compiled with errors"
    return f"{state} {package} ({sum(1 for _ in package.rglob('*.pyc'))} .pyc files)"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, help="directory with details/uptime/bandwidth/aroi .json(.gz)")
    ap.add_argument("--relays", type=int, default=10_000, help="size of the generated network (no --data)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="a small network and one run (smoke test)")
    ap.add_argument("--check", action="store_true",
                    help="one run per dataset; report and assert what each scenario writes, not timings")
    ap.add_argument("--datasets", choices=("both", "given", "now"), default="both",
                    help="the data as given, shifted to the current hour, or both (default)")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    ap.add_argument("--keep", action="store_true", help="keep the work directory (site, cache, daemon.log)")
    ap.add_argument("--quiet-start", type=float, default=REPLACED_INODES_S, metavar="S",
                    help="seconds to wait before the first dataset, for the file system to forget the inodes "
                         "deleted just before (default %(default)s; 0: no wait; never with --quick or --check)")
    ap.add_argument("--no-compile", action="store_true",
                    help="do not byte-compile alliumd first (measure an install without bytecode)")
    ap.add_argument("--drop-caches", action="store_true", help=DROP_CACHES_HELP)
    args = ap.parse_args(argv)
    if args.quick:
        args.relays, args.runs = 200, 1
    if args.check:
        args.runs = 1
    if args.data:
        given = load_data(args.data)
        label = str(args.data)
    else:
        given = {k: (raw, None) for k, raw in synth.network(args.relays).items()}
        label = f"generated network of {args.relays} relays (seed {synth.SEED})"
    results = {"data": label, "cores": os.cpu_count(), "python": platform.python_version(),
               "interpreter": interpreter(), "runs": args.runs, "quiet_start_s": args.quiet_start,
               "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
               "bytecode": "not compiled (--no-compile)" if args.no_compile else compile_bytecode(),
               "drop_caches": args.drop_caches,
               "datasets": {}}
    workdir = Path(tempfile.mkdtemp(prefix="alliumd-bench-"))
    waits = not (args.check or args.quick)          # a small site replaces few pages; --check times nothing
    try:
        with contextlib.ExitStack() as stack:
            datasets: dict[str, dict] = {}
            for variant in (("given", "now") if args.datasets == "both" else (args.datasets,)):
                if variant == "now":
                    docs, hours = shifted_to_now(given, lead=args.runs)
                    name = f"shifted to {args.runs} h before the current hour (+{hours} h)"
                else:
                    docs = given
                    name = f"as given (published {shift.published(given['details'][0]):%Y-%m-%d %H:%M})"
                api = stack.enter_context(LoopbackAPI())
                for kind, (raw, packed) in docs.items():
                    serve(api, kind, raw, packed)
                sub = workdir / variant
                sub.mkdir()
                datasets[variant] = {"docs": docs, "api": api, "dir": sub, "label": name,
                                     "results": {"inputs_mb": {k: round(len(v[0]) / 1e6, 1) for k, v in docs.items()}}}
            if waits and args.quiet_start > 0:
                quiet_after_replacements(time.monotonic(), args.quiet_start,
                                         "whatever was deleted just before the benchmark (a test suite's trees?)")
            print(f"{label}: cold runs of " + " and ".join(ds["label"] for ds in datasets.values())
                  + ", side by side:", flush=True)
            cold_phase(datasets, args.runs, workdir, settle=not args.check, drop=args.drop_caches)
            previous_end = None          # when the last dataset's daemon stopped
            for variant, ds in datasets.items():
                print(f"{label}, {ds['label']}, warm scenarios:", flush=True)
                if waits and previous_end is not None:
                    quiet_after_replacements(previous_end)
                warm_phase(ds, args.runs)
                previous_end = time.monotonic()
            for variant, ds in datasets.items():
                results["datasets"][variant] = {"label": ds["label"], **ds["results"]}
    finally:
        if args.keep:
            print(f"work directory kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    failures = print_report(results)
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out / f"bench-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(results, indent=2))
    print(f"\nresults: {out}")
    if failures:
        print(f"\nFAILED: {len(failures)} scenario expectation(s) not met:", file=sys.stderr)
        for failure in failures:
            print(f"  {failure}", file=sys.stderr)
        return 1
    if args.check:
        print("check: every scenario wrote what it should, and nothing else")
    return 0


def _target(name: str, key: str, value: float) -> str:
    limit = TARGETS.get(name, {}).get(key) if key != "peak_rss_mb" else TARGETS["peak_rss_mb"]
    return "" if limit is None else ("ok" if value <= limit else f">{limit:g}")


def print_report(r: dict) -> list[str]:
    """A table per dataset; returns every violated expectation."""
    failures = []
    print(f"\nalliumd benchmark: {r['data']}; {r['cores']} cores; Python {r['python']}; median of {r['runs']}")
    print(f"interpreter: {r.get('interpreter', '?')}; bytecode: {r.get('bytecode', '?')}"
          + ("; kernel caches dropped before each cold run (--drop-caches)" if r.get("drop_caches") else ""))
    for variant, d in r["datasets"].items():
        print(f"\n== {d['label']} ==")
        print(f"inputs (MB): {d['inputs_mb']}; file system probe before the cold runs: "
              f"{d.get('fs_probe_us', '?')} µs per new file (after {d.get('fs_settle_s', '?')} s); "
              f"CPU probe (5M-step Python loop): {d.get('cpu_probe_s', '?')} s; "
              f"cold runs: {d.get('cold_runs_wall_s', '?')} s, {d.get('cold_runs_cpu_s', '?')} s CPU, "
              f"of which sys {d.get('cold_runs_sys_s', '?')} s; CPU probe before each: "
              f"{d.get('cold_runs_probe_s', '?')} s, memory probe (1M scattered reads of a 150 MB list) before "
              f"each: {d.get('cold_runs_memory_probe_s', '?')} s")
        print(f"{'scenario':<18}{'wall s':>8}{'':>5}{'cpu s':>7}{'':>5}{'user/sys':>10}{'peak RSS MB':>12}{'':>5}"
              f"{'pages written':>14}")
        for name in ("cold", *WARM):
            if name not in d:
                continue
            s = d[name]
            user_sys = f"{s['user_s']:.1f}/{s['sys_s']:.1f}" if "user_s" in s else ""
            print(f"{name:<18}{s['wall_s']:>8.2f}{_target(name, 'wall_s', s['wall_s']):>5}"
                  f"{s.get('cpu_s', 0):>7.1f}{_target(name, 'cpu_s', s.get('cpu_s', 0)):>5}{user_sys:>10}"
                  f"{s['peak_rss_mb']:>12.0f}{_target(name, 'peak_rss_mb', s['peak_rss_mb']):>5}"
                  f"{s['pages_written']:>14.0f}")
            detail = []
            if name == "cold":
                detail.append(f"render {s['render_s']:.2f} s, {s['files']:.0f} files, {s['output_mb']:.1f} MB")
                if s.get("cpu_by_process_s"):
                    detail.append("user/sys s by process (median run): " + ", ".join(
                        f"{role} {u:.1f}/{sy:.1f}" for role, (u, sy) in s["cpu_by_process_s"].items()))
            elif "render_s" in s:
                detail.append(f"fetch {s['fetch_s']:.2f} s, render {s['render_s']:.2f} s")
            if len(s.get("runs_peak_rss_mb", ())) > 1:
                detail.append("by run: " + ", ".join(f"{w:.2f} s {m} MB" for w, m in zip(
                    s.get("runs_wall_s", d.get("cold_runs_wall_s", [])), s["runs_peak_rss_mb"])))
            if s.get("written_by_kind"):
                detail.append("written: " + ", ".join(f"{k} {v}" for k, v in s["written_by_kind"].items()))
            if detail:
                print(f"{'':<18}({'; '.join(detail)})")
            failures += [f"{variant} {name}: {v}" for v in s.get("violations", [])]
        print("whole-tree RSS by process at the highest peak (MB):")
        for name in ("cold", *WARM):
            if d.get(name, {}).get("rss_at_peak_mb"):
                print(f"  {name:<18}" + ", ".join(f"{k} {v}" for k, v in d[name]["rss_at_peak_mb"].items()))
    return failures
