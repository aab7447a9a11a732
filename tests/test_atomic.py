"""alliumd.atomic: a reader sees the old file or the new one, never a torn one; no temp files left."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from alliumd import atomic

OLD = b'{"old": true}\n' * 100
NEW = b'{"new": true}\n' * 300


@pytest.fixture
def target(tmp_path: Path) -> Path:
    t = tmp_path / "cache" / "doc.json"
    t.parent.mkdir()
    t.write_bytes(OLD)
    return t


def parts(directory: Path) -> list[str]:
    d = directory / atomic.TMP_DIRNAME
    return sorted(os.listdir(d)) if d.is_dir() else []


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


# -- success -------------------------------------------------------------------------------

def test_write_bytes_publishes_with_mode_0644_and_no_temp(target):
    old_umask = os.umask(0o077)          # a restrictive umask must not leak into the published mode
    try:
        atomic.write_bytes(target, NEW)
    finally:
        os.umask(old_umask)
    assert target.read_bytes() == NEW
    assert mode(target) == 0o644
    assert parts(target.parent) == []


def test_write_bytes_new_target_and_custom_mode(tmp_path):
    t = tmp_path / "fresh.bin"
    atomic.write_bytes(t, b"x", mode=0o600, fsync=False)
    assert t.read_bytes() == b"x" and mode(t) == 0o600
    assert parts(tmp_path) == []


def test_write_bytes_accepts_iterables_and_memoryview(tmp_path):
    t = tmp_path / "f"
    atomic.write_bytes(t, iter([b"a", b"bc", b"", b"d"]))
    assert t.read_bytes() == b"abcd"
    atomic.write_bytes(t, memoryview(b"mv"))
    assert t.read_bytes() == b"mv"


def test_replace_gives_new_inode(target):
    before = os.stat(target).st_ino
    atomic.write_bytes(target, NEW)
    assert os.stat(target).st_ino != before


def test_staged_yields_writable_file_published_on_exit(target):
    with atomic.staged(target) as f:
        f.write(NEW[:10])
        f.write(NEW[10:])
        assert target.read_bytes() == OLD          # nothing visible before the block ends
        assert len(parts(target.parent)) == 1
    assert target.read_bytes() == NEW
    assert parts(target.parent) == []


def test_validator_sees_complete_temp_file(target):
    seen = []

    def validate(p: Path):
        seen.append((p.parent.name, p.name.startswith(target.name + "."), p.read_bytes()))

    atomic.write_bytes(target, [NEW[:7], NEW[7:]], validate=validate)
    assert seen == [(atomic.TMP_DIRNAME, True, NEW)]
    assert target.read_bytes() == NEW


# -- failures leave the old file ------------------------------------------------------------

def test_validator_that_raises_publishes_nothing(target):
    before = os.stat(target)

    def validate(p: Path):
        raise ValueError("not JSON")

    with pytest.raises(ValueError, match="not JSON"):
        atomic.write_bytes(target, NEW, validate=validate)
    assert target.read_bytes() == OLD
    assert os.stat(target).st_ino == before.st_ino
    assert parts(target.parent) == []


def test_iterator_raising_after_first_chunk_leaves_old_file(target):
    def chunks():
        yield NEW[:100]
        raise ConnectionError("peer went away")

    with pytest.raises(ConnectionError):
        atomic.write_bytes(target, chunks())
    assert target.read_bytes() == OLD
    assert parts(target.parent) == []


def test_base_exception_mid_write_cleans_up(target):
    def chunks():
        yield NEW[:5]
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic.write_bytes(target, chunks())
    assert target.read_bytes() == OLD
    assert parts(target.parent) == []


def test_crash_between_write_and_rename_leaves_old_file(target, monkeypatch):
    calls = []

    def failing_replace(src, dst, *a, **kw):
        calls.append((Path(src).read_bytes(), Path(dst)))
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic.os, "replace", failing_replace)
    with pytest.raises(OSError, match="No space"):
        atomic.write_bytes(target, NEW)
    monkeypatch.undo()
    assert calls == [(NEW, target)]                # the rename really was the failing step
    assert target.read_bytes() == OLD
    assert parts(target.parent) == []


def test_exception_inside_staged_block_leaves_old_file(target):
    with pytest.raises(RuntimeError):
        with atomic.staged(target) as f:
            f.write(NEW)
            raise RuntimeError("boom")
    assert target.read_bytes() == OLD
    assert parts(target.parent) == []


def test_sigkilled_writer_leaves_old_file_and_a_stale_part(target):
    child = textwrap.dedent("""
        import sys, time
        from alliumd import atomic
        with atomic.staged(sys.argv[1]) as f:
            f.write(b"PARTIAL" * 1000)
            f.flush()
            print("ready", flush=True)
            time.sleep(60)
    """)
    proc = subprocess.Popen([sys.executable, "-c", child, str(target)], stdout=subprocess.PIPE)
    try:
        assert proc.stdout.readline() == b"ready\n"
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=10) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
    assert target.read_bytes() == OLD
    stale = parts(target.parent)
    assert len(stale) == 1 and stale[0].startswith("doc.json.") and stale[0].endswith(".part")
    assert (target.parent / atomic.TMP_DIRNAME / stale[0]).read_bytes() == b"PARTIAL" * 1000
    assert atomic.sweep_tmp(target.parent) == 1
    assert parts(target.parent) == []
    assert atomic.sweep_tmp(target.parent) == 0
    assert target.read_bytes() == OLD


# -- sweep_tmp -----------------------------------------------------------------------------

def test_sweep_tmp_counts_only_part_files_with_prefix(tmp_path):
    d = tmp_path / atomic.TMP_DIRNAME
    d.mkdir()
    for name in ("a.json.1.part", "a.json.2.part", "b.json.1.part", "keep.txt"):
        (d / name).write_bytes(b"x")
    (d / "sub.part").mkdir()                         # a directory is not a temp file
    assert atomic.sweep_tmp(tmp_path, prefix="a.json.") == 2
    assert sorted(os.listdir(d)) == ["b.json.1.part", "keep.txt", "sub.part"]
    assert atomic.sweep_tmp(tmp_path) == 1
    assert sorted(os.listdir(d)) == ["keep.txt", "sub.part"]


def test_sweep_tmp_without_tmp_dir(tmp_path):
    assert atomic.sweep_tmp(tmp_path) == 0
    assert atomic.sweep_tmp(tmp_path / "missing") == 0


# -- tmp_dir parameter ---------------------------------------------------------------------

def test_tmp_dir_parameter_is_used_instead_of_default(target, tmp_path):
    own = tmp_path / "cache" / "scratch"
    own.mkdir()
    used = []
    atomic.write_bytes(target, NEW, tmp_dir=own, validate=lambda p: used.append(p.parent))
    assert used == [own]
    assert target.read_bytes() == NEW
    assert os.listdir(own) == []
    assert not (target.parent / atomic.TMP_DIRNAME).exists()     # the default was never created


def test_tmp_dir_parameter_failure_cleans_up(target, tmp_path):
    own = tmp_path / "scratch"
    own.mkdir()
    with pytest.raises(ValueError):
        atomic.write_bytes(target, NEW, tmp_dir=own, validate=lambda p: (_ for _ in ()).throw(ValueError()))
    assert os.listdir(own) == [] and target.read_bytes() == OLD


# -- readers -------------------------------------------------------------------------------

def test_open_reader_keeps_reading_old_bytes_after_replace(target):
    with open(target, "rb") as reader:
        head = reader.read(10)
        atomic.write_bytes(target, NEW)
        rest = reader.read()
    assert head + rest == OLD
    assert target.read_bytes() == NEW


# -- publish_file --------------------------------------------------------------------------

def test_publish_file_moves_temp_into_place_with_mode_0644(target):
    tmp = atomic.tmp_dir_for(target) / "doc.json.x.part"
    tmp.write_bytes(NEW)
    os.chmod(tmp, 0o600)
    atomic.publish_file(tmp, target)
    assert target.read_bytes() == NEW and mode(target) == 0o644
    assert not tmp.exists()
