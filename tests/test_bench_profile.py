"""bench.profile's account of the garbage collector during a batch, and bench.run's cache drop (no bench data)."""

from __future__ import annotations

import gc

from bench.profile import Collections


def test_collections_counts_the_runs_inside_the_block_only():
    with Collections() as inside:
        gc.collect(0)
        gc.collect()                       # a full one
    assert inside.count >= 2 and inside.full >= 1 and inside.seconds > 0
    assert inside._callback not in gc.callbacks
    counted = inside.count
    gc.collect()
    assert inside.count == counted
    assert str(inside).startswith(f"{counted} garbage collections ({inside.full} full), ")


def test_dropping_the_kernel_caches_without_the_right_says_it_needs_root(monkeypatch):
    import pathlib

    import pytest

    from bench import run

    written = []

    def refuse(self, text):
        written.append((str(self), text))
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(pathlib.Path, "write_text", refuse)
    with pytest.raises(SystemExit, match="needs root"):
        run.drop_caches()
    assert written == [("/proc/sys/vm/drop_caches", "3\n")]
