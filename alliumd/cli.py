"""``alliumd``: the daemon's command line.

    alliumd --config PATH            run in the foreground until SIGTERM (systemd Type=notify)
    alliumd --config PATH --once     fetch every enabled source once, render, exit
    alliumd --print-config           print a documented default config
    alliumd --config PATH --check-config

``$ALLIUM_CONFIG`` may give the config path.  Exit 78 on a bad config.
"""

from __future__ import annotations

import argparse
import sys

from . import __version__, config as configmod, logs
from .core import exitcodes


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="alliumd", description="Keep a static Tor relay metrics site fresh.")
    ap.add_argument("--config", help="config file (default: $ALLIUM_CONFIG, else /etc/alliumd/allium.toml)")
    ap.add_argument("--once", action="store_true", help="fetch every enabled source once, render, exit")
    ap.add_argument("--full", action="store_true", help="with --once: re-render every page")
    ap.add_argument("--check-config", action="store_true", help="validate the config and exit")
    ap.add_argument("--print-config", action="store_true", help="print a documented default config and exit")
    ap.add_argument("--version", action="version", version=f"alliumd {__version__}")
    args = ap.parse_args(argv)
    if args.print_config:
        print(configmod.render_documented())
        return exitcodes.OK
    path = configmod.resolve_path(args.config)
    try:
        cfg = configmod.load(path)
    except configmod.ConfigError as e:
        print(f"alliumd: bad config:\n{e}", file=sys.stderr)
        return exitcodes.CONFIG
    if args.check_config:
        print(describe_config(cfg))
        return exitcodes.OK
    if args.once:
        logs.setup("once", cfg.daemon.log_level)
        from .supervisor.once import run_once
        return run_once(cfg, full=args.full)
    logs.setup("supervisor", cfg.daemon.log_level)
    from .supervisor import lock
    from .supervisor.daemon import Supervisor
    try:
        return Supervisor(cfg).run()
    except lock.AlreadyRunning as e:
        print(f"alliumd: {e}", file=sys.stderr)
        return exitcodes.ALREADY_RUNNING


def describe_config(cfg: configmod.Config) -> str:
    """``--check-config``: the file is valid, and where relative paths ended up (they resolve
    against the config's directory, which is easy to get wrong when installing)."""
    d = cfg.daemon
    lines = [f"{cfg.path}: ok ({len(cfg.enabled_sources)} sources enabled: "
             f"{', '.join(s.name for s in cfg.enabled_sources) or 'none'})"]
    lines += [f"  {key:<10} {getattr(d, key)}" for key in ("output_dir", "cache_dir", "state_dir", "run_dir")]
    lines.append(f"  {'control':<10} {d.run_dir / 'control'} (alliumctl --config {cfg.path})")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
