"""``alliumctl events``: recent events from the history store, read directly (daemon running or not).

The store is opened read-only in spirit (nothing is written, a missing file
is not created); WAL mode lets this read while the renderer writes.
"""

from __future__ import annotations

import json
import re
import sqlite3
import sys
import time
from datetime import datetime, timezone

from ..core import exitcodes
from ..history.store import HistoryStore, store_for
from ..model import events as ev

_RELATIVE = re.compile(r"^(\d+(?:\.\d+)?)([smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_FORMATS = ("%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S",
            "%Y-%m-%dT%H:%M:%SZ")


def parse_since(text: str, now: float) -> float:
    """'24h', '7d', '30m' (before ``now``) or a UTC date/time ('2026-08-22', '2026-08-22T11:00')."""
    match = _RELATIVE.match(text.strip())
    if match:
        return now - float(match.group(1)) * _UNITS[match.group(2)]
    for fmt in _FORMATS:
        try:
            return datetime.strptime(text.strip(), fmt).replace(tzinfo=timezone.utc).timestamp()
        except ValueError:
            continue
    raise ValueError(f"--since: not a time or a span like 24h/7d: {text!r}")


def as_json(e: dict) -> dict:
    return {"time": ev.iso(e["time"]), "fingerprint": e["fp"], "nickname": e["nickname"], "kind": e["kind"],
            "text": e["text"], "before": e["before"], "after": e["after"], "contact": e["contact"],
            "family": e["family"]}


def as_line(e: dict) -> str:
    who = f"{e['nickname'] or '?'} ({e['fp'][:8]})" if e["fp"] else "network"
    return f"{ev.time_text(e['time'])}  {who:<30}  {ev.clean_text(e['text'], 400)}"


def cmd_events(cfg, args) -> int:
    try:
        since = parse_since(args.since, time.time()) if args.since else None
    except ValueError as e:
        print(f"alliumctl: {e}", file=sys.stderr)
        return exitcodes.CTL_BAD_ARGS
    relay = args.relay.upper() if args.relay else None
    if relay is not None and not re.fullmatch(r"[0-9A-F]{40}", relay):
        print("alliumctl: --relay needs a 40-character hex fingerprint", file=sys.stderr)
        return exitcodes.CTL_BAD_ARGS
    store: HistoryStore = store_for(cfg.daemon.state_dir, readonly=True)
    if not store.path.exists():
        print(f"alliumctl: no history store yet ({store.path}); events are recorded from the second "
              "details publication the daemon renders", file=sys.stderr)
        print("[]" if args.json else "", end="\n" if args.json else "")
        return exitcodes.CTL_OK
    try:
        store.open()
    except sqlite3.DatabaseError as e:
        print(f"alliumctl: the history store {store.path} is unreadable ({e}); the daemon moves it aside "
              "and starts a new one when it next records", file=sys.stderr)
        return exitcodes.CTL_ERROR
    try:
        events = store.events(fp=relay, contact=args.contact, network=args.network, since=since, limit=args.limit)
    finally:
        store.close()
    if args.json:
        print(json.dumps([as_json(e) for e in events], indent=1, ensure_ascii=False))
    else:
        for e in events:
            print(as_line(e))
    return exitcodes.CTL_OK


def add_parser(sub) -> None:
    p = sub.add_parser("events", help="recent events from the history store (newest first)")
    who = p.add_mutually_exclusive_group()
    who.add_argument("--relay", metavar="FP", help="one relay's events")
    who.add_argument("--contact", metavar="ID", help="an operator's events (AROI domain or contact hash)")
    who.add_argument("--network", action="store_true", help="only the network's notable changes")
    p.add_argument("--since", metavar="T", help="a UTC time (2026-08-22, 2026-08-22T11:00) or a span (24h, 7d)")
    p.add_argument("--limit", type=int, default=100, help="at most this many events (default 100)")
    p.add_argument("--json", action="store_true", help="a JSON list")
    p.set_defaults(func=cmd_events)
