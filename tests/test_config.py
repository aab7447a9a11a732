"""Unit tests for alliumd.config: defaults, path resolution and every error kind.

Each error test checks that the ConfigError message names the file, the table
and the key, e.g. ``/tmp/.../allium.toml: [sources.onionoo_details] interval: ...``,
because that message is all an operator sees when alliumd exits 78.
"""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import pytest

from alliumd import config
from alliumd.config import ConfigError
from alliumd.sources import SOURCES



def write(tmp_path: Path, text: str, name: str = "allium.toml") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def load_error(path: Path) -> str:
    with pytest.raises(ConfigError) as info:
        config.load(path)
    err = info.value
    assert err.path == str(path.absolute())
    assert err.problems, "a ConfigError must carry at least one problem"
    message = str(err)
    # Every line of the message starts with the file name.
    for line in message.splitlines():
        assert line.startswith(f"{path.absolute()}: "), line
    return message


def assert_names(message: str, path: Path, table: str, key: str | None, *fragments: str) -> None:
    assert str(path.absolute()) in message
    where = f"[{table}] {key}:" if key else f"[{table}]:"
    lines = [line for line in message.splitlines() if where in line]
    assert lines, f"no problem names {where!r} in:\n{message}"
    for fragment in fragments:
        assert any(fragment in line for line in lines), f"{fragment!r} not in {lines}"


# --- defaults and paths -------------------------------------------------------


def test_empty_file_loads_the_defaults(tmp_path):
    path = write(tmp_path / "etc", "")
    cfg = config.load(path)

    assert cfg.path == path
    assert cfg.daemon == config.DaemonConfig(
        cache_dir=(tmp_path / "var/cache").resolve(),
        output_dir=(tmp_path / "var/www").resolve(),
        state_dir=(tmp_path / "var/lib").resolve(),
        run_dir=(tmp_path / "var/run").resolve(),
    )
    assert cfg.daemon.log_level == "info"
    assert cfg.daemon.sample_fallback is True
    assert cfg.daemon.graceful_timeout == 20
    assert cfg.render == config.RenderConfig()
    assert list(cfg.sources) == list(SOURCES)
    for name, src in cfg.sources.items():
        assert src.name == name
        values = {f.name: getattr(src, f.name) for f in dataclasses.fields(src) if f.name != "name"}
        assert values == config.source_defaults(name)
        assert src.cache_file == f"{name}.json" + (".gz" if SOURCES[name].stored_gzip else "")
        assert src.label == SOURCES[name].label
    assert [s.name for s in cfg.enabled_sources] == [n for n, spec in SOURCES.items() if spec.enabled]
    assert cfg.source("onionoo_details").enabled is True


def test_empty_tables_are_the_defaults(tmp_path):
    text = "[daemon]\n[render]\n" + "".join(f"[sources.{n}]\n" for n in SOURCES)
    assert _comparable(config.load(write(tmp_path, text))) == _comparable(config.load(write(tmp_path, "", "b.toml")))


def test_relative_paths_resolve_against_the_config_files_directory(tmp_path, monkeypatch):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the working directory must not matter
    path = write(tmp_path / "conf" / "sub", """
[daemon]
cache_dir = "cache"
output_dir = "./site/www"
state_dir = "../state"
run_dir = "/absolute/run"
""")
    # A relative --config path is made absolute against the cwd first.
    cfg = config.load(Path("..") / "conf" / "sub" / "allium.toml")
    base = (tmp_path / "conf" / "sub").resolve()
    assert cfg.path.is_absolute() and cfg.path.resolve() == path.resolve()
    assert cfg.daemon.cache_dir == base / "cache"
    assert cfg.daemon.output_dir == base / "site" / "www"
    assert cfg.daemon.state_dir == base.parent / "state"
    assert cfg.daemon.run_dir == Path("/absolute/run")
    for key in ("cache_dir", "output_dir", "state_dir", "run_dir"):
        assert getattr(cfg.daemon, key).is_absolute()


def test_settings_are_applied(tmp_path):
    cfg = config.load(write(tmp_path, """
[daemon]
log_level = "debug"
sample_fallback = false
contact = "mailto:ops@example.org"
graceful_timeout = 7.5

[render]
debounce = 0.25
site_title = "My relays"

[sources.onionoo_details]
url = "http://127.0.0.1:8080/details"
interval = 60
retries = 0
max_bytes = 1_000
"""))
    assert cfg.daemon.log_level == "debug"
    assert cfg.daemon.sample_fallback is False
    assert cfg.daemon.contact == "mailto:ops@example.org"
    assert cfg.daemon.graceful_timeout == 7.5
    assert cfg.render.debounce == 0.25
    assert cfg.render.site_title == "My relays"
    details = cfg.source("onionoo_details")
    assert details.url == "http://127.0.0.1:8080/details"
    assert (details.interval, details.retries, details.max_bytes) == (60, 0, 1000)
    # Keys not given keep the source's own defaults, not the generic ones.
    assert details.timeout == SOURCES["onionoo_details"].timeout
    assert cfg.source("onionoo_uptime").timeout == SOURCES["onionoo_uptime"].timeout


def test_unimplemented_source_may_be_configured_while_disabled(tmp_path):
    cfg = config.load(write(tmp_path, """
[sources.collector]
enabled = false
interval = 900
"""))
    assert cfg.source("collector").interval == 900
    assert cfg.source("collector").enabled is False


def test_config_is_frozen(tmp_path):
    cfg = config.load(write(tmp_path, ""))
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.daemon.log_level = "debug"  # type: ignore[misc]


# --- error kinds --------------------------------------------------------------


def test_unknown_table(tmp_path):
    path = write(tmp_path, "[deamon]\nlog_level = \"info\"\n")
    assert_names(load_error(path), path, "deamon", None, "unknown table", "daemon, render, history, sources")


def test_top_level_key_is_an_unknown_table(tmp_path):
    path = write(tmp_path, "log_level = \"info\"\n")
    assert_names(load_error(path), path, "log_level", None, "unknown table")


@pytest.mark.parametrize("table, key", [
    ("daemon", "cachedir"),
    ("render", "title"),
    ("sources.onionoo_details", "intervall"),
    ("sources.onionoo_details", "name"),   # the dataclass field is not a config key
    ("sources.collector", "enable"),
])
def test_unknown_key(tmp_path, table, key):
    path = write(tmp_path, f"[{table}]\n{key} = 1\n")
    assert_names(load_error(path), path, table, key, "unknown key", "known: ")


@pytest.mark.parametrize("table, line, key, fragment", [
    # a string where a number is wanted
    ("sources.onionoo_details", 'interval = "3600"', "interval", "must be a number"),
    ("daemon", 'graceful_timeout = "20"', "graceful_timeout", "must be a number"),
    ("render", 'debounce = "1.5"', "debounce", "must be a number"),
    # a number where a bool is wanted
    ("sources.onionoo_details", "enabled = 1", "enabled", "must be true or false"),
    ("daemon", "sample_fallback = 0", "sample_fallback", "must be true or false"),
    ("daemon", 'sample_fallback = "yes"', "sample_fallback", "must be true or false"),
    # a number (or other type) where a string is wanted
    ("daemon", "log_level = 3", "log_level", "must be a string"),
    ("daemon", "cache_dir = 5", "cache_dir", "must be a string"),
    ("render", "site_title = [\"a\"]", "site_title", "must be a string"),
    ("render", "hide_down_after_days = -1", "hide_down_after_days", "must be zero or more"),
    ("sources.onionoo_details", "url = 443", "url", "must be a string"),
    # a fraction where a whole number is wanted
    ("sources.onionoo_details", "retries = 1.5", "retries", "must be a whole number"),
    ("sources.onionoo_details", "max_bytes = 1e6", "max_bytes", "must be a whole number"),
    # a value outside the allowed choices / an empty path
    ("daemon", 'log_level = "verbose"', "log_level", "must be one of debug, info, warning, error"),
    ("daemon", 'log_level = "INFO"', "log_level", "must be one of"),
    ("daemon", 'run_dir = ""', "run_dir", "must be a non-empty path"),
])
def test_wrong_type_or_value(tmp_path, table, line, key, fragment):
    path = write(tmp_path, f"[{table}]\n{line}\n")
    assert_names(load_error(path), path, table, key, fragment)


@pytest.mark.parametrize("table, key", [
    ("sources.onionoo_details", "interval"),
    ("sources.onionoo_details", "timeout"),
    ("sources.onionoo_details", "retries"),
    ("sources.onionoo_details", "max_bytes"),
    ("sources.aroi", "max_age"),
    ("daemon", "graceful_timeout"),
    ("render", "debounce"),
    ("render", "max_delay"),
    ("render", "rescan_interval"),
])
def test_bool_where_a_number_is_wanted(tmp_path, table, key):
    # bool is a subclass of int in Python: true must not sneak in as 1.
    path = write(tmp_path, f"[{table}]\n{key} = true\n")
    assert_names(load_error(path), path, table, key, "must be a number", "True")


@pytest.mark.parametrize("url", [
    "ftp://onionoo.torproject.org/details",
    "file:///etc/passwd",
    "https://",
    "https:///details",
    "http://:8080/details",
    "onionoo.torproject.org/details",
    "//onionoo.torproject.org/details",
    "",
])
def test_non_http_url(tmp_path, url):
    path = write(tmp_path, f'[sources.onionoo_details]\nurl = "{url}"\n')
    assert_names(load_error(path), path, "sources.onionoo_details", "url", "must be an http(s) URL")


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/details", "https://onionoo.torproject.org/details",
                                 "HTTPS://Onionoo.TorProject.org/details?limit=10", "http://[::1]/x"])
def test_http_urls_are_accepted(tmp_path, url):
    cfg = config.load(write(tmp_path, f'[sources.onionoo_details]\nurl = "{url}"\n'))
    assert cfg.source("onionoo_details").url == url


@pytest.mark.parametrize("table, key, value", [
    ("sources.onionoo_details", "interval", "0"),
    ("sources.onionoo_details", "interval", "-60"),
    ("sources.onionoo_details", "timeout", "0"),
    ("sources.onionoo_details", "timeout", "-0.5"),
    ("sources.onionoo_details", "max_bytes", "0"),
    ("sources.onionoo_details", "max_bytes", "-1"),
    ("sources.onionoo_details", "max_age", "0"),
    ("sources.consensus_health", "max_age", "-3600"),
    ("sources.onionoo_details", "interval", "nan"),
    ("daemon", "graceful_timeout", "0"),
    ("render", "debounce", "0"),
    ("render", "max_delay", "-1"),
    ("render", "rescan_interval", "0.0"),
])
def test_non_positive_number(tmp_path, table, key, value):
    path = write(tmp_path, f"[{table}]\n{key} = {value}\n")
    assert_names(load_error(path), path, table, key, "must be a positive number")


def test_negative_retries(tmp_path):
    path = write(tmp_path, "[sources.onionoo_details]\nretries = -1\n")
    assert_names(load_error(path), path, "sources.onionoo_details", "retries", "must be zero or more")


def test_zero_retries_is_allowed(tmp_path):
    cfg = config.load(write(tmp_path, "[sources.onionoo_details]\nretries = 0\n"))
    assert cfg.source("onionoo_details").retries == 0


def test_unknown_source(tmp_path):
    path = write(tmp_path, "[sources.onionoo_detail]\nenabled = true\n")
    message = load_error(path)
    assert_names(message, path, "sources.onionoo_detail", None, "unknown source")
    for name in SOURCES:
        assert name in message


def test_source_that_is_not_a_table(tmp_path):
    path = write(tmp_path, "[sources]\nonionoo_details = true\n")
    assert_names(load_error(path), path, "sources.onionoo_details", None, "must be a table")


def test_sources_that_is_not_a_table(tmp_path):
    path = write(tmp_path, 'sources = "all"\n')
    assert_names(load_error(path), path, "sources", None, "must be a table")


def test_table_that_is_not_a_table(tmp_path):
    path = write(tmp_path, "daemon = 5\n")
    assert_names(load_error(path), path, "daemon", None, "must be a table")


def test_invalid_toml(tmp_path):
    path = write(tmp_path, '[daemon]\nlog_level = "info\n')
    message = load_error(path)
    assert "not valid TOML" in message
    assert "line 2" in message  # tomllib's position tells the operator where


def test_duplicate_key_is_invalid_toml(tmp_path):
    path = write(tmp_path, "[render]\ndebounce = 1\ndebounce = 2\n")
    assert "not valid TOML" in load_error(path)


def test_missing_file(tmp_path):
    path = tmp_path / "nope" / "allium.toml"
    assert "file not found" in load_error(path)


def test_unreadable_path(tmp_path):
    path = tmp_path / "adir.toml"
    path.mkdir()
    assert "cannot read" in load_error(path)


def test_all_problems_are_reported_at_once(tmp_path):
    path = write(tmp_path, """
[daemon]
log_level = "loud"
bogus = 1

[sources.onionoo_details]
interval = 0
url = "ftp://x"

[sources.collector]
max_age = 0
""")
    message = load_error(path)
    assert_names(message, path, "daemon", "log_level")
    assert_names(message, path, "daemon", "bogus")
    assert_names(message, path, "sources.onionoo_details", "interval")
    assert_names(message, path, "sources.onionoo_details", "url")
    assert_names(message, path, "sources.collector", "max_age")
    assert len(message.splitlines()) == 5


# Inputs that once escaped validation as raw exceptions (exit 1 instead of 78).

def test_non_utf8_file_is_a_config_error(tmp_path):
    path = tmp_path / "allium.toml"
    path.write_bytes(b'[render]\nsite_title = "caf\xe9"\n')
    assert "UTF-8" in load_error(path)


def test_malformed_ipv6_url_is_a_config_error(tmp_path):
    path = write(tmp_path, '[sources.onionoo_details]\nurl = "http://[::1/details"\n')
    assert_names(load_error(path), path, "sources.onionoo_details", "url", "must be an http(s) URL")


@pytest.mark.parametrize("table, key", [("sources.onionoo_details", "timeout"), ("daemon", "graceful_timeout")])
def test_infinite_number_is_rejected(tmp_path, table, key):
    path = write(tmp_path, f"[{table}]\n{key} = inf\n")
    with pytest.raises(ConfigError):
        config.load(path)


# --- the documented config ----------------------------------------------------


def _comparable(cfg: config.Config):
    return cfg.daemon, cfg.render, cfg.sources


def _schema_keys(cls) -> set[str]:
    return {f.name for f in dataclasses.fields(cls) if "doc" in f.metadata}


def test_render_documented_is_toml_that_loads_to_the_defaults(tmp_path):
    text = config.render_documented()
    data = tomllib.loads(text)

    # Every table and every key of the schema is present (so it documents everything) ...
    assert set(data) == {"daemon", "render", "history", "sources"}
    assert set(data["daemon"]) == _schema_keys(config.DaemonConfig)
    assert set(data["render"]) == _schema_keys(config.RenderConfig)
    assert set(data["history"]) == _schema_keys(config.HistoryConfig)
    assert list(data["sources"]) == list(SOURCES)
    for name, table in data["sources"].items():
        assert set(table) == _schema_keys(config.SourceConfig), name
    # ... each with its documentation ...
    for cls in (config.DaemonConfig, config.RenderConfig, config.HistoryConfig, config.SourceConfig):
        for f in dataclasses.fields(cls):
            if "doc" in f.metadata:
                assert f"# {f.metadata['doc']}" in text

    # ... and, written to a file, it loads to exactly the defaults.
    documented = config.load(write(tmp_path, text, "documented.toml"))
    defaults = config.load(write(tmp_path, "", "empty.toml"))
    assert _comparable(documented) == _comparable(defaults)


def test_render_documented_applies_overrides(tmp_path):
    text = config.render_documented({
        "daemon": {"log_level": "debug", "cache_dir": "/var/cache/alliumd", "contact": 'say "hi" \\o/'},
        "sources.onionoo_details": {"interval": 600, "max_bytes": 123_456_789},
    })
    cfg = config.load(write(tmp_path, text))
    assert cfg.daemon.log_level == "debug"
    assert cfg.daemon.cache_dir == Path("/var/cache/alliumd").resolve()
    assert cfg.daemon.contact == 'say "hi" \\o/'
    assert cfg.source("onionoo_details").interval == 600
    assert cfg.source("onionoo_details").max_bytes == 123_456_789


# --- resolve_path -------------------------------------------------------------


def test_resolve_path_order(monkeypatch):
    monkeypatch.setenv("ALLIUM_CONFIG", "/from/env.toml")
    assert config.resolve_path("/from/cli.toml") == "/from/cli.toml"
    assert config.resolve_path(None) == "/from/env.toml"
    monkeypatch.delenv("ALLIUM_CONFIG")
    assert config.resolve_path(None) == config.DEFAULT_CONFIG_PATHS[0]


def test_history_table_is_validated(tmp_path):
    cfg = config.load(write(tmp_path, "[history]\nretention_days = 30\nmax_events_per_relay = 50\n"))
    assert cfg.history.retention_days == 30 and cfg.history.max_events_per_relay == 50
    assert config.load(write(tmp_path, "", "empty.toml")).history.retention_days == 180
    err = load_error(write(tmp_path, "[history]\nretention_days = 0\nkeep = 1\n", "bad.toml"))
    assert "[history] retention_days: must be a positive number" in str(err)
    assert "[history] keep: unknown key" in str(err)


# --- alliumd --check-config ----------------------------------------------------


def test_check_config_prints_the_resolved_paths(tmp_path, capsys):
    from alliumd import cli
    sub = tmp_path / "etc"
    sub.mkdir()
    path = write(sub, '[daemon]\noutput_dir = "../site"\nrun_dir = "/run/x"\n')
    assert cli.main(["--config", str(path), "--check-config"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{path}: ok (1 sources enabled: onionoo_details)")
    assert f"output_dir {(tmp_path / 'site').resolve()}\n" in out      # relative to the config's directory
    assert f"state_dir  {(tmp_path / 'var' / 'lib').resolve()}\n" in out
    assert "run_dir    /run/x\n" in out and "control    /run/x/control" in out


def test_the_unit_runs_the_binary_the_readme_installs():
    """README's venv (/opt/alliumd) and the unit's ExecStart must name the same binary."""
    root = Path(__file__).resolve().parent.parent
    readme = (root / "README.md").read_text()
    unit = (root / "etc" / "systemd" / "alliumd.service").read_text()
    assert "python3 -m venv /opt/alliumd && /opt/alliumd/bin/pip install ." in readme
    assert "\nExecStart=/opt/alliumd/bin/alliumd --config /etc/alliumd/allium.toml\n" in unit
    sysusers = {line.split()[-1] for line in (readme + unit + (root / "etc/sysusers.d/alliumd.conf").read_text())
                .splitlines() if "sysusers.d/alliumd.conf" in line and "/usr/lib/" in line}
    assert not sysusers, "one sysusers path: /etc/sysusers.d/"
    assert ".venv/" in (root / ".gitignore").read_text().split()
