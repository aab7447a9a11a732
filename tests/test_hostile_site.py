"""The whole site rendered from a hostile details document: nothing survives unescaped.

Every string field of every relay carries HTML/JS payloads, ``../`` paths,
NUL bytes, 10 kB strings and bidi controls.  The test renders every page
family of the real registry, then parses every output: no script element,
no event-handler attribute, no javascript: link, no file outside the output
directory, every JSON output parseable.  New page families are covered
automatically because the registry is the real one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import lxml.html
import pytest

from alliumd import config as configmod
from alliumd.pages.site import FAMILIES, MODELS
from alliumd.renderer.build import SiteBuilder
from alliumd.pages.registry import Registry

FIXTURE = Path(__file__).parent / "fixtures" / "onionoo_details_small.json"

PAYLOADS = [
    "<script>alert('x')</script>",
    '"><img src=x onerror=alert(1)>',
    "javascript:alert(1)",
    "ciissversion:2 url:<marquee>x<b>evil proof:uri-rsa",
    "../../../../etc/passwd",
    "a\u0000b",
    "\u202eevil\u202c\u2066rtl\u2069",
    "x" * 10_000,
    "' onmouseover='alert(1)",
]
MARKERS = ("alert(", "<marquee", "onerror", "onmouseover")


def hostile(value: str, i: int) -> str:
    return PAYLOADS[i % len(PAYLOADS)] + value[:20] + PAYLOADS[(i + 3) % len(PAYLOADS)]


def poison(obj, counter=[0]):
    """Replace every string (except fingerprints, times and the envelope) with payloads."""
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if k in ("fingerprint", "first_seen", "last_seen", "last_restarted",
                     "last_changed_address_or_port", "relays_published"):
                out[k] = v
            else:
                out[k] = poison(v, counter)
        return out
    if isinstance(obj, list):
        return [poison(v, counter) for v in obj]
    if isinstance(obj, str):
        counter[0] += 1
        return hostile(obj, counter[0])
    return obj


@pytest.fixture
def hostile_site(tmp_path):
    doc = json.loads(FIXTURE.read_text())
    doc["relays"] = [poison(r) for r in doc["relays"]]
    # family members that are payloads, and one that tries to walk out of the tree
    doc["relays"][0]["effective_family"] = ["../../x", "<b>x</b>", doc["relays"][1]["fingerprint"]]
    for r in doc["relays"]:
        r["running"] = True
        r["last_seen"] = doc["relays_published"]
    cfg = configmod.parse({"daemon": {"cache_dir": "cache", "output_dir": "www", "state_dir": "lib",
                                      "run_dir": "run"}}, tmp_path / "allium.toml")
    cfg.daemon.cache_dir.mkdir(parents=True)
    (cfg.daemon.cache_dir / "onionoo_details.json").write_text(json.dumps(doc))
    builder = SiteBuilder(cfg, Registry(FAMILIES, MODELS))
    result = builder.build(full=True)
    assert not result.errors, result.errors
    return tmp_path, result


def test_no_payload_survives_and_nothing_lands_outside(hostile_site):
    root, result = hostile_site
    www = root / "www"
    assert result.written > 40
    outside = [p for p in root.rglob("*") if p.is_file() and not p.is_relative_to(www)
               and not p.is_relative_to(root / "cache") and not p.is_relative_to(root / "lib")]
    assert outside == [], outside
    for dirpath, dirnames, filenames in os.walk(www):
        for name in dirnames + filenames:
            assert "\0" not in name and ".." not in name and "<" not in name
    checked = 0
    for path in www.rglob("*"):
        if path.suffix == ".json":
            json.loads(path.read_bytes())
        if path.suffix != ".html":
            continue
        checked += 1
        tree = lxml.html.fromstring(path.read_bytes())
        for el in tree.iter():
            if not isinstance(el.tag, str):
                continue
            assert el.tag not in ("marquee", "img") or el.get("src", "").startswith(("data:", "../", "static")), \
                (path, el.tag)
            if el.tag == "script":
                assert not (el.text or "").strip() or "alert" not in el.text, path
            for attr, value in el.attrib.items():
                assert not attr.lower().startswith("on"), (path, attr)
                if attr in ("href", "src", "action"):
                    assert not value.strip().lower().startswith(("javascript:", "data:text")), (path, value)
                    assert "alert(" not in value, (path, value)
        raw = path.read_text()
        assert "<script>alert" not in raw and "<marquee" not in raw and "<img src=x" not in raw, path
    assert checked > 40
