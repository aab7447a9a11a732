"""Checks for the shipped systemd unit, sysusers file and production config.

* ``systemd-analyze verify`` must accept the unit without a single complaint
  about it (verify exits 0 even for unknown keys or unparsable values, which it
  only reports and ignores, so the output is checked too);
* ``systemd-analyze security --offline=true`` must rate it at most 2.5;
* etc/alliumd.production.toml must load and use the unit's directories.

verify insists that ExecStart='s binary exists, and /opt/alliumd/bin/alliumd is
not installed on a build machine, so both systemd-analyze checks run on a copy
in tmp_path whose ExecStart=/ExecReload= binaries are replaced by executables
that exist. Every other line of the copy is the shipped one.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from alliumd import config
from alliumd.sources import SOURCES

ROOT = Path(__file__).resolve().parent.parent
UNIT = ROOT / "etc" / "systemd" / "alliumd.service"
SYSUSERS = ROOT / "etc" / "sysusers.d" / "alliumd.conf"
PRODUCTION = ROOT / "etc" / "alliumd.production.toml"

MAX_EXPOSURE = 2.5
SYSTEMD_ANALYZE = shutil.which("systemd-analyze")
needs_analyze = pytest.mark.skipif(
    SYSTEMD_ANALYZE is None,
    reason="systemd-analyze is not on PATH (install systemd to verify etc/systemd/alliumd.service)")


# --- helpers ------------------------------------------------------------------


def unit_directives(text: str) -> dict[str, dict[str, list[str]]]:
    """{section: {key: [values in order]}}; good enough for our own unit file."""
    sections: dict[str, dict[str, list[str]]] = {}
    current = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        assert current is not None, f"directive outside a section: {raw!r}"
        assert "=" in line, f"not a directive: {raw!r}"
        key, value = line.split("=", 1)
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def seconds(value: str) -> float:
    """Parse the systemd time spans used in the unit ("45", "45s", "15min", "1min 30s")."""
    units = {"": 1, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "ms": 0.001}
    total = 0.0
    for number, unit in re.findall(r"(\d+(?:\.\d+)?)\s*([a-z]*)", value):
        total += float(number) * units[unit]
    return total


def stand_in_unit(tmp_path: Path, text: str | None = None) -> Path:
    """Write the unit to tmp_path with ExecStart=/ExecReload= pointing at existing binaries."""
    text = UNIT.read_text() if text is None else text
    alliumd = shutil.which("alliumd") or sys.executable
    kill = "/bin/kill" if os.access("/bin/kill", os.X_OK) else (shutil.which("kill") or sys.executable)
    replaced = {"ExecStart": 0, "ExecReload": 0}
    out = []
    for line in text.splitlines(keepends=True):
        key, sep, value = line.partition("=")
        if sep and key in replaced:
            binary, _, args = value.partition(" ")
            stand_in = alliumd if key == "ExecStart" else kill
            line = f"{key}={stand_in} {args}" if args else f"{key}={stand_in}\n"
            replaced[key] += 1
        out.append(line)
    assert replaced == {"ExecStart": 1, "ExecReload": 1}, replaced
    copy = tmp_path / UNIT.name  # same unit name: verify derives the unit's identity from it
    copy.write_text("".join(out))
    return copy


def analyze(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, SYSTEMD_PAGER="cat", SYSTEMD_COLORS="0", SYSTEMD_LOG_COLOR="0",
               LC_ALL="C.UTF-8")
    return subprocess.run([SYSTEMD_ANALYZE, *args], capture_output=True, text=True, errors="replace",
                          env=env, timeout=120)


def analyze_supports(option: str) -> bool:
    return option in analyze("--help").stdout


# The test machine has not run our sysusers.d file, so a message that the
# alliumd user or group does not exist is expected and not a defect of the unit.
UNKNOWN_USER = re.compile(r"(user|group)\b.*\balliumd\b.*(not found|does not exist|unknown|no such)"
                          r"|(unknown|failed to resolve) (user|group).*\balliumd\b", re.I)


def verify_complaints(copy: Path) -> tuple[int, list[str], str]:
    """Run verify; return (exit code, lines that complain about our unit, full output)."""
    args = ["verify"]
    if analyze_supports("--recursive-errors"):
        # Judge only our unit, not e.g. multi-user.target as packaged on this machine.
        args.append("--recursive-errors=no")
    if analyze_supports("--man"):
        args.append("--man=no")
    proc = analyze(*args, str(copy))
    output = proc.stdout + proc.stderr
    complaints = [line for line in output.splitlines()
                  if (str(copy) in line or copy.name in line) and not UNKNOWN_USER.search(line)]
    return proc.returncode, complaints, output


# --- the shipped unit, statically ---------------------------------------------


def test_unit_has_the_required_settings():
    unit = unit_directives(UNIT.read_text())
    svc = unit["Service"]
    one = {key: values[-1] for key, values in svc.items()}

    assert one["Type"] == "notify"
    assert one["NotifyAccess"] == "main"
    assert one["ExecStart"] == "/opt/alliumd/bin/alliumd --config /etc/alliumd/allium.toml"   # the README's venv
    assert one["ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert seconds(one["WatchdogSec"]) > 0
    assert one["Restart"] == "on-failure"
    assert "78" in one["RestartPreventExitStatus"].split()
    assert one["KillMode"] == "mixed"
    assert (one["User"], one["Group"]) == ("alliumd", "alliumd")
    assert "DynamicUser" not in svc  # nginx could not read www/ under /var/lib/private
    for kind in ("State", "Cache", "Runtime", "Configuration"):
        assert one[f"{kind}Directory"] == "alliumd"
    assert one["StateDirectoryMode"] == "0755"
    assert one["RuntimeDirectoryMode"] == "0750"
    assert "PYTHONUNBUFFERED=1" in " ".join(svc["Environment"]).split()
    assert one["ProtectSystem"] == "strict"
    assert "ProcSubset" not in svc  # psutil reads /proc/stat
    assert set(one["RestrictAddressFamilies"].split()) == {"AF_UNIX", "AF_INET", "AF_INET6"}
    assert one["CapabilityBoundingSet"] == ""
    assert one["NoNewPrivileges"] == "yes"
    # systemd's SIGKILL must come after alliumd's own: graceful_timeout + 10 s of slack.
    graceful = config.DaemonConfig().graceful_timeout
    assert seconds(one["TimeoutStopSec"]) >= graceful + 10
    assert unit["Install"]["WantedBy"] == ["multi-user.target"]


def test_stand_in_copy_only_changes_the_exec_binaries(tmp_path):
    copy = stand_in_unit(tmp_path)
    shipped, tested = UNIT.read_text().splitlines(), copy.read_text().splitlines()
    assert len(shipped) == len(tested)
    for a, b in zip(shipped, tested):
        if a.startswith(("ExecStart=", "ExecReload=")):
            assert a.split(" ", 1)[1] == b.split(" ", 1)[1]  # arguments untouched
            assert os.access(b.split("=", 1)[1].split(" ", 1)[0], os.X_OK), b
        else:
            assert a == b


# --- systemd-analyze ----------------------------------------------------------


@needs_analyze
def test_systemd_analyze_verify(tmp_path):
    copy = stand_in_unit(tmp_path)
    code, complaints, output = verify_complaints(copy)
    assert code == 0, f"systemd-analyze verify failed ({code}):\n{output}"
    assert not complaints, "systemd-analyze verify complained:\n" + "\n".join(complaints)


@needs_analyze
@pytest.mark.parametrize("breakage, expected", [
    (("NotifyAccess=main", "NotifyAccess=mian"), "NotifyAccess"),
    (("KillMode=mixed", "KillMode=mixed\nKilMode=process"), "KilMode"),
    (("ProtectSystem=strict", "ProtectSystem=strictest"), "ProtectSystem"),
])
def test_verify_check_catches_a_broken_unit(tmp_path, breakage, expected):
    """The verify check must not be vacuous: verify exits 0 on these, the check must not pass."""
    old, new = breakage
    text = UNIT.read_text()
    assert text.count(f"\n{old}\n") == 1
    copy = stand_in_unit(tmp_path, text.replace(f"\n{old}\n", f"\n{new}\n"))
    code, complaints, output = verify_complaints(copy)
    assert code != 0 or any(expected in line for line in complaints), output


@needs_analyze
def test_verify_check_catches_a_missing_binary(tmp_path):
    copy = stand_in_unit(tmp_path)
    copy.write_text(re.sub(r"(?m)^ExecStart=\S+", "ExecStart=/nonexistent/alliumd", copy.read_text()))
    code, complaints, output = verify_complaints(copy)
    assert code != 0 or complaints, output


def exposure(copy: Path) -> tuple[float, str]:
    if not analyze_supports("--offline"):
        pytest.skip("this systemd-analyze has no --offline (systemd < 250)")
    proc = analyze("security", "--offline=true", str(copy))
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"systemd-analyze security failed ({proc.returncode}):\n{output}"
    match = re.search(r"Overall exposure level for \S+:\s*(\d+(?:\.\d+)?)", output)
    assert match, f"no 'Overall exposure level' in:\n{output}"
    return float(match.group(1)), output


@needs_analyze
def test_systemd_analyze_security_exposure(tmp_path, record_property):
    level, output = exposure(stand_in_unit(tmp_path))
    record_property("exposure", level)
    print(f"systemd-analyze security: overall exposure {level}")
    assert level <= MAX_EXPOSURE, f"exposure {level} > {MAX_EXPOSURE}:\n{output}"


@needs_analyze
def test_security_check_is_not_vacuous(tmp_path):
    """A unit without the hardening block must score worse than MAX_EXPOSURE."""
    text = UNIT.read_text()
    head = text.split("# Hardening.", 1)[0]
    bare = head + "\n[Install]\nWantedBy=multi-user.target\n"
    level, _ = exposure(stand_in_unit(tmp_path, bare))
    assert level > MAX_EXPOSURE


# --- sysusers.d -----------------------------------------------------------------


def test_sysusers_file_declares_the_units_user_and_group():
    entries = [line.split() for line in SYSUSERS.read_text().splitlines()
               if line.strip() and not line.lstrip().startswith("#")]
    users = [e for e in entries if e[0] in ("u", "u!")]
    assert [e[1] for e in users] == ["alliumd"]
    svc = unit_directives(UNIT.read_text())["Service"]
    assert svc["User"] == svc["Group"] == ["alliumd"]  # "u" creates the same-named group too


@pytest.mark.skipif(shutil.which("systemd-sysusers") is None, reason="systemd-sysusers is not on PATH")
@pytest.mark.skipif(os.geteuid() != 0, reason="systemd-sysusers --root writes root-owned passwd files")
def test_sysusers_creates_alliumd(tmp_path):
    (tmp_path / "etc").mkdir()
    proc = subprocess.run(["systemd-sysusers", f"--root={tmp_path}", str(SYSUSERS)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    passwd = [line.split(":") for line in (tmp_path / "etc/passwd").read_text().splitlines()]
    group = [line.split(":") for line in (tmp_path / "etc/group").read_text().splitlines()]
    (user,) = [p for p in passwd if p[0] == "alliumd"]
    (grp,) = [g for g in group if g[0] == "alliumd"]
    assert 0 < int(user[2]) < 1000, "a system user"
    assert user[3] == grp[2], "primary group alliumd"
    assert user[6].endswith("nologin")


# --- the production config ------------------------------------------------------


def test_production_config_loads_and_uses_the_units_directories():
    cfg = config.load(PRODUCTION)
    svc = unit_directives(UNIT.read_text())["Service"]
    state, cache, runtime, conf = (svc[f"{kind}Directory"][0]
                                   for kind in ("State", "Cache", "Runtime", "Configuration"))
    expected = {
        "cache_dir": f"/var/cache/{cache}",
        "state_dir": f"/var/lib/{state}",
        "output_dir": f"/var/lib/{state}/www",
        "run_dir": f"/run/{runtime}",
    }
    assert expected == {"cache_dir": "/var/cache/alliumd", "state_dir": "/var/lib/alliumd",
                        "output_dir": "/var/lib/alliumd/www", "run_dir": "/run/alliumd"}
    raw = tomllib.loads(PRODUCTION.read_text())
    for key, path in expected.items():
        assert raw["daemon"][key] == path  # written literally, not relative
        assert getattr(cfg.daemon, key) == Path(path).resolve()
    # ExecStart's --config is where this file gets installed.
    assert f"--config /etc/{conf}/allium.toml" in svc["ExecStart"][0]
    # systemd's stop timeout leaves room for alliumd's own graceful stop.
    assert seconds(svc["TimeoutStopSec"][0]) >= cfg.daemon.graceful_timeout + 10


def test_production_config_enables_every_source():
    cfg = config.load(PRODUCTION)
    assert [s.name for s in cfg.enabled_sources] == ["onionoo_details", "onionoo_uptime", "onionoo_bandwidth",
                                                      "collector", "consensus_health", "aroi"]
    for name, src in cfg.sources.items():
        assert src.url.startswith("https://"), name


def test_production_config_lists_every_key():
    raw = tomllib.loads(PRODUCTION.read_text())
    text = PRODUCTION.read_text()

    def keys(cls):
        return {f.name for f in dataclasses.fields(cls) if "doc" in f.metadata}

    assert set(raw) == {"daemon", "render", "sources"}
    assert set(raw["daemon"]) == keys(config.DaemonConfig)
    assert set(raw["render"]) == keys(config.RenderConfig)
    assert set(raw["sources"]) == set(SOURCES)
    for name in SOURCES:
        assert set(raw["sources"][name]) == keys(config.SourceConfig), name
    # Every key line carries a comment.
    for line in text.splitlines():
        if re.match(r"^\w+\s*=", line):
            assert "#" in line.split("=", 1)[1], f"no comment on: {line}"
