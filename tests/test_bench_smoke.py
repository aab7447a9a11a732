"""The benchmark's --quick --check mode: every scenario writes what it should (no timing assertions)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_bench_quick_check_runs_every_scenario_on_both_datasets(tmp_path):
    result = subprocess.run([sys.executable, "-m", "bench", "--quick", "--check", "--out", str(tmp_path)],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    [path] = tmp_path.glob("bench-*.json")
    data = json.loads(path.read_text())
    assert set(data["datasets"]) == {"given", "now"}
    # the interpreter that ran it (the daemon runs the same executable): its version and how libpython is linked
    assert data["interpreter"].startswith(f"CPython {sys.version.split()[0]} at /")
    assert "libpython " in data["interpreter"] and "interpreter: CPython" in result.stdout
    for dataset in data["datasets"].values():
        assert 0 < dataset["cpu_probe_s"] < 60                                 # the host's speed, reported
        runs = len(dataset["cold_runs_wall_s"])                                 # …and before each cold run,
        assert len(dataset["cold_runs_probe_s"]) == runs and all(0 < p < 60 for p in dataset["cold_runs_probe_s"])
        assert len(dataset["cold_runs_cpu_s"]) == runs and all(c > 0 for c in dataset["cold_runs_cpu_s"])
        memory, system = dataset["cold_runs_memory_probe_s"], dataset["cold_runs_sys_s"]
        assert len(memory) == runs and all(0 < p < 60 for p in memory)
        assert len(system) == runs and all(0 <= t <= c for t, c in zip(system, dataset["cold_runs_cpu_s"]))
        assert dataset["cold"]["pages_written"] > 100 and dataset["cold"]["files"] == dataset["cold"]["pages_written"]
        assert dataset["uptime_change"]["pages_written"] > 0
        assert set(dataset["uptime_change"]["written_by_kind"]) <= {
            "relay", "contact", "family", "flag", "relays", "index.html", "network-health.html", "status.html", "aroi"}
        assert dataset["one_relay_change"]["written_by_kind"]["relay"] >= 2      # its page and JSON
        assert dataset["churn"]["written_by_kind"]["relay"] >= 2                 # the changed relays' pages
        assert dataset["hour_churn"]["written_by_kind"]["relay"] >= 2            # the changed relays' pages…
        assert dataset["hour_churn"]["pages_written"] < dataset["cold"]["pages_written"] / 4   # …not the site
        assert dataset["no_change"]["pages_written"] == 0                        # a 304 renders nothing
        assert all(not s["violations"] for s in dataset.values() if isinstance(s, dict) and "violations" in s)
    assert "check: every scenario wrote what it should" in result.stdout


def test_soak_reports_each_batch_of_a_small_network(tmp_path):
    """bench.soak on a generated 200-relay network: the start-up batch writes nothing, each next hour and
    each churn batch writes pages (a next hour about as many as a churn), and every line has the renderer's
    RSS and object count."""
    from bench import synth
    data = tmp_path / "data"
    data.mkdir()
    for kind, raw in synth.network(200).items():
        (data / f"{kind}.json").write_bytes(raw)
    result = subprocess.run([sys.executable, "-m", "bench.soak", "--data", str(data), "--work", str(tmp_path / "w"),
                             "--rounds", "2"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = {line.split("  ")[0].strip(): line for line in result.stdout.splitlines() if " RSS " in line}
    assert list(lines) == ["start-up", "1 next hour", "1 churn", "2 next hour", "2 churn"]
    written = {label: int(line.split("written")[1].split()[0]) for label, line in lines.items()}
    assert written["start-up"] == 0 and all(written[k] > 0 for k in written if k != "start-up")
    assert written["1 next hour"] < 3 * written["1 churn"]               # the hour itself is on no page's key
    assert all("objects" in line and "MB" in line for line in lines.values())


def test_summaries_bench_times_both_history_fetchers_and_names_their_summary(tmp_path):
    """bench.summaries on a generated 200-relay network: a line per history document with its relays, the
    fastest round's CPU and the SHA-256 of the summary the fetcher would publish (the same in every round)."""
    from alliumd.fetchers import onionoo_uptime
    from bench import synth
    data = tmp_path / "data"
    data.mkdir()
    for kind, raw in synth.network(200).items():
        (data / f"{kind}.json").write_bytes(raw)
    result = subprocess.run([sys.executable, "-m", "bench.summaries", "--data", str(data), "--rounds", "2"],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = {line.split()[0]: line.split() for line in result.stdout.splitlines() if "summary sha256" in line}
    assert set(lines) == {"uptime", "bandwidth"}
    assert all(words[3] == "200" and float(words[5]) > 0 for words in lines.values())
    expected = hashlib.sha256(onionoo_uptime.validate(data / "uptime.json").summary).hexdigest()
    assert lines["uptime"][-1] == expected[:16]
