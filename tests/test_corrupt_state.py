"""Damaged files on disk (issue 15, item 2): every file read back is checked; a bad one is moved
aside (``<name>.corrupt-<time>``), logged and rebuilt, and no reader crashes on it."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest

from alliumd import config as configmod, sourcestate
from alliumd.ctl import main as ctl
from alliumd.fetchers.runtime import Fetcher
from alliumd.fetchers import onionoo_uptime
from alliumd.renderer import manifest as manifestmod
from alliumd.renderer.main import RendererProcess
from daemon_harness import write_config

FIXTURES = Path(__file__).resolve().parent / "fixtures"

BAD_RECORDS = [
    {"name": "onionoo_details", "state": 5, "failures": "many"},
    {"name": "onionoo_details", "data_time": 1e300},
    {"name": "onionoo_details", "last_success": "yesterday", "bytes": "12"},
    {"name": "onionoo_details", "sha256": ["x"]},
    {"name": "onionoo_details", "failures": True},
    ["not", "an", "object"],
    "just a string",
]


def corrupt_files(directory: Path, stem: str) -> list[Path]:
    return sorted(directory.glob(f"{stem}.corrupt-*"))


def run_ctl(config: Path, *args: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = ctl.main(["--config", str(config), *args])
    return code, out.getvalue()


@pytest.mark.parametrize("record", BAD_RECORDS)
def test_wrong_typed_source_state_is_ignored_by_readers_and_moved_aside_by_its_owner(tmp_path, record):
    path = sourcestate.path_for(tmp_path, "onionoo_details")
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(record))
    assert sourcestate.load(tmp_path, "onionoo_details") == sourcestate.SourceRecord(name="onionoo_details")
    assert path.exists(), "a reader must not move the owner's file"
    assert sourcestate.load(tmp_path, "onionoo_details", repair=True).data_time is None
    assert not path.exists() and len(corrupt_files(path.parent, path.name)) == 1


def test_alliumctl_status_and_check_never_traceback_on_damaged_files(tmp_path, api):
    config = write_config(tmp_path, api.url("/details"))
    for name in ("onionoo_details", "onionoo_uptime"):
        path = sourcestate.path_for(tmp_path / "lib", name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"name": name, "data_time": 1e300, "failures": "x", "last_success": "x"}))
    (tmp_path / "lib" / "renderer.json").write_text(json.dumps({"last_batch": {"last_render": "never",
                                                                               "last_duration": "slow"}}))
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "status.json").write_text(json.dumps(
        {"daemon": {"running": True, "pid": "1", "create_time": "x"}, "renderer": [], "sources": "none"}))
    for args in (("status",), ("status", "--json"), ("check",)):
        code, out = run_ctl(config, *args)
        assert code in (2, 3), (args, out)
        assert out
    code, out = run_ctl(config, "status", "--json")
    snap = json.loads(out)
    assert snap["sources"]["onionoo_details"]["data_time"] is None and snap["renderer"]["state"] == "down"


@pytest.mark.parametrize("content", [
    b"[1, 2]", b'{"format": 3, "build_info": 7, "inputs": {}, "outputs": {}}',
    b'{"format": 3, "build_info": "x", "inputs": {"a": {"sig": "s"}}, "outputs": {}}',
    b'{"format": 3, "build_info": "x", "inputs": {}, "outputs": {"f": {"p": "not a list"}}}',
    b'{"format": 3, "build_info": "x", "inputs": {}, "outputs": {"f": [1]}}',
    b"\x00garbage", b"[" * 100_000,
])
def test_a_damaged_manifest_is_moved_aside_and_means_a_full_rebuild(tmp_path, content):
    manifestmod.path_for(tmp_path).write_bytes(content)
    m = manifestmod.load(tmp_path)
    assert m.build_info == "" and m.inputs == {} and m.outputs == {}
    assert len(corrupt_files(tmp_path, "render-manifest.json")) == 1


def test_a_good_manifest_round_trips(tmp_path):
    m = manifestmod.Manifest("b", {"onionoo_details": {"sig": [1, 2, 3], "sha256": "ab", "published": 1.5,
                                                      "sample": False, "stale": None, "described": True}},
                             {"index": {"index.html": ["a", "b", None]}})
    manifestmod.save(tmp_path, m)
    assert manifestmod.load(tmp_path) == m
    assert not corrupt_files(tmp_path, "render-manifest.json")


def test_a_damaged_renderer_json_is_moved_aside_and_the_renderer_starts(tmp_path, api):
    cfg = configmod.load(write_config(tmp_path, api.url("/details")))
    info = tmp_path / "lib" / "renderer.json"
    info.parent.mkdir(parents=True)
    info.write_text(json.dumps({"last_batch": [], "last_data_batch": {"batch": "seven"}}))
    proc = RendererProcess(cfg)
    try:
        assert proc.info == {} and proc.batch_seq == 0
        assert len(corrupt_files(info.parent, "renderer.json")) == 1
        assert proc.run_once() in (0, 1)
    finally:
        proc.builder.close()


# -- the fetcher: caches and summaries that no longer match what was recorded --------------

def _fetcher(tmp_path, api, extra: str = "") -> Fetcher:
    cfg = configmod.load(write_config(tmp_path, api.url("/details"), extra=extra))
    return Fetcher(cfg, "onionoo_details")


def test_a_same_size_garbled_cache_is_detected_and_refetched(tmp_path, api):
    f = _fetcher(tmp_path, api)
    f.prepare()
    assert f.fetch_now()
    cache = f.cache_path
    good = cache.read_bytes()
    # same size, two relays' fingerprints changed: still a valid document, but not the one recorded
    garbled = good
    for relay in json.loads(good)["relays"][:2]:
        fp = relay["fingerprint"]
        garbled = garbled.replace(fp.encode(), fp[::-1].encode(), 1)
    assert len(garbled) == len(good) and garbled != good
    cache.write_bytes(garbled)

    # on restart: detected, fetched unconditionally, the right bytes are published again
    again = _fetcher(tmp_path, api)
    again.prepare()
    assert again.record.sha256 is None
    before = api.count("/details")
    assert again.fetch_now()
    assert api.count("/details") == before + 1
    assert "If-None-Match" not in api.requests_log[-1].headers
    assert cache.read_bytes() == good

    # while running: a garbled cache is not confirmed by a 304
    cache.write_bytes(garbled)
    assert again.fetch_now()
    assert cache.read_bytes() == good


def test_an_invalid_cache_is_moved_aside(tmp_path, api):
    f = _fetcher(tmp_path, api)
    f.prepare()
    assert f.fetch_now()
    f.cache_path.write_bytes(b"{" + b" " * (f.cache_path.stat().st_size - 1))
    again = _fetcher(tmp_path, api)
    again.prepare()
    assert not f.cache_path.exists() and corrupt_files(f.cache_path.parent, f.cache_path.name)
    assert again.fetch_now() and json.loads(f.cache_path.read_bytes())["relays"]


@pytest.mark.parametrize("damage", ["truncate", "garble", "delete"])
def test_a_damaged_summary_is_re_derived_from_the_raw_cache(tmp_path, api, damage):
    api.set("/uptime", (FIXTURES / "onionoo_uptime_small.json").read_bytes())
    extra = f"""
[sources.onionoo_uptime]
enabled = true
url = "{api.url('/uptime')}"
interval = 60
"""
    cfg = configmod.load(write_config(tmp_path, api.url("/details"), extra=extra))
    f = Fetcher(cfg, "onionoo_uptime")
    f.prepare()
    assert f.fetch_now()
    summary = f.render_path
    good = summary.read_bytes()
    assert good == onionoo_uptime.validate(FIXTURES / "onionoo_uptime_small.json").summary
    if damage == "truncate":
        summary.write_bytes(good[: len(good) // 2])
    elif damage == "garble":
        summary.write_bytes(good[:100] + b"X" * 10 + good[110:])
    else:
        summary.unlink()
    restarted = Fetcher(cfg, "onionoo_uptime")
    restarted.prepare()
    assert summary.read_bytes() == good
    # and while running, on the next 304
    summary.write_bytes(good[:-5])
    assert restarted.fetch_now()
    assert summary.read_bytes() == good


@pytest.mark.parametrize("where", ["tmp_file", "sources_file", "cache_dir", "state_dir_entry"])
def test_misplaced_files_and_directories_do_not_make_a_fetcher_fatal(tmp_path, api, where):
    cfg = configmod.load(write_config(tmp_path, api.url("/details")))
    cache_dir, state_dir = cfg.daemon.cache_dir, cfg.daemon.state_dir
    cache_dir.mkdir(parents=True)
    state_dir.mkdir(parents=True)
    if where == "tmp_file":
        (cache_dir / ".tmp").write_text("not a directory")
    elif where == "sources_file":
        (state_dir / "sources").write_text("not a directory")
    elif where == "cache_dir":
        (cache_dir / "onionoo_details.json").mkdir()
        (cache_dir / "onionoo_details.json" / "x").write_text("x")
    else:
        (state_dir / "sources" / "onionoo_details.json").mkdir(parents=True)
    f = Fetcher(cfg, "onionoo_details")
    f.prepare()
    assert f.fetch_now()
    f.save()
    assert json.loads((cache_dir / "onionoo_details.json").read_bytes())["relays"]
    assert sourcestate.load(state_dir, "onionoo_details").last_status == 200


def test_daemon_with_damaged_state_files_runs_and_rebuilds_them(api, start_daemon, tmp_path):
    lib = tmp_path / "lib"
    (lib / "sources").mkdir(parents=True)
    (lib / "sources" / "onionoo_details.json").write_text(json.dumps(
        {"name": "onionoo_details", "data_time": 1e300, "state": "x", "failures": "3"}))
    (lib / "renderer.json").write_text('{"last_batch": {"batch": []}}')
    (lib / "render-manifest.json").write_text('{"format": 3, "build_info": "x", "inputs": [], "outputs": 1}')
    (tmp_path / "cache" / ".tmp").parent.mkdir()
    (tmp_path / "cache" / ".tmp").write_text("a file")
    d = start_daemon(interval=600)
    snap = d.wait_ready()
    assert snap["sources"]["onionoo_details"]["last_status"] == 200
    assert snap["renderer"]["restarts"] == 0 and snap["sources"]["onionoo_details"]["restarts"] == 0
    for name in ("sources/onionoo_details.json", "renderer.json", "render-manifest.json"):
        assert corrupt_files((lib / name).parent, Path(name).name), name
    assert sourcestate.load(lib, "onionoo_details").last_status == 200
    assert d.ctl("status").returncode == 0


def test_the_background_saver_writes_the_newest_manifest_and_a_load_waits_for_it(tmp_path):
    """The renderer hands its manifest to a thread (the batch does not wait for the disk): a load in the
    same process still sees the last save, and only the newest of the saves waiting is the file."""
    saver = manifestmod.BackgroundSaver(tmp_path)
    for n in range(5):
        saver.save(manifestmod.Manifest(f"build {n}", {}, {"relay": {f"relay/{n}/index.html": ["a", "b", None]}}))
    loaded = manifestmod.load(tmp_path)             # no flush first: load() waits for this process's saves
    assert loaded.build_info == "build 4" and loaded.outputs == {"relay": {"relay/4/index.html": ["a", "b", None]}}
    assert not list((tmp_path / ".tmp").iterdir())  # no temp file left behind


def test_a_manifest_save_the_disk_refuses_is_logged_and_the_next_one_lands(tmp_path, caplog):
    state = tmp_path / "lib"
    state.write_text("a file where the state directory should be")
    saver = manifestmod.BackgroundSaver(state)
    saver.save(manifestmod.Manifest("first", {}, {}))
    assert saver.flush(timeout=10)
    assert "cannot save the render manifest" in caplog.text
    state.unlink()
    saver.save(manifestmod.Manifest("second", {}, {}))
    assert saver.flush(timeout=10)
    assert manifestmod.load(state).build_info == "second"


def test_a_status_only_batch_leaves_the_saved_manifest_and_close_saves_it(tmp_path):
    """The batch after each data batch and each fetch report renders only status.html: it does not
    serialize and write the whole manifest again; the next data batch or the renderer's exit does."""
    from test_renderer_units import DOC, Site
    site = Site(tmp_path / "s")
    site.publish(DOC)
    site.build()
    builder = site.builder
    builder.manifest_saver.flush()
    path = manifestmod.path_for(tmp_path / "s" / "lib")
    saved = path.stat().st_ino, path.read_bytes()
    site.status = {"daemon": {"running": True}, "renderer": {"state": "idle", "pages_written": 7}}
    result = site.build({"status"}, rescan=False)
    assert result.families == ["status"] and result.written == 1
    builder.manifest_saver.flush()
    assert (path.stat().st_ino, path.read_bytes()) == saved
    status_sha = builder.manifest.outputs["status"]["status.html"][0]
    builder.close()
    assert manifestmod.load(tmp_path / "s" / "lib").outputs["status"]["status.html"][0] == status_sha


def test_a_status_only_batch_after_a_failed_save_saves(tmp_path, monkeypatch):
    from test_renderer_units import DOC, Site
    site = Site(tmp_path / "s")
    site.publish(DOC)
    real_write = manifestmod._write

    def full_disk(target, data):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(manifestmod, "_write", full_disk)
    site.build()
    builder = site.builder
    builder.manifest_saver.flush()
    assert builder.manifest_saver.failed
    monkeypatch.setattr(manifestmod, "_write", real_write)
    site.status = {"daemon": {"running": True}, "renderer": {"state": "idle", "pages_written": 7}}
    assert site.build({"status"}, rescan=False).families == ["status"]
    builder.manifest_saver.flush()
    assert not builder.manifest_saver.failed
    saved = manifestmod.load(tmp_path / "s" / "lib")
    assert saved.outputs["status"]["status.html"][0] == builder.manifest.outputs["status"]["status.html"][0]
    assert "relay" in saved.outputs
    builder.close()
