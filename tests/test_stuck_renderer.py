"""A stuck renderer (issue 15, item 4): SIGSTOP it and the supervisor notices its silence,
stops feeding the systemd watchdog, kills and restarts it; meanwhile ``check`` is CRITICAL."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time

from alliumd import childproc
from alliumd.ctl.check import evaluate
from daemon_harness import wait_for


def test_heartbeat_interval_is_well_inside_the_limit():
    assert childproc.heartbeat_interval(30) == 5.0
    assert childproc.heartbeat_interval(1.2) == 0.3
    assert childproc.heartbeat_interval(0.01) == 0.1


def test_sigstopped_renderer_is_detected_restarted_and_starves_the_watchdog(api, start_daemon, tmp_path):
    sock_path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(sock_path))
    sock.settimeout(0.2)
    pings: list[float] = []
    done = threading.Event()

    def listen():
        while not done.is_set():
            try:
                if b"WATCHDOG=1" in sock.recv(4096):
                    pings.append(time.monotonic())
            except (socket.timeout, OSError):
                pass

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    try:
        d = start_daemon(interval=600, daemon_extra="renderer_timeout = 2",
                         env={"NOTIFY_SOCKET": str(sock_path), "WATCHDOG_USEC": "400000"})
        snap = d.wait_ready()
        old_pid = snap["renderer"]["pid"]
        time.sleep(1.0)                                   # heartbeats keep it alive while idle
        assert d.status()["renderer"]["pid"] == old_pid
        assert evaluate(d.status())[0] == 0

        stopped_at = time.monotonic()
        os.kill(old_pid, signal.SIGSTOP)
        critical = wait_for(lambda: (r := evaluate(d.status()))[0] == 2 and "renderer" in r[1] and r, 10,
                            interval=0.05, what="check CRITICAL for the silent renderer")
        seen_at = time.monotonic()
        assert seen_at - stopped_at >= 1.5                # not before the limit (2 s)
        assert "renderer down" in critical[1]
        snap = wait_for(lambda: (s := d.status())["renderer"]["pid"] not in (None, old_pid)
                        and s["renderer"]["state"] == "idle" and s, 20, what="a restarted renderer")
        assert snap["renderer"]["restarts"] >= 1
        assert evaluate(snap)[0] == 0
        # fed again once the new renderer beats ...
        restarted_at = time.monotonic()
        wait_for(lambda: pings and pings[-1] > restarted_at, 5, what="watchdog pings again")
        # ... and not while the renderer was silent beyond its limit (pings every 0.2 s otherwise)
        gaps = [b - a for a, b in zip(pings, pings[1:]) if b > stopped_at]
        assert max(gaps) > 0.8, [round(p - stopped_at, 2) for p in pings if p > stopped_at]
        assert "renderer silent" in d.log_text()
    finally:
        done.set()
        listener.join(2)
        sock.close()
