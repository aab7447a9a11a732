"""alliumd benchmark: cold build, uptime-only change, one-relay change, no-change refresh.

    python -m bench --data ../shared/bench/network-10k      # the full-size network (README there)
    python -m bench                                          # a generated deterministic network
    python -m bench --quick                                  # a small version, in seconds

The documents are served from a loopback HTTP server (tests/loopback.py) and
``alliumd`` runs as it does in production: ``--once`` for the cold build, then
a daemon for the warm scenarios, driven through the control socket (what ``alliumctl refresh`` sends).  Peak
RSS is the whole process tree (supervisor, fetchers, renderer), sampled with
psutil every 50 ms; CPU time comes from the kernel's rusage of reaped children.
Medians over ``--runs`` runs.  Results: a table on stdout and JSON in
``bench/results/``.  This is a measuring script, not a test: nothing asserts
timings.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import random
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

from alliumd.supervisor import control  # noqa: E402
from daemon_harness import Daemon, wait_for  # noqa: E402
from loopback import LoopbackAPI  # noqa: E402

from . import synth  # noqa: E402

ROUTES = {"details": "/details", "uptime": "/uptime", "bandwidth": "/bandwidth", "aroi": "/latest.json"}
SOURCE_OF = {"details": "onionoo_details", "uptime": "onionoo_uptime", "bandwidth": "onionoo_bandwidth",
             "aroi": "aroi"}


# -- data ------------------------------------------------------------------------------------

def load_data(directory: Path) -> dict[str, tuple[bytes, bytes]]:
    """{kind: (raw bytes, gzip bytes)} from a directory of <kind>.json[.gz] documents."""
    docs = {}
    for kind in ROUTES:
        gz, plain = directory / f"{kind}.json.gz", directory / f"{kind}.json"
        if gz.exists():
            packed = gz.read_bytes()
            docs[kind] = (gzip.decompress(packed), packed)
        elif plain.exists():
            raw = plain.read_bytes()
            docs[kind] = (raw, gzip.compress(raw, 1, mtime=0))
    if "details" not in docs:
        raise SystemExit(f"{directory}: no details.json(.gz)")
    return docs


def serve(api: LoopbackAPI, kind: str, raw: bytes, packed: bytes | None = None) -> None:
    doc = api.set(ROUTES[kind], raw)
    doc.__dict__["gzipped"] = packed or gzip.compress(raw, 1, mtime=0)   # pre-fill the cached gzip


def mutate_lines(raw: bytes, fraction: float, change, seed: int) -> bytes:
    """Change ``fraction`` of the one-object-per-line relay lines with ``change(obj)``."""
    rng = random.Random(seed)
    lines = raw.split(b"\n")
    start = next(i for i, line in enumerate(lines) if line.startswith(b'"relays":[')) + 1
    end = next(i for i in range(start, len(lines)) if lines[i].startswith(b"]"))
    count = max(1, int((end - start) * fraction))
    for i in rng.sample(range(start, end), count):
        line = lines[i]
        comma = line.endswith(b",")
        obj = json.loads(line[:-1] if comma else line)
        change(obj, rng)
        lines[i] = json.dumps(obj, separators=(",", ":")).encode() + (b"," if comma else b"")
    return b"\n".join(lines)


def bump_uptime(obj: dict, rng: random.Random) -> None:
    for graph in obj.get("uptime", {}).values():
        values = graph.get("values") or []
        if values and values[-1] is not None:
            values[-1] = rng.randrange(0, 1000)


def bump_one_relay(obj: dict, rng: random.Random) -> None:
    obj["observed_bandwidth"] = int(obj.get("observed_bandwidth", 0)) + rng.randrange(1, 10_000)


# -- measuring ----------------------------------------------------------------------------------

def _role(cmdline: list[str]) -> str:
    """A short name for a process of the tree: 'supervisor', 'renderer', 'render workers', a fetcher..."""
    text = " ".join(cmdline)
    if "alliumd.renderer.worker" in text:
        return "render workers"
    if "-m" in cmdline[:-1]:
        return cmdline[cmdline.index("-m") + 1].removeprefix("alliumd.")
    return "supervisor" if "alliumd" in text else (cmdline[-1].rsplit("/", 1)[-1] if cmdline else "?")


class TreeSampler:
    """Peak RSS of a process and all its descendants, sampled in a thread."""

    def __init__(self, pid: int, interval: float = 0.05):
        self.pid, self.interval, self.peak = pid, interval, 0
        self.at_peak: dict[str, int] = {}      # role -> RSS when the tree peaked (where the memory is)
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
                        role = _role(p.cmdline())
                    except psutil.Error:
                        continue
                    total += rss
                    roles[role] = roles.get(role, 0) + rss
                if total > self.peak:
                    self.peak, self.at_peak = total, roles
            except psutil.Error:
                pass
            self._stop.wait(self.interval)

    def figures(self) -> dict:
        return {"peak_rss_mb": self.peak / 1e6,
                "rss_at_peak_mb": {role: round(rss / 1e6) for role, rss in sorted(self.at_peak.items())}}

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def settle_filesystem(workdir: Path, limit_s: float = 120.0, good_us: float = 250.0) -> float:
    """Wait until creating files runs at its normal speed again; return the last probe (µs per file).

    On ext4 with online discard (this kind of host) creating files right after a mass deletion,
    e.g. the previous benchmark's 100k-file trees, is 3-8x slower for up to a minute; a cold build
    measured then times the file system's clean-up, not alliumd.
    """
    probe = workdir / "fs-probe"
    deadline = time.monotonic() + limit_s
    os.sync()
    while True:
        probe.mkdir()
        started = time.monotonic()
        for i in range(300):
            sub = probe / str(i)
            sub.mkdir()
            (sub / "index.html").write_bytes(b"x" * 8192)
        per_file = (time.monotonic() - started) / 300 * 1e6
        shutil.rmtree(probe)
        if per_file <= good_us or time.monotonic() > deadline:
            return per_file
        time.sleep(5)


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


def cold_run(workdir: Path, config: Path) -> dict:
    """One ``alliumd --once`` into empty directories (``workdir`` is fresh: see ``main``)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "alliumd", "--config", str(config), "--once"],
                            stderr=subprocess.PIPE, text=True)
    with TreeSampler(proc.pid) as sampler:
        _, err = proc.communicate()
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"alliumd --once failed ({proc.returncode}):\n{err}")
    batch = json.loads((workdir / "lib" / "renderer.json").read_text())["last_batch"]
    files, size = tree_size(workdir / "www")
    return {"wall_s": wall, "cpu_s": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
            "sys_s": after.ru_stime - before.ru_stime, "render_s": batch["last_duration"],
            **sampler.figures(), "pages_written": batch["pages_written"],
            "files": files, "output_mb": size / 1e6, "log": err.strip().splitlines()}


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
    render_marker = _state(renderer_file).get("last_data_batch", {}).get("last_render")
    attempt_marker = _state(source_file).get("last_attempt")
    if raw is not None:
        serve(api, kind, raw)

    def fetched_record():
        record = _state(source_file)
        return record if record.get("last_attempt") != attempt_marker and record.get("state") != "fetching" \
            else None

    def batch_for_source():
        batch = _state(renderer_file).get("last_data_batch") or {}
        if batch.get("last_render") != render_marker and source in (batch.get("changed") or []):
            return batch
        return None

    with TreeSampler(daemon.proc.pid, interval=0.1) as sampler:
        started = time.monotonic()
        # what `alliumctl refresh` sends, without timing the start of a Python process for alliumctl
        control.call(daemon.dir / "run", "Refresh", {"source": source})
        src = wait_for(fetched_record, 600, interval=0.01, what=f"{source} fetch")
        fetched = time.monotonic() - started
        if raw is None:
            time.sleep(1.0)
            late = batch_for_source()
            return {"wall_s": fetched, "pages_written": late["pages_written"] if late else 0,
                    "http": src["last_status"], **sampler.figures()}
        renderer = wait_for(batch_for_source, 600, interval=0.01, what="render of the change")
        wall = time.monotonic() - started
    return {"wall_s": wall, "fetch_s": fetched, "pages_written": renderer["pages_written"],
            "pages_unchanged": renderer["pages_unchanged"], "render_s": renderer["last_duration"],
            "http": src["last_status"], **sampler.figures()}


def median_of(runs: list[dict]) -> dict:
    keys = [k for k, v in runs[0].items() if isinstance(v, (int, float))]
    medians = {k: statistics.median(r[k] for r in runs) for k in keys}
    if "rss_at_peak_mb" in runs[0]:        # where the memory was in the run with the highest peak
        medians["rss_at_peak_mb"] = max(runs, key=lambda r: r["peak_rss_mb"])["rss_at_peak_mb"]
    return medians


# -- main ----------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, help="directory with details/uptime/bandwidth/aroi .json(.gz)")
    ap.add_argument("--relays", type=int, default=10_000, help="size of the generated network (no --data)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="a small network and one run (smoke test)")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    ap.add_argument("--keep", action="store_true", help="keep the work directory (site, cache, daemon.log)")
    args = ap.parse_args(argv)
    if args.quick:
        args.relays, args.runs = 200, 1
    if args.data:
        docs = load_data(args.data)
        label = str(args.data)
    else:
        docs = {k: (raw, None) for k, raw in synth.network(args.relays).items()}
        label = f"generated network of {args.relays} relays (seed {synth.SEED})"
    results = {"data": label, "cores": os.cpu_count(), "python": platform.python_version(), "runs": args.runs,
               "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "inputs_mb": {
                   k: round(len(v[0]) / 1e6, 1) for k, v in docs.items()}}
    workdir = Path(tempfile.mkdtemp(prefix="alliumd-bench-"))
    with LoopbackAPI() as api:
        for kind, (raw, packed) in docs.items():
            serve(api, kind, raw, packed)
        # Each cold run gets fresh directories, and the trees of earlier runs are deleted only after
        # the last scenario: on ext4 with online discard (this host), creating files right after a
        # mass deletion is 3-8x slower for a while, which would time the file system's clean-up of
        # the previous run instead of alliumd (measured: ~26 µs per file created normally, 100-600 µs
        # after deleting a 30k-file tree).
        results["fs_probe_us"] = round(settle_filesystem(workdir))
        cold = []
        for run in range(args.runs):
            rundir = workdir / f"run{run}"
            rundir.mkdir()
            config = write_config(rundir, api, list(docs))
            cold.append(cold_run(rundir, config))
        results["cold"] = median_of(cold)
        results["cold_runs_wall_s"] = [round(c["wall_s"], 2) for c in cold]
        results["cold_log"] = cold[-1]["log"]
        daemon = Daemon(config)
        try:
            daemon.wait_ready(timeout=600)
            # a warm daemon: its renderer has finished its startup batch (which builds every model)
            wait_for(lambda: (r := daemon.status()["renderer"])["last_render"] and r["state"] == "idle"
                     and not r.get("queue"), 600, interval=0.1, what="the renderer's startup batch")
            scenarios = {"uptime_change": [], "one_relay_change": [], "no_change": []}
            for run in range(args.runs):
                if "uptime" in docs:
                    raw = mutate_lines(docs["uptime"][0], 0.05, bump_uptime, seed=run)
                    scenarios["uptime_change"].append(warm_change(daemon, api, "uptime", raw))
                raw = mutate_lines(docs["details"][0], 0, bump_one_relay, seed=run)
                scenarios["one_relay_change"].append(warm_change(daemon, api, "details", raw))
                scenarios["no_change"].append(warm_change(daemon, api, "details", None))
            for name, runs in scenarios.items():
                if runs:
                    results[name] = median_of(runs)
        finally:
            daemon.stop()
            daemon.kill_leftovers()
    if args.keep:
        print(f"work directory kept: {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    print_table(results)
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out / f"bench-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(results, indent=2))
    print(f"\nresults: {out}")
    return 0


def print_table(r: dict) -> None:
    print(f"alliumd benchmark: {r['data']}; {r['cores']} cores; Python {r['python']}; median of {r['runs']}")
    print(f"inputs (MB): {r['inputs_mb']}; file system probe before the cold runs: "
          f"{r.get('fs_probe_us', '?')} µs per new file; cold runs: {r.get('cold_runs_wall_s', '?')} s")
    c = r["cold"]
    print(f"{'scenario':<20}{'wall s':>9}{'cpu s':>8}{'peak RSS MB':>13}{'pages written':>15}{'files':>8}{'output MB':>11}")
    print(f"{'cold --once':<20}{c['wall_s']:>9.2f}{c['cpu_s']:>8.1f}{c['peak_rss_mb']:>13.0f}"
          f"{c['pages_written']:>15.0f}{c['files']:>8.0f}{c['output_mb']:>11.1f}"
          f"   (cpu: {c.get('sys_s', 0):.1f} s in the kernel; render {c.get('render_s', 0):.2f} s)")
    for name in ("uptime_change", "one_relay_change", "no_change"):
        if name in r:
            s = r[name]
            extra = f"   (fetch {s['fetch_s']:.2f} s, render {s['render_s']:.2f} s)" if "render_s" in s else ""
            print(f"{name:<20}{s['wall_s']:>9.2f}{'':>8}{s['peak_rss_mb']:>13.0f}{s['pages_written']:>15.0f}"
                  f"{'':>19}{extra}")
    print("\nwhole-tree RSS by process at the highest peak (MB):")
    for name in ("cold", "uptime_change", "one_relay_change", "no_change"):
        if r.get(name, {}).get("rss_at_peak_mb"):
            print(f"  {name:<18}" + ", ".join(f"{k} {v}" for k, v in r[name]["rss_at_peak_mb"].items()))
