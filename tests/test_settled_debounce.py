"""The debounce ends as soon as the supervisor knows no fetch is in flight (``settled``).

The debounce exists to merge publications that arrive close together; once every fetcher is idle no
publication is coming, so waiting longer only delays the pages.
"""

from __future__ import annotations

import queue
import time

from alliumd.core import channel
from alliumd.renderer.main import SETTLED, collect_quiet
from alliumd.supervisor.children import Child
from alliumd.supervisor.status import RENDERER
from alliumd.supervisor.tending import ChildTending

INPUT = ("input", "onionoo_details.json")


def test_a_settled_command_ends_the_debounce_at_once():
    events: queue.Queue = queue.Queue()
    events.put(INPUT)
    events.put(SETTLED)
    events.put(("cmd", channel.STATUS))            # after the settled one: left for the next batch
    started = time.monotonic()
    got = collect_quiet(events, debounce=5.0, max_delay=10.0)
    assert time.monotonic() - started < 1.0
    assert got == [INPUT, SETTLED]
    assert events.get_nowait() == ("cmd", channel.STATUS)


def test_without_settled_the_debounce_waits_for_quiet():
    events: queue.Queue = queue.Queue()
    events.put(INPUT)
    events.put(("cmd", channel.STATUS))
    started = time.monotonic()
    got = collect_quiet(events, debounce=0.3, max_delay=10.0)
    assert time.monotonic() - started >= 0.3
    assert got == [INPUT, ("cmd", channel.STATUS)]


def test_max_delay_still_bounds_the_wait():
    clock = iter([0.0, 0.0, 11.0])                 # start, first remaining, then past max_delay
    events: queue.Queue = queue.Queue()
    events.put(INPUT)
    got = collect_quiet(events, debounce=5.0, max_delay=10.0, monotonic=lambda: next(clock))
    assert got == [INPUT]


class _Renderer(Child):
    def __init__(self):
        super().__init__(RENDERER, "alliumd.renderer.main", [])
        self.sent: list[dict] = []

    def send(self, message: dict) -> None:
        self.sent.append(message)


class _Tending(ChildTending):
    def __init__(self, sources: list[str]):
        self.children = {name: Child(name, "alliumd.fetchers.runtime", []) for name in sources}
        self.children[RENDERER] = _Renderer()
        self.status_dirty = False
        self.now = 100.0

    def clock(self) -> float:
        return self.now


def _report(state: str) -> dict:
    return {"event": channel.SOURCE, "record": {"state": state}}


def test_the_supervisor_says_settled_only_when_no_fetch_is_in_flight():
    t = _Tending(["onionoo_details", "onionoo_uptime"])
    renderer = t.children[RENDERER]
    t._on_report(t.children["onionoo_details"], _report("fetching"))
    t._on_report(t.children["onionoo_uptime"], _report("fetching"))
    t._on_report(t.children["onionoo_details"], _report("idle"))       # details published, uptime still fetching
    assert renderer.sent[-1] == {"cmd": channel.STATUS}
    t._on_report(t.children["onionoo_uptime"], _report("idle"))        # the last fetch is done
    assert renderer.sent[-1] == {"cmd": channel.SETTLED}
    t._on_report(t.children["onionoo_uptime"], _report("backoff"))     # a failure also ends the fetch
    assert renderer.sent[-1] == {"cmd": channel.SETTLED}
