"""The fast renderer: render workers, page keys, deferred views, the page writer's file system paths.

- pages rendered by worker processes are byte-identical to pages rendered in-process;
- a page whose key is unchanged is skipped without building its view;
- a worker that dies fails its family (old pages stay) and is replaced;
- new pages appear complete (O_TMPFILE + link), replaced pages via a same-directory rename,
  with the named-temp-file path as the fallback; modes are 0644 whatever the umask.
"""

from __future__ import annotations

import json
import os
import stat
import sys
import time
from pathlib import Path

import markupsafe
import psutil
import pytest

from alliumd import atomic
from alliumd.config import parse
from alliumd.pages import site
from alliumd.renderer import build as buildmod
from alliumd.pages.registry import STATUS_INPUT, Deferred, Page, PageFamily, Registry
from alliumd.pages.templates import html_text
from alliumd.renderer.writer import PageWriter

FIXTURES = Path(__file__).parent / "fixtures"
DOC = json.loads((FIXTURES / "onionoo_details_small.json").read_text())
NOW = 1787396400.0 + 600
CALLS: list[str] = []


def config(base: Path):
    return parse({"daemon": {"cache_dir": str(base / "cache"), "output_dir": str(base / "www"),
                             "state_dir": str(base / "lib"), "run_dir": str(base / "run")}}, base / "allium.toml")


def site_builder(base: Path, *, workers: int, registry: Registry | None = None, **kw) -> buildmod.SiteBuilder:
    cfg = config(base)
    (base / "cache").mkdir(parents=True, exist_ok=True)
    for name in ("onionoo_details", "onionoo_uptime", "onionoo_bandwidth"):
        src = FIXTURES / f"{name}_small.json"
        if name == "onionoo_details":
            atomic.write_bytes(base / "cache" / "onionoo_details.json", src.read_bytes(), fsync=False)
        else:                                    # what the fetcher would publish: the summary
            from alliumd.fetchers import source_module
            atomic.write_bytes(base / "cache" / f"{name}.summary.json",
                               source_module(name).validate(src).summary, fsync=False)
    return buildmod.SiteBuilder(cfg, registry or Registry(site.FAMILIES, site.MODELS),
                                status_provider=lambda: {"daemon": {"running": True}}, clock=lambda: NOW,
                                workers=workers, **kw)


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*")
            if p.is_file() and atomic.TMP_DIRNAME not in p.parts}


# -- workers ------------------------------------------------------------------------------------

def test_workers_write_the_same_bytes_as_the_renderer_itself(tmp_path):
    serial = site_builder(tmp_path / "serial", workers=0)
    parallel = site_builder(tmp_path / "parallel", workers=2, parallel_min=0)
    try:
        a, b = serial.build({STATUS_INPUT}), parallel.build({STATUS_INPUT})
        assert parallel.dispatcher.pool.started and a.errors == b.errors == []
        assert (a.written, a.unchanged) == (b.written, b.unchanged)
        assert tree(tmp_path / "serial" / "www") == tree(tmp_path / "parallel" / "www")
        assert parallel.manifest.outputs == serial.manifest.outputs
        again = parallel.build(full=True)                 # every family again: nothing to write
        assert again.written == 0 and again.errors == []
    finally:
        serial.close()
        parallel.close()
    assert all(w.proc.poll() is not None for w in parallel.dispatcher.pool.workers) or \
        not parallel.dispatcher.pool.workers


def counted_view(name: str, version: str = "") -> dict:
    """``version`` is an input the page does not show: a new one changes the key, not the bytes."""
    CALLS.append(name)
    return {"name": name}


def die_in_a_worker(name: str) -> dict:
    """Kills a render worker; in the test process itself (which renders while workers start) a no-op."""
    if os.environ.get("ALLIUMD_TEST_PARENT") not in (None, str(os.getpid())):
        os._exit(3)
    return {"name": name}


def tiny_registry(tmp_path: Path, pages) -> tuple[Registry, Path]:
    tpl = tmp_path / "tpl"
    tpl.mkdir(exist_ok=True)
    (tpl / "one.mako").write_text("${name}\n")
    return Registry([PageFamily("one", frozenset({"onionoo_details"}), pages)]), tpl


def test_unchanged_page_keys_skip_building_the_view(tmp_path):
    versions = {"a": "1", "b": "1"}

    def pages(inputs):
        for name, version in versions.items():
            yield Page(f"one/{name}.html", "one.mako", Deferred(counted_view, (name, version)))

    registry, tpl = tiny_registry(tmp_path, pages)
    builder = site_builder(tmp_path / "s", workers=0, registry=registry, template_dir=tpl)
    CALLS.clear()
    assert builder.build().written == 2 and sorted(CALLS) == ["a", "b"]
    CALLS.clear()
    r = builder.build({"onionoo_details"})
    assert (r.written, r.unchanged, CALLS) == (0, 2, [])              # same keys: no view built
    versions["b"] = "2"
    r = builder.build({"onionoo_details"})
    assert CALLS == ["b"] and (r.written, r.unchanged) == (0, 2)      # new key, same bytes: not written
    (tmp_path / "s" / "www" / "one" / "a.html").unlink()
    CALLS.clear()
    r = builder.build({"onionoo_details"}, verify=True)                # the periodic rescan looks at the disk
    assert CALLS == ["a"] and r.written == 1                          # a missing file is rewritten
    builder.close()


def test_a_dying_worker_fails_its_family_and_is_replaced(tmp_path, monkeypatch):
    monkeypatch.setenv("ALLIUMD_TEST_PARENT", str(os.getpid()))
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).parent) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    state = {"fn": counted_view}

    def pages(inputs):
        for name in ("a", "b", "c"):
            yield Page(f"one/{name}.html", "one.mako", Deferred(state["fn"], (name,)))

    registry, tpl = tiny_registry(tmp_path, pages)
    builder = site_builder(tmp_path / "s", workers=2, parallel_min=0, registry=registry, template_dir=tpl)
    pool = builder.dispatcher.pool
    try:
        assert builder.build().errors == []
        before = tree(tmp_path / "s" / "www")
        while not pool.ready():                                       # the next chunk goes to a worker
            pool.poll(0.05)
        first = [w.proc.pid for w in pool.workers]
        state["fn"] = die_in_a_worker
        builder.manifest.outputs["one"] = {}                          # every page renders again
        r = builder.build({"onionoo_details"})
        assert len(r.errors) == 1 and "died" in r.errors[0]
        assert tree(tmp_path / "s" / "www") == before                 # the old pages stay
        state["fn"] = counted_view
        assert builder.build({"onionoo_details"}).errors == []        # a new worker takes over
        assert len(pool.workers) == 1 and all(w.alive for w in pool.workers)
        assert [w.proc.pid for w in pool.workers] != first
    finally:
        builder.close()


def test_idle_workers_are_stopped_once_no_batch_waits_and_start_again_for_a_large_batch(tmp_path):
    from alliumd.renderer import dispatch
    builder = site_builder(tmp_path / "s", workers=3, parallel_min=0)   # two workers
    pool, dispatcher = builder.dispatcher.pool, builder.dispatcher
    try:
        assert dispatcher.release_at() is None                          # nothing started yet
        builder.build({STATUS_INPUT})
        while not pool.ready():
            pool.poll(0.05)
        builder.build({STATUS_INPUT}, full=True)                         # a batch on the workers
        pids = [w.proc.pid for w in pool.workers]
        due = dispatcher.release_at()
        assert due is not None and len(pids) == 2
        assert due <= time.monotonic() and dispatch.WORKER_LINGER == 0   # due as soon as the batch drained
        assert not dispatcher.release_idle(due + 0.1, work_waiting=True) and pool.started   # a burst keeps them
        assert [w.proc.pid for w in pool.workers] == pids and all(w.proc.poll() is None for w in pool.workers)
        assert dispatcher.release_idle(due + 0.1)
        assert not pool.started and dispatcher.release_at() is None
        assert all(not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
                   for pid in pids)
        before = tree(tmp_path / "s" / "www")
        r = builder.build({STATUS_INPUT}, full=True)                     # workers start again on demand
        assert r.errors == [] and pool.started and tree(tmp_path / "s" / "www").keys() == before.keys()
    finally:
        builder.close()


def test_a_large_batch_starts_a_worker_per_core_but_one_and_the_renderer_renders_too(tmp_path, monkeypatch):
    """``workers`` counts the processes that render, the renderer among them: 3 means two workers, and the
    renderer renders what they have no room for (however large the batch)."""
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).parent) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    count = {"pages": 120}

    def pages(inputs):
        for i in range(count["pages"]):
            yield Page(f"one/{i}.html", "one.mako", Deferred(counted_view, (str(i), str(count["pages"]))))

    registry, tpl = tiny_registry(tmp_path, pages)
    builder = site_builder(tmp_path / "s", workers=3, parallel_min=100, registry=registry, template_dir=tpl)
    pool = builder.dispatcher.pool
    try:
        CALLS.clear()
        r = builder.build({"onionoo_details"})                # 120 jobs (+ static ones)
        assert r.errors == [] and len(pool.workers) == 2 and pool.full
        assert CALLS                                          # the renderer rendered chunks too
        assert len(list((tmp_path / "s" / "www" / "one").iterdir())) == 120
        CALLS.clear()
        count["pages"] = 2000                                 # every key changes: a large batch
        r = builder.build({"onionoo_details"})
        assert r.errors == [] and len(pool.workers) == 2 and CALLS
        assert len(list((tmp_path / "s" / "www" / "one").iterdir())) == count["pages"]
    finally:
        builder.close()


def test_a_medium_batch_hands_chunks_to_its_worker_as_soon_as_it_is_ready(tmp_path, monkeypatch):
    """The worker's "ready" is read while the family still expands: before, nothing polled the pool
    during an expansion, so a medium batch's worker sat idle and the renderer rendered nearly every chunk."""
    import select
    from alliumd.renderer import dispatch
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).parent) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    size = dispatch.CHUNK_SIZE
    holder: dict = {}

    def pages(inputs):
        for i in range(3 * size):
            if i == size:               # the first chunk is out and started the worker: wait until it is ready
                worker = holder["builder"].dispatcher.pool.workers[0]
                assert select.select([worker.proc.stdout], [], [], 30)[0], "the worker never got ready"
            yield Page(f"one/{i}.html", "one.mako", Deferred(counted_view, (str(i), "n")))

    registry, tpl = tiny_registry(tmp_path, pages)
    builder = holder["builder"] = site_builder(tmp_path / "s", workers=2, parallel_min=size, registry=registry,
                                               template_dir=tpl)
    local_chunks = []
    run_here = builder.dispatcher.local.run
    builder.dispatcher.local.run = lambda chunk: (local_chunks.append(chunk.family), run_here(chunk))[1]
    try:
        r = builder.build({"onionoo_details"})
        assert r.errors == [] and len(builder.dispatcher.pool.workers) == 1     # 2 rendering processes
        assert len(list((tmp_path / "s" / "www" / "one").iterdir())) == 3 * size
        # every chunk went to it: the one that started it waited in the backlog until it was ready
        assert local_chunks.count("one") == 0, local_chunks
    finally:
        builder.close()


def test_a_model_that_announces_a_large_change_starts_the_workers_before_its_pages_are_expanded(tmp_path, monkeypatch):
    """A rebuilt model's workload (ModelSpec.workload) starts the pool after the family that built it, so the
    worker gets ready while the next families still build models; a first build (no previous model) and a
    small workload start nothing."""
    from alliumd.pages.registry import ModelSpec
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).parent) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    changed = {"n": 0}
    seen_workers: list[int] = []

    def first(inputs):
        inputs.model("counts")
        yield Page("first.html", "one.mako", Deferred(counted_view, ("first", str(changed["n"]))))

    def second(inputs):
        seen_workers.append(len(holder["builder"].dispatcher.pool.workers))
        yield Page("second.html", "one.mako", Deferred(counted_view, ("second", str(changed["n"]))))

    tpl = tmp_path / "tpl"
    tpl.mkdir()
    (tpl / "one.mako").write_text("${name}\n")
    details = frozenset({"onionoo_details"})
    registry = Registry([PageFamily("first", details, first), PageFamily("second", details, second)],
                        [ModelSpec("counts", details, lambda inputs: changed["n"], workload=lambda n: n)])
    holder: dict = {}
    builder = holder["builder"] = site_builder(tmp_path / "s", workers=2, parallel_min=100, registry=registry,
                                               template_dir=tpl)
    cache = tmp_path / "s" / "cache" / "onionoo_details.json"
    try:
        changed["n"] = 5000                           # first build: nothing to compare with, no announcement
        assert builder.build().errors == [] and seen_workers == [0]
        changed["n"] = 10                             # a small change: rendered here
        atomic.write_bytes(cache, cache.read_bytes() + b" ", fsync=False)
        assert builder.build({"onionoo_details"}).errors == [] and seen_workers[-1] == 0
        changed["n"] = 150                            # a larger change: the worker, started before "second"
        atomic.write_bytes(cache, cache.read_bytes() + b" ", fsync=False)
        assert builder.build({"onionoo_details"}).errors == [] and seen_workers[-1] == 1
    finally:
        builder.close()


# -- the page writer ------------------------------------------------------------------------------

def test_new_and_replaced_pages_are_complete_0644_and_leave_no_temp_files(tmp_path):
    old = os.umask(0o077)
    try:
        w = PageWriter(tmp_path / "www")
        assert w.write_if_changed("relay/A/index.html", b"one", None)[0]
        assert w.write_if_changed("relay/A/index.html", b"two", "stale-sha")[0]
        (w.root / "relay" / "A" / ".index.html.part").write_bytes(b"left by a crash")
        assert w.write_if_changed("relay/A/index.html", b"three", None)[0]   # listed as new, exists
    finally:
        os.umask(old)
    target = w.root / "relay" / "A" / "index.html"
    assert target.read_bytes() == b"three"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert sorted(os.listdir(target.parent)) == ["index.html"]
    assert not (w.root / atomic.TMP_DIRNAME).exists()              # no temp directory in the web root


def test_without_o_tmpfile_pages_use_named_temp_files(tmp_path):
    w = PageWriter(tmp_path / "www")
    w._anonymous = False
    assert w.write_if_changed("a/b.html", b"x", None)[0] and w.write_if_changed("a/b.html", b"y", None)[0]
    assert (w.root / "a" / "b.html").read_bytes() == b"y"
    assert stat.S_IMODE((w.root / "a" / "b.html").stat().st_mode) == 0o644
    assert os.listdir(w.root / "a") == ["b.html"] and not (w.root / atomic.TMP_DIRNAME).exists()


# -- escaping ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["<a href='x'>&\"", "plain", "", 5, -7, True, False, None, 3.5, 1.0, "é<",
                                   "x" * 200 + "<", ("'",)])
def test_html_text_escapes_exactly_like_markupsafe(value):
    assert html_text(value) == str(markupsafe.escape(value))
    assert html_text(value) == str(markupsafe.escape(value))           # and again, from its memo


def test_html_text_never_answers_a_value_with_the_text_of_an_equal_one():
    for value, text in [("1", "1"), (1, "1"), (True, "True"), (1.0, "1.0"), (0, "0"), (False, "False"),
                        (0.0, "0.0"), (markupsafe.Markup("<b>"), "&lt;b&gt;"), ("<b>", "&lt;b&gt;")]:
        assert html_text(value) == text, value
    for value, text in [(True, "True"), (1.0, "1.0"), (1, "1"), (False, "False")]:
        assert html_text(value) == text, value           # asked again, after equal values were


def test_html_text_escapes_str_subclasses_and_trusts_other_markup_objects():
    class Trusted:
        def __html__(self):
            return "<b>ok</b>"
    assert html_text(markupsafe.Markup("<i>x</i>")) == "&lt;i&gt;x&lt;/i&gt;"     # `| n` is how to trust text
    assert html_text(Trusted()) == "<b>ok</b>"
    with pytest.raises(TypeError):
        html_text(["<x>"])                            # a view model formats lists; a template never prints one


def test_workers_that_cannot_start_leave_rendering_in_process(tmp_path, monkeypatch):
    from alliumd.renderer import pool as pool_module
    monkeypatch.setattr(pool_module, "WORKER_COMMAND", [sys.executable, "-c", "raise SystemExit(9)"])
    builder = site_builder(tmp_path / "s", workers=2, parallel_min=0)
    try:
        r = builder.build({STATUS_INPUT})
        pool = builder.dispatcher.pool
        while any(w.alive for w in pool.workers):                  # let the failures arrive
            pool.poll(0.05)
        assert r.errors == [] and r.written > 100
        assert pool.broken and not pool.submit(None, None)
        assert builder.build({STATUS_INPUT}, full=True).errors == []
    finally:
        builder.close()


def test_chunks_kept_for_workers_that_never_get_ready_are_rendered_here_when_the_expansion_ends(tmp_path,
                                                                                                monkeypatch):
    """While the workers start, chunks wait in the backlog and the renderer goes on expanding; a worker that
    is still not ready when the expansion ends (here: never) leaves every chunk to the renderer."""
    from alliumd.renderer import dispatch, pool as pool_module
    monkeypatch.setattr(pool_module, "WORKER_COMMAND", [sys.executable, "-c", "import time; time.sleep(60)"])
    size = dispatch.CHUNK_SIZE

    def pages(inputs):
        for i in range(3 * size):
            yield Page(f"one/{i}.html", "one.mako", Deferred(counted_view, (str(i), "n")))

    registry, tpl = tiny_registry(tmp_path, pages)
    builder = site_builder(tmp_path / "s", workers=2, parallel_min=0, registry=registry, template_dir=tpl)
    kept = []
    drain = builder.dispatcher.drain
    builder.dispatcher.drain = lambda: (kept.append(len(builder.dispatcher.backlog)), drain())[1]
    try:
        r = builder.build({"onionoo_details"})
        assert r.errors == [] and r.written >= 3 * size
        assert kept and kept[0] >= 3                       # the family's chunks waited for the workers
        assert not builder.dispatcher.backlog
        assert len(list((tmp_path / "s" / "www" / "one").iterdir())) == 3 * size
    finally:
        builder.close()


def test_render_workers_setting_one_renders_in_the_renderer_and_zero_means_one_per_core(tmp_path, monkeypatch):
    monkeypatch.delenv("ALLIUMD_RENDER_WORKERS", raising=False)
    base = tmp_path / "s"
    (base / "cache").mkdir(parents=True)
    dirs = {"cache_dir": str(base / "cache"), "output_dir": str(base / "www"), "state_dir": str(base / "lib"),
            "run_dir": str(base / "run")}
    registry = Registry(site.FAMILIES, site.MODELS)
    one = parse({"daemon": dirs, "render": {"workers": 1}}, base / "allium.toml")
    auto = parse({"daemon": dirs}, base / "allium.toml")
    assert buildmod.SiteBuilder(one, registry).dispatcher.pool is None
    pool = buildmod.SiteBuilder(auto, registry).dispatcher.pool
    cores = len(os.sched_getaffinity(0))
    assert (pool.size + 1 if pool else 1) == cores            # the renderer renders too: a worker fewer


def test_a_waiting_once_renderer_starts_its_workers_only_for_a_cold_or_full_build(tmp_path, monkeypatch):
    """``alliumd --once`` starts the renderer with the fetchers (``--wait``): a build that will write every
    page starts the workers then, so they get ready during the fetch; an incremental one does not."""
    from alliumd.renderer.main import RendererProcess
    monkeypatch.setenv("ALLIUMD_RENDER_WORKERS", "2")
    base = tmp_path / "s"
    site_builder(base, workers=2).close()                       # only to publish the cache files
    cfg = parse({"daemon": {"cache_dir": str(base / "cache"), "output_dir": str(base / "www"),
                            "state_dir": str(base / "lib"), "run_dir": str(base / "run")},
                 "render": {"workers": 2}}, base / "allium.toml")
    cold = RendererProcess(cfg, clock=lambda: NOW)
    try:
        cold.get_ready([b"render\n"])
        pool = cold.builder.dispatcher.pool
        assert pool.started and len(pool.workers) == 1              # and the renderer: 2 rendering
        assert cold.run_once() == 0 and cold.builder.dispatcher.pool is pool     # the same workers rendered
    finally:
        cold.builder.close()
    for full, started in ((False, False), (True, True)):
        warm = RendererProcess(cfg, clock=lambda: NOW)
        try:
            warm.get_ready([], full=full)
            assert warm.builder.dispatcher.pool.started is started
        finally:
            warm.builder.close()


def slow_view(name: str, padding: str) -> dict:
    """A page that takes a while and whose job is large on the wire (its arguments)."""
    time.sleep(0.25)
    return {"name": name, "size": len(padding)}


def test_a_worker_reads_its_chunks_ahead_so_the_renderer_can_turn_to_its_own_work(tmp_path, monkeypatch):
    """The chunks a worker is handed leave the renderer as fast as the pipe allows, not one at a time as
    the worker renders them: it reads them ahead into its own memory, so the renderer has nothing left to
    write when it turns to a model or to a chunk of its own."""
    from alliumd.renderer import pool as pool_module
    from alliumd.renderer.jobs import Chunk, Job
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).parent) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    pool = pool_module.WorkerPool(tmp_path / "www", 1)
    done = []
    try:
        pool.start()
        deadline = time.monotonic() + 30
        while not pool.ready() and time.monotonic() < deadline:
            pool.poll(0.05)
        padding = "x" * 400_000       # IN_FLIGHT chunks of ~400 kB: more than the pipe holds
        for i in range(pool_module.IN_FLIGHT):
            job = Job(f"slow/{i}.json", "", "json", Deferred(slow_view, (str(i), padding)), None, None, None,
                      keyed=True)
            assert pool.submit(Chunk("slow", "t", [], b"salt", jobs=[job]), done.append)
        started = time.monotonic()
        while any(w.outgoing for w in pool.workers) and time.monotonic() - started < 5:
            pool.poll(0.05)
        assert not any(w.outgoing for w in pool.workers)           # all of it is with the worker
        assert time.monotonic() - started < 1.0 and len(done) < pool_module.IN_FLIGHT   # long before it rendered
        pool.drain()
        assert sorted(r.done[0][0] for r in done) == [f"slow/{i}.json" for i in range(pool_module.IN_FLIGHT)]
        assert all(r.error is None for r in done)
    finally:
        pool.close()


def test_a_workers_read_ahead_that_fails_still_ends_its_loop():
    """A reader thread that dies (a broken pipe read) hands the worker its end, so the worker exits and the
    renderer fails its chunks and replaces it, instead of the worker waiting forever."""
    import queue
    from alliumd.renderer import worker

    class BrokenPipe:
        def read(self, n):
            raise OSError("EIO")

    frames = queue.SimpleQueue()
    with pytest.raises(OSError):
        worker._read_ahead(BrokenPipe(), frames)
    assert frames.get_nowait() is None and frames.empty()


def test_between_families_a_worker_gets_up_to_its_share_of_the_backlog_to_render_on(tmp_path, monkeypatch):
    """While the renderer builds the next family's models it feeds nobody, so between two families the
    worker is handed more than the six chunks it queues otherwise, written out at once, but no more than
    its share of the backlog: the renderer renders the rest when the expansion ends."""
    from alliumd.renderer import dispatch, pool as pool_module
    from alliumd.renderer.jobs import Chunk, Job
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).parent) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    dispatcher = dispatch.Dispatcher(tmp_path / "www", workers=2, parallel_min=0)
    run = dispatch.FamilyRun("slow", {})
    results = []
    try:
        dispatcher.prestart()
        deadline = time.monotonic() + 30
        while not dispatcher.pool.ready() and time.monotonic() < deadline:
            dispatcher.pool.poll(0.05)
        for i in range(40):
            job = Job(f"slow/{i}.json", "", "json", Deferred(slow_view, (str(i), "")), None, None, None, keyed=True)
            dispatcher.backlog.append((run, Chunk("slow", "t", [], b"salt", jobs=[job]),
                                       lambda r, result: results.append(result)))
            run.pending += 1
        worker = dispatcher.pool.workers[0]
        dispatcher.poll()                                          # within a family: six
        assert worker.load == pool_module.IN_FLIGHT and len(dispatcher.backlog) == 34
        dispatcher.poll(ahead=True)                                # between families: its share, written out
        share = pool_module.IN_FLIGHT + 34 // 2                    # (a chunk may have come back meanwhile)
        assert share - len(results) <= worker.load <= share and not worker.outgoing
        assert len(dispatcher.backlog) == 40 - worker.load - len(results)
        dispatcher.drain()
        assert len(results) == 40 and all(r.error is None for r in results)
    finally:
        dispatcher.close()
