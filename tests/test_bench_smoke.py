"""The benchmark's --quick mode runs end to end (a smoke test: no timing assertions)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_bench_quick_runs_every_scenario(tmp_path):
    result = subprocess.run([sys.executable, "-m", "bench", "--quick", "--out", str(tmp_path)],
                            cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stdout + result.stderr
    [path] = tmp_path.glob("bench-*.json")
    data = json.loads(path.read_text())
    assert data["cold"]["pages_written"] > 100 and data["cold"]["files"] == data["cold"]["pages_written"]
    assert data["uptime_change"]["pages_written"] > 0
    assert data["one_relay_change"]["pages_written"] > 0
    assert data["no_change"]["pages_written"] == 0          # a 304 renders nothing
    assert "cold --once" in result.stdout
