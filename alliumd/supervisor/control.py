"""The control socket protocol (server side and client side).

Varlink-style framing: one connection carries one request, a JSON object
``{"method": "Status", "parameters": {...}}`` terminated by a NUL byte, and
one reply ``{"parameters": {...}}`` or ``{"error": "...", "message": "..."}``
also NUL-terminated.  The socket is created with umask 0117 (mode 0660, no
chmod race).  Mutating methods are allowed for root and the daemon's own
user only, checked with SO_PEERCRED.

Methods (``alliumctl`` command → wire):
  status               → {"method": "Status"}
  reload               → {"method": "Reload"}
  refresh SOURCE       → {"method": "Refresh", "parameters": {"source": "onionoo_details"}}
  render [--all]       → {"method": "Render", "parameters": {"all": true}}
  stop                 → {"method": "Stop"}
"""

from __future__ import annotations

import json
import os
import socket
import struct
from pathlib import Path

MAX_REQUEST = 64 * 1024
MUTATING = {"Reload", "Refresh", "Render", "Stop"}
SOCKET_NAME = "control"


class ControlError(Exception):
    pass


def listen(run_dir: Path) -> socket.socket:
    path = run_dir / SOCKET_NAME
    try:
        path.unlink()          # the run_dir lock is held, so any existing socket is stale
    except FileNotFoundError:
        pass
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC | socket.SOCK_NONBLOCK)
    old = os.umask(0o117)
    try:
        sock.bind(str(path))
    finally:
        os.umask(old)
    sock.listen(16)
    return sock


def peer_uid(conn: socket.socket) -> int:
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return struct.unpack("3i", creds)[1]


def may_mutate(uid: int) -> bool:
    return uid in (0, os.geteuid())


def encode(message: dict) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode() + b"\0"


def decode(data: bytes) -> dict:
    message = json.loads(data.rstrip(b"\0"))
    if not isinstance(message, dict):
        raise ValueError("not a JSON object")
    return message


def call(run_dir: Path, method: str, parameters: dict | None = None, timeout: float = 5.0) -> dict:
    """Client side: send one request, return the reply's parameters or raise ControlError."""
    path = Path(run_dir) / SOCKET_NAME
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC) as s:
        s.settimeout(timeout)
        try:
            s.connect(str(path))
            s.sendall(encode({"method": method, "parameters": parameters or {}}))
            data = b""
            while not data.endswith(b"\0"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        except (OSError, socket.timeout) as e:
            raise ConnectionError(f"cannot talk to alliumd at {path}: {e}") from None
    try:
        reply = decode(data)
    except ValueError:
        raise ControlError(f"unreadable reply from alliumd at {path}") from None
    if "error" in reply:
        raise ControlError(reply.get("message") or reply["error"])
    return reply.get("parameters", {})
