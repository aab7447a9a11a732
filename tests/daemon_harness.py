"""Helpers for end-to-end tests: a real ``alliumd`` subprocess against the loopback API.

Nothing here mocks the daemon: it is started with ``python -m alliumd``,
talked to over its control socket and inspected through its files.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import psutil

from alliumd.sources import SOURCES

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SMALL_DETAILS = FIXTURES / "onionoo_details_small.json"


def wait_for(predicate, timeout: float = 15.0, interval: float = 0.1, what: str = "condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last value: {last!r}")


def details_doc(published: str | None = None) -> dict:
    doc = json.loads(SMALL_DETAILS.read_text())
    if published:
        doc["relays_published"] = published
    return doc


def onionoo_bytes(doc: dict) -> bytes:
    """Serialise like Onionoo: envelope keys on their own lines, one relay object per line."""
    head = [f"{json.dumps(k)}:{json.dumps(v)}" for k, v in doc.items() if k not in ("relays", "bridges")]
    relays = ",\n".join(json.dumps(r, separators=(",", ":")) for r in doc["relays"])
    return ("{" + ",\n".join(head) + ',\n"relays":[\n' + relays + '\n],\n"bridges":[]}\n').encode()


def now_published() -> str:
    return time.strftime("%Y-%m-%d %H:00:00", time.gmtime())


def write_config(directory: Path, url: str, *, interval: float = 30, timeout: float = 3, retries: int = 0,
                 max_bytes: int = 2_000_000, enabled: bool = True, extra: str = "",
                 daemon_extra: str = "", rescan_interval: float = 30) -> Path:
    path = directory / "allium.toml"
    path.write_text(f"""
[daemon]
cache_dir = "cache"
output_dir = "www"
state_dir = "lib"
run_dir = "run"
graceful_timeout = 5
min_interval = 0.1
{daemon_extra}
[render]
debounce = 0.2
max_delay = 2
rescan_interval = {rescan_interval}
[sources.onionoo_details]
enabled = {"true" if enabled else "false"}
url = "{url}"
interval = {interval}
timeout = {timeout}
retries = {retries}
max_bytes = {max_bytes}
{extra}
""")
    return path


class Daemon:
    """A running ``alliumd`` and convenient views of its state."""

    def __init__(self, config: Path, env: dict | None = None):
        self.config = config
        self.dir = config.parent
        self.log = open(self.dir / "daemon.log", "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "alliumd", "--config", str(config)],
                                     stdout=self.log, stderr=subprocess.STDOUT,
                                     env={**os.environ, **(env or {})}, cwd=self.dir)
        self.known_pids: set[int] = {self.proc.pid}

    # -- views -------------------------------------------------------------------------

    def ctl(self, *args: str, timeout: float = 10) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "alliumd.ctl.main", "--config", str(self.config), *args],
                              capture_output=True, text=True, timeout=timeout)

    def status(self) -> dict:
        from alliumd.core import control
        snap = control.call(self.dir / "run", "Status")
        for entry in [snap["renderer"], *snap["sources"].values()]:
            if entry.get("pid"):
                self.known_pids.add(entry["pid"])
        return snap

    def source(self, name: str = "onionoo_details") -> dict:
        return self.status()["sources"][name]

    def page(self, rel: str) -> Path:
        return self.dir / "www" / rel

    def cache(self, name: str = "onionoo_details") -> Path:
        """The source's fetched document as stored (gzipped for the history sources)."""
        return self.dir / "cache" / SOURCES[name].cache_file

    def log_text(self) -> str:
        return (self.dir / "daemon.log").read_text(errors="replace")

    # -- waiting -----------------------------------------------------------------------

    def wait_ready(self, timeout: float = 45) -> dict:
        def ready():
            try:
                snap = self.status()
            except (ConnectionError, OSError):
                return None
            src = snap["sources"]["onionoo_details"]
            if src["enabled"] and src["last_success"] is None and src["last_error"] is None:
                return None
            renderer = snap["renderer"]
            if renderer["state"] != "idle" or renderer.get("queue") or not self.page("index.html").exists():
                return None
            # idle since before the details cache was published (its batch still pending): not ready yet
            # (the cache file's time, not the source's last success: a 304 is a success that changes nothing)
            published = self._published(self.cache())
            if published is not None and (renderer.get("last_render") or "") < published:
                return None
            return snap
        try:
            return wait_for(ready, timeout, what="daemon ready with a rendered site")
        except AssertionError as e:            # say why: the daemon's own account of the wait
            try:
                snap = self.status()
                last = {"renderer": snap["renderer"], "onionoo_details": snap["sources"]["onionoo_details"]}
            except (ConnectionError, OSError) as err:
                last = f"status unavailable: {err!r}"
            raise AssertionError(f"{e}\n--- status ---\n{last}\n--- daemon.log (last 40 lines) ---\n"
                                 + "\n".join(self.log_text().splitlines()[-40:])) from None

    @staticmethod
    def _published(path: Path) -> str | None:
        """A cache file's modification time as the status reports times (ISO, milliseconds), or None."""
        try:
            t = path.stat().st_mtime
        except OSError:
            return None
        return datetime.fromtimestamp(t, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def render_marker(self) -> int:
        """The renderer's batch number now (``wait_render_after`` waits for a later one)."""
        return self.status()["renderer"]["batch"]

    def wait_render_after(self, marker: int, timeout: float = 15, *, full: bool = False) -> dict:
        """Wait until the renderer reports a batch after ``marker`` (``full``: one that rendered every
        family, not a status-only batch that came in between) and is idle with an empty queue."""
        def done():
            r = self.status()["renderer"]
            return r if (r["batch"] > marker and (r["full"] or not full) and r["state"] == "idle"
                         and r["queue"] == 0) else None
        return wait_for(done, timeout, what="a new render batch")

    def wait_attempt_after(self, marker: str | None, timeout: float = 15) -> dict:
        def done():
            s = self.source()
            return s if s["last_attempt"] != marker and s["state"] != "fetching" else None
        return wait_for(done, timeout, what="a completed fetch attempt")

    # -- stopping ----------------------------------------------------------------------

    def descendants(self) -> list[psutil.Process]:
        try:
            return psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.Error:
            return []

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> int | None:
        if self.proc.poll() is None:
            self.known_pids.update(p.pid for p in self.descendants())
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode

    def leftovers(self) -> list[int]:
        alive = []
        for pid in self.known_pids:
            try:
                p = psutil.Process(pid)
                if p.status() != psutil.STATUS_ZOMBIE:
                    alive.append(pid)
            except psutil.Error:
                pass
        return alive

    def kill_leftovers(self) -> None:
        for pid in self.leftovers():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
