"""sd_notify(3) in a few lines of stdlib: READY, STATUS, WATCHDOG, RELOADING, STOPPING.

A no-op when ``$NOTIFY_SOCKET`` is unset (not under systemd, or tests that
do not ask for it).  Abstract sockets start with ``@``.
"""

from __future__ import annotations

import os
import socket
import time


class Notifier:
    def __init__(self, env: dict | None = None):
        env = os.environ if env is None else env
        address = env.get("NOTIFY_SOCKET")
        if address and address.startswith("@"):
            address = "\0" + address[1:]
        self.address = address
        usec = env.get("WATCHDOG_USEC")
        pid = env.get("WATCHDOG_PID")
        self.watchdog_interval = (int(usec) / 1e6 / 2) if usec and usec.isdigit() and \
            (not pid or pid == str(os.getpid())) else None

    def notify(self, *lines: str) -> bool:
        """Send one message without ever blocking; False if it could not be delivered.

        The socket is non-blocking: a datagram socket whose reader has fallen
        behind (its queue holds ``net.unix.max_dgram_qlen`` messages, 10 by
        default) would otherwise stop the supervisor's whole loop in
        ``send`` — a stuck reader must cost a dropped message, not the daemon.
        """
        if not self.address:
            return False
        payload = "\n".join(lines).encode()
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC | socket.SOCK_NONBLOCK) as s:
                s.connect(self.address)
                s.send(payload)
            return True
        except OSError:                 # incl. BlockingIOError: the reader's queue is full
            return False

    def ready(self, status: str = "") -> None:
        self.notify("READY=1", *( [f"STATUS={status}"] if status else []))

    def status(self, text: str) -> None:
        self.notify(f"STATUS={text}")

    def reloading(self) -> None:
        self.notify("RELOADING=1", f"MONOTONIC_USEC={time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000}")

    def stopping(self) -> None:
        self.notify("STOPPING=1")

    def watchdog(self) -> None:
        self.notify("WATCHDOG=1")
