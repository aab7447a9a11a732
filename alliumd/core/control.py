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

Every request is hostile until proven otherwise: its size is capped
(``MAX_REQUEST``), its nesting depth is checked *before* ``json.loads`` (so
a RecursionError cannot happen), and its shape is validated (``validate``)
before anything acts on it.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import struct
import time
from pathlib import Path

MAX_REQUEST = 64 * 1024
MAX_DEPTH = 16                  # real requests nest 2 deep
METHODS = {"Status", "Reload", "Refresh", "Render", "Stop"}
MUTATING = {"Reload", "Refresh", "Render", "Stop"}
SOCKET_NAME = "control"
BACKLOG = 256                   # many concurrent alliumctl (monitoring) must not see EAGAIN
CONNECT_RETRY = 3.0             # seconds a client retries a full backlog / refused connect


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
    sock.listen(BACKLOG)
    return sock


def peer_uid(conn: socket.socket) -> int:
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return struct.unpack("3i", creds)[1]


def may_mutate(uid: int) -> bool:
    return uid in (0, os.geteuid())


def encode(message: dict) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode() + b"\0"


def nesting_depth(data: bytes) -> int:
    """Deepest ``[``/``{`` nesting outside strings (a cheap scan, so json.loads never recurses deep)."""
    if data.count(b"[") + data.count(b"{") <= MAX_DEPTH:
        return data.count(b"[") + data.count(b"{")
    depth = deepest = 0
    in_string = escaped = False
    for byte in data:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:          # backslash
                escaped = True
            elif byte == 0x22:          # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return deepest


def decode(data: bytes, *, request: bool = True) -> dict:
    """Parse one message; ValueError for a request too large, too deep or not an object."""
    data = data.rstrip(b"\0")
    if request and len(data) > MAX_REQUEST:
        raise ValueError(f"request larger than {MAX_REQUEST} bytes")
    if request and nesting_depth(data) > MAX_DEPTH:
        raise ValueError(f"request nested deeper than {MAX_DEPTH}")
    try:
        message = json.loads(data)
    except RecursionError:
        raise ValueError("message nested too deep") from None
    except UnicodeDecodeError:
        raise ValueError("message is not UTF-8") from None
    if not isinstance(message, dict):
        raise ValueError("not a JSON object")
    return message


def validate(message: dict) -> tuple[str, dict]:
    """Return (method, parameters) of a well-formed request, else ValueError saying what is wrong."""
    method = message.get("method")
    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(sorted(METHODS))}")
    params = message.get("parameters")
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise ValueError("parameters must be a JSON object")
    if method == "Refresh" and not isinstance(params.get("source"), str):
        raise ValueError("Refresh needs parameters.source (a string)")
    if method == "Render" and not isinstance(params.get("all", False), bool):
        raise ValueError("Render parameters.all must be a boolean")
    return method, params


def _connect(s: socket.socket, path: Path, timeout: float) -> None:
    """Connect, retrying briefly while the listen backlog is full (EAGAIN) or the socket refuses."""
    deadline = time.monotonic() + min(timeout, CONNECT_RETRY)
    delay = 0.01
    while True:
        try:
            s.connect(str(path))
            return
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.ECONNREFUSED) or time.monotonic() + delay > deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 0.2)


def call(run_dir: Path, method: str, parameters: dict | None = None, timeout: float = 5.0) -> dict:
    """Client side: send one request, return the reply's parameters or raise ControlError."""
    path = Path(run_dir) / SOCKET_NAME
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC) as s:
        s.settimeout(timeout)
        try:
            _connect(s, path, timeout)
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
        reply = decode(data, request=False)      # replies come from the daemon and nest deeper
    except (ValueError, RecursionError):
        raise ControlError(f"unreadable reply from alliumd at {path}") from None
    if "error" in reply:
        raise ControlError(reply.get("message") or reply["error"])
    return reply.get("parameters", {})
