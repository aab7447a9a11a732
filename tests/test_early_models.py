"""Models built ahead of a batch from the sources that are final (renderer/early.py, ``alliumd --once``)."""

from __future__ import annotations

import dataclasses
import sqlite3

import pytest

from alliumd.pages import site
from alliumd.pages.registry import STATUS_INPUT, ModelSpec, Registry
from alliumd.renderer.early import NotFinal
from alliumd.sources import SOURCES

from test_render_workers import NOW, site_builder, tree

DETAILS, UPTIME, BANDWIDTH = "onionoo_details", "onionoo_uptime", "onionoo_bandwidth"
ALL_BUT_HISTORIES = frozenset(SOURCES) - {UPTIME, BANDWIDTH}


def counting_registry(calls: list[str]) -> Registry:
    """The site's registry whose models record each build that completes."""
    def counted(spec: ModelSpec) -> ModelSpec:
        def build(inputs, spec=spec):
            model = spec.build(inputs)
            calls.append(spec.name)
            return model
        return dataclasses.replace(spec, build=build)
    return Registry(site.FAMILIES, [counted(m) for m in site.MODELS])


def test_models_of_final_sources_are_built_early_once_and_the_batch_writes_the_same_site(tmp_path):
    calls: list[str] = []
    early = site_builder(tmp_path / "early", workers=0, registry=counting_registry(calls))
    plain = site_builder(tmp_path / "plain", workers=0)
    try:
        built = early.build_early(ALL_BUT_HISTORIES)
        assert "relays" in built and "search_index" in built
        # nothing that reads the uptime or bandwidth summaries, and never the history store (the batch's)
        for name in ("uptime", "bandwidth", "relay_pages", "group_rows_uptime", "history"):
            assert name not in calls
        assert early.build_early(ALL_BUT_HISTORIES) == []              # cached: nothing twice
        before = list(calls)
        later = early.build_early(frozenset(SOURCES))                     # the last fetchers exited
        assert "uptime" in later and "bandwidth" in later and "history" not in later
        a = early.build({STATUS_INPUT})
        b = plain.build({STATUS_INPUT})
        assert a.errors == b.errors == [] and a.written == b.written > 0
        assert tree(tmp_path / "early" / "www") == tree(tmp_path / "plain" / "www")
        assert sorted(calls) == sorted(set(calls)), "a model built early was built again by the batch"
        assert set(before) | set(later) <= set(calls) and "history" in calls
    finally:
        early.close()
        plain.close()


def test_a_file_replaced_after_its_early_model_is_read_again_by_the_batch(tmp_path):
    """The early model is keyed by the content it was built from: the batch's scan sees another content."""
    calls: list[str] = []
    builder = site_builder(tmp_path / "s", workers=0, registry=counting_registry(calls))
    try:
        builder.build_early(frozenset({DETAILS}))
        path = tmp_path / "s" / "cache" / "onionoo_details.json"
        path.write_bytes(path.read_bytes().replace(b'"relays_published"', b'"relays_published" ', 1))
        assert builder.build({STATUS_INPUT}).errors == []
        assert calls.count("relays") == 2
    finally:
        builder.close()


@pytest.mark.parametrize("reads", ["sources", "status", "history", "other source", "other model"])
def test_a_model_that_reads_what_only_the_batch_has_is_left_to_the_batch(tmp_path, reads):
    touched: list[str] = []

    def build(inputs):
        if reads == "sources":
            inputs.sources.get(DETAILS)
        elif reads == "status":
            inputs.status.get("daemon")
        elif reads == "history":
            inputs.settings.get("history")
        elif reads == "other source":
            inputs.doc(UPTIME)
        else:
            inputs.model("uptime")
        touched.append("built")                 # only after what it read: a refusal leaves no trace
        return {"n": 1}

    registry = Registry(site.FAMILIES, [*site.MODELS, ModelSpec("probe", frozenset({DETAILS}), build)])
    builder = site_builder(tmp_path / "s", workers=0, registry=registry)
    try:
        built = builder.build_early(frozenset({DETAILS}))
        assert "probe" not in built and touched == [] and "relays" in built
        with pytest.raises(NotFinal):
            builder.early_inputs(frozenset({DETAILS})).model("probe")
    finally:
        builder.close()


def test_a_model_that_fails_early_is_built_and_reported_by_the_batch(tmp_path):
    attempts: list[int] = []

    def flaky(inputs):
        attempts.append(1)
        if len(attempts) == 1:
            raise sqlite3.OperationalError("disk I/O error")
        return inputs.model("relays")

    registry = Registry(site.FAMILIES, [*site.MODELS, ModelSpec("flaky", frozenset({DETAILS}), flaky)])
    builder = site_builder(tmp_path / "s", workers=0, registry=registry)
    try:
        assert "flaky" not in builder.build_early(frozenset({DETAILS}))
        inputs = builder.early_inputs(frozenset({DETAILS}))
        assert not inputs.built("flaky") and inputs.built("relays")
        assert inputs.model("flaky") is inputs.model("relays") and len(attempts) == 2
    finally:
        builder.close()


def once_renderer(tmp_path, *, publish: bool = True):
    """A --once renderer over the small fixtures, fetching details, uptime and bandwidth."""
    from alliumd.config import parse
    from alliumd.renderer.main import RendererProcess
    base = tmp_path / "s"
    if publish:
        site_builder(base, workers=0).close()                    # only to publish the cache files
    cfg = parse({"daemon": {"cache_dir": str(base / "cache"), "output_dir": str(base / "www"),
                            "state_dir": str(base / "lib"), "run_dir": str(base / "run")},
                 "render": {"workers": 1},
                 "sources": {UPTIME: {"enabled": True}, BANDWIDTH: {"enabled": True}}}, base / "allium.toml")
    return RendererProcess(cfg, clock=lambda: NOW)


def test_a_waiting_once_renderer_builds_models_of_each_final_source_only_for_a_cold_build(tmp_path):
    cold = once_renderer(tmp_path)
    try:
        lines = iter([b"final onionoo_details\n", b"final no_such_source\n", b"render\n", b"final onionoo_uptime\n"])
        cold.get_ready(lines)
        assert next(lines) == b"final onionoo_uptime\n"           # it stopped reading at "render"
        cached = {key[0] for key in cold.builder.model_cache}
        assert "relays" in cached and "uptime" not in cached
        assert cold.run_once() == 0
    finally:
        cold.builder.close()
    warm = once_renderer(tmp_path, publish=False)
    try:
        warm.get_ready([b"final onionoo_details\n"])
        assert warm.builder.model_cache == {}                   # an incremental build may need none of them
    finally:
        warm.builder.close()


class Lines(list):
    """Supervisor lines whose ``waiting`` answers as told (StdinLines asks the pipe)."""

    def __init__(self, lines, waiting):
        super().__init__(lines)
        self.waiting = waiting


def test_no_model_is_built_early_once_every_source_is_final_or_the_next_line_waits(tmp_path):
    """Then the batch comes next: it builds each model as its families need it, so its first pages go to
    the workers at once instead of after every model."""
    proc = once_renderer(tmp_path)
    try:
        proc.get_ready(Lines([b"final onionoo_details\n", b"render\n"], waiting=lambda: True))
        assert proc.builder.model_cache == {}
        proc.get_ready([f"final {s}\n".encode() for s in (DETAILS, UPTIME, BANDWIDTH)] + [b"render\n"])
        cached = {key[0] for key in proc.builder.model_cache}
        assert {"relays", "uptime"} <= cached and "bandwidth" not in cached      # the last one: left alone
    finally:
        proc.builder.close()


def test_early_building_stops_between_models_when_the_render_line_arrives(tmp_path):
    asked: list[int] = []
    builder = site_builder(tmp_path / "s", workers=0)
    try:
        built = builder.build_early(ALL_BUT_HISTORIES, stop=lambda: asked.append(1) or len(asked) > 2)
        assert 1 <= len(built) <= 2 and len(asked) == 3
    finally:
        builder.close()


def test_stdin_lines_reads_lines_and_tells_whether_another_waits():
    import os
    from alliumd.renderer.main import StdinLines
    r, w = os.pipe()
    try:
        lines = StdinLines(r)
        assert not lines.waiting()
        os.write(w, b"final onionoo_details\nfinal ar")
        assert lines.waiting() and next(lines) == b"final onionoo_details\n"
        assert not lines.waiting()                              # half a line is no line yet
        os.write(w, b"oi\nrender\n")
        assert next(lines) == b"final aroi\n" and lines.waiting() and next(lines) == b"render\n"
        os.close(w)
        w = -1
        assert lines.waiting() and list(lines) == []            # EOF: nothing more, which means render
    finally:
        os.close(r)
        if w >= 0:
            os.close(w)


def test_a_failure_while_building_early_only_costs_the_head_start(tmp_path, monkeypatch):
    """Anything that goes wrong ahead of the batch (here: the cache directory cannot be read) is logged and
    left to the batch, which builds every model and renders the whole site as before."""
    proc = once_renderer(tmp_path)
    try:
        def unreadable(final, stop=None):
            raise PermissionError("cache directory unreadable")
        monkeypatch.setattr(proc.builder, "build_early", unreadable)
        proc.get_ready([b"final onionoo_details\n", b"render\n"])
        assert proc.builder.model_cache == {}
        monkeypatch.undo()
        assert proc.run_once() == 0
        assert (tmp_path / "s" / "www" / "index.html").exists()
    finally:
        proc.builder.close()


def test_a_cache_file_hashed_ahead_of_the_batch_is_not_hashed_again_by_its_scan(tmp_path, monkeypatch):
    from alliumd.cache import files as cachefiles
    hashed: list[str] = []
    real = cachefiles.file_sha256
    monkeypatch.setattr(cachefiles, "file_sha256", lambda path: hashed.append(path.name) or real(path))
    builder = site_builder(tmp_path / "s", workers=0)
    try:
        builder.build_early(frozenset({DETAILS}))
        builder.build_early(frozenset({DETAILS, UPTIME}))               # the next source final
        assert builder.build({STATUS_INPUT}).errors == []
        assert hashed.count("onionoo_details.json") == 1 and hashed.count("onionoo_uptime.summary.json") == 1
    finally:
        builder.close()
