"""AROI on the home page, contact pages and the health card, rendered by the real registry in-process.

- without validator data every AROI surface renders and says so;
- the leaderboards model is built once per input version (home page and
  leaderboards page share it);
- an AROI-only change builds the view of no contact page but the one whose
  status changed (page keys), and writes only the AROI dependents.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import lxml.html

from alliumd import config as configmod
from alliumd.fetchers import aroi as aroi_fetcher
from alliumd.model import aroi as aroi_model
from alliumd.pages import groups as group_pages
from alliumd.pages.site import FAMILIES, MODELS
from alliumd.renderer.build import SiteBuilder
from alliumd.pages.registry import Registry

FIX = Path(__file__).parent / "fixtures"
LATEST = json.loads((FIX / "aroi_latest_small.json").read_text())
FLIPPED, DOMAIN = "0DC16FEAA5A5E27A974009CBF7748BB6FAAE6DE1", "garlicmint.fr"


def _builder(tmp_path: Path, latest: dict | None):
    cfg = configmod.parse({"daemon": {"cache_dir": "cache", "output_dir": "www", "state_dir": "lib",
                                      "run_dir": "run"}}, tmp_path / "allium.toml")
    cfg.daemon.cache_dir.mkdir(parents=True, exist_ok=True)
    (cfg.daemon.cache_dir / "onionoo_details.json").write_text((FIX / "onionoo_details_small.json").read_text())
    if latest is not None:
        _publish(cfg, tmp_path, latest)
    return cfg, SiteBuilder(cfg, Registry(FAMILIES, MODELS), workers=0)


def _publish(cfg, tmp_path: Path, latest: dict) -> None:
    (tmp_path / "latest.json").write_text(json.dumps(latest))
    (cfg.daemon.cache_dir / "aroi.summary.json").write_bytes(aroi_fetcher.validate(tmp_path / "latest.json").summary)


def _files(www: Path) -> dict[str, tuple[int, int, bytes]]:
    return {str(p.relative_to(www)): (p.stat().st_ino, p.stat().st_mtime_ns, p.read_bytes())
            for p in www.rglob("*") if p.is_file()}


def test_without_validator_data_everything_renders_and_says_so(tmp_path):
    cfg, builder = _builder(tmp_path, None)
    result = builder.build(full=True)
    assert not result.errors, result.errors
    www = cfg.daemon.output_dir
    index = lxml.html.parse(str(www / "index.html"))
    section = index.xpath("//section[@id='aroi']")[0]
    assert len(section.xpath(".//section")) == 19                          # every board, even when empty
    assert "No AROI validator data yet" in section.text_content()
    assert index.xpath("string(//h2)") == "Relays" and "Tor network overview" in index.xpath("string(//h1)")
    health = lxml.html.parse(str(www / "network-health.html")).xpath("string(//section[@id='aroi'])")
    assert "No AROI validator data yet" in health
    contact = lxml.html.parse(str(www / "contact" / "tokelrk.xyz" / "index.html"))
    assert "Unknown" in contact.xpath("string(//section[@id='aroi'])")
    assert "No AROI validator data yet" in contact.xpath("string(//section[@id='aroi'])")


def test_home_page_boards_pagination_and_badges(tmp_path):
    cfg, builder = _builder(tmp_path, LATEST)
    calls = []
    real = aroi_model.build_leaderboards
    aroi_model.build_leaderboards = lambda *a, **k: calls.append(1) or real(*a, **k)
    try:
        result = builder.build(full=True)
    finally:
        aroi_model.build_leaderboards = real
    assert not result.errors and calls == [1]                              # one model for both pages
    index = lxml.html.parse(str(cfg.daemon.output_dir / "index.html"))
    boards = index.xpath("//section[@id='aroi']/section")
    assert [b.get("id") for b in boards] == [f"lb-{c.key}" for c in aroi_model.CATEGORIES]
    bandwidth = boards[0]
    ranks = [int(td.text_content().split()[0]) for td in bandwidth.xpath(".//tbody/tr/td[1]")]
    assert ranks == list(range(1, len(ranks) + 1)) and 10 < len(ranks) <= 20
    # ranks 1-10 are visible, the rest sit in native disclosures (no script anywhere)
    assert len(bandwidth.xpath("./div//tbody/tr")) == 10
    assert [d.xpath("string(summary)") for d in bandwidth.xpath("./details")] == [f"Ranks 11–{len(ranks)}"]
    assert not index.xpath("//script")
    assert bandwidth.xpath("string(.//tbody/tr[1]//span[@class='badge ok'])") == "Bandwidth Champion"
    validated = index.xpath("//section[@id='lb-validated_relays']//tbody/tr/td[2]/a/@href")
    assert validated[0] == "contact/tokelrk.xyz/index.html"
    top3 = index.xpath("//caption[starts-with(., 'Top 3 of every board')]/ancestor::table//tbody/tr")
    assert len(top3) == 19
    first = top3[0].xpath("./td")
    assert first[0].text_content() == "Bandwidth Contributed" and len(first) == 4
    overview = index.xpath("//caption[.='Network overview']/ancestor::table//tr/th/text()")
    assert overview[:2] == ["Running relays", "Run by a ranked operator"]


def test_an_aroi_only_change_builds_and_writes_only_its_dependents(tmp_path, monkeypatch):
    cfg, builder = _builder(tmp_path, LATEST)
    assert not builder.build(full=True).errors
    www = cfg.daemon.output_dir
    before = _files(www)
    latest = copy.deepcopy(LATEST)
    latest["metadata"]["timestamp"] = "2026-08-22T11:07:43"
    entry = next(r for r in latest["results"] if r["fingerprint"] == FLIPPED)
    entry.update(valid=False, error="URI-RSA: Fingerprint not found in proof file")
    _publish(cfg, tmp_path, latest)
    built = []
    real = group_pages.contact_details      # called by every contact view (the view functions themselves
    monkeypatch.setattr(group_pages, "contact_details",       # name the page keys, so they stay in place)
                        lambda group, aroi: built.append(group.id) or real(group, aroi))
    result = builder.build()
    assert not result.errors and result.changed == ["aroi"]
    assert set(built) == {DOMAIN}                      # no other contact page's view was built
    after = _files(www)
    changed = {p for p in after if after[p] != before.get(p)}
    assert {"aroi/leaderboards.html", "index.html", "network-health.html", f"contact/{DOMAIN}/index.html",
            f"contact/{DOMAIN}/index.json"} <= changed
    assert changed <= {"aroi/leaderboards.html", "index.html", "network-health.html", f"contact/{DOMAIN}/index.html",
                       f"contact/{DOMAIN}/index.json", f"relay/{FLIPPED}/index.html", f"relay/{FLIPPED}/index.json",
                       # the status change is an event: the relay's and the operator's feeds, the events page
                       f"relay/{FLIPPED}/events.atom", f"contact/{DOMAIN}/events.atom", "events.html",
                       # and the validation gauges of the relay's and the operator's metrics.txt
                       f"relay/{FLIPPED}/metrics.txt", f"contact/{DOMAIN}/metrics.txt"}
    assert result.written == len(changed)
    assert "Unauthorized" in lxml.html.parse(str(www / f"contact/{DOMAIN}/index.html")).xpath(
        "string(//section[@id='aroi'])")
