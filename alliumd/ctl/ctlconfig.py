"""The config as ``alliumctl`` reads it: leniently, because it only needs two paths.

The daemon refuses a config with any problem, but ``alliumctl`` must still
reach a running daemon when its config file has since been edited into a bad
state (that is when an operator needs ``status`` and ``reload`` most).  So a
refused file is salvaged: every valid key is kept, every bad one is dropped
(its default applies), and the problems come back as warnings.  A file that is
not even TOML still yields ``run_dir``/``state_dir`` from their ``[daemon]`` lines.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path

from .. import config as configmod
from ..config import Config, ConfigError, DaemonConfig, RenderConfig, SourceConfig
from ..sources import SOURCES

PATH_KEYS = ("run_dir", "state_dir")
NO_CONFIG_HELP = ("pass the daemon's config with --config PATH or set ALLIUM_CONFIG=PATH "
                  "(alliumctl only needs its run_dir and state_dir)")


class NoConfig(Exception):
    """No config file to read: nothing tells alliumctl where the daemon's socket is."""


def load(path: str, *, explicit: bool) -> tuple[Config, list[str]]:
    """(config, warnings); raise :class:`NoConfig` when there is no readable file at all."""
    p = Path(path).absolute()
    if not p.exists():
        if explicit:
            raise NoConfig(f"{p}: file not found; {NO_CONFIG_HELP}")
        raise NoConfig(f"no config file given and {p} does not exist; {NO_CONFIG_HELP}")
    try:
        return configmod.load(p), []
    except ConfigError as e:
        problems = e.problems
    try:
        raw = p.read_bytes()
    except OSError as e:
        raise NoConfig(f"{p}: cannot read: {e.strerror}; {NO_CONFIG_HELP}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8", "replace"))
    except tomllib.TOMLDecodeError:
        data = {"daemon": _path_lines(raw.decode("utf-8", "replace"))}
    return configmod.parse(salvage(data), p), problems


def salvage(data: dict) -> dict:
    """Only the keys that would pass validation (pure): the rest falls back to defaults."""
    out: dict = {}
    for table, cls in (("daemon", DaemonConfig), ("render", RenderConfig)):
        out[table] = _valid(cls, data.get(table))
    raw_sources = data.get("sources") if isinstance(data.get("sources"), dict) else {}
    out["sources"] = {}
    for name in SOURCES:
        out["sources"][name] = _valid(SourceConfig, raw_sources.get(name))
    return out


def _valid(cls, table) -> dict:
    if not isinstance(table, dict):
        return {}
    fields = {f.name: f for f in configmod._settings(cls)}
    return {k: v for k, v in table.items()
            if k in fields and configmod._check_value(fields[k], v)[1] is None}


_SECTION = re.compile(r"^\s*\[\s*([^\]]+?)\s*\]")
_KEY = re.compile(r"""^\s*(run_dir|state_dir)\s*=\s*(?:"([^"\\]*)"|'([^']*)')\s*(?:#.*)?$""")


def _path_lines(text: str) -> dict:
    """``run_dir``/``state_dir`` from the ``[daemon]`` table of a file that is not valid TOML."""
    found, section = {}, None
    for line in text.splitlines():
        if m := _SECTION.match(line):
            section = m.group(1)
        elif section == "daemon" and (m := _KEY.match(line)):
            found[m.group(1)] = m.group(2) if m.group(2) is not None else m.group(3)
    return found


def describe(cfg: Config, problems: list[str]) -> str:
    """The stderr warning for a salvaged config: what is wrong and which paths are used anyway."""
    lines = [f"alliumctl: warning: {cfg.path} has problems (the daemon would refuse it on reload):"]
    lines += [f"  {p}" for p in problems]
    lines.append("alliumctl: using " + ", ".join(f"{k} = {getattr(cfg.daemon, k)}" for k in PATH_KEYS)
                 + " from it and carrying on")
    return "\n".join(lines)


def is_explicit(cli_value: str | None) -> bool:
    return bool(cli_value or os.environ.get("ALLIUM_CONFIG"))
