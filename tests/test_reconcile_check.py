"""Pure decisions: supervisor reconcile plans and the ``alliumctl check`` verdict."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from alliumd.core import exitcodes
from alliumd.config import parse
from alliumd.ctl.check import evaluate
from alliumd.supervisor.reconcile import Plan, plan

DETAILS = "onionoo_details"
PATH = Path("/srv/alliumd/etc/allium.toml")


def cfg(details: dict | None = None, *, daemon: dict | None = None, render: dict | None = None,
        uptime: dict | None = None, path: Path = PATH):
    data = {"daemon": daemon or {}, "render": render or {}, "sources": {DETAILS: details or {}}}
    if uptime is not None:
        data["sources"]["onionoo_uptime"] = uptime
    return parse(data, path)


# =========================================================================================
# reconcile.plan
# =========================================================================================

def test_startup_starts_enabled_sources_only():
    p = plan(None, cfg(), set())
    assert p.start == [DETAILS] and p.stop == [] and p.restart == []
    assert p.restart_renderer is False and not p.empty


def test_startup_with_nothing_enabled_is_empty():
    p = plan(None, cfg({"enabled": False}), set())
    assert p == Plan() and p.empty


def test_unchanged_config_keeps_everything_running():
    old, new = cfg({"interval": 900}), cfg({"interval": 900})
    assert old is not new and old == new
    p = plan(old, new, {DETAILS})
    assert p.empty and p == Plan()


@pytest.mark.parametrize("change", [{"interval": 901}, {"timeout": 10}, {"retries": 0},
                                    {"max_bytes": 1000}, {"max_age": 60}, {"url": "https://example.org/d"}])
def test_changed_source_setting_restarts_only_that_source(change):
    p = plan(cfg({"interval": 900}), cfg({"interval": 900, **change}), {DETAILS})
    assert p.restart == [DETAILS] and p.start == [] and p.stop == []
    assert p.restart_renderer is False


def test_disabled_source_is_stopped_and_the_renderer_restarted():
    p = plan(cfg(), cfg({"enabled": False}), {DETAILS})
    # the renderer's pages say which sources are disabled (SiteBuilder's build info covers them)
    assert p.stop == [DETAILS] and p.start == [] and p.restart == [] and p.restart_renderer


def test_enabled_source_not_running_is_started_not_restarted():
    # e.g. a fatal child that is not alive: a reload starts it again
    p = plan(cfg({"interval": 900}), cfg({"interval": 901}), set())
    assert p.start == [DETAILS] and p.restart == []


def test_unknown_running_child_is_stopped():
    p = plan(cfg(), cfg(), {DETAILS, "aroi"})
    assert p.stop == ["aroi"] and p.restart == [] and p.start == []


def test_settings_of_disabled_source_do_not_matter():
    p = plan(cfg(uptime={"interval": 100}), cfg(uptime={"interval": 200}), {DETAILS})
    assert p.empty


@pytest.mark.parametrize("render", [{"site_title": "Other"}, {"debounce": 3}, {"max_delay": 20},
                                    {"rescan_interval": 60}])
def test_render_change_restarts_renderer_only(render):
    p = plan(cfg(), cfg(render=render), {DETAILS})
    assert p.restart_renderer is True
    assert p.restart == [] and p.start == [] and p.stop == []


@pytest.mark.parametrize("daemon", [{"log_level": "debug"}, {"contact": "ops@example.org"},
                                    {"output_dir": "/srv/www"}, {"cache_dir": "../cache2"},
                                    {"sample_fallback": False}, {"graceful_timeout": 5}])
def test_daemon_change_restarts_renderer_and_running_sources(daemon):
    p = plan(cfg(), cfg(daemon=daemon), {DETAILS})
    assert p.restart_renderer is True
    assert p.restart == [DETAILS]


def test_same_relative_paths_from_another_config_dir_is_a_daemon_change():
    old = cfg(daemon={"cache_dir": "cache"}, path=Path("/a/allium.toml"))
    new = cfg(daemon={"cache_dir": "cache"}, path=Path("/b/allium.toml"))
    assert old.daemon.cache_dir == Path("/a/cache") and new.daemon.cache_dir == Path("/b/cache")
    assert plan(old, new, {DETAILS}).restart_renderer is True


def test_startup_never_restarts_renderer():
    assert plan(None, cfg(render={"site_title": "x"}), set()).restart_renderer is False


def test_plan_lists_are_sorted_and_disjoint():
    p = plan(cfg(), cfg({"interval": 300}), {DETAILS, "zz_gone", "aa_gone"})
    assert p.stop == ["aa_gone", "zz_gone"]
    assert p.restart == [DETAILS]
    assert not (set(p.start) & set(p.stop)) and not (set(p.restart) & set(p.stop))


# =========================================================================================
# check.evaluate
# =========================================================================================

def source(*, enabled=True, state="idle", age=600.0, max_age=21600, stale=None) -> dict:
    return {"enabled": enabled, "state": state, "data_age_s": age, "max_age": max_age,
            "stale": (age is not None and age > max_age) if stale is None else stale}


def snapshot(**sources) -> dict:
    base = {"daemon": {"running": True}, "renderer": {"state": "idle"},
            "sources": {DETAILS: source(),
                        "onionoo_uptime": source(enabled=False, state="disabled", age=None)}}
    base["sources"].update(sources)
    return copy.deepcopy(base)


def test_ok_when_everything_fresh():
    code, text = evaluate(snapshot())
    assert code == exitcodes.CHECK_OK == 0
    assert text == "ALLIUMD OK - 1 sources fresh, renderer idle"


def test_ok_while_rendering_and_in_backoff_with_fresh_data():
    snap = snapshot(onionoo_details=source(state="backoff"))
    snap["renderer"]["state"] = "rendering"
    code, text = evaluate(snap)
    assert code == exitcodes.CHECK_OK and "renderer rendering" in text


def test_warning_for_stale_non_details_source():
    code, text = evaluate(snapshot(aroi=source(age=30000, max_age=21600)))
    assert code == exitcodes.CHECK_WARNING == 1
    assert text.startswith("ALLIUMD WARNING - ")
    assert "aroi stale (8h old > max_age 6h)" in text


def test_warning_for_non_details_source_without_data_or_fatal():
    code, text = evaluate(snapshot(collector=source(age=None), aroi=source(state="fatal")))
    assert code == exitcodes.CHECK_WARNING
    assert "collector has no data" in text and "aroi fatal" in text


def test_fatal_details_with_fresh_data_is_a_warning():
    code, text = evaluate(snapshot(onionoo_details=source(state="fatal")))
    assert code == exitcodes.CHECK_WARNING and "onionoo_details fatal" in text


@pytest.mark.parametrize("daemon", [{"running": False}, {}, {"running": None}])
def test_critical_when_daemon_down(daemon):
    snap = snapshot()
    snap["daemon"] = daemon
    assert evaluate(snap) == (exitcodes.CHECK_CRITICAL, "ALLIUMD CRITICAL - daemon not running")


def test_critical_when_snapshot_has_no_daemon():
    assert evaluate({})[0] == exitcodes.CHECK_CRITICAL


def test_critical_when_renderer_down():
    snap = snapshot()
    snap["renderer"]["state"] = "down"
    code, text = evaluate(snap)
    assert code == exitcodes.CHECK_CRITICAL == 2 and "renderer down" in text


def test_critical_when_details_stale():
    code, text = evaluate(snapshot(onionoo_details=source(age=7 * 3600)))
    assert code == exitcodes.CHECK_CRITICAL
    assert "onionoo_details stale (7h old > max_age 6h)" in text


def test_critical_when_details_have_no_data():
    code, text = evaluate(snapshot(onionoo_details=source(age=None, state="backoff")))
    assert code == exitcodes.CHECK_CRITICAL and "onionoo_details has no data" in text


def test_critical_message_also_lists_warnings():
    snap = snapshot(onionoo_details=source(age=None), aroi=source(age=99999))
    code, text = evaluate(snap)
    assert code == exitcodes.CHECK_CRITICAL
    assert text.index("onionoo_details has no data") < text.index("aroi stale")


def test_disabled_sources_are_ignored():
    snap = snapshot(aroi=source(enabled=False, age=None, state="fatal"),
                    collector=source(enabled=False, age=10 ** 7))
    snap["sources"][DETAILS]["enabled"] = True
    code, text = evaluate(snap)
    assert code == exitcodes.CHECK_OK and "1 sources fresh" in text


def test_disabled_details_does_not_make_it_critical():
    snap = snapshot(onionoo_details=source(enabled=False, age=None))
    code, text = evaluate(snap)
    assert code == exitcodes.CHECK_OK and "0 sources fresh" in text


@pytest.mark.parametrize("age,expected", [(90, "90s"), (600, "10m"), (3 * 3600, "3h"), (5 * 86400, "5d")])
def test_age_formatting_in_stale_message(age, expected):
    _, text = evaluate(snapshot(aroi=source(age=age, max_age=1, stale=True)))
    assert f"aroi stale ({expected} old > max_age 1s)" in text
