"""A fake Tor API server on 127.0.0.1, used by the test-suite.

Why a real server: the fetch code has to be tested against real sockets. Mocks of
``requests`` cannot produce a read timeout, a slow-loris body, a short read against
Content-Length, a chunked body with no length, or gzip with Content-Length = compressed
size. This module uses only the stdlib, so it works in any test environment.

Behaviour follows the Onionoo servlet: a Last-Modified with second
resolution and an ETag on every 200, and 304 with no body for a matching If-None-Match or
If-Modified-Since. Error bodies are Jetty HTML, never JSON. Faults can be switched on per
path to drive every branch of the fetcher's error handling.

    with LoopbackAPI() as api:
        api.set_json("/details", {"relays": []})
        api.fault("/details", "retry_after", code=429, seconds=60, times=1)
        fetch(api.url("/details"))
"""
from __future__ import annotations

import email.utils
import functools
import gzip
import hashlib
import html
import inspect
import json
import socket
import socketserver
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple
from urllib.parse import urlsplit

JSON = "application/json; charset=utf-8"
LOGGED_HEADERS = ("If-None-Match", "If-Modified-Since", "User-Agent", "Accept-Encoding")
# The shape of Jetty's error page (see lukechilds/onionoo-node-client dummy400Response).
JETTY_ERROR = """<html>
<head>
<meta http-equiv="Content-Type" content="text/html;charset=ISO-8859-1"/>
<title>Error {code} {reason}</title>
</head>
<body><h2>HTTP ERROR {code}</h2>
<p>Problem accessing {path}. Reason:
<pre>    {reason}</pre></p><hr /><i><small>Powered by Jetty://</small></i>
</body>
</html>
"""
NOT_JSON = b"<!DOCTYPE html><html><body><h1>Down for maintenance</h1></body></html>\n"
# Used by drip/truncate when the path has no document: big enough to be slow to drip.
FILLER = json.dumps({"version": "8.0", "relays": [
    {"nickname": f"loopback{i}", "fingerprint": f"{i:040X}", "running": True} for i in range(24)
]}).encode()


class LoggedRequest(NamedTuple):
    method: str
    path: str  # the request target as sent, query string included
    headers: dict[str, str]  # only the LOGGED_HEADERS the client actually sent


@dataclass
class Document:
    body: bytes
    content_type: str
    etag: str
    last_modified: int  # epoch seconds: HTTP dates have no finer resolution

    @property
    def last_modified_http(self) -> str:
        return email.utils.formatdate(self.last_modified, usegmt=True)

    @functools.cached_property
    def gzipped(self) -> bytes:
        # Cached so that large fixtures are compressed once. mtime=0 gives the same bytes every time.
        return gzip.compress(self.body, mtime=0)


@dataclass
class _Fault:
    kind: str
    params: dict[str, Any]
    times: int | None  # None = until clear_fault()


@functools.lru_cache(maxsize=4)
def _oversize_body(size: int) -> bytes:
    """A body that starts like a real response, so only a size cap stops a client."""
    relay = b'{"nickname":"loopback","fingerprint":"' + b"0" * 40 + b'","running":true},'
    body = b'{"version":"8.0","relays_published":"2024-01-01 00:00:00","relays":['
    return (body + relay * (size // len(relay) + 1))[:size]


def _norm(path: str) -> str:
    return "/" + path.lstrip("/")


def _find(mapping: dict[str, Any], target: str) -> str | None:
    """Key for a request target: an exact match (query included) first, then the path only."""
    return next((k for k in (target, urlsplit(target).path) if k in mapping), None)


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a hung handler must never keep the test process alive
    block_on_close = False  # and server_close() must not join it

    def server_bind(self) -> None:
        # HTTPServer.server_bind() calls socket.getfqdn(), which may send a DNS query. Skip it.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def handle_error(self, request, client_address) -> None:
        # A client that gave up (timeout, size cap) or stop() cutting a socket is expected here.
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive like the real servers, and chunked for "oversize"
    server: _Server

    def version_string(self) -> str:
        return "Jetty(loopback)"

    def log_message(self, format: str, *args: Any) -> None:  # keep pytest output clean
        pass

    def setup(self) -> None:
        super().setup()
        self.server.api._track(self.connection, add=True)

    def finish(self) -> None:
        self.server.api._track(self.connection, add=False)
        super().finish()

    def do_GET(self) -> None:
        api = self.server.api
        api._record(LoggedRequest(self.command, self.path,
                               {h: self.headers[h] for h in LOGGED_HEADERS if h in self.headers}))
        doc, fault = api._lookup(self.path)
        try:
            if fault is None:
                self._serve(doc)
            else:
                getattr(self, "_fault_" + fault.kind)(doc, **fault.params)
        except OSError:  # the client hung up, or stop() shut the socket
            self.close_connection = True

    do_HEAD = do_GET

    # -- building blocks -------------------------------------------------------------
    def _head(self, code: int, headers: dict[str, str], length: int | None = None,
              chunked: bool = False) -> None:
        self.send_response(code)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Cache-Control", "public, max-age=300")
        self.send_header("Access-Control-Allow-Origin", "*")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        elif length is not None:
            self.send_header("Content-Length", str(length))
        self.end_headers()

    def _write(self, data: bytes) -> None:
        if self.command != "HEAD":
            self.wfile.write(data)

    def _accepts_gzip(self) -> bool:
        for item in self.headers.get("Accept-Encoding", "").split(","):
            name, _, params = item.partition(";")
            if name.strip().lower() in ("gzip", "x-gzip"):
                q = params.strip().lower()
                try:
                    return not q.startswith("q=") or float(q[2:]) > 0
                except ValueError:
                    return True
        return False

    def _encoded(self, doc: Document) -> tuple[bytes, dict[str, str]]:
        """Body and entity headers, gzip-compressed when the client asked for it."""
        headers = {"Content-Type": doc.content_type, "Vary": "Accept-Encoding"}
        if doc.etag:
            headers |= {"Last-Modified": doc.last_modified_http, "ETag": doc.etag}
        if self._accepts_gzip():
            return doc.gzipped, headers | {"Content-Encoding": "gzip"}
        return doc.body, headers

    def _validators(self, doc: Document | None) -> dict[str, str]:
        return {"Last-Modified": doc.last_modified_http, "ETag": doc.etag} if doc else {}

    def _not_modified(self, doc: Document) -> bool:
        inm = self.headers.get("If-None-Match")
        if inm is not None:  # RFC 9110 §13.2.2: If-None-Match takes precedence over If-Modified-Since
            tags = [t.strip().removeprefix("W/") for t in inm.split(",")]
            return "*" in tags or doc.etag.removeprefix("W/") in tags
        since = email.utils.parsedate_tz(self.headers.get("If-Modified-Since") or "")
        # Like a servlet: a malformed date is ignored; a date without a zone counts as GMT.
        return since is not None and email.utils.mktime_tz(since) >= doc.last_modified

    def _error(self, code: int, extra: dict[str, str] | None = None) -> None:
        reason = self.responses.get(code, ("Error",))[0]
        path = html.escape(urlsplit(self.path).path)
        body = JETTY_ERROR.format(code=code, reason=reason, path=path).encode("latin-1")
        self._head(code, {"Content-Type": "text/html;charset=iso-8859-1", **(extra or {})}, len(body))
        self._write(body)

    def _serve(self, doc: Document | None) -> None:
        if doc is None:
            return self._error(404)
        if self._not_modified(doc):
            return self._head(304, self._validators(doc))  # no body, no Content-Length
        body, headers = self._encoded(doc)
        self._head(200, headers, len(body))
        self._write(body)

    # -- faults: one method per kind; keyword arguments are the fault's params ---------
    def _fault_status(self, doc: Document | None, code: int = 500) -> None:
        self._error(code)

    def _fault_retry_after(self, doc: Document | None, code: int = 503, seconds: int | str = 120) -> None:
        self._error(code, {"Retry-After": str(seconds)})  # a str is sent verbatim (e.g. an HTTP date)

    def _fault_not_modified(self, doc: Document | None) -> None:
        self._head(304, self._validators(doc))

    def _fault_hang(self, doc: Document | None, seconds: float | None = None) -> None:
        """Read the request, then say nothing: until stop() (the connection is closed without
        a response) or until `seconds` have passed (the normal response is sent, late)."""
        if self.server.stopping.wait(seconds):
            self.close_connection = True
        else:
            self._serve(doc)

    def _fault_drip(self, doc: Document | None, interval: float = 0.5, chunk: int = 16) -> None:
        """Slow loris: each gap is shorter than any read timeout, so only a total deadline helps."""
        body, headers = self._encoded(doc or Document(FILLER, JSON, "", 0))
        self._head(200, headers, len(body))
        for start in range(0, len(body) if self.command != "HEAD" else 0, chunk):
            self.wfile.write(body[start:start + chunk])
            if start + chunk < len(body) and self.server.stopping.wait(interval):
                self.close_connection = True
                return

    def _fault_truncate(self, doc: Document | None) -> None:
        """Announce the full Content-Length, send half, close: the client must see a short read."""
        body, headers = self._encoded(doc or Document(FILLER, JSON, "", 0))
        self._head(200, headers, len(body))
        self._write(body[: len(body) // 2])
        self.close_connection = True

    def _fault_invalid_json(self, doc: Document | None, body: bytes = NOT_JSON) -> None:
        """200 with a JSON Content-Type that lies, like a captive portal or a proxy error page."""
        payload, headers = self._encoded(Document(body, JSON, "", 0))
        self._head(200, headers, len(payload))
        self._write(payload)

    def _fault_oversize(self, doc: Document | None, size: int = 3_000_000, chunked: bool = False,
                        compress: bool = False) -> None:
        """`size` bytes of JSON-looking data. With chunked=True no Content-Length is sent, so a
        client only notices while streaming. compress=True gzips it (if the client accepts gzip):
        a small Content-Length that decodes to `size` bytes, so a cap must count decoded bytes."""
        body, headers = _oversize_body(size), {"Content-Type": JSON}
        if compress and self._accepts_gzip():
            body, headers["Content-Encoding"] = gzip.compress(body, mtime=0), "gzip"
        if not chunked:
            self._head(200, headers, len(body))
            return self._write(body)
        self._head(200, headers, chunked=True)
        for start in range(0, len(body) if self.command != "HEAD" else 0, 65536):
            piece = body[start:start + 65536]
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
        self._write(b"0\r\n\r\n")


FAULT_KINDS = frozenset(n.removeprefix("_fault_") for n in vars(_Handler) if n.startswith("_fault_"))


class LoopbackAPI:
    """An HTTP server on 127.0.0.1 (ephemeral port) serving registered documents and faults.

    Every public method may be called from the test thread while the server is running.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._logged = threading.Condition(self._lock)  # wakes wait_count()
        self._docs: dict[str, Document] = {}
        self._faults: dict[str, _Fault] = {}
        self._log: list[LoggedRequest] = []
        self._conns: set[socket.socket] = set()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.port: int | None = None  # kept after stop(), to test "connection refused"

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> LoopbackAPI:
        if self._server is None:
            self._server = _Server(("127.0.0.1", 0), _Handler)
            self._server.api = self
            self._server.stopping = threading.Event()  # hang/drip handlers wait on it
            self.port = self._server.server_address[1]
            self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                            name=f"loopback-api:{self.port}", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Returns within about 0.1 s, even while handlers hang or drip."""
        server, self._server = self._server, None
        if server is None:
            return
        server.stopping.set()  # wake the hanging and dripping handlers
        server.shutdown()  # the accept loop exits within one poll_interval
        with self._lock:
            conns = list(self._conns)
        for conn in conns:  # also end idle keep-alive connections: clients see a close, not a hang
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        server.server_close()
        self._thread.join(1.0)

    def __enter__(self) -> LoopbackAPI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def url(self, path: str = "/") -> str:
        if self.port is None:
            raise RuntimeError("LoopbackAPI not started")
        return f"http://127.0.0.1:{self.port}{_norm(path)}"

    # -- content -----------------------------------------------------------------------
    def set(self, path: str, body: bytes, *, last_modified: float | None = None, etag: str | None = None,
            content_type: str = JSON) -> Document:
        """Register or replace the document at `path` (a path with a query matches only that query).

        Without last_modified: the current second. New bytes always get a strictly later
        Last-Modified than the old ones, even within the same second, because clients compare
        whole seconds. Setting the same bytes again keeps Last-Modified and ETag, like a server
        whose data has not changed. The default ETag is a strong one: a quoted sha256 prefix.
        """
        path = _norm(path)
        with self._lock:
            prev = self._docs.get(path)
            if last_modified is not None:
                lm = int(last_modified)
            elif prev is not None and prev.body == body:
                lm = prev.last_modified
            else:
                lm = max(int(time.time()), prev.last_modified + 1 if prev else 0)
            if etag is None:
                etag = '"%s"' % hashlib.sha256(body).hexdigest()[:16]
            elif not etag.startswith(('"', 'W/"')):
                etag = f'"{etag}"'
            doc = self._docs[path] = Document(bytes(body), content_type, etag, lm)
            return doc

    def set_json(self, path: str, obj: Any, **kwargs: Any) -> Document:
        return self.set(path, json.dumps(obj).encode(), **kwargs)

    def fault(self, path: str, kind: str, *, times: int | None = None, **params: Any) -> None:
        """Make `path` misbehave: for the next `times` requests, or until clear_fault()."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; expected one of {sorted(FAULT_KINDS)}")
        inspect.signature(getattr(_Handler, "_fault_" + kind)).bind(None, None, **params)  # TypeError on a typo
        with self._lock:
            self._faults[_norm(path)] = _Fault(kind, params, times)

    def clear_fault(self, path: str) -> None:
        with self._lock:
            self._faults.pop(_norm(path), None)

    # -- what the client did -----------------------------------------------------------
    @property
    def requests_log(self) -> list[LoggedRequest]:
        """A snapshot: handlers append from their own threads."""
        with self._lock:
            return list(self._log)

    def count(self, path: str) -> int:
        """Requests for `path`: an exact match, or any query string if `path` has none."""
        with self._lock:
            return self._count(_norm(path))

    def wait_count(self, path: str, n: int, timeout: float = 5.0) -> bool:
        """Block until `path` has had at least `n` requests; False on timeout."""
        with self._logged:
            return self._logged.wait_for(lambda: self._count(_norm(path)) >= n, timeout)

    def clear_log(self) -> None:
        with self._lock:
            self._log.clear()

    # -- called by handlers ------------------------------------------------------------
    def _count(self, path: str) -> int:
        return sum(1 for r in self._log if path in (r.path, urlsplit(r.path).path))

    def _record(self, entry: LoggedRequest) -> None:
        with self._logged:
            self._log.append(entry)
            self._logged.notify_all()

    def _lookup(self, target: str) -> tuple[Document | None, _Fault | None]:
        """The document and the fault for a request; uses up one shot of a limited fault."""
        with self._lock:
            doc_key, fault_key = _find(self._docs, target), _find(self._faults, target)
            doc = self._docs[doc_key] if doc_key else None
            fault = self._faults[fault_key] if fault_key else None
            if fault is not None and fault.times is not None:
                fault.times -= 1
                if fault.times <= 0:
                    del self._faults[fault_key]
            return doc, fault

    def _track(self, conn: socket.socket, add: bool) -> None:
        with self._lock:
            (self._conns.add if add else self._conns.discard)(conn)
