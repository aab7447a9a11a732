"""Configuration: the schema, its validation and the frozen dataclasses.

The dataclasses below *are* the schema (borgmatic's lesson): each field carries
its default, its constraint and its documentation in ``metadata``.  Validation,
``alliumd --print-config`` and the tests all read the same definitions, so
the documented config and the accepted config cannot drift apart.

A bad file raises :class:`ConfigError` naming file, table, key and problem;
callers turn it into exit code 78 (``os.EX_CONFIG``).
"""

from __future__ import annotations

import dataclasses
import math
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .sources import SOURCES

DEFAULT_CONFIG_PATHS = ("/etc/alliumd/allium.toml",)
LOG_LEVELS = ("debug", "info", "warning", "error")


class ConfigError(Exception):
    """One or more problems in a config file; ``str()`` lists all of them."""

    def __init__(self, path: str | os.PathLike, problems: list[str]):
        self.path = str(path)
        self.problems = problems
        super().__init__("\n".join(f"{self.path}: {p}" for p in problems))


def setting(default: Any, doc: str, *, check: str | None = None, choices: tuple = ()) -> Any:
    """Declare one config key: default, one-line documentation, constraint."""
    return field(default=default, metadata={"doc": doc, "check": check, "choices": choices})


@dataclass(frozen=True)
class DaemonConfig:
    cache_dir: Path = setting("../var/cache", "published source documents (safe to delete)", check="path")
    output_dir: Path = setting("../var/www", "the generated site (the web server's root)", check="path")
    state_dir: Path = setting("../var/lib", "durable state: per-source HTTP meta, render manifest, history store", check="path")
    run_dir: Path = setting("../var/run", "control socket, lock and status file", check="path")
    log_level: str = setting("info", "one of debug, info, warning, error", choices=LOG_LEVELS)
    sample_fallback: bool = setting(
        True, "publish the bundled sample when a source has no cache and cannot be fetched")
    contact: str = setting("", "operator contact (URL or e-mail) sent in the User-Agent")
    graceful_timeout: float = setting(20, "seconds children get to stop before SIGKILL", check="positive")
    min_interval: float = setting(
        60, "floor for every source's interval (seconds): a typo like 0.001 must not hammer an API; "
            "only tests set it lower", check="positive")
    renderer_timeout: float = setting(
        30, "seconds the renderer may go without a heartbeat before it counts as stuck: the supervisor "
            "stops feeding the systemd watchdog, kills and restarts it, and `alliumctl check` is CRITICAL",
        check="positive")


@dataclass(frozen=True)
class RenderConfig:
    debounce: float = setting(1.5, "seconds of quiet before a batch is rendered (none once no fetch is in flight)",
                             check="positive")
    max_delay: float = setting(10, "render a batch at the latest this many seconds after its first change",
                               check="positive")
    rescan_interval: float = setting(
        300, "seconds between rescans of the cache dir (inotify can drop events)", check="positive")
    site_title: str = setting("Tor relay metrics", "the site's name in every page header")
    hide_down_after_days: float = setting(
        7, "leave out relays that are not running and were last seen more than this many days before "
           "the details document was published (allium's downtime filter); 0 lists every relay",
        check="nonnegative")
    workers: int = setting(
        0, "processes that render a large batch (a cold build, a new uptime document), the renderer "
           "counted: it starts one render worker fewer; 0 means one per usable core, 1 renders everything "
           "in the renderer process", check="nonnegative")


@dataclass(frozen=True)
class HistoryConfig:
    retention_days: float = setting(
        180, "events older than this many days are deleted from the history store "
             "(state_dir/history.sqlite3)", check="positive")
    max_events_per_relay: int = setting(
        1000, "keep at most this many events per relay (the oldest go first)", check="positive")


@dataclass(frozen=True)
class SourceConfig:
    name: str
    enabled: bool = setting(False, "run this source's fetcher")
    url: str = setting("", "the API URL", check="url")
    interval: float = setting(3600, "seconds between polls", check="positive")
    timeout: float = setting(300, "total seconds for one attempt, body included", check="positive")
    retries: int = setting(3, "further attempts in one fetch, with short backoff", check="nonnegative")
    max_bytes: int = setting(200_000_000, "refuse bodies larger than this (decoded bytes)", check="positive")
    max_age: float = setting(21600, "data older than this counts as stale", check="positive")

    @property
    def label(self) -> str:
        return SOURCES[self.name].label

    @property
    def cache_file(self) -> str:
        return SOURCES[self.name].cache_file


@dataclass(frozen=True)
class Config:
    path: Path
    daemon: DaemonConfig
    render: RenderConfig
    sources: dict[str, SourceConfig]
    history: HistoryConfig = field(default_factory=HistoryConfig)

    @property
    def enabled_sources(self) -> list[SourceConfig]:
        return [s for s in self.sources.values() if s.enabled]

    def source(self, name: str) -> SourceConfig:
        return self.sources[name]


def source_defaults(name: str) -> dict[str, Any]:
    spec = SOURCES[name]
    return {"enabled": spec.enabled, "url": spec.url, "interval": spec.interval,
            "timeout": spec.timeout, "retries": spec.retries, "max_bytes": spec.max_bytes,
            "max_age": spec.max_age}


def _settings(cls) -> list[dataclasses.Field]:
    return [f for f in dataclasses.fields(cls) if "doc" in f.metadata]


def _check_value(f: dataclasses.Field, value: Any) -> tuple[Any, str | None]:
    """Return (converted value, problem or None) for one key."""
    expected = f.type if isinstance(f.type, str) else f.type.__name__
    check = f.metadata.get("check")
    if expected == "bool":
        if not isinstance(value, bool):
            return value, f"must be true or false, got {value!r}"
        return value, None
    if expected in ("float", "int"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return value, f"must be a number, got {value!r}"
        if expected == "int" and not isinstance(value, int):
            return value, f"must be a whole number, got {value!r}"
        if check == "positive" and not (value > 0 and math.isfinite(value)):
            return value, f"must be a positive number, got {value!r}"
        if not math.isfinite(value) or (check == "nonnegative" and value < 0):
            return value, f"must be zero or more, got {value!r}"
        return value, None
    if not isinstance(value, str):
        return value, f"must be a string, got {value!r}"
    if f.metadata.get("choices") and value not in f.metadata["choices"]:
        return value, f"must be one of {', '.join(f.metadata['choices'])}, got {value!r}"
    if check == "url":
        try:
            parts = urlsplit(value)
            parts.port  # noqa: B018 - raises ValueError for an out-of-range port
        except ValueError:
            return value, f"must be an http(s) URL, got {value!r}"
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return value, f"must be an http(s) URL, got {value!r}"
    if check == "path":
        if not value or "\0" in value:
            return value, "must be a non-empty path"
    return value, None


def _parse_table(cls, table: Any, where: str, problems: list[str], defaults: dict | None = None) -> dict:
    if not isinstance(table, dict):
        problems.append(f"[{where}]: must be a table, got {table!r}")
        return {}
    known = {f.name: f for f in _settings(cls)}
    for key in table:
        if key not in known:
            problems.append(f"[{where}] {key}: unknown key (known: {', '.join(known)})")
    values = {}
    for name, f in known.items():
        value = table.get(name, (defaults or {}).get(name, f.default))
        value, problem = _check_value(f, value)
        if problem:
            problems.append(f"[{where}] {name}: {problem}")
        values[name] = value
    return values


def parse(data: dict, path: Path) -> Config:
    """Validate a parsed TOML document; relative paths resolve against ``path``'s directory."""
    problems: list[str] = []
    for key in data:
        if key not in ("daemon", "render", "history", "sources"):
            problems.append(f"[{key}]: unknown table (known: daemon, render, history, sources)")
    daemon_values = _parse_table(DaemonConfig, data.get("daemon", {}), "daemon", problems)
    render_values = _parse_table(RenderConfig, data.get("render", {}), "render", problems)
    history_values = _parse_table(HistoryConfig, data.get("history", {}), "history", problems)
    raw_sources = data.get("sources", {})
    if not isinstance(raw_sources, dict):
        problems.append("[sources]: must be a table of source tables")
        raw_sources = {}
    for name in raw_sources:
        if name not in SOURCES:
            problems.append(f"[sources.{name}]: unknown source (known: {', '.join(SOURCES)})")
    sources = {}
    for name in SOURCES:
        values = _parse_table(SourceConfig, raw_sources.get(name, {}), f"sources.{name}", problems,
                              defaults=source_defaults(name))
        sources[name] = values
    floor = daemon_values.get("min_interval")
    if isinstance(floor, (int, float)) and not isinstance(floor, bool):
        for name, values in sources.items():
            interval = values.get("interval")
            if isinstance(interval, (int, float)) and not isinstance(interval, bool) and 0 < interval < floor:
                problems.append(f"[sources.{name}] interval: must be at least [daemon] min_interval "
                                f"({floor:g} s), got {interval!r}")
    if problems:
        raise ConfigError(path, problems)
    base = path.parent
    for key in ("cache_dir", "output_dir", "state_dir", "run_dir"):
        daemon_values[key] = (base / os.path.expanduser(daemon_values[key])).resolve()
    return Config(path=path, daemon=DaemonConfig(**daemon_values), render=RenderConfig(**render_values),
                  history=HistoryConfig(**history_values), sources={n: SourceConfig(name=n, **v) for n, v in sources.items()})


def load(path: str | os.PathLike) -> Config:
    """Read and validate a config file; raise :class:`ConfigError` on any problem."""
    path = Path(path).absolute()
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(path, ["file not found"]) from None
    except OSError as e:
        raise ConfigError(path, [f"cannot read: {e.strerror}"]) from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(path, [f"not valid TOML: {e}"]) from None
    except UnicodeDecodeError:
        raise ConfigError(path, ["not valid UTF-8 text"]) from None
    return parse(data, path)


def resolve_path(cli_value: str | None) -> str:
    """The config path: ``--config``, else ``$ALLIUM_CONFIG``, else the system default."""
    if cli_value:
        return cli_value
    if os.environ.get("ALLIUM_CONFIG"):
        return os.environ["ALLIUM_CONFIG"]
    for candidate in DEFAULT_CONFIG_PATHS:
        if os.path.exists(candidate):
            return candidate
    return DEFAULT_CONFIG_PATHS[0]


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int) and value >= 100_000:
        return f"{value:_}"
    if isinstance(value, (int, float)):
        return repr(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_documented(overrides: dict[str, dict[str, Any]] | None = None) -> str:
    """A commented TOML config generated from the schema (``alliumd --print-config``)."""
    overrides = overrides or {}
    lines = ["# alliumd configuration (generated from the schema: alliumd --print-config)",
             "# Relative paths resolve against the directory that holds this file.", ""]

    def table(title: str, cls, defaults: dict):
        lines.append(f"[{title}]")
        for f in _settings(cls):
            value = overrides.get(title, {}).get(f.name, defaults.get(f.name, f.default))
            lines.append(f"{f.name} = {_toml_value(value)}".ljust(43) + f" # {f.metadata['doc']}")
        lines.append("")

    table("daemon", DaemonConfig, {})
    table("render", RenderConfig, {})
    table("history", HistoryConfig, {})
    for name in SOURCES:
        table(f"sources.{name}", SourceConfig, source_defaults(name))
    return "\n".join(lines)
