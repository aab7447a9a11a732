"""``alliumctl``: status, check, reload, refresh, render, stop.

    alliumctl [--config PATH] status [--json]   0 running, 3 not running, 4 unknown
    alliumctl [--config PATH] check             Nagios: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN
    alliumctl [--config PATH] reload            same as SIGHUP to the daemon
    alliumctl [--config PATH] refresh SOURCE    fetch SOURCE now (even during backoff)
    alliumctl [--config PATH] render [--all]    re-render what changed (--all: every page)
    alliumctl [--config PATH] stop              graceful stop
    alliumctl [--config PATH] events [--relay FP | --contact ID | --network] [--since T] [--json]
                                                recent events from the history store (daemon running or not)

The config file only tells alliumctl where ``run_dir`` and ``state_dir`` are, so
a file the daemon would refuse is still used for those (with a warning).
reload, refresh, render and stop print one line of text (``--json``: the
daemon's JSON reply) and exit with LSB init codes: 0 ok, 1 error, 2 bad
arguments, 7 the daemon is not running (nothing answers on the socket).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from .. import config as configmod
from ..core import exitcodes
from ..core import control
from . import check as checkmod, ctlconfig, events as eventsmod, status as statusmod


def out(text: str) -> None:
    """Print to stdout; a reader that went away (``alliumctl status | head``) is not an error."""
    try:
        print(text, flush=True)
    except BrokenPipeError:
        # keep the interpreter's final flush from failing again (the documented Python recipe)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def cmd_status(cfg, args) -> int:
    snap, code = statusmod.gather(cfg)
    try:
        text = json.dumps(snap, indent=2, sort_keys=True) if args.json else statusmod.format_table(snap)
    except (TypeError, ValueError, AttributeError, OverflowError) as e:    # never a traceback
        snap = statusmod.offline_snapshot(cfg, note=f"status unreadable ({type(e).__name__}: {e})")
        text = json.dumps(snap, indent=2, sort_keys=True) if args.json else statusmod.format_table(snap)
        code = exitcodes.STATUS_UNKNOWN
    out(text)
    return code


def cmd_check(cfg, args) -> int:
    snap, code = statusmod.gather(cfg)
    if code == exitcodes.STATUS_UNKNOWN:
        out("ALLIUMD UNKNOWN - " + (snap.get("daemon", {}).get("note") or "status unknown"))
        return exitcodes.CHECK_UNKNOWN
    result, line = checkmod.evaluate(snap)
    out(line)
    return result


def _call(cfg, args, method: str, params: dict | None = None) -> int:
    try:
        reply = control.call(cfg.daemon.run_dir, method, params)
    except ConnectionError as e:
        print(f"alliumctl: alliumd is not running ({e})", file=sys.stderr)
        return exitcodes.CTL_NOT_RUNNING
    except control.ControlError as e:
        print(f"alliumctl: {e}", file=sys.stderr)
        return exitcodes.CTL_ERROR
    ok = not (method == "Reload" and not reply.get("reloaded"))
    if args.json:
        out(json.dumps(reply, sort_keys=True))
    elif ok:
        out(describe_reply(method, reply))
    else:
        print(describe_reply(method, reply), file=sys.stderr)
    return exitcodes.CTL_OK if ok else exitcodes.CTL_ERROR


def describe_reply(method: str, reply: dict) -> str:
    """One line of text for a control reply (pure; ``--json`` prints the reply itself)."""
    if method == "Reload":
        if not reply.get("reloaded"):
            return f"alliumctl: reload refused, the daemon keeps its running config:\n{reply.get('error')}"
        parts = [f"{what} {', '.join(reply[key])}" for what, key in
                 (("started", "start"), ("stopped", "stop"), ("restarted", "restart")) if reply.get(key)]
        if reply.get("restart_renderer"):
            parts.append("restarted the renderer")
        return "reloaded: " + ("; ".join(parts) if parts else "no process needed a restart")
    if method == "Refresh":
        return f"{reply.get('refreshing')}: fetching now (alliumctl status shows the outcome)"
    if method == "Render":
        return "render queued: " + ("every page" if reply.get("all") else "what changed")
    if method == "Stop":
        return "alliumd is stopping (fetchers first, then the renderer)"
    return json.dumps(reply, sort_keys=True)


def cmd_reload(cfg, args) -> int:
    return _call(cfg, args, "Reload")


def cmd_refresh(cfg, args) -> int:
    return _call(cfg, args, "Refresh", {"source": args.source})


def cmd_render(cfg, args) -> int:
    return _call(cfg, args, "Render", {"all": args.all})


def cmd_stop(cfg, args) -> int:
    return _call(cfg, args, "Stop")


def _json_flag(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    p.add_argument("--json", action="store_true", help="print the daemon's JSON reply instead of text")
    return p


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="alliumctl", description="Control and inspect alliumd.")
    ap.add_argument("--config", help="config file (default: $ALLIUM_CONFIG, else /etc/alliumd/allium.toml)")
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("status", help="show the daemon, the renderer and every source")
    p.add_argument("--json", action="store_true", help="one JSON object (stable schema, for monitoring)")
    p.set_defaults(func=cmd_status)
    sub.add_parser("check", help="Nagios-style health check").set_defaults(func=cmd_check)
    _json_flag(sub.add_parser("reload", help="re-read the config (same as SIGHUP)")).set_defaults(func=cmd_reload)
    p = _json_flag(sub.add_parser("refresh", help="fetch a source now"))
    p.add_argument("source")
    p.set_defaults(func=cmd_refresh)
    p = _json_flag(sub.add_parser("render", help="render what changed now"))
    p.add_argument("--all", action="store_true", help="re-render every page")
    p.set_defaults(func=cmd_render)
    _json_flag(sub.add_parser("stop", help="stop the daemon gracefully")).set_defaults(func=cmd_stop)
    eventsmod.add_parser(sub)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    path = configmod.resolve_path(args.config)
    try:
        cfg, problems = ctlconfig.load(path, explicit=ctlconfig.is_explicit(args.config))
    except ctlconfig.NoConfig as e:
        print(f"alliumctl: {e}", file=sys.stderr)
        return exitcodes.CHECK_UNKNOWN if args.command == "check" else (
            exitcodes.STATUS_UNKNOWN if args.command == "status" else exitcodes.CTL_ERROR)
    if problems:
        print(ctlconfig.describe(cfg, problems), file=sys.stderr)
    return args.func(cfg, args)


if __name__ == "__main__":
    sys.exit(main())
