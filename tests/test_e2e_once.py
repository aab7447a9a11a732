"""``alliumd --once``: the README's main job, offline, and against the loopback API."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from daemon_harness import ROOT, write_config
from site_crawl import crawl

UNSHARE = shutil.which("unshare")


def _netns_available() -> bool:
    if not UNSHARE:
        return False
    probe = subprocess.run([UNSHARE, "-n", "true"], capture_output=True)
    return probe.returncode == 0


@pytest.mark.skipif(not _netns_available(), reason="needs `unshare -n` (root or user namespaces) "
                                                   "to run without network")
def test_main_job_offline_renders_the_bundled_sample(tmp_path):
    """The README's first command, with the shipped default config, in a loopback-only namespace."""
    etc = tmp_path / "etc"
    etc.mkdir()
    shutil.copy(ROOT / "etc" / "allium.toml", etc / "allium.toml")
    result = subprocess.run([UNSHARE, "-n", sys.executable, "-m", "alliumd", "--config",
                             str(etc / "allium.toml"), "--once"],
                            capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    www = tmp_path / "var" / "www"
    index = (www / "index.html").read_text()
    assert "sample data" in index.lower()
    relay_pages = list((www / "relay").glob("*/index.html"))
    assert len(relay_pages) > 900
    assert "using the bundled sample data" in result.stderr
    report = crawl(www)             # every Onionoo source and AROI from the sample, votes disabled
    assert report.pages > 1000 and not report.broken, report.first()
    assert "renderer:" in result.stderr and "pages" in result.stderr
    status_page = (www / "status.html").read_text()     # a one-shot run must not claim a running daemon
    assert "one-shot run" in status_page and ">running<" not in status_page
    state = json.loads((tmp_path / "var" / "lib" / "sources" / "onionoo_details.json").read_text())
    assert state["origin"] == "sample"
    # a second run reuses the cache: nothing new to write
    again = subprocess.run([UNSHARE, "-n", sys.executable, "-m", "alliumd", "--config",
                            str(etc / "allium.toml"), "--once"],
                           capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    written = int(again.stderr.split("renderer: ", 2)[2].split(" pages written")[0])
    assert written <= 1, again.stderr      # at most status.html (it shows the new attempt)


def test_once_against_the_api_then_304(tmp_path, api):
    config = write_config(tmp_path, api.url("/details"))
    first = subprocess.run([sys.executable, "-m", "alliumd", "--config", str(config), "--once"],
                           capture_output=True, text=True, timeout=60)
    assert first.returncode == 0, first.stderr
    assert "done: HTTP 200" in first.stderr
    assert (tmp_path / "www" / "index.html").exists()
    report = crawl(tmp_path / "www")
    assert report.pages > 200 and not report.broken, report.first()
    status_page = (tmp_path / "www" / "status.html").read_text()
    assert "one-shot run" in status_page and ">running<" not in status_page
    second = subprocess.run([sys.executable, "-m", "alliumd", "--config", str(config), "--once"],
                            capture_output=True, text=True, timeout=60)
    assert second.returncode == 0
    assert "304 not modified" in second.stderr


def test_once_with_nothing_to_render_exits_1(tmp_path, api):
    api.fault("/details", "status", code=500)
    config = write_config(tmp_path, api.url("/details"),
                          extra="")
    text = config.read_text().replace("[daemon]\n", "[daemon]\nsample_fallback = false\n")
    config.write_text(text)
    result = subprocess.run([sys.executable, "-m", "alliumd", "--config", str(config), "--once"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "HTTP 500" in result.stderr and "no data available" in result.stderr


def test_once_builds_the_details_models_while_the_uptime_document_still_downloads(tmp_path, api):
    """The supervisor tells the waiting renderer each source whose fetcher exited (``final NAME``); a cold
    build then builds the models of the final sources while the others download (renderer/early.py), and
    the site is the same whole site."""
    from daemon_harness import FIXTURES
    api.set("/uptime", (FIXTURES / "onionoo_uptime_small.json").read_bytes())
    api.fault("/uptime", "hang", times=1, seconds=2.0)           # the details document is final long before
    extra = f"""
[sources.onionoo_uptime]
enabled = true
url = "{api.url('/uptime')}"
timeout = 10
retries = 0
"""
    config = write_config(tmp_path, api.url("/details"), extra=extra)
    result = subprocess.run([sys.executable, "-m", "alliumd", "--config", str(config), "--once"],
                            capture_output=True, text=True, timeout=60, env={**os.environ, "ALLIUM_LOG_LEVEL": "info"})
    assert result.returncode == 0, result.stderr
    early = [line for line in result.stderr.splitlines() if "onionoo_details is final: built" in line]
    assert early and "relays" in early[0].split("built", 1)[1], result.stderr[-3000:]
    assert "onionoo_uptime is final" not in result.stderr          # the last one: the batch came next
    report = crawl(tmp_path / "www")
    assert report.pages > 200 and not report.broken, report.first()
    relay = next((tmp_path / "www" / "relay").glob("*/index.html")).read_text()
    assert "<svg" in relay                                       # the uptime history reached the pages
