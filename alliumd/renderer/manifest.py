"""The render manifest: the renderer's memory of what it built from what.

``build_info`` hashes the code version, templates and render settings: when
it differs, everything is rebuilt.  ``inputs`` keeps, per source, the cache
file's signature (inode, size, mtime_ns) and content hash, so a rescan can
tell a real change from a touch (early cutoff).  ``outputs`` maps each
family to {page path: [sha256 of its bytes, hash of its view model, page
key or null]}: an unchanged key skips building the view, an unchanged view
skips rendering, an unchanged output skips writing (no read of the old
file), and vanished pages are known without walking the tree.
Disposable: if it is lost or corrupt, the next batch is a full rebuild.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from .. import atomic
from .inputs import loads
from .jobs import json_bytes

FORMAT = 3


@dataclass
class Manifest:
    build_info: str = ""
    inputs: dict[str, dict] = field(default_factory=dict)       # source -> {sig, sha256, published, sample, stale}
    outputs: dict[str, dict[str, list]] = field(default_factory=dict)  # family -> {path: [sha256, view, key]}

    def to_json(self) -> dict:
        return {"format": FORMAT, "build_info": self.build_info, "inputs": self.inputs, "outputs": self.outputs}


def path_for(state_dir: str | os.PathLike) -> Path:
    return Path(state_dir) / "render-manifest.json"


def load(state_dir: str | os.PathLike) -> Manifest:
    try:
        with open(path_for(state_dir), "rb") as f:
            data = loads(f.read())
        if data.get("format") == FORMAT:
            return Manifest(data["build_info"], data["inputs"], data["outputs"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pass
    return Manifest()


def save(state_dir: str | os.PathLike, manifest: Manifest) -> None:
    target = path_for(state_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_bytes(target, json_bytes(manifest.to_json()), fsync=True)
