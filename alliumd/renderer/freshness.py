"""Which cache files changed since the last batch, and how fresh each source is (SiteBuilder's part).

A source's content is compared by file signature, then by sha256 (early
cutoff: a rewritten but identical file changes nothing); its publication
time and sample marker are read once per content; it is stale once older
than its ``max_age``, and the renderer wakes when that flips.
"""

from __future__ import annotations

from datetime import datetime, timezone

from ..cache import files as cachefiles, meta as cachemeta
from ..pages.registry import SourceInfo
from ..sources import SOURCES


def _published_text(t: float | None) -> str | None:
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%d %H:%M UTC") if t is not None else None


class SourceTracking:
    """Change detection and source descriptions of a SiteBuilder (``cfg``, ``cache_dir``, ``manifest``)."""

    def scan(self) -> set[str]:
        """Sources whose cache content changed since the manifest was written."""
        changed = set()
        for name, spec in SOURCES.items():
            sig = cachefiles.signature(self.cache_dir / spec.render_file)
            entry = self.manifest.inputs.get(name)
            if sig is None:
                if entry is not None:
                    del self.manifest.inputs[name]
                    changed.add(name)
                continue
            if entry is not None and entry.get("sig") == sig:
                continue
            sha = self.content_hash(name, sig)
            if entry is not None and entry.get("sha256") == sha:
                entry["sig"] = sig
                continue
            self.manifest.inputs[name] = {"sig": sig, "sha256": sha, "published": None,
                                          "sample": False, "stale": None, "described": False}
            changed.add(name)
        return changed

    def content_hash(self, name: str, sig: list[int] | None = None) -> str | None:
        """The sha256 of ``name``'s cache file (None: no file), computed once per version of the file (its
        signature): ``alliumd --once`` hashes a final source ahead of the batch (early.py), then the scan."""
        path = self.cache_dir / SOURCES[name].render_file
        sig = sig if sig is not None else cachefiles.signature(path)
        if sig is None:
            return None
        known = self.content_hashes.get(name)
        if known is not None and known[0] == sig:
            return known[1]
        try:
            sha = cachefiles.file_sha256(path)
        except FileNotFoundError:
            return None
        self.content_hashes[name] = (sig, sha)
        return sha

    def _is_stale(self, name: str, now: float) -> bool:
        entry = self.manifest.inputs.get(name)
        if not entry or entry.get("published") is None:
            return False
        return now - entry["published"] > self.cfg.sources[name].max_age

    def stale_flips(self, now: float) -> set[str]:
        return {n for n, e in self.manifest.inputs.items()
                if e.get("described") and e.get("stale") is not None and e["stale"] != self._is_stale(n, now)}

    def next_stale_flip(self, now: float) -> float | None:
        """When the next source turns stale (the renderer wakes then to mark pages)."""
        times = [e["published"] + self.cfg.sources[n].max_age for n, e in self.manifest.inputs.items()
                 if e.get("published") is not None and n in self.cfg.sources
                 and e["published"] + self.cfg.sources[n].max_age > now]
        return min(times) if times else None

    def _describe_sources(self, needed: set[str], now: float) -> dict[str, SourceInfo]:
        infos = {}
        for name, spec in SOURCES.items():
            entry = self.manifest.inputs.get(name)
            if entry is not None and not entry.get("described") and name in needed:
                described = cachemeta.describe(self.cache_dir / spec.render_file, entry["sha256"])
                published, sample = (described.data_time, described.sample) if described else (None, False)
                entry["published"] = min(published, now) if published is not None else entry["sig"][2] / 1e9
                entry["sample"] = sample
                entry["described"] = True
            stale = self._is_stale(name, now)
            if entry is not None and name in needed:
                entry["stale"] = stale
            config = self.cfg.sources.get(name)
            infos[name] = SourceInfo(
                name=name, label=spec.label, available=entry is not None,
                published=_published_text(entry.get("published")) if entry else None,
                sample=bool(entry and entry.get("sample")), stale=stale,
                enabled=bool(config.enabled) if config is not None else False)
        return infos
