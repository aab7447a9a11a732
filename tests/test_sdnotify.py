"""sd_notify: messages arrive, and a reader that stops reading never blocks the supervisor."""

from __future__ import annotations

import os
import socket
import time

from alliumd.supervisor.sdnotify import Notifier


def _listener(tmp_path):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp_path / "notify.sock"))
    sock.settimeout(5)
    return sock


def test_messages_arrive_with_their_fields(tmp_path):
    sock = _listener(tmp_path)
    try:
        n = Notifier({"NOTIFY_SOCKET": str(tmp_path / "notify.sock")})
        n.ready("3 sources")
        n.reloading()
        assert sock.recv(4096).decode() == "READY=1\nSTATUS=3 sources"
        reloading = sock.recv(4096).decode().split("\n")
        assert reloading[0] == "RELOADING=1" and reloading[1].startswith("MONOTONIC_USEC=")
    finally:
        sock.close()


def test_a_reader_that_stops_reading_costs_dropped_messages_not_a_blocked_daemon(tmp_path):
    sock = _listener(tmp_path)                      # bound, never read: its queue fills up
    try:
        n = Notifier({"NOTIFY_SOCKET": str(tmp_path / "notify.sock"), "WATCHDOG_USEC": "400000"})
        started = time.monotonic()
        sent = [n.notify("WATCHDOG=1") for _ in range(200)]
        assert time.monotonic() - started < 2.0     # a blocking send would hang at the 11th message
        assert sent[0] is True and sent[-1] is False
    finally:
        sock.close()


def test_without_a_socket_nothing_is_sent_and_watchdog_interval_is_half_the_timeout():
    assert Notifier({}).notify("READY=1") is False
    assert Notifier({"WATCHDOG_USEC": "400000"}).watchdog_interval == 0.2
    assert Notifier({"WATCHDOG_USEC": "400000", "WATCHDOG_PID": str(os.getpid() + 1)}).watchdog_interval is None
    assert Notifier({"NOTIFY_SOCKET": "@alliumd-test-nobody-listens"}).notify("READY=1") is False
