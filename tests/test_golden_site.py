"""Byte-identical output: the site built from the fixtures matches the committed golden manifest.

A refactoring keeps every page's bytes; a change meant to alter pages
regenerates the manifest deliberately (``python -m tests.golden_site --update``)
and the diff of ``tests/fixtures/golden_site.json`` shows which pages changed.
"""

from __future__ import annotations

import json

import golden_site


def test_site_from_the_fixtures_is_byte_identical_to_the_golden_manifest(tmp_path):
    golden = json.loads(golden_site.GOLDEN.read_text())
    current = golden_site.manifest(golden_site.build(tmp_path))
    assert len(current) > 400                                  # every source's pages, not a degenerate site
    differ = sorted(p for p in golden.keys() | current.keys() if golden.get(p) != current.get(p))
    assert not differ, (f"{len(differ)} of {len(current)} files differ from the golden site "
                        f"(regenerate deliberately: python -m tests.golden_site --update): {differ[:20]}")


def test_the_golden_build_is_deterministic(tmp_path):
    first = golden_site.manifest(golden_site.build(tmp_path / "a"))
    second = golden_site.manifest(golden_site.build(tmp_path / "b"))
    assert first == second
