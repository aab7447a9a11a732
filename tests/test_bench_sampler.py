"""The benchmark's process-tree sampler (bench/run.py): each process's CPU under the role it had."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import sampled_role  # noqa: E402

RENDERER = ["/venv/bin/python3", "-m", "alliumd.renderer.main", "--config", "c.toml", "--once"]
SUPERVISOR = ["/venv/bin/python3", "-m", "alliumd", "--config", "c.toml", "--once"]


def test_an_exiting_process_keeps_the_role_it_had():
    """An exiting process's command line reads empty (its memory is being torn down): its last CPU sample
    counts under the role it had, not as "?"."""
    assert sampled_role([], "renderer") == "renderer"
    assert sampled_role([], None) == "?"                                   # never seen with a command line


def test_the_role_follows_the_exec():
    """Forked, a child still shows its parent's command line; after its exec, its own."""
    assert sampled_role(SUPERVISOR, None) == "supervisor"
    assert sampled_role(RENDERER, "supervisor") == "renderer"
    assert sampled_role([*SUPERVISOR[:-1], "--source", "onionoo_uptime", "--once"], "supervisor") == \
        "fetcher onionoo_uptime"
