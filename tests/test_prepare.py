"""Models built ahead of the batch (``alliumd --once`` while fetchers still run) change nothing but time.

The site built after ``SiteBuilder.prepare`` steps is byte-identical to the
golden site, every prepared model is built once (the batch takes it from the
model cache), and a change that prepare's scan saw is still rendered by the
batch.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from collections import Counter

import golden_site
from alliumd import config as configmod
from alliumd.pages.registry import Registry
from alliumd.pages.site import FAMILIES, MODELS
from alliumd.renderer.build import SiteBuilder

DETAILS_FIRST = (frozenset({"onionoo_details"}), frozenset({"onionoo_details", "aroi", "onionoo_bandwidth"}))


def counted_models(calls: Counter) -> list:
    def wrap(spec):
        def build(inputs, spec=spec):
            calls[spec.name] += 1
            return spec.build(inputs)
        return dataclasses.replace(spec, build=build)
    return [wrap(spec) for spec in MODELS]


def test_prepared_models_leave_the_site_byte_identical_and_are_built_once(tmp_path):
    calls: Counter = Counter()
    output = golden_site.build(tmp_path, prepare=DETAILS_FIRST, models=counted_models(calls))
    golden = json.loads(golden_site.GOLDEN.read_text())
    assert golden_site.manifest(output) == golden
    assert calls["relays"] == 1 and calls["groups"] == 1          # prepared, then taken from the cache
    assert calls["history"] == 1                                   # never prepared (side effects), built once
    assert max(calls.values()) == 1, calls


def test_a_change_seen_by_prepare_is_rendered_by_the_next_batch(tmp_path):
    first = tmp_path / "a"
    golden_site.build(first)
    second = tmp_path / "b"
    shutil.copytree(first, second, symlinks=True)
    outputs = {}
    for root, prepare in ((first, False), (second, True)):
        cfg = configmod.load(root / "allium.toml")
        details = cfg.daemon.cache_dir / "onionoo_details.json"
        text = details.read_bytes()
        match = re.search(rb'"nickname":"([A-Za-z0-9]+)"', text)
        details.write_bytes(text.replace(match.group(0), b'"nickname":"PreparedRename"', 1))
        builder = SiteBuilder(cfg, Registry(FAMILIES, MODELS), clock=lambda: golden_site.NOW, workers=1)
        try:
            if prepare:
                assert "relays" in builder.prepare(set(cfg.sources), now=golden_site.NOW)
            result = builder.build(now=golden_site.NOW)
        finally:
            builder.close()
        assert not result.errors and "onionoo_details" in result.changed and result.written > 0
        outputs[root] = golden_site.manifest(cfg.daemon.output_dir)
    assert outputs[first] == outputs[second]
    www = configmod.load(second / "allium.toml").daemon.output_dir
    renamed = [p for p in outputs[second] if p.startswith("relay/") and p.endswith("index.html")
               and b"PreparedRename" in (www / p).read_bytes()]
    assert renamed                   # the relay's page (and its family members', which name it)
