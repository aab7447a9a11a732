"""``alliumd --once``: fetch every enabled source in parallel, render, exit.

Each source still runs in its own process (the same fetcher code as the
daemon, with ``--once``), so a hung or crashing source cannot hold up the
others; each gets a parent-side backstop deadline on top of its own
per-attempt timeout.  Progress goes to stderr, one line per event.
Exit: 0 a site was rendered (even from stale or sample data), 1 nothing
could be rendered, 78 bad config, 75 a daemon already runs on this run_dir.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import sys
import time

from .. import atomic
from ..core import channel, exitcodes
from ..childproc import SUPERVISOR_PID_ENV
from ..config import Config
from ..states import fetch_backstop
from . import lock


def _spawn(args: list[str], stdin=subprocess.DEVNULL) -> subprocess.Popen:
    env = dict(os.environ, **{SUPERVISOR_PID_ENV: str(os.getpid()), "PYTHONUNBUFFERED": "1"})
    env.setdefault("ALLIUM_LOG_LEVEL", "warning")      # the progress lines are the --once interface
    return subprocess.Popen([sys.executable, "-m", *args], stdin=stdin, stdout=subprocess.PIPE,
                            env=env, close_fds=True, process_group=0)


def _size(n: int | None) -> str:
    if n is None:
        return "?"
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n} B"


def _outcome(record: dict | None, returncode: int) -> str:
    if not record:
        return f"failed: fetcher {exitcodes.describe(returncode)}"
    dur = f"{record.get('last_duration') or 0:.1f}s"
    if record.get("state") == "idle":
        if record.get("last_status") == 304:
            return f"304 not modified ({dur}; cached data kept)"
        return f"done: HTTP 200, {_size(record.get('bytes'))} in {dur}"
    origin = record.get("origin")
    fallback = {"sample": "using the bundled sample data", "cache": "using the last good cache"}.get(
        origin, "no data available")
    return f"failed: {record.get('last_error')}; {fallback}"


class _Progress:
    def __init__(self, stream):
        self.stream = stream

    def line(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()


def run_once(cfg: Config, *, full: bool = False, stream=None) -> int:
    out = _Progress(stream or sys.stderr)
    d = cfg.daemon
    try:
        lock_fd = lock.acquire(d.run_dir)
    except lock.AlreadyRunning as e:
        out.line(f"alliumd: {e}; use `alliumctl refresh SOURCE` or `alliumctl render` instead")
        return exitcodes.ALREADY_RUNNING
    try:
        for path in (d.cache_dir, d.output_dir, d.state_dir):
            path.mkdir(parents=True, exist_ok=True)
        atomic.sweep_tmp(d.cache_dir)
        started = time.monotonic()
        renderer = _start_renderer(cfg, full)
        try:
            _fetch_all(cfg, out, renderer)
        except BaseException:
            _stop(renderer)
            raise
        return _render(renderer, cfg, out, started)
    except KeyboardInterrupt:
        out.line("interrupted")
        return exitcodes.INTERRUPTED
    finally:
        os.close(lock_fd)


def _start_renderer(cfg: Config, full: bool) -> subprocess.Popen:
    """The renderer, started with the fetchers: it imports, opens its state and (for a cold build) starts
    its render workers while the sources download, then waits for the word on stdin (``--wait``) before it
    looks at the cache.  What it renders is decided after the fetch, exactly as if it started then; a cold
    build meanwhile builds the models of each source that is final (``final NAME``, renderer/early.py)."""
    return _spawn(["alliumd.renderer.main", "--config", str(cfg.path), "--once", "--wait"]
                  + (["--full"] if full else []), stdin=subprocess.PIPE)


def _stop(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    for stream in (proc.stdin, proc.stdout):
        with contextlib.suppress(OSError):
            stream.close()


def _tell(renderer: subprocess.Popen, line: str) -> None:
    """A line for the waiting renderer; one that died already is found out by ``_render``."""
    with contextlib.suppress(OSError):
        renderer.stdin.write(line.encode() + b"\n")
        renderer.stdin.flush()


def _fetch_all(cfg: Config, out: _Progress, renderer: subprocess.Popen) -> None:
    """Run every enabled source's fetcher; each one's cache file is final when its output ends (it exited),
    and the renderer is told so at once."""
    sel = selectors.DefaultSelector()
    running = {}
    for src in cfg.enabled_sources:
        proc = _spawn(["alliumd.fetchers.runtime", "--config", str(cfg.path), "--source", src.name, "--once"])
        running[src.name] = {"proc": proc, "deadline": time.monotonic() + fetch_backstop(src.timeout, src.retries),
                             "record": None, "reader": channel.LineReader()}
        sel.register(proc.stdout, selectors.EVENT_READ, src.name)
        out.line(f"{src.name}: fetching {src.url}")
    try:
        while sel.get_map():
            for key, _ in sel.select(timeout=0.5):
                item = running[key.data]
                chunk = os.read(key.fileobj.fileno(), 65536)
                if not chunk:
                    sel.unregister(key.fileobj)
                    _tell(renderer, f"final {key.data}")
                    continue
                for msg in item["reader"].feed(chunk):
                    if (report := channel.SourceReport.of(msg)) is not None:
                        item["record"] = report.record
            for name, item in running.items():
                if item["proc"].poll() is None and time.monotonic() > item["deadline"]:
                    out.line(f"{name}: no answer within its backstop deadline; stopping it")
                    os.killpg(item["proc"].pid, signal.SIGKILL)
    except KeyboardInterrupt:
        for item in running.values():
            if item["proc"].poll() is None:
                os.killpg(item["proc"].pid, signal.SIGTERM)
        raise
    for name, item in running.items():
        returncode = item["proc"].wait()
        item["proc"].stdout.close()
        out.line(f"{name}: {_outcome(item['record'], returncode)}")


def _render(proc: subprocess.Popen, cfg: Config, out: _Progress, started: float) -> int:
    out.line("renderer: rendering")
    with contextlib.suppress(OSError):             # (a renderer that died already: its exit code tells)
        proc.stdin.write(b"render\n")
        proc.stdin.close()
    stats = {}
    reader = channel.LineReader()
    while chunk := proc.stdout.read1(65536):
        for msg in reader.feed(chunk):
            if (report := channel.RendererReport.of(msg)) is not None and report.fields.get("state") == "idle":
                stats = report.fields
    returncode = proc.wait()
    proc.stdout.close()
    index = cfg.daemon.output_dir / "index.html"
    if returncode == exitcodes.OK:
        out.line(f"renderer: {stats.get('pages_written', 0)} pages written, "
                 f"{stats.get('pages_unchanged', 0)} unchanged, {stats.get('pages_deleted', 0)} deleted "
                 f"in {stats.get('last_duration', 0):.1f}s; the site has {stats.get('site_pages', '?')} pages; "
                 f"total {time.monotonic() - started:.1f}s")
        out.line(f"site: {index}")
        return exitcodes.OK
    if returncode == exitcodes.CONFIG:
        return exitcodes.CONFIG
    out.line(f"renderer: nothing could be rendered ({exitcodes.describe(returncode)})")
    return exitcodes.FAILURE
