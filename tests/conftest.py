"""Shared fixtures: the loopback API and a running daemon (end-to-end tests)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
# every reused page key is re-derived and compared, here and in the daemons the tests start: a model that
# changes an object in place after handing it to a page fails the suite (alliumd/pages/pagekey.py)
os.environ["ALLIUMD_VERIFY_PAGE_KEYS"] = "1"

from daemon_harness import Daemon, details_doc, now_published, onionoo_bytes, write_config  # noqa: E402
from loopback import LoopbackAPI  # noqa: E402


@pytest.fixture
def api():
    with LoopbackAPI() as server:
        server.set("/details", onionoo_bytes(details_doc(now_published())))
        yield server


@pytest.fixture
def start_daemon(tmp_path, api):
    """Start alliumd against the loopback API; every started daemon is stopped and checked afterwards."""
    started: list[Daemon] = []

    def start(**config_kw) -> Daemon:
        env = config_kw.pop("env", None)
        config = write_config(tmp_path, api.url("/details"), **config_kw)
        daemon = Daemon(config, env=env)
        started.append(daemon)
        return daemon

    yield start
    for daemon in started:
        daemon.stop()
        leftovers = daemon.leftovers()
        daemon.kill_leftovers()
        assert not leftovers, f"processes left behind: {leftovers}"
