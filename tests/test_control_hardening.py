"""The control socket against hostile and careless clients (issue 15, item 1).

Unit tests for the request checks, then a real daemon: malformed requests,
deep nesting, idle connection floods, fuzz and concurrent clients must never
end the supervisor, and ``status`` must keep answering.
"""

from __future__ import annotations

import concurrent.futures
import json
import random
import resource
import socket
import subprocess
import sys
import time

import pytest

from alliumd.core import control
from daemon_harness import wait_for


# -- pure checks -------------------------------------------------------------------------

def test_decode_refuses_deep_nesting_without_recursing():
    deep = b"[" * 30_000 + b"]" * 30_000
    with pytest.raises(ValueError, match="nested deeper"):
        control.decode(deep)
    # brackets inside strings do not count
    assert control.decode(b'{"method":"Status","x":"' + b"[" * 1000 + b'"}')["method"] == "Status"


def test_decode_refuses_oversize_and_non_objects():
    with pytest.raises(ValueError):
        control.decode(b'"' + b"a" * (control.MAX_REQUEST + 10) + b'"')
    for bad in (b"[]", b"1", b"null", b"\xff\xfe", b"{"):
        with pytest.raises(ValueError):
            control.decode(bad)


@pytest.mark.parametrize("message", [
    {"method": []}, {"method": None}, {"method": 1}, {"method": "Nope"}, {},
    {"method": "Status", "parameters": []}, {"method": "Status", "parameters": "x"},
    {"method": "Refresh", "parameters": {"source": ["a"]}}, {"method": "Refresh"},
    {"method": "Render", "parameters": {"all": "yes"}},
])
def test_validate_refuses_wrong_shapes(message):
    with pytest.raises(ValueError):
        control.validate(message)


def test_validate_accepts_the_real_requests():
    assert control.validate({"method": "Status"}) == ("Status", {})
    assert control.validate({"method": "Status", "parameters": None}) == ("Status", {})
    assert control.validate({"method": "Refresh", "parameters": {"source": "aroi"}})[0] == "Refresh"
    assert control.validate({"method": "Render", "parameters": {"all": True}})[1] == {"all": True}


# -- a real daemon ---------------------------------------------------------------------------

def _raw(run_dir, payload: bytes, *, read: bool = True) -> bytes:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(str(run_dir / control.SOCKET_NAME))
        try:
            s.sendall(payload)
            s.shutdown(socket.SHUT_WR)
        except OSError:
            return b""
        if not read:
            return b""
        data = b""
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:        # closed with our oversize request unread
                return data
            if not chunk:
                return data
            data += chunk


def _error(reply: bytes) -> str:
    return json.loads(reply.rstrip(b"\0"))["error"]


def test_malformed_requests_get_errors_and_the_supervisor_lives(api, start_daemon):
    d = start_daemon(interval=600)
    d.wait_ready()
    run = d.dir / "run"
    cases = {
        b'{"method":[]}\0': "InvalidRequest",
        b"[" * 30_000 + b"\0": "InvalidRequest",
        b'{"method":"Status","parameters":[]}\0': "InvalidRequest",
        b'{"method":"Status","parameters":"x"}\0': "InvalidRequest",
        b'{"method":"Refresh","parameters":{"source":{}}}\0': "InvalidRequest",
        b'{"method":"Render","parameters":{"all":[]}}\0': "InvalidRequest",
        b"\xff\xfe\xfd\0": "InvalidRequest",
    }
    for payload, expected in cases.items():
        assert _error(_raw(run, payload)) == expected, payload[:40]
        assert d.proc.poll() is None, f"supervisor died on {payload[:40]!r}"
    assert d.status()["daemon"]["pid"] == d.proc.pid


def _connect_patiently(s: socket.socket, path, limit: float = 10.0) -> None:
    """Connect like alliumctl does: a full listen backlog (EAGAIN on a Unix socket, e.g. while a loaded
    machine delays the daemon's accepts) is retried, not a failure of the flood."""
    deadline = time.monotonic() + limit
    while True:
        try:
            s.connect(str(path))
            return
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def test_idle_connection_flood_neither_exhausts_fds_nor_blocks_status(api, start_daemon):
    d = start_daemon(interval=600)
    d.wait_ready()
    # a low descriptor limit makes exhaustion reachable: 300 idle clients > 200 descriptors
    resource.prlimit(d.proc.pid, resource.RLIMIT_NOFILE, (200, 200))
    idle = []
    try:
        for _ in range(300):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(10)
            _connect_patiently(s, d.dir / "run" / control.SOCKET_NAME)
            s.send(b'{"method":')
            idle.append(s)
        time.sleep(0.5)
        assert d.proc.poll() is None, "supervisor died under an idle-connection flood"
        assert d.status()["daemon"]["pid"] == d.proc.pid
        # idle clients are timed out: the last one is closed by the daemon within CLIENT_TIMEOUT
        idle[-1].settimeout(15)
        assert idle[-1].recv(10) == b""
    finally:
        for s in idle:
            s.close()
    assert d.proc.poll() is None


def test_fuzzed_requests_never_end_the_supervisor(api, start_daemon):
    d = start_daemon(interval=600)
    d.wait_ready()
    run = d.dir / "run"
    rng = random.Random(15)

    def value(depth=0):
        kind = rng.randrange(8 if depth < 4 else 5)
        if kind == 0:
            return rng.choice([None, True, False])
        if kind == 1:
            return rng.choice([0, -1, 1e308, 2 ** 70, 3.5])
        if kind == 2:
            return "".join(chr(rng.randrange(1, 0x3000)) for _ in range(rng.randrange(12)))
        if kind == 3:
            return rng.choice(["Status", "Render", "Refresh", "status", "", "onionoo_details"])
        if kind == 4:
            return rng.choice(["Nope", "\ud800", "Refresh\0"])
        if kind in (5, 6):
            return {rng.choice(["method", "parameters", "source", "all", "x"]): value(depth + 1)
                    for _ in range(rng.randrange(4))}
        return [value(depth + 1) for _ in range(rng.randrange(4))]

    replies = 0
    for i in range(400):
        shape = rng.randrange(6)
        if shape == 0:
            payload = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200))) + b"\0"
        elif shape == 1:
            payload = rng.choice([b"[", b"{\"a\":"]) * rng.randrange(100, 40_000) + b"\0"
        elif shape == 2:
            payload = b"x" * (control.MAX_REQUEST + rng.randrange(1, 1000))
        else:
            message = {"method": value(), "parameters": value()}
            if rng.random() < 0.3:
                message = value()
            payload = json.dumps(message).encode("utf-8", "surrogatepass") + b"\0"
        reply = _raw(run, payload, read=rng.random() < 0.9)
        if reply:
            json.loads(reply.rstrip(b"\0"))
            replies += 1
        if i % 50 == 0:
            assert d.proc.poll() is None, f"supervisor died after request {i}: {payload[:60]!r}"
    assert replies > 300
    assert d.proc.poll() is None
    snap = d.status()
    assert snap["daemon"]["pid"] == d.proc.pid and snap["renderer"]["state"] in ("idle", "rendering")


def test_many_concurrent_clients_all_get_answers(api, start_daemon):
    d = start_daemon(interval=600)
    d.wait_ready()

    def one(_):
        return control.call(d.dir / "run", "Status", timeout=20)["daemon"]["pid"]

    with concurrent.futures.ThreadPoolExecutor(200) as pool:
        pids = list(pool.map(one, range(400)))
    assert pids == [d.proc.pid] * 400


@pytest.mark.slow
def test_forty_concurrent_alliumctl_status_all_succeed(api, start_daemon):
    d = start_daemon(interval=600)
    d.wait_ready()
    cmd = [sys.executable, "-m", "alliumd.ctl.main", "--config", str(d.config), "status", "--json"]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(40)]
    codes = [p.wait(60) for p in procs]
    for p in procs:
        p.stdout.close()
        p.stderr.close()
    assert codes == [0] * 40
    wait_for(lambda: d.proc.poll() is None, 1)
