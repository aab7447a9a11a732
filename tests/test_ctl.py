"""``alliumctl`` as an operator meets it: a config with a typo, no config, a closed pipe, text replies."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from alliumd.ctl import ctlconfig
from alliumd.ctl.main import describe_reply
from daemon_harness import write_config


def _ctl(*args: str, env: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "alliumd.ctl.main", *args], capture_output=True, text=True,
                          timeout=20, env=env, cwd=cwd)


def test_a_refused_config_still_yields_its_paths(tmp_path):
    path = tmp_path / "allium.toml"
    path.write_text('[daemon]\nrun_dir = "r"\nstate_dir = "s"\nlog_levle = "info"\n'
                    '[render]\nworkers = -1\n[sources.onionoo_details]\nenabled = true\ninterval = "soon"\n')
    cfg, problems = ctlconfig.load(str(path), explicit=True)
    assert cfg.daemon.run_dir == tmp_path / "r" and cfg.daemon.state_dir == tmp_path / "s"
    assert cfg.sources["onionoo_details"].enabled is True           # valid keys survive
    assert cfg.sources["onionoo_details"].interval == 3600           # a bad one falls back to its default
    assert any("log_levle" in p for p in problems) and any("interval" in p for p in problems)
    assert "run_dir = " + str(tmp_path / "r") in ctlconfig.describe(cfg, problems)


def test_a_file_that_is_not_toml_still_yields_run_dir_and_state_dir(tmp_path):
    path = tmp_path / "allium.toml"
    path.write_text('[daemon]\nrun_dir = "/srv/a/run"  # comment\nstate_dir = \'/srv/a/lib\'\n'
                    '[render]\nrun_dir = "/not/this"\ndebounce = = 2\n')
    cfg, problems = ctlconfig.load(str(path), explicit=True)
    assert (cfg.daemon.run_dir, cfg.daemon.state_dir) == (Path("/srv/a/run"), Path("/srv/a/lib"))
    assert len(problems) == 1 and "not valid TOML" in problems[0]


def test_no_config_says_how_to_pass_one(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "ALLIUM_CONFIG"}
    if Path("/etc/alliumd/allium.toml").exists():
        env["ALLIUM_CONFIG"] = str(tmp_path / "missing.toml")
    result = _ctl("status", env=env)
    assert result.returncode == 4
    assert "--config PATH" in result.stderr and "ALLIUM_CONFIG" in result.stderr
    assert "Traceback" not in result.stderr
    missing = _ctl("--config", str(tmp_path / "nope.toml"), "reload")
    assert missing.returncode == 1 and "file not found" in missing.stderr and "--config PATH" in missing.stderr


def test_status_into_a_closed_pipe_prints_no_traceback(tmp_path):
    config = write_config(tmp_path, "http://127.0.0.1:9/details")
    proc = subprocess.Popen([sys.executable, "-m", "alliumd.ctl.main", "--config", str(config), "status"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()                     # `| head` that has already gone: every write is EPIPE
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 3, err        # not running (never started), the code survives the pipe
    assert b"Traceback" not in err and b"BrokenPipe" not in err


def test_replies_as_text():
    assert describe_reply("Render", {"queued": True, "all": True}) == "render queued: every page"
    assert describe_reply("Refresh", {"refreshing": "aroi"}).startswith("aroi: fetching now")
    assert describe_reply("Stop", {"stopping": True}).startswith("alliumd is stopping")
    assert describe_reply("Reload", {"reloaded": True, "start": ["aroi"], "stop": [], "restart": [],
                                     "restart_renderer": True}) == "reloaded: started aroi; restarted the renderer"
    assert "keeps its running config" in describe_reply("Reload", {"reloaded": False, "error": "x: bad"})


def test_a_typo_in_the_running_daemons_config_does_not_lock_alliumctl_out(api, start_daemon):
    d = start_daemon(interval=600)
    d.wait_ready()
    d.config.write_text(d.config.read_text().replace("[render]\n", "[render]\ndebounse = 1\n"))
    status = d.ctl("status")
    assert status.returncode == 0, status.stderr
    assert "debounse: unknown key" in status.stderr and "carrying on" in status.stderr
    check = d.ctl("check")
    assert check.returncode == 0 and check.stdout.startswith("ALLIUMD OK"), check
    reload = d.ctl("reload")                 # reaches the daemon, which refuses the file and keeps running
    assert reload.returncode == 1 and "keeps its running config" in reload.stderr, reload
    assert "debounse" in d.status()["daemon"]["last_reload_error"]
    render = d.ctl("render")
    assert (render.returncode, render.stdout) == (0, "render queued: what changed\n")
    as_json = d.ctl("render", "--all", "--json")
    assert json.loads(as_json.stdout) == {"queued": True, "all": True}
    stop = d.ctl("stop")
    assert stop.returncode == 0 and stop.stdout.startswith("alliumd is stopping")
    assert d.proc.wait(15) == 0
    gone = d.ctl("refresh", "onionoo_details")
    assert gone.returncode == 7 and "not running" in gone.stderr
