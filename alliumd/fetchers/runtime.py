"""The fetcher process: one per enabled source, each on its own schedule.

Run as ``python -m alliumd.fetchers.runtime --config PATH --source NAME``.
The loop waits for the next poll (or a ``refresh`` command on stdin), does one
fetch, validates the body, publishes it atomically into ``cache_dir`` and
reports its state (the fetch itself: fetchers/fetcher.py).

What waits between polls is small.  This module imports only what waiting
takes: the configuration, the record, the schedule and the channel.  A
source with large documents and long intervals (sources.py
``poll_in_child``) is an :class:`IdleFetcher`: its start-up check, each poll,
and the bookkeeping of a poll whose process died run in forked children
(pollchild.py) that import the fetcher proper (``requests``, OpenSSL's
hashes, the parsers, the cache code) and exit.  Such a process stayed at
~25 MB RSS before, ~18 MB now: ``import hashlib`` alone maps ~4 MB of
OpenSSL.  Details polls in its own process (``--once`` too): a child's fresh
import of ``requests`` would delay the publication most pages depend on.

Exit codes: 0 stopped on request (or ``--once`` left a usable cache),
1 ``--once`` found no data at all or the start-up check failed, 78 bad config, 76 supervisor gone.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import select
import sys
import time
from pathlib import Path
from typing import Any, Callable

from .. import childproc, config as configmod, logs, sourcestate
from ..core import channel, exitcodes
from ..sources import SOURCES
from ..states import SourceState, first_run_delay
from . import pollchild

log = logging.getLogger("alliumd.fetcher")
PARENT_CHECK = 5.0           # s between checks that the supervisor still lives, while waiting


def __getattr__(name: str) -> Any:
    """``runtime.Fetcher``: the fetcher proper, imported only by whoever asks for it."""
    if name == "Fetcher":
        from .fetcher import Fetcher
        return Fetcher
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# -- what both kinds of fetcher process share -------------------------------------------

def report_record(record: sourcestate.SourceRecord) -> None:
    childproc.report(channel.SourceReport(record.to_json()))


def save_record(cfg: configmod.Config, name: str, record: sourcestate.SourceRecord) -> None:
    """Persist and report the record; a full or broken state disk is logged, never fatal
    (the supervisor still gets the record, and the next save tries again)."""
    try:
        sourcestate.save(cfg.daemon.state_dir, record)
    except OSError as e:
        log.error("source=%s cannot save its state: %s", name, e)
    report_record(record)


def schedule_first_poll(record: sourcestate.SourceRecord, cache_path: Path, interval: float,
                        clock: Callable[[], float], rand: Callable[[], float]) -> None:
    """Set the first poll after a start: soon for a missing or old cache, an earlier backoff honoured."""
    now = clock()
    age = now - record.last_success if record.last_success and cache_path.exists() else None
    wait = first_run_delay(age, interval, rand())
    if record.failures and record.next_run and record.next_run > now:
        wait = record.next_run - now                       # keep honouring an earlier backoff
    record.next_run = now + wait
    if record.state not in (SourceState.IDLE.value, SourceState.BACKOFF.value):
        record.state = SourceState.BACKOFF.value if record.failures else SourceState.IDLE.value


def serve(fetcher: Any) -> int:
    """After its start-up check: schedule the fetcher's first poll, then wait for each poll (or a refresh)
    and poll, until the supervisor is gone.  ``fetcher``: a Fetcher or an IdleFetcher."""
    schedule_first_poll(fetcher.record, fetcher.cache_path, fetcher.src.interval, fetcher.clock, fetcher.rand)
    save_record(fetcher.cfg, fetcher.name, fetcher.record)
    while True:
        command = wait_for(fetcher.record.next_run, fetcher.clock, fetcher.name)   # poll() replaces the record
        if command == "eof":
            log.info("supervisor gone; exiting")
            return exitcodes.PARENT_GONE
        fetcher.poll()


def wait_for(due: float, clock: Callable[[], float], name: str) -> str:
    """Sleep until ``due`` or a ``refresh`` command; return "due", "refresh" or "eof"."""
    reader = channel.LineReader()
    while True:
        remaining = due - clock()
        if remaining <= 0:
            return "due"
        ready, _, _ = select.select([sys.stdin.fileno()], [], [], min(remaining, PARENT_CHECK))
        if not childproc.parent_alive():
            return "eof"
        if not ready:
            continue
        chunk = os.read(sys.stdin.fileno(), 4096)
        if not chunk:
            return "eof"
        if any(channel.Command.of(msg) == channel.REFRESH for msg in reader.feed(chunk)):
            log.info("source=%s refresh requested", name)
            return "refresh"


# -- a source that polls in a child -------------------------------------------------------

def _fetcher_task(cfg: configmod.Config, name: str, record: dict, verified: list, task: str,
                  args: tuple) -> dict:
    """In a forked child: the fetcher proper, with the waiting process's record, runs ``task``."""
    from .fetcher import Fetcher
    fetcher = Fetcher(cfg, name, record=sourcestate.SourceRecord.from_json(record))
    fetcher.take_verified(verified)
    getattr(fetcher, task)(*args)
    return {"record": fetcher.record.to_json(), "verified": fetcher.verified_files()}


class IdleFetcher:
    """The process of a source that polls in a child: it holds the record and the schedule, and
    forks for everything else (see the module's docstring)."""

    def __init__(self, cfg: configmod.Config, name: str, *, clock=time.time, rand=random.random):
        self.cfg, self.name, self.src = cfg, name, cfg.sources[name]
        self.cache_path = cfg.daemon.cache_dir / self.src.cache_file
        self.clock, self.rand = clock, rand
        self.record = sourcestate.load(cfg.daemon.state_dir, name, repair=True)
        self.verified: list[list] = []      # cache files a child hashed, with their signatures: not again

    def in_child(self, task: str, *args: Any) -> str | None:
        """Run the fetcher's ``task`` in a forked child; its record and verified files become ours.
        None, or how the child failed (it could not start, died, or sent no result)."""
        record, verified = self.record.to_json(), self.verified
        try:
            result, how = pollchild.run(lambda: _fetcher_task(self.cfg, self.name, record, verified, task, args))
        except OSError as e:                   # EAGAIN, ENOMEM
            return f"cannot start the poll's process ({e})"
        try:
            if result is not None:
                self.record = sourcestate.SourceRecord.from_json(result["record"])
                self.verified = [[str(path), list(sig)] for path, sig in result["verified"]]
                return None
        except (KeyError, TypeError, ValueError) as e:
            how = f"an unreadable result ({e})"
        return f"the poll's process ended without a result ({how})"

    def poll(self) -> None:
        """One fetch in a child; a child that fails is a failed poll, on the normal backoff (the last good
        cache stays), recorded by another child, or here if none can start."""
        started = self.clock()
        problem = self.in_child("fetch_now")
        if problem is None:
            return
        log.error("source=%s %s", self.name, problem)
        if self.in_child("failed", problem, None, None, started) is not None:
            from .fetcher import Fetcher       # no process can be forked: the bookkeeping is done here
            fetcher = Fetcher(self.cfg, self.name, clock=self.clock, rand=self.rand, record=self.record)
            fetcher.failed(problem, None, None, started)

    def prepare(self) -> None:
        """The start-up check of the cache (fetcher.Fetcher.prepare), in a child."""
        problem = self.in_child("prepare")
        if problem is not None:
            raise RuntimeError(f"the start-up check failed: {problem}")

    def run_forever(self) -> int:
        try:
            self.prepare()
        except RuntimeError as e:
            log.error("source=%s %s", self.name, e)
            return exitcodes.FAILURE            # the supervisor starts the fetcher again, on its backoff
        return serve(self)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="alliumd-fetcher", description=__doc__.splitlines()[0])
    ap.add_argument("--config", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--once", action="store_true")
    args = ap.parse_args(argv)
    logs.setup(f"fetcher/{args.source}")
    childproc.become_child()
    try:
        cfg = configmod.load(args.config)
        logs.setup(f"fetcher/{args.source}", cfg.daemon.log_level)
        if args.once or not SOURCES[args.source].poll_in_child:
            from .fetcher import Fetcher
            fetcher = Fetcher(cfg, args.source)
        else:
            fetcher = IdleFetcher(cfg, args.source)
    except (configmod.ConfigError, LookupError, KeyError) as e:
        log.error("%s", e)
        return exitcodes.CONFIG
    try:
        return fetcher.run_once() if args.once else fetcher.run_forever()
    except childproc.Terminated:
        return exitcodes.OK


if __name__ == "__main__":
    childproc.exit_now(main())
