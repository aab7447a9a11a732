"""End to end: a real alliumd subprocess against a real HTTP server on 127.0.0.1.

Each test starts the daemon, drives it through its public surfaces (the
served API, signals, alliumctl) and checks files and ``alliumctl status``.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil

from daemon_harness import Daemon, details_doc, now_published, onionoo_bytes, wait_for, write_config

FP_CHANGED_INDEX = 5


def _mtimes(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _no_torn_files(d: Daemon) -> None:
    for path in (d.dir / "cache").glob("*.json"):
        json.loads(path.read_bytes())
    for path in (d.dir / "www").rglob("*.html"):
        assert path.read_bytes().rstrip().endswith(b"</html>"), path


def test_pages_appear_update_and_304_renders_nothing(api, start_daemon):
    d = start_daemon(interval=2)
    snap = d.wait_ready()
    doc = details_doc(now_published())
    fps = [r["fingerprint"] for r in doc["relays"] if r["running"]]   # non-running ones are months old
    assert snap["sources"]["onionoo_details"]["source"] == "network"
    assert snap["sources"]["onionoo_details"]["last_status"] == 200
    for fp in fps:
        assert d.page(f"relay/{fp}/index.html").exists()
    assert d.page("relays/all.html").exists() and d.page("status.html").exists()

    # polls every 2 s are answered 304: nothing is written, nothing re-rendered
    before = _mtimes(d.dir / "www")
    cache_mtime = d.cache().stat().st_mtime_ns
    wait_for(lambda: api.count("/details") >= 3, 10, what="two more polls")
    wait_for(lambda: d.source()["last_status"] == 304, 5, what="a 304")
    time.sleep(0.5)
    assert d.cache().stat().st_mtime_ns == cache_mtime
    assert {k: v for k, v in _mtimes(d.dir / "www").items() if k != "status.html"} == \
        {k: v for k, v in before.items() if k != "status.html"}
    assert any("If-Modified-Since" in r.headers or "If-None-Match" in r.headers for r in api.requests_log)

    # change one relay: its page and the aggregates change, every other relay page keeps its mtime
    marker = d.render_marker()
    changed_fp = fps[FP_CHANGED_INDEX]
    next(r for r in doc["relays"] if r["fingerprint"] == changed_fp)["nickname"] = "RenamedByTest"
    api.set("/details", onionoo_bytes(doc))
    wait_for(lambda: b"RenamedByTest" in d.page(f"relay/{changed_fp}/index.html").read_bytes(), 15,
             what="the changed relay page")
    d.wait_render_after(marker)
    after = _mtimes(d.dir / "www")
    for fp in fps:
        rel = f"relay/{fp}/index.html"
        if fp == changed_fp:
            assert after[rel] != before[rel]
        else:
            assert after[rel] == before[rel], f"{rel} was rewritten although its bytes did not change"
    assert b"RenamedByTest" in d.page("relays/all.html").read_bytes()
    _no_torn_files(d)


FAULTS = [
    ("status", {"code": 500}, "HTTP 500"),
    ("hang", {}, "timeout"),
    ("drip", {"interval": 0.5, "chunk": 8}, "timeout"),
    ("truncate", {}, "truncated"),
    ("invalid_json", {}, "invalid document"),
    ("oversize", {"size": 3_000_000}, "max_bytes"),
    ("oversize", {"size": 3_000_000, "chunked": True}, "max_bytes"),
    ("retry_after", {"code": 429, "seconds": 3600}, "429"),
]


def test_every_fault_keeps_the_daemon_up_and_the_last_good_cache(api, start_daemon):
    d = start_daemon(interval=600, timeout=2)
    d.wait_ready()
    good_sha = _sha(d.cache())
    pages = _mtimes(d.dir / "www")
    daemon_pid = d.proc.pid
    fetcher_pid = d.source()["pid"]
    for kind, params, reason in FAULTS:
        api.fault("/details", kind, **params)
        marker = d.source()["last_attempt"]
        result = d.ctl("refresh", "onionoo_details")
        assert result.returncode == 0, result.stderr
        src = d.wait_attempt_after(marker, timeout=20)
        assert src["state"] == "backoff", (kind, src)
        assert reason in (src["last_error"] or ""), (kind, src["last_error"])
        assert src["source"] == "cache"
        assert _sha(d.cache()) == good_sha, f"{kind} replaced the good cache"
        assert d.proc.poll() is None and d.source()["pid"] == fetcher_pid, f"{kind} crashed something"
        api.clear_fault("/details")
    if kind == "retry_after":
        next_run = d.source()["next_run"]
        assert next_run > time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3000))
    status = json.loads(d.ctl("status", "--json").stdout)
    assert status["sources"]["onionoo_details"]["failures"] == len(FAULTS)
    assert status["daemon"]["pid"] == daemon_pid
    # pages untouched by all of it (status.html reports the errors, that one may change)
    assert {k: v for k, v in _mtimes(d.dir / "www").items() if k != "status.html"} == \
        {k: v for k, v in pages.items() if k != "status.html"}
    # an operator's refresh bypasses the Retry-After window and recovers
    marker = d.source()["last_attempt"]
    assert d.ctl("refresh", "onionoo_details").returncode == 0
    src = d.wait_attempt_after(marker)
    assert src["state"] == "idle" and src["failures"] == 0 and src["last_error"]   # last error kept
    # status.html keeps showing the last error (the 429) after the recovery, once its batch has run
    wait_for(lambda: b"429" in d.page("status.html").read_bytes() and b">idle<" in d.page("status.html").read_bytes(),
             15, what="status.html to show the recovered source with its last error")
    assert not list((d.dir / "cache" / ".tmp").glob("*.part"))


def test_killed_children_respawn_and_nothing_is_torn(api, start_daemon):
    d = start_daemon(interval=600)
    snap = d.wait_ready()
    fetcher, renderer = snap["sources"]["onionoo_details"]["pid"], snap["renderer"]["pid"]
    os.kill(fetcher, signal.SIGKILL)
    os.kill(renderer, signal.SIGKILL)
    snap = wait_for(lambda: (s := d.status())["sources"]["onionoo_details"]["pid"] not in (None, fetcher)
                    and s["renderer"]["pid"] not in (None, renderer) and s, 15, what="respawns")
    assert snap["sources"]["onionoo_details"]["restarts"] == 1
    assert snap["renderer"]["restarts"] == 1
    wait_for(lambda: d.status()["renderer"]["state"] == "idle", 10, what="renderer idle")
    _no_torn_files(d)
    # the respawned renderer still renders changes
    doc = details_doc(now_published())
    next(r for r in doc["relays"] if r["running"])["nickname"] = "AfterRespawn"
    api.set("/details", onionoo_bytes(doc))
    assert d.ctl("refresh", "onionoo_details").returncode == 0
    wait_for(lambda: b"AfterRespawn" in d.page("relays/all.html").read_bytes(), 15, what="render after respawn")


def test_sighup_disables_a_source_and_a_bad_config_keeps_the_old(api, start_daemon, tmp_path):
    d = start_daemon(interval=600)
    d.wait_ready()
    fetcher = d.source()["pid"]
    good = d.config.read_text()
    d.config.write_text(good + "\n[daemon.bogus]\n")
    d.proc.send_signal(signal.SIGHUP)
    snap = wait_for(lambda: (s := d.status())["daemon"]["last_reload_error"] and s, 10, what="reload error")
    assert "allium.toml" in snap["daemon"]["last_reload_error"]
    assert snap["sources"]["onionoo_details"]["pid"] == fetcher
    assert d.ctl("reload").returncode == 1
    d.config.write_text(good.replace("enabled = true", "enabled = false"))
    d.proc.send_signal(signal.SIGHUP)
    src = wait_for(lambda: (s := d.source())["state"] == "disabled" and s["pid"] is None and s, 10,
                   what="disabled and stopped")
    assert not src["enabled"]
    wait_for(lambda: not psutil.pid_exists(fetcher) or psutil.Process(fetcher).status() == "zombie", 10,
             what="fetcher gone")
    assert d.status()["daemon"]["last_reload_error"] is None


def test_sigterm_exits_cleanly_then_status_says_not_running(api, start_daemon):
    d = start_daemon(interval=600)
    d.wait_ready()
    # the renderer and the fetcher (the renderer's workers, when a large first batch started them, are
    # its children, not the supervisor's; they must go too: leftovers() below)
    children = psutil.Process(d.proc.pid).children()
    assert len(children) == 2
    d.known_pids.update(p.pid for p in d.descendants())
    assert d.ctl("status").returncode == 0
    assert "badge ok\">running" in d.page("status.html").read_text()
    assert d.stop(signal.SIGTERM) == 0
    assert not d.leftovers()
    # the page outlives the daemon: it must say it stopped, not "running" (issue 14 item 3)
    page = d.page("status.html").read_text()
    assert "badge warn\">stopped</span> at 20" in page and ">running<" not in page
    result = d.ctl("status")
    assert result.returncode == 3
    assert "not running" in result.stdout and "onionoo_details" in result.stdout
    check = d.ctl("check")
    assert check.returncode == 2 and "CRITICAL" in check.stdout


def test_supervisor_sigkill_leaves_no_orphans(api, start_daemon):
    d = start_daemon(interval=600)
    d.wait_ready()
    children = [p.pid for p in d.descendants()]
    d.proc.kill()
    d.proc.wait()

    def gone():
        return all(not psutil.pid_exists(pid) or psutil.Process(pid).status() == "zombie" for pid in children)
    wait_for(gone, 10, what="children to exit after the supervisor died")


def test_restart_does_not_refetch_fresh_data_and_render_all_rewrites_nothing(api, start_daemon):
    d = start_daemon(interval=600)
    d.wait_ready()
    assert api.count("/details") == 1
    assert d.ctl("stop").returncode == 0           # `alliumctl stop`: the page says so
    assert d.proc.wait(15) == 0
    assert ">stopped</span>" in d.page("status.html").read_text()
    d2 = start_daemon(interval=600)
    snap = d2.wait_ready()
    assert ">running</span>" in d2.page("status.html").read_text()
    assert api.count("/details") == 1, "a restart within the interval must not refetch"
    assert snap["sources"]["onionoo_details"]["next_run"] > snap["sources"]["onionoo_details"]["last_success"]
    before = _mtimes(d2.dir / "www")
    marker = snap["renderer"]["batch"]
    assert d2.ctl("render", "--all").returncode == 0
    r = d2.wait_render_after(marker, full=True)     # not a status-only batch that came in between
    assert r["pages_unchanged"] >= len(before) - 1 and r["pages_written"] <= 1, r
    assert {k: v for k, v in _mtimes(d2.dir / "www").items() if k != "status.html"} == \
        {k: v for k, v in before.items() if k != "status.html"}
    assert d2.ctl("refresh", "nonexistent").returncode == 1


def test_pages_deleted_behind_the_running_daemon_come_back_on_the_rescan(api, start_daemon):
    """Batches trust the manifest (no stat() of 60k unchanged pages each); the periodic rescan checks
    that its pages exist and rewrites the missing ones, without rewriting any other page."""
    d = start_daemon(interval=600, rescan_interval=1.5)
    d.wait_ready()
    fp = next(r["fingerprint"] for r in details_doc(now_published())["relays"] if r["running"])
    gone = [d.page(f"relay/{fp}/index.html"), d.page("relays/all.html")]
    before = _mtimes(d.dir / "www")
    for page in gone:
        page.unlink()
    wait_for(lambda: all(p.exists() for p in gone), 20, what="the deleted pages to come back")
    assert b"</html>" in gone[0].read_bytes() and fp.encode() in gone[0].read_bytes()
    after = _mtimes(d.dir / "www")
    rewritten = {k for k in before if k != "status.html" and after.get(k) != before[k]}
    assert rewritten == {str(p.relative_to(d.dir / "www")) for p in gone}


def test_check_and_status_json(api, start_daemon):
    d = start_daemon(interval=600)
    d.wait_ready()
    check = d.ctl("check")
    assert check.returncode == 0, check.stdout
    assert check.stdout.startswith("ALLIUMD OK")
    result = d.ctl("status", "--json")
    assert result.returncode == 0
    snap = json.loads(result.stdout)
    src = snap["sources"]["onionoo_details"]
    for key in ("enabled", "state", "pid", "last_success", "last_attempt", "last_status", "last_error",
                "next_run", "failures", "restarts", "bytes", "data_age_s", "source"):
        assert key in src
    assert set(snap["sources"]) == {"onionoo_details", "onionoo_uptime", "onionoo_bandwidth", "collector",
                                    "consensus_health", "aroi"}
    assert snap["sources"]["aroi"]["state"] == "disabled"
    for key in ("state", "pid", "last_render", "pages_written", "pages_unchanged", "pages_deleted", "queue"):
        assert key in snap["renderer"]
    assert snap["daemon"]["running"] is True and snap["daemon"]["pid"] == d.proc.pid
    table = d.ctl("status").stdout
    assert "onionoo_details" in table and "idle" in table


def test_second_instance_is_refused(api, start_daemon):
    d = start_daemon(interval=600)
    d.wait_ready()
    second = subprocess.run([sys.executable, "-m", "alliumd", "--config", str(d.config)],
                            capture_output=True, text=True, timeout=20)
    assert second.returncode != 0
    assert "another alliumd" in second.stderr
    once = subprocess.run([sys.executable, "-m", "alliumd", "--config", str(d.config), "--once"],
                          capture_output=True, text=True, timeout=20)
    assert once.returncode == 75


def test_sd_notify_ready_and_stopping(api, start_daemon, tmp_path):
    sock_path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(sock_path))
    sock.settimeout(20)
    try:
        d = start_daemon(interval=600, env={"NOTIFY_SOCKET": str(sock_path), "WATCHDOG_USEC": "400000"})
        messages = []
        while not any("READY=1" in m for m in messages):
            messages.append(sock.recv(4096).decode())
        assert any("STATUS=" in m for m in messages)
        while not any("WATCHDOG=1" in m for m in messages):
            messages.append(sock.recv(4096).decode())
        d.proc.send_signal(signal.SIGHUP)
        while not any("RELOADING=1" in m for m in messages):
            messages.append(sock.recv(4096).decode())
        d.wait_ready()
        # drain what queued up meanwhile: a full datagram queue (10 messages) would drop STOPPING=1
        sock.setblocking(False)
        try:
            while True:
                messages.append(sock.recv(4096).decode())
        except BlockingIOError:
            pass
        sock.settimeout(20)
        d.proc.send_signal(signal.SIGTERM)
        while not any("STOPPING=1" in m for m in messages):
            messages.append(sock.recv(4096).decode())
        assert d.stop() == 0
    finally:
        sock.close()


def test_status_before_the_daemon_ever_ran(tmp_path, api):
    config = write_config(tmp_path, api.url("/details"))
    result = subprocess.run([sys.executable, "-m", "alliumd.ctl.main", "--config", str(config), "status",
                             "--json"], capture_output=True, text=True, timeout=20)
    assert result.returncode == 3
    snap = json.loads(result.stdout)
    assert snap["daemon"]["running"] is False
    assert snap["sources"]["onionoo_details"]["state"] == "stopped"
    assert len(snap["sources"]) == 6


def test_bad_config_exits_78(tmp_path):
    config = tmp_path / "allium.toml"
    config.write_text('[sources.onionoo_details]\ninterval = -1\nurl = "ftp://x"\n')
    for extra in ([], ["--once"]):
        result = subprocess.run([sys.executable, "-m", "alliumd", "--config", str(config), *extra],
                                capture_output=True, text=True, timeout=20)
        assert result.returncode == 78
        assert "[sources.onionoo_details] interval" in result.stderr
        assert "[sources.onionoo_details] url" in result.stderr
    env = {**os.environ, "ALLIUM_CONFIG": str(config)}
    result = subprocess.run([sys.executable, "-m", "alliumd", "--once"], capture_output=True, text=True,
                            timeout=20, env=env)
    assert result.returncode == 78 and str(config) in result.stderr
