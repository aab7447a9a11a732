"""The built site in a real browser: headless Chromium, served from 127.0.0.1.

Renders the site from the test fixtures, serves it with a loopback HTTP
server (the search page fetches its index, which file:// would block), opens
the overview, a relay page, the network health dashboard and the search page,
and fails on any console error.  Screenshots are saved in the test's tmp dir.
Skipped where Chromium is not installed; `.ci/run` installs Debian's chromium.
"""

from __future__ import annotations

import functools
import json
import re
import shutil
import subprocess
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from alliumd import config as configmod
from alliumd.pages.site import FAMILIES, MODELS
from alliumd.renderer.build import SiteBuilder
from alliumd.pages.registry import Registry

FIXTURES = Path(__file__).parent / "fixtures"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-features=Translate,MediaRouter", "--enable-logging=stderr", "--v=0",
         "--window-size=1280,1600", "--virtual-time-budget=4000"]
CONSOLE_ERROR = re.compile(r"CONSOLE.*(Uncaught|Error|error)|Failed to load resource", re.I)

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium not installed (.ci/run installs it)")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser")
    cfg = configmod.parse({"daemon": {"cache_dir": "cache", "output_dir": "www", "state_dir": "lib",
                                      "run_dir": "run"}}, root / "allium.toml")
    cfg.daemon.cache_dir.mkdir(parents=True)
    shutil.copy(FIXTURES / "onionoo_details_small.json", cfg.daemon.cache_dir / "onionoo_details.json")
    result = SiteBuilder(cfg, Registry(FAMILIES, MODELS)).build(full=True)
    assert not result.errors, result.errors
    handler = functools.partial(_QuietHandler, directory=str(cfg.daemon.output_dir))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}/", cfg.daemon.output_dir
    server.shutdown()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def _open(url: str, screenshot: Path, profile: Path) -> tuple[str, str]:
    """Load ``url``; return (DOM after scripts ran, browser log)."""
    shot = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", f"--screenshot={screenshot}", url],
                          capture_output=True, text=True, timeout=90)
    dom = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--dump-dom", url],
                         capture_output=True, text=True, timeout=90)
    return dom.stdout, shot.stderr + dom.stderr


def _pages(www: Path) -> list[str]:
    relay = sorted(p.relative_to(www).as_posix() for p in www.glob("relay/*/index.html"))[0]
    pages = ["index.html", relay]
    for optional in ("network-health.html", "search.html"):
        if (www / optional).exists():
            pages.append(optional)
    return pages


def test_pages_render_without_console_errors(site, tmp_path):
    root, base, www = site
    for rel in _pages(www):
        shot = tmp_path / (rel.replace("/", "_") + ".png")
        dom, log = _open(base + rel, shot, tmp_path / "profile")
        errors = [line for line in log.splitlines() if CONSOLE_ERROR.search(line)]
        assert not errors, f"{rel}: {errors}"
        assert "<h1" in dom, f"{rel} did not render: {dom[:300]}"
        assert shot.exists() and shot.stat().st_size > 5000, f"{rel}: no screenshot"


def test_search_script_finds_a_relay(site, tmp_path):
    root, base, www = site
    if not (www / "search.html").exists():
        pytest.skip("no search page in this build")
    relay = json.loads((FIXTURES / "onionoo_details_small.json").read_text())["relays"][0]
    dom, log = _open(f"{base}search.html?q={relay['fingerprint'][:8]}", tmp_path / "search.png",
                     tmp_path / "profile")
    assert relay["fingerprint"] in dom or relay["nickname"] in dom, dom[-2000:]
