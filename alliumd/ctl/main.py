"""``alliumctl``: status, check, reload, refresh, render, stop.

    alliumctl [--config PATH] status [--json]   0 running, 3 not running, 4 unknown
    alliumctl [--config PATH] check             Nagios: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN
    alliumctl [--config PATH] reload            same as SIGHUP to the daemon
    alliumctl [--config PATH] refresh SOURCE    fetch SOURCE now (even during backoff)
    alliumctl [--config PATH] render [--all]    re-render what changed (--all: every page)
    alliumctl [--config PATH] stop              graceful stop

The config file only tells alliumctl where ``run_dir`` and ``state_dir`` are.
Other commands exit with LSB init codes: 0 ok, 1 error, 2 bad arguments, 7 not running.
"""

from __future__ import annotations

import argparse
import json
import sys

from .. import config as configmod, exitcodes
from ..supervisor import control
from . import check as checkmod, status as statusmod


def cmd_status(cfg, args) -> int:
    snap, code = statusmod.gather(cfg)
    try:
        text = json.dumps(snap, indent=2, sort_keys=True) if args.json else statusmod.format_table(snap)
    except (TypeError, ValueError, AttributeError, OverflowError) as e:    # never a traceback
        snap = statusmod.offline_snapshot(cfg, note=f"status unreadable ({type(e).__name__}: {e})")
        text = json.dumps(snap, indent=2, sort_keys=True) if args.json else statusmod.format_table(snap)
        code = exitcodes.STATUS_UNKNOWN
    print(text)
    return code


def cmd_check(cfg, args) -> int:
    snap, code = statusmod.gather(cfg)
    if code == exitcodes.STATUS_UNKNOWN:
        print("ALLIUMD UNKNOWN - " + (snap.get("daemon", {}).get("note") or "status unknown"))
        return exitcodes.CHECK_UNKNOWN
    result, line = checkmod.evaluate(snap)
    print(line)
    return result


def _call(cfg, method: str, params: dict | None = None) -> int:
    try:
        reply = control.call(cfg.daemon.run_dir, method, params)
    except ConnectionError as e:
        print(f"alliumctl: alliumd is not running ({e})", file=sys.stderr)
        return exitcodes.CTL_NOT_RUNNING
    except control.ControlError as e:
        print(f"alliumctl: {e}", file=sys.stderr)
        return exitcodes.CTL_ERROR
    print(json.dumps(reply, sort_keys=True))
    if method == "Reload" and not reply.get("reloaded"):
        return exitcodes.CTL_ERROR
    return exitcodes.CTL_OK


def cmd_reload(cfg, args) -> int:
    return _call(cfg, "Reload")


def cmd_refresh(cfg, args) -> int:
    return _call(cfg, "Refresh", {"source": args.source})


def cmd_render(cfg, args) -> int:
    return _call(cfg, "Render", {"all": args.all})


def cmd_stop(cfg, args) -> int:
    return _call(cfg, "Stop")


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="alliumctl", description="Control and inspect alliumd.")
    ap.add_argument("--config", help="config file (default: $ALLIUM_CONFIG, else /etc/alliumd/allium.toml)")
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("status", help="show the daemon, the renderer and every source")
    p.add_argument("--json", action="store_true", help="one JSON object (stable schema, for monitoring)")
    p.set_defaults(func=cmd_status)
    sub.add_parser("check", help="Nagios-style health check").set_defaults(func=cmd_check)
    sub.add_parser("reload", help="re-read the config (same as SIGHUP)").set_defaults(func=cmd_reload)
    p = sub.add_parser("refresh", help="fetch a source now")
    p.add_argument("source")
    p.set_defaults(func=cmd_refresh)
    p = sub.add_parser("render", help="render what changed now")
    p.add_argument("--all", action="store_true", help="re-render every page")
    p.set_defaults(func=cmd_render)
    sub.add_parser("stop", help="stop the daemon gracefully").set_defaults(func=cmd_stop)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    path = configmod.resolve_path(args.config)
    try:
        cfg = configmod.load(path)
    except configmod.ConfigError as e:
        print(f"alliumctl: cannot read the config:\n{e}", file=sys.stderr)
        return exitcodes.CHECK_UNKNOWN if args.command == "check" else (
            exitcodes.STATUS_UNKNOWN if args.command == "status" else exitcodes.CTL_ERROR)
    return args.func(cfg, args)


if __name__ == "__main__":
    sys.exit(main())
