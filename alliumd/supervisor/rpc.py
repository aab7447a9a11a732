"""The control socket's server side: clients, requests, and their dispatch to the supervisor.

Runs inside the supervisor's single-threaded ``selectors`` loop (it shares
the loop's selector and clock), but knows nothing of children: a request
becomes a call of one :class:`Target` method.  Every client is hostile: at
most MAX_CLIENTS are served at once (the rest wait in the listen backlog),
a request must arrive whole within CLIENT_TIMEOUT (BUSY_CLIENT_TIMEOUT
while every slot is taken), and whatever a request holds costs that one
request an error reply, never the supervisor (README, control socket).
"""

from __future__ import annotations

import logging
import selectors
import socket
from typing import Callable, Protocol

from ..core import control

log = logging.getLogger("alliumd.supervisor")

MAX_CLIENTS = 64             # open control connections; beyond this, accepting pauses
CLIENT_TIMEOUT = 5.0         # a control client must send its whole request within this
BUSY_CLIENT_TIMEOUT = 0.5    # ... or within this while all MAX_CLIENTS slots are taken


class Target(Protocol):
    """What the control methods act on (the supervisor)."""

    def snapshot(self) -> dict: ...
    def reload(self) -> dict: ...
    def refresh(self, name: str) -> dict: ...
    def render(self, everything: bool) -> dict: ...
    def begin_stop(self, why: str) -> None: ...


def dispatch(target: Target, request: dict, uid: int) -> dict:
    """One validated request → the reply's ``parameters``; PermissionError, LookupError or ValueError."""
    method, params = control.validate(request)
    if method in control.MUTATING and not control.may_mutate(uid):
        raise PermissionError(f"{method} needs root or the daemon's user")
    if method == "Status":
        return target.snapshot()
    if method == "Reload":
        return target.reload()
    if method == "Refresh":
        return target.refresh(params["source"])
    if method == "Render":
        return target.render(bool(params.get("all")))
    if method == "Stop":
        target.begin_stop("alliumctl stop")
        return {"stopping": True}
    raise LookupError(f"unknown method {method!r}")


class ControlServer:
    """Accepts control clients on ``listener`` and answers each one's single request."""

    def __init__(self, selector: selectors.BaseSelector, listener: socket.socket, target: Target,
                 clock: Callable[[], float]):
        self.selector, self.listener, self.target, self.clock = selector, listener, target, clock
        self._conns: dict[socket.socket, list] = {}     # conn -> [bytes so far, accepted at]
        self.accept_paused = False
        selector.register(listener, selectors.EVENT_READ, self._accept)

    def deadline(self) -> float | None:
        """When the oldest client's time runs out (None: no client)."""
        if not self._conns:
            return None
        return min(at for _, at in self._conns.values()) + self._client_timeout()

    def expire(self, now: float) -> None:
        for conn, (_, at) in list(self._conns.items()):
            if now - at > self._client_timeout():
                self._drop(conn)

    def _accept(self, listener) -> None:
        """Accept up to MAX_CLIENTS clients; beyond that, later ones wait in the backlog."""
        while len(self._conns) < MAX_CLIENTS:
            try:
                conn, _ = listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:                 # EMFILE/ENFILE/ENOBUFS: wait for a slot
                log.warning("control socket: accept failed: %s", e)
                if self._conns:
                    self._pause_accept()
                return
            conn.setblocking(False)
            self._conns[conn] = [b"", self.clock()]
            self.selector.register(conn, selectors.EVENT_READ, self._on_request)
        self._pause_accept()

    def _pause_accept(self) -> None:
        if not self.accept_paused:
            self.accept_paused = True
            self.selector.unregister(self.listener)

    def _client_timeout(self) -> float:
        return BUSY_CLIENT_TIMEOUT if self.accept_paused else CLIENT_TIMEOUT

    def _drop(self, conn: socket.socket, reply: dict | None = None) -> None:
        """Forget a client: unregister, optionally answer, close; resume accepting."""
        self._conns.pop(conn, None)
        try:
            self.selector.unregister(conn)
        except (KeyError, ValueError):
            pass
        try:
            if reply is not None:
                conn.setblocking(True)
                conn.settimeout(2.0)
                conn.sendall(control.encode(reply))
        except OSError:
            pass
        finally:
            conn.close()
        if self.accept_paused and len(self._conns) < MAX_CLIENTS:
            self.accept_paused = False
            self.selector.register(self.listener, selectors.EVENT_READ, self._accept)

    def _on_request(self, conn: socket.socket) -> None:
        """One request per connection; whatever it holds, it can never end the supervisor."""
        try:
            chunk = conn.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        entry = self._conns.get(conn)
        if entry is None:
            self._drop(conn)
            return
        data = entry[0] + chunk
        if chunk and b"\0" not in data and len(data) <= control.MAX_REQUEST:
            entry[0] = data
            return
        try:
            if b"\0" not in data:
                raise ValueError("request not terminated or too large")
            request = control.decode(data.split(b"\0", 1)[0])
            reply = {"parameters": dispatch(self.target, request, control.peer_uid(conn))}
        except PermissionError as e:
            reply = {"error": "PermissionDenied", "message": str(e)}
        except (ValueError, LookupError) as e:
            reply = {"error": "InvalidRequest", "message": str(e)}
        except Exception as e:                   # a bug must cost one request, not the daemon
            log.exception("control request failed")
            reply = {"error": "InternalError", "message": f"{type(e).__name__}: {e}"}
        self._drop(conn, reply)
