"""A full disk (issue 15, item 3), on a real small tmpfs (needs root; skipped otherwise).

Fetchers report ENOSPC in their state and retry on their normal backoff; the renderer
survives a full output or state disk and re-renders the families that failed once
space returns.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from alliumd import config as configmod, sourcestate
from alliumd.fetchers.runtime import Fetcher
from alliumd.pages.site import FAMILIES, MODELS
from alliumd.renderer.build import SiteBuilder
from alliumd.pages.registry import Registry
from alliumd.states import failure_delay as failures_delay
from daemon_harness import write_config

FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture
def tiny_fs(tmp_path):
    """A tmpfs mount of a chosen size; ``resize(size)`` grows or shrinks it in place."""
    mounts = []

    def mount(name: str, size: str) -> Path:
        path = tmp_path / name
        path.mkdir()
        if os.geteuid() != 0:
            pytest.skip("mounting a small tmpfs needs root")
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
        mounts.append(path)
        return path

    def resize(path: Path, size: str) -> None:
        subprocess.run(["mount", "-o", f"remount,size={size}", str(path)], check=True)

    mount.resize = resize
    yield mount
    for path in reversed(mounts):
        subprocess.run(["umount", "-l", str(path)], check=False)


def _config(tmp_path, api, cache: Path, state: Path, www: Path | None = None) -> configmod.Config:
    path = write_config(tmp_path, api.url("/details"), interval=3600)
    text = path.read_text().replace('cache_dir = "cache"', f'cache_dir = "{cache}"') \
        .replace('state_dir = "lib"', f'state_dir = "{state}"\nsample_fallback = false')
    if www is not None:
        text = text.replace('output_dir = "www"', f'output_dir = "{www}"')
    path.write_text(text)
    return configmod.load(path)


def test_fetcher_reports_enospc_and_recovers_when_space_returns(tmp_path, api, tiny_fs):
    cache = tiny_fs("cache", "32k")                 # the 86 kB details document does not fit
    cfg = _config(tmp_path, api, cache, tmp_path / "lib")
    f = Fetcher(cfg, "onionoo_details", rand=lambda: 0.5)
    f.prepare()
    assert f.fetch_now() is False                   # no exception, no data
    rec = sourcestate.load(cfg.daemon.state_dir, "onionoo_details")
    assert rec.state == "backoff" and rec.failures == 1
    assert "No space left" in rec.last_error
    assert rec.next_run - rec.last_error_at == pytest.approx(failures_delay(1, 3600, 0.5))  # normal backoff
    assert not list((cache / ".tmp").iterdir())     # no partial file left behind

    tiny_fs.resize(cache, "4m")
    assert f.fetch_now() is True
    rec = sourcestate.load(cfg.daemon.state_dir, "onionoo_details")
    assert rec.state == "idle" and rec.failures == 0 and rec.last_status == 200
    assert json.loads((cache / "onionoo_details.json").read_bytes())["relays"]


def test_fetcher_survives_a_full_state_disk(tmp_path, api, tiny_fs):
    state = tiny_fs("lib", "4k")
    with open(state / "filler", "wb") as fill:
        try:
            fill.write(b"x" * 65536)
            fill.flush()
        except OSError:
            pass
    cfg = _config(tmp_path, api, tmp_path / "cache", state)
    f = Fetcher(cfg, "onionoo_details")
    f.prepare()
    assert f.fetch_now() is True                    # the record could not be saved; the fetch still counts
    assert f.record.state == "idle" and f.record.last_status == 200
    tiny_fs.resize(state, "1m")
    f.save()
    assert sourcestate.load(state, "onionoo_details").last_status == 200


def test_renderer_survives_full_output_and_state_disks_and_catches_up(tmp_path, api, tiny_fs):
    www = tiny_fs("www", "96k")
    state = tiny_fs("lib", "8k")
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "onionoo_details.json").write_bytes((FIXTURES / "onionoo_details_small.json").read_bytes())
    cfg = _config(tmp_path, api, cache, state, www)
    builder = SiteBuilder(cfg, Registry(FAMILIES, MODELS), workers=0)
    try:
        first = builder.build(full=True)                     # no exception: failures are per family
        assert first.errors and any("No space left" in e for e in first.errors)
        failed = {e.split(":", 1)[0] for e in first.errors}
        assert failed <= builder.forced

        tiny_fs.resize(www, "64m")
        tiny_fs.resize(state, "4m")
        second = builder.build(set())                        # nothing changed: only the forced families
        assert not second.errors, second.errors
        assert failed <= set(second.families)
        assert not builder.forced
        doc = json.loads((FIXTURES / "onionoo_details_small.json").read_text())
        running = [r["fingerprint"] for r in doc["relays"] if r["running"]]
        for fp in running:
            assert (www / "relay" / fp / "index.html").exists()
        assert builder.manifest_saver.flush(timeout=30)      # saved by a thread after the batch
        assert (state / "render-manifest.json").exists()
        third = builder.build(set())
        assert third.written == 0 and not third.errors
    finally:
        builder.close()
