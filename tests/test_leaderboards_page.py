"""aroi/leaderboards.html: all 19 boards, escaped, and only AROI/Onionoo changes re-render it."""

from __future__ import annotations

import json
from pathlib import Path

from alliumd import config as configmod
from alliumd.fetchers import aroi as aroi_fetcher
from alliumd.pages.site import FAMILIES, MODELS
from alliumd.renderer.build import SiteBuilder
from alliumd.pages.registry import Registry

FIX = Path(__file__).parent / "fixtures"


def _site(tmp_path, details: dict):
    cfg = configmod.parse({"daemon": {"cache_dir": "cache", "output_dir": "www", "state_dir": "lib",
                                      "run_dir": "run"}}, tmp_path / "allium.toml")
    cfg.daemon.cache_dir.mkdir(parents=True, exist_ok=True)
    (cfg.daemon.cache_dir / "onionoo_details.json").write_text(json.dumps(details))
    summary = aroi_fetcher.validate(FIX / "aroi_latest_small.json").summary
    (cfg.daemon.cache_dir / "aroi.summary.json").write_bytes(summary)
    return cfg, SiteBuilder(cfg, Registry(FAMILIES, MODELS))


def test_leaderboards_render_all_categories_escaped(tmp_path):
    details = json.loads((FIX / "onionoo_details_small.json").read_text())
    details["relays"][0]["contact"] = "ciissversion:2 url:https://evil.example proof:uri-rsa <script>alert(1)</script>"
    cfg, builder = _site(tmp_path, details)
    result = builder.build(full=True)
    assert not result.errors, result.errors
    page = (cfg.daemon.output_dir / "aroi" / "leaderboards.html").read_text()
    assert page.count("<section id=") == 19
    assert "<script>alert" not in page
    assert 'href="../contact/' in page
    # operators' validation status reads as words, never as the model's codes
    assert "<td>Not configured</td>" in page and "not_configured" not in page
    # a consensus-health change does not touch it; an AROI change does
    families = {f.name: f for f in FAMILIES}
    assert "aroi" in families["leaderboards"].inputs and "consensus_health" not in families["leaderboards"].inputs
