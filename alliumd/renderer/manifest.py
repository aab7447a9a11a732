"""The render manifest: the renderer's memory of what it built from what.

``build_info`` hashes the code version, templates and render settings: when
it differs, everything is rebuilt.  ``inputs`` keeps, per source, the cache
file's signature (inode, size, mtime_ns) and content hash, so a rescan can
tell a real change from a touch (early cutoff).  ``outputs`` maps each
family to {page path: [sha256 of its bytes, hash of its view model, page
key or null]}: an unchanged key skips building the view, an unchanged view
skips rendering, an unchanged output skips writing (no read of the old
file), and vanished pages are known without walking the tree.
Disposable: if it is lost or corrupt (checked entry by entry on load), it
is moved aside and the next batch is a full rebuild.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import weakref
from dataclasses import dataclass, field
from pathlib import Path

from .. import atomic, quarantine
from ..core.jsonx import loads
from ..core.jsonx import view_bytes as json_bytes

FORMAT = 3
log = logging.getLogger("alliumd.renderer")


@dataclass
class Manifest:
    build_info: str = ""
    inputs: dict[str, dict] = field(default_factory=dict)       # source -> {sig, sha256, published, sample, stale}
    outputs: dict[str, dict[str, list]] = field(default_factory=dict)  # family -> {path: [sha256, view, key]}

    def to_json(self) -> dict:
        return {"format": FORMAT, "build_info": self.build_info, "inputs": self.inputs, "outputs": self.outputs}


def path_for(state_dir: str | os.PathLike) -> Path:
    return Path(state_dir) / "render-manifest.json"


def _num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _optional_str(v) -> bool:
    return v is None or isinstance(v, str)


def check(data) -> str | None:
    """None when ``data`` is a manifest of this format with well-typed entries, else what is wrong."""
    if not isinstance(data, dict):
        return "not an object"
    if data.get("format") != FORMAT:
        return f"format {data.get('format')!r}"
    if not isinstance(data.get("build_info"), str):
        return "build_info"
    inputs, outputs = data.get("inputs"), data.get("outputs")
    if not isinstance(inputs, dict) or not isinstance(outputs, dict):
        return "inputs/outputs"
    for name, e in inputs.items():
        if not (isinstance(e, dict) and isinstance(e.get("sig"), list) and len(e["sig"]) == 3
                and all(_num(x) for x in e["sig"]) and isinstance(e.get("sha256"), str)
                and (e.get("published") is None or _num(e["published"]))
                and isinstance(e.get("sample", False), bool) and e.get("stale") in (None, True, False)
                and isinstance(e.get("described", False), bool)):
            return f"inputs.{name}"
    for family, pages in outputs.items():
        if not isinstance(pages, dict):
            return f"outputs.{family}"
        for path, entry in pages.items():
            if not (isinstance(entry, list) and len(entry) <= 3 and all(_optional_str(x) for x in entry)):
                return f"outputs.{family}.{path}"
    return None


def load(state_dir: str | os.PathLike) -> Manifest:
    """The stored manifest; an empty one (full rebuild) when there is none or it is damaged (moved aside).

    A save this process handed to a BackgroundSaver is on disk first (a builder made after another)."""
    path = path_for(state_dir)
    saver = _savers.get(path)
    if saver is not None:
        saver.flush()
    try:
        with open(path, "rb") as f:
            data = loads(f.read())
    except FileNotFoundError:
        return Manifest()
    except (OSError, ValueError, RecursionError) as e:
        problem = str(e) or type(e).__name__
    else:
        problem = check(data)
        if problem is None:
            return Manifest(data["build_info"], data["inputs"], data["outputs"])
        if isinstance(data, dict) and data.get("format") != FORMAT and isinstance(data.get("format"), int):
            return Manifest()                  # an older format: rebuilt, nothing to keep as evidence
    quarantine.move_aside(path, problem)
    return Manifest()


def save(state_dir: str | os.PathLike, manifest: Manifest) -> bool:
    """Persist the manifest; False (logged) when the disk refuses: the renderer carries on with the
    one in memory, and a lost manifest only costs a full rebuild after a restart."""
    return _write(path_for(state_dir), json_bytes(manifest.to_json()))


def _write(target: Path, data: bytes) -> bool:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        quarantine.ensure_not_dir(target)
        atomic.write_bytes(target, data, fsync=True)
    except OSError as e:
        log.error("cannot save the render manifest %s: %s", target, e)
        return False
    return True


# by target: load() waits for this process's saves
_savers: weakref.WeakValueDictionary[Path, "BackgroundSaver"] = weakref.WeakValueDictionary()


class BackgroundSaver:
    """Saves the manifest in a thread, so a batch does not wait for its disk.

    On network-10k the manifest is ~10 MB: writing and fsyncing it took
    0.1-0.3 s, twice per batch (the data pages, then the status page), on
    the path between a publication and its pages.  It is serialized at once
    (~10 ms; the next batch changes the dicts) and written behind; only the
    newest snapshot waiting is written.  A crash before the write lands
    loses no page: the manifest on disk is then an older one, whose pages
    the next batch renders again and finds unchanged (the same as a crash
    between a batch's writes and its manifest).  ``flush`` waits for the
    write (the process's exit, tests).
    """

    def __init__(self, state_dir: str | os.PathLike):
        self.target = path_for(state_dir)
        _savers[self.target] = self
        self._cond = threading.Condition()
        self._waiting: bytes | None = None
        self._writing = False
        self._thread: threading.Thread | None = None
        self.failed = False        # the last write failed (e.g. a full disk): the next save must not be skipped

    def save(self, manifest: Manifest) -> None:
        data = json_bytes(manifest.to_json())
        with self._cond:
            self._waiting = data
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="manifest-saver", daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every snapshot handed over is on disk; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: self._waiting is None and not self._writing, timeout)

    def _run(self) -> None:
        """Write what waits until nothing does; the thread then ends (the next save starts another)."""
        while True:
            with self._cond:
                if self._waiting is None:
                    self._thread = None
                    return
                data, self._waiting, self._writing = self._waiting, None, True
            try:
                _write(self.target, data)
                self.failed = False
            except Exception:            # noqa: BLE001 - the thread must go on; the next batch saves again
                self.failed = True
                log.exception("cannot save the render manifest %s", self.target)
            finally:
                with self._cond:
                    self._writing = False
                    self._cond.notify_all()
