"""bench.alternate: cold builds of several installs, alternating, each measured (no timing assertions)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.alternate import order_of, parse_variant

ROOT = Path(__file__).resolve().parent.parent


def test_a_variant_is_an_interpreter_with_optional_environment():
    assert parse_variant("/usr/bin/python3.11") == ("/usr/bin/python3.11", {})
    assert parse_variant("/v/bin/python:GLIBC_TUNABLES=glibc.malloc.hugetlb=1,X=") == \
        ("/v/bin/python", {"GLIBC_TUNABLES": "glibc.malloc.hugetlb=1", "X": ""})
    with pytest.raises(SystemExit, match="NAME=VALUE"):
        parse_variant("/v/bin/python:NOVALUE")


def test_pairs_alternate_their_order_so_no_variant_is_always_second():
    assert [order_of(p, 2) for p in range(4)] == [[0, 1], [1, 0], [0, 1], [1, 0]]
    assert order_of(1, 3) == [2, 1, 0]


def test_two_variants_each_build_the_whole_site_in_alternating_order():
    # the second variant renders every page in its renderer: a real difference between the two
    result = subprocess.run([sys.executable, "-m", "bench.alternate", "--relays", "150", "--pairs", "2", "--no-settle",
                             sys.executable, f"{sys.executable}:ALLIUMD_RENDER_WORKERS=0"],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    builds = [line.split(": ", 1) for line in result.stdout.splitlines() if line.startswith("pair ")]
    assert [label for label, _ in builds] == ["pair 1 variant 0", "pair 1 variant 1",
                                              "pair 2 variant 1", "pair 2 variant 0"]
    rows = [json.loads(row) for _, row in builds]
    assert len({row["pages_written"] for row in rows}) == 1 and rows[0]["pages_written"] > 100
    for row in rows:
        assert 0 < row["sys_s"] < row["cpu_s"] and row["user_s"] > 0 and row["minflt"] > 0
        assert row["peak_rss_mb"] > 0 and "renderer" in row["cpu_by_process_s"]
    assert all("render workers" not in row["cpu_by_process_s"] for row in rows[1:3])   # variant 1: no workers
    assert sum(line.startswith("variant ") for line in result.stdout.splitlines()) == 2
    # the one interpreter's alliumd (this checkout's, however it is installed) byte-compiled once, first
    compiled = [line for line in result.stdout.splitlines() if ": byte-compiled " in line]
    assert len(compiled) == 1 and result.stdout.startswith(compiled[0]) and " .pyc)" in compiled[0]
