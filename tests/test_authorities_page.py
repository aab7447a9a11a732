"""authorities.html from real votes (the 2018 set) and the built consensus-health page."""

from __future__ import annotations

import json
from pathlib import Path

from alliumd import config as configmod
from alliumd.summaries import consensus_health as ch, votes
from alliumd.model.authorities import build_authorities, health_card
from alliumd.pages.site import FAMILIES, MODELS
from alliumd.renderer.build import SiteBuilder
from alliumd.pages.registry import Registry

FIX = Path(__file__).parent / "fixtures"
HEALTH_PAGE = FIX / "consensus_health" / "consensus-health_BUILT_2025-04-03-0500.html"


def collector_summary() -> dict:
    files = sorted((FIX / "collector").glob("2018-10-15-00-00-00-*"))
    [consensus_file] = [f for f in files if "consensus" in f.name]
    consensus = votes.parse_status(consensus_file.read_bytes(), "consensus")
    vote_inputs = [votes.VoteInput(f.name, f.name.split("-vote-")[1][:40], votes.parse_status(f.read_bytes(), "vote"))
                   for f in files if "-vote-" in f.name]
    return votes.build_summary(consensus_file.name, consensus, vote_inputs, [])


def health_summary() -> dict:
    return ch.parse_page(HEALTH_PAGE.read_bytes())


def test_rows_merge_both_sources_by_nickname():
    model = build_authorities(collector_summary(), health_summary())
    names = [r["nickname"].lower() for r in model["rows"]]
    assert names == sorted(names) and len(names) == len(set(names))
    voted = [r for r in model["rows"] if r.get("relays_voted")]
    assert len(voted) == 4                                # the 2018 set has four votes
    assert any(r.get("ch_version") for r in model["rows"])   # consensus-health side merged in
    bastet = next(r for r in model["rows"] if r["nickname"].lower() == "bastet")
    assert bastet["notices"]                              # its "Consensus could not be retrieved"
    assert model["method"] and model["valid_after"]


def test_either_source_alone_still_renders():
    assert build_authorities(None, health_summary())["rows"]
    assert build_authorities(collector_summary(), None)["rows"]
    assert build_authorities(None, None)["rows"] == []


def test_health_card_summarises_both_sources():
    card = health_card(build_authorities(collector_summary(), health_summary()), "2018-10-15 00:00 UTC",
                       "2025-04-03 05:00 UTC")
    rows = {r["label"]: (r["value"], r["detail"]) for r in card["rows"]}
    assert card["available"] and rows["Consensus method"] == ("28", None)
    assert rows["Voting authorities"][0] == "9" and rows["Votes available"] == ("4 current", None)
    assert rows["Bandwidth authorities"] == ("3", "bastet, Faravahar, gabelmoo")
    assert rows["Relays per vote"][0] == "20" and rows["Vote data (CollecTor)"][0] == "2018-10-15 00:00 UTC"
    assert {"authority": "bastet", "text": "Consensus could not be retrieved"} in card["notices"]
    only_health = health_card(build_authorities(None, health_summary()), None, "2025-04-03 05:00 UTC")
    assert dict((r["label"], r["value"]) for r in only_health["rows"])["Vote data (CollecTor)"] == "not available"
    assert not health_card(build_authorities(None, None))["available"]


def _site(tmp_path, collector=None, health=None):
    # the fixtures are years old: a long history retention keeps their events (retention counts from the clock)
    cfg = configmod.parse({"daemon": {"cache_dir": "cache", "output_dir": "www", "state_dir": "lib",
                                      "run_dir": "run"}, "history": {"retention_days": 36500}},
                          tmp_path / "allium.toml")
    cfg.daemon.cache_dir.mkdir(parents=True, exist_ok=True)
    if collector is not None:
        (cfg.daemon.cache_dir / "collector.summary.json").write_text(json.dumps(collector))
    if health is not None:
        (cfg.daemon.cache_dir / "consensus_health.summary.json").write_text(json.dumps(health))
    shutil_copy = (FIX / "onionoo_details_small.json").read_bytes()
    (cfg.daemon.cache_dir / "onionoo_details.json").write_bytes(shutil_copy)
    return cfg, SiteBuilder(cfg, Registry(FAMILIES, MODELS))


def test_page_is_escaped_and_a_health_change_rewrites_only_it(tmp_path):
    health = health_summary()
    health["notices"].append({"authority": "moria1", "section": "x", "text": "<script>alert(1)</script>"})
    cfg, builder = _site(tmp_path, collector_summary(), health)
    assert not builder.build(full=True).errors
    page = (cfg.daemon.output_dir / "authorities.html").read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert" not in page
    assert "moria1" in page and "Consensus could not be retrieved" in page
    health["notices"].append({"authority": None, "section": "x", "text": "a new notice"})
    (cfg.daemon.cache_dir / "consensus_health.summary.json").write_text(json.dumps(health))
    result = builder.build()
    assert result.changed == ["consensus_health"]
    # the authorities page and the health page (its authorities card lists notices), and the network
    # events page and feed (a new notice is a network event): nothing else
    assert set(result.families) == {"authorities", "health", "events"} and result.written == 4
    assert "a new notice" in (cfg.daemon.output_dir / "network-health.html").read_text()
    assert "consensus-health: a new notice" in (cfg.daemon.output_dir / "events.html").read_text()
    assert "consensus-health: a new notice" in (cfg.daemon.output_dir / "events.atom").read_text()
