"""Each poll of a daemon's fetcher runs in a forked child (fetchers/pollchild.py): its record comes back to
the waiting fetcher (fetchers/runtime.IdleFetcher), a child that dies is a failed poll, and the waiting process
never imports the fetcher proper (requests, OpenSSL's hashes, the parsers)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from alliumd import childproc, config as configmod
from alliumd.cache import files as cachefiles
from alliumd.fetchers import pollchild
from alliumd.fetchers.fetcher import Fetcher
from alliumd.fetchers.runtime import IdleFetcher
from alliumd.sources import SOURCES
from daemon_harness import write_config

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"


def test_the_childs_result_comes_back_and_its_memory_does_not():
    grown = []

    def poll():
        grown.append(bytearray(10 << 20))            # only the child holds this
        return {"pid": os.getpid(), "items": [1, "two"]}

    result, how = pollchild.run(poll)
    assert result["pid"] != os.getpid() and result["items"] == [1, "two"]
    assert how == "exit code 0" and grown == []


def test_a_poll_that_raises_is_a_child_without_a_result():
    assert pollchild.run(lambda: 1 / 0) == (None, f"exit code {pollchild.CRASHED}")


def test_a_killed_child_is_described_by_its_signal():
    assert pollchild.run(lambda: os.kill(os.getpid(), signal.SIGKILL)) == (None, "killed by SIGKILL")


def test_a_result_that_is_not_an_object_is_no_result():
    assert pollchild.run(lambda: [1, 2]) == (None, "exit code 0")


def test_stopping_the_fetcher_ends_its_child_which_cleans_up(tmp_path):
    cleaned = tmp_path / "cleaned"

    def poll():
        (tmp_path / "pid").write_text(str(os.getpid()))
        try:
            time.sleep(30)
        finally:
            cleaned.write_text("temp files removed")      # what the fetch's finally blocks do
        return {}

    previous = {s: signal.signal(s, childproc.terminate_handler) for s in (signal.SIGTERM, signal.SIGALRM)}
    signal.setitimer(signal.ITIMER_REAL, 0.3)             # the supervisor's SIGTERM, while the child polls
    try:
        started = time.monotonic()
        with pytest.raises(childproc.Terminated):
            pollchild.run(poll)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        for s, handler in previous.items():
            signal.signal(s, handler)
    assert cleaned.read_text() == "temp files removed"
    assert time.monotonic() - started < 5
    with pytest.raises(ProcessLookupError):
        os.kill(int((tmp_path / "pid").read_text()), 0)   # reaped: not even a zombie is left


def uptime_fetcher(tmp_path, api) -> IdleFetcher:
    """The uptime source's fetcher process: its polls run in a child (sources.py)."""
    api.set("/uptime", (FIXTURES / "onionoo_uptime_small.json").read_bytes())
    extra = f'[sources.onionoo_uptime]\nenabled = true\nurl = "{api.url("/uptime")}"\ninterval = 60\n'
    return IdleFetcher(configmod.load(write_config(tmp_path, api.url("/details"), extra=extra)), "onionoo_uptime")


def test_a_fetchers_poll_brings_back_the_childs_record(tmp_path, api):
    f = uptime_fetcher(tmp_path, api)
    f.prepare()
    f.poll()
    rec = f.record
    assert (rec.state, rec.last_status, rec.failures) == ("idle", 200, 0)
    assert rec.sha256 == cachefiles.file_sha256(f.cache_path) and rec.etag
    f.poll()
    assert (f.record.last_status, f.record.sha256) == (304, rec.sha256)
    st = f.cache_path.stat()
    verified = {path: tuple(sig) for path, sig in f.verified}
    assert verified[str(f.cache_path)] == (st.st_ino, st.st_size, st.st_mtime_ns)   # not hashed again next poll
    assert len(verified) == 2                                                       # and its summary
    saved = json.loads((f.cfg.daemon.state_dir / "sources" / "onionoo_uptime.json").read_text())
    assert saved["last_status"] == 304                                            # the child saved it


def test_a_document_just_published_is_not_hashed_again_by_the_next_poll(tmp_path, api):
    f = uptime_fetcher(tmp_path, api)
    f.prepare()
    f.poll()
    body = (FIXTURES / "onionoo_uptime_small.json").read_bytes()
    api.set("/uptime", body.replace(b"{", b"{ ", 1))              # a new document: published again
    f.poll()
    assert f.record.last_status == 200 and f.record.sha256 == cachefiles.file_sha256(f.cache_path)
    verified = {path: tuple(sig) for path, sig in f.verified}
    summary = f.cfg.daemon.cache_dir / SOURCES["onionoo_uptime"].render_file
    for path in (f.cache_path, summary):                          # the files the poll wrote, as they are now
        st = path.stat()
        assert verified[str(path)] == (st.st_ino, st.st_size, st.st_mtime_ns)
    fetcher = Fetcher(f.cfg, "onionoo_uptime", record=f.record)
    fetcher.take_verified(f.verified)
    f.cache_path.write_bytes(f.cache_path.read_bytes()[:-1] + b"x")     # damaged behind our back: hashed again
    assert not fetcher.cache_matches_record()


def test_a_poll_whose_child_dies_is_a_failure_and_keeps_the_cache(tmp_path, api, monkeypatch):
    f = uptime_fetcher(tmp_path, api)
    f.prepare()
    f.poll()
    good = f.cache_path.read_bytes()
    monkeypatch.setattr(Fetcher, "fetch_now", lambda self: os.kill(os.getpid(), signal.SIGKILL))   # the OOM killer
    f.poll()
    rec = f.record
    assert (rec.state, rec.failures) == ("backoff", 1)
    assert rec.last_error == "the poll's process ended without a result (killed by SIGKILL)"
    assert rec.next_run > time.time() and f.cache_path.read_bytes() == good
    saved = json.loads((f.cfg.daemon.state_dir / "sources" / "onionoo_uptime.json").read_text())
    assert saved["failures"] == 1


def test_a_poll_that_cannot_fork_is_a_failure_and_leaks_no_pipe(tmp_path, api, monkeypatch):
    f = uptime_fetcher(tmp_path, api)
    f.prepare()
    fds = len(os.listdir("/proc/self/fd"))

    def no_fork():
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", no_fork)
    f.poll()                                   # the failure is recorded here, since no child can be made
    assert (f.record.state, f.record.failures) == ("backoff", 1)
    assert f.record.last_error == "cannot start the poll's process ([Errno 11] Resource temporarily unavailable)"
    assert len(os.listdir("/proc/self/fd")) == fds


def test_a_start_up_check_that_cannot_run_stops_the_fetcher_for_the_supervisor_to_restart(tmp_path, api,
                                                                                           monkeypatch):
    f = uptime_fetcher(tmp_path, api)
    monkeypatch.setattr(Fetcher, "prepare", lambda self: os.kill(os.getpid(), signal.SIGKILL))
    assert f.run_forever() == 1


def test_details_polls_in_the_fetcher_itself(tmp_path, api):
    """Its hourly publication drives most pages: no child's import of requests delays it."""
    f = Fetcher(configmod.load(write_config(tmp_path, api.url("/details"))), "onionoo_details")
    f.prepare()
    f.poll()
    assert f.record.last_status == 200 and f.session is not None


def test_the_waiting_fetcher_never_imports_the_fetcher_proper(tmp_path, api):
    config = uptime_fetcher(tmp_path, api).cfg.path
    script = (
        "import json, sys\n"
        "from alliumd import config\n"
        "from alliumd.fetchers.runtime import IdleFetcher\n"
        f"f = IdleFetcher(config.load({str(config)!r}), 'onionoo_uptime')\n"
        "f.prepare()\n"
        "f.poll()\n"
        "rss = int(open('/proc/self/statm').read().split()[1]) * 4096\n"
        "loaded = [m for m in ('requests', '_hashlib', 'alliumd.fetchers.fetcher', 'alliumd.http') if m in sys.modules]\n"
        "print(json.dumps({'loaded': loaded, 'status': f.record.last_status, 'rss': rss}))\n")
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.splitlines()[-1])
    assert (result["loaded"], result["status"]) == ([], 200)
    assert result["rss"] < 21e6                 # ~25 MB with the fetcher proper imported, ~18 MB without
