"""No dead links: every relative href/src of a built site, and every path in its JSON, resolves to a file.

The whole output of in-process builds of the real registry is crawled
(tests/site_crawl.py) in each configuration a site can run in: details only;
all Onionoo sources and AROI; all six sources; a document in which family
members are missing, hidden by the downtime filter or not mutual; no details
at all.  Incremental builds in which a family page appears and disappears
must link exactly what a cold build links.  The full-size network is
checked by ``python -m bench.linkcheck`` (tests do not read ../shared).
"""

from __future__ import annotations

import copy
import json
import sqlite3
import os
import subprocess
import sys
from pathlib import Path

import pytest

from alliumd import config as configmod
from alliumd.fetchers import source_module
from alliumd.pages.site import FAMILIES, MODELS
from alliumd.renderer.build import SiteBuilder
from alliumd.pages.registry import Page, PageFamily, Registry

from daemon_harness import onionoo_bytes, write_config
from loopback import LoopbackAPI
from site_crawl import crawl
from test_authorities_page import HEALTH_PAGE, collector_summary
from test_collector import serve, set_2018
from test_e2e_aroi_source import aroi_source
from test_e2e_authorities_sources import sources_toml
from test_e2e_incremental import _sources_extra

FIX = Path(__file__).parent / "fixtures"
DETAILS = json.loads((FIX / "onionoo_details_small.json").read_text())
RAW = {"onionoo_uptime": FIX / "onionoo_uptime_small.json", "onionoo_bandwidth": FIX / "onionoo_bandwidth_small.json",
       "aroi": FIX / "aroi_latest_small.json", "consensus_health": HEALTH_PAGE}
ONIONOO_AROI = ("onionoo_uptime", "onionoo_bandwidth", "aroi")
ALL_SIX = (*ONIONOO_AROI, "collector", "consensus_health")


def site(tmp_path: Path, details: dict | None, sources: tuple[str, ...] = (),
         history: Path | None = None) -> SiteBuilder:
    """A builder of the real registry over a cache holding what the fetchers would publish (and a copy of
    the ``history`` store: the pages' recent events are an input too)."""
    enabled = {n: {"enabled": True} for n in sources}
    cfg = configmod.parse({"daemon": {"cache_dir": "cache", "output_dir": "www", "state_dir": "lib",
                                      "run_dir": "run"}, "sources": enabled}, tmp_path / "allium.toml")
    cfg.daemon.cache_dir.mkdir(parents=True, exist_ok=True)
    if history is not None:
        cfg.daemon.state_dir.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(history) as source, sqlite3.connect(cfg.daemon.state_dir / history.name) as target:
            source.backup(target)
    if details is not None:
        publish_details(cfg.daemon.cache_dir, details)
    for name in sources:
        target = cfg.daemon.cache_dir / f"{name}.summary.json"
        if name == "collector":
            target.write_text(json.dumps(collector_summary()))
        else:
            target.write_bytes(source_module(name).validate(RAW[name]).summary)
    return SiteBuilder(cfg, Registry(FAMILIES, MODELS), workers=0)


def publish_details(cache_dir: Path, details: dict) -> None:
    """Atomically, like a fetcher: a new inode, so the renderer sees the change."""
    tmp = cache_dir / "onionoo_details.json.tmp"
    tmp.write_text(json.dumps(details))
    os.replace(tmp, cache_dir / "onionoo_details.json")


def assert_no_dead_links(www: Path, *, min_pages: int):
    report = crawl(www)
    print(f"\n{www.parent.name}: {report.summary()}")
    assert report.pages >= min_pages and report.links > 10 * report.pages, report.summary()
    assert not report.broken, report.first()
    return report


def built(tmp_path: Path, details: dict | None, sources: tuple[str, ...] = (), history: Path | None = None) -> Path:
    builder = site(tmp_path, details, sources, history)
    result = builder.build(full=True)
    assert not result.errors, result.errors
    return builder.cfg.daemon.output_dir


@pytest.mark.parametrize("sources", [(), ONIONOO_AROI, ALL_SIX], ids=["details-only", "onionoo+aroi", "all-six"])
def test_every_link_resolves(tmp_path, sources):
    www = built(tmp_path, DETAILS, sources)
    report = assert_no_dead_links(www, min_pages=250)
    assert report.json_files > 100                       # relay, contact, family, AS and country JSON
    nav = (www / "index.html").read_text()
    assert 'href="authorities.html">Authorities</a>' in nav     # always written, so always linked
    authorities = (www / "authorities.html").read_text()
    if "collector" in sources:
        assert "gabelmoo" in authorities and "No directory authority data" not in authorities
    else:
        assert "No directory authority data in this build" in authorities
        assert "CollecTor votes (disabled) and\nconsensus-health (disabled)." in authorities


# -- a partial document: family members absent, hidden, not mutual -----------------------------

def partial_document() -> tuple[dict, dict[str, str]]:
    """The small document with one family's members made absent, long down and one-sided.

    Returns the document and the fingerprints playing each part.
    """
    doc = copy.deepcopy(DETAILS)
    by_fp = {r["fingerprint"]: r for r in doc["relays"]}
    family = next(r for r in doc["relays"] if sum(f in by_fp for f in r["effective_family"]) >= 5)
    present = sorted(f for f in family["effective_family"] if f in by_fp)
    keeper, hidden, one_sided, absent = present[0], present[1], present[2], present[3]
    by_fp[hidden].update(running=False, last_seen="2026-07-01 00:00:00")     # down for > 7 days
    for relay in doc["relays"]:             # nobody lists one_sided back, one_sided still lists them
        if relay["fingerprint"] != one_sided:
            relay["effective_family"] = [f for f in relay.get("effective_family", []) if f != one_sided]
    doc["relays"] = [r for r in doc["relays"] if r["fingerprint"] != absent]
    return doc, {"keeper": keeper, "hidden": hidden, "one_sided": one_sided, "absent": absent}


def test_partial_document_links_only_existing_pages_and_says_why(tmp_path):
    doc, part = partial_document()
    www = built(tmp_path, doc)
    assert_no_dead_links(www, min_pages=200)
    assert not (www / "relay" / part["hidden"]).exists() and not (www / "relay" / part["absent"]).exists()
    keeper = (www / "relay" / part["keeper"] / "index.html").read_text()
    assert "hidden by the downtime filter" in keeper and "not in the current Onionoo details document" in keeper
    assert "Family page</a>" in keeper
    one_sided = (www / "relay" / part["one_sided"] / "index.html").read_text()
    assert "Family page</a>" not in one_sided
    assert "No family page: none of the listed members on this site lists this relay back" in one_sided
    assert "not in this relay&#39;s family on this site: it does not list this relay back" in one_sided
    data = json.loads((www / "relay" / part["one_sided"] / "index.json").read_text())
    assert data["links"]["family"] is None and {m["status"] for m in data["family"]} >= {"not_mutual", "hidden"}


def test_family_pages_appearing_and_disappearing_rerender_their_links(tmp_path):
    """Incremental builds: a family splits (its page goes), then comes back; each tree equals a cold build."""
    builder = site(tmp_path / "incremental", DETAILS)
    assert not builder.build(full=True).errors
    doc, _ = partial_document()
    for step, details in enumerate((doc, DETAILS)):
        publish_details(builder.cfg.daemon.cache_dir, details)
        result = builder.build()
        assert not result.errors and result.written > 0
        www = builder.cfg.daemon.output_dir
        assert_no_dead_links(www, min_pages=200)
        cold = built(tmp_path / f"cold{step}", details, history=builder.cfg.daemon.state_dir / "history.sqlite3")
        incremental, fresh = tree(www), tree(cold)
        incremental.pop("status.html"), fresh.pop("status.html")
        assert incremental.keys() == fresh.keys(), sorted(incremental.keys() ^ fresh.keys())
        assert not [p for p in fresh if fresh[p] != incremental[p]]


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


# -- no details at all, and the registry's guarantees ------------------------------------------

def test_without_details_the_navigation_links_only_what_is_written(tmp_path):
    www = built(tmp_path, None, ("collector", "consensus_health"))
    report = crawl(www)
    assert not report.broken, report.first()
    assert {"authorities.html", "status.html"} <= {str(p.relative_to(www)) for p in www.rglob("*.html")}
    assert not (www / "index.html").exists()
    page = (www / "status.html").read_text()
    nav = page[page.index("<nav>"):page.index("</nav>")]
    assert "authorities.html" in nav and "index.html" not in nav and "search.html" not in nav


def test_enabling_a_source_changes_the_build_info(tmp_path):
    """Pages say whether a source without data is disabled, so the enabled set is part of the build info
    (the supervisor restarts the renderer when it changes: supervisor/reconcile.py)."""
    off = site(tmp_path / "off", DETAILS)
    on = site(tmp_path / "on", DETAILS, ("aroi",))
    assert off._base_info != on._base_info
    assert site(tmp_path / "again", DETAILS)._base_info == off._base_info


def test_navigation_is_made_of_declared_pages():
    registry = Registry(FAMILIES, MODELS)
    nav = registry.nav(lambda source: True)
    assert [p for p, _ in nav] == ["index.html", "aroi/leaderboards.html", "relays/top.html", "relays/all.html",
                                   "network-health.html", "events.html", "authorities.html",
                                   "lists/families-by-bandwidth.html",
                                   "search.html", "status.html"]
    assert [p for p, _ in registry.nav(lambda source: False)] == ["authorities.html", "status.html"]
    writers = {path: f for f in FAMILIES for path in f.paths}
    assert all(path in writers for path, _ in nav)
    none = frozenset()
    with pytest.raises(ValueError, match="not one of its paths"):
        Registry([PageFamily("x", none, lambda i: iter(()), nav=(1, "X", "x.html"))])
    with pytest.raises(ValueError, match="declared by both"):
        Registry([PageFamily("x", none, lambda i: iter(()), paths=("x.html",)),
                  PageFamily("y", none, lambda i: iter(()), paths=("x.html",))])


def test_a_family_that_does_not_write_a_declared_page_fails(tmp_path):
    cfg = configmod.parse({"daemon": {"cache_dir": "cache", "output_dir": "www", "state_dir": "lib",
                                      "run_dir": "run"}}, tmp_path / "allium.toml")
    cfg.daemon.cache_dir.mkdir(parents=True)
    liar = PageFamily("liar", frozenset(), lambda inputs: iter([Page("a.html", "x", {"body": b"a"}, "raw")]),
                      paths=("a.html", "b.html"), nav=(1, "B", "b.html"))
    result = SiteBuilder(cfg, Registry([liar]), workers=0).build(full=True)
    assert result.errors == ["liar: ValueError: declared pages not written: b.html"]


# -- the crawler itself ------------------------------------------------------------------------

def test_the_crawler_finds_what_is_broken_and_follows_nothing_external(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "index.html").write_text("<p>ok</p>")
    (tmp_path / "style.css").write_text("")
    (tmp_path / "index.html").write_text(
        '<link rel="stylesheet" href="style.css"><link rel="alternate" type="application/atom+xml" href="feed.xml">'
        '<a href="a/b/">dir</a> <a href="a/b/index.html?x=1#top">query</a> <a href="#here">fragment</a>'
        '<a href="https://example.org/x">web</a> <a href="mailto:x@example.org">mail</a>'
        '<p>&lt;img src=text&gt;</p> <a title="x src=nope" href="a/missing.html">m</a>'
        '<script src="../outside.js"></script> <img src=\'pic.png\' alt="a > b">')
    (tmp_path / "a" / "index.json").write_text(json.dumps(
        {"links": {"family": "a/b/index.html", "flags": [{"flag": "Exit", "path": "flag/exit/index.html"}]},
         "related": [{"kind": "contact", "href": "contact/x/index.html", "label": "x"}]}))
    (tmp_path / "search-index.json").write_text(json.dumps(
        {"relays": [{"f": "AB" * 20, "fam": "CD" * 20}], "families": [], "as_names": {"AS1": "x"}}))
    report = crawl(tmp_path)
    broken = {(b.page, b.target) for b in report.broken}
    assert broken == {
        ("index.html", "feed.xml"), ("index.html", "a/missing.html"), ("index.html", "outside the site"),
        ("index.html", "pic.png"), ("a/index.json", "flag/exit/index.html"),
        ("a/index.json", "contact/x/index.html"), ("search-index.json", f"relay/{'AB' * 20}/index.html"),
        ("search-index.json", f"family/{'CD' * 20}/index.html"), ("search-index.json", "as/AS1/index.html")}
    # followed: 7 in the page (not the fragment, web and mail links), 3 in the JSON, 3 from the search index
    assert report.skipped == 3 and report.links == 7 + 3 + 3 and report.pages == 2 and report.json_files == 2


# -- the real path: alliumd --once with all six sources served on loopback ---------------------

@pytest.fixture
def health():
    with LoopbackAPI() as server:
        server.set("/", HEALTH_PAGE.read_bytes(), content_type="text/html; charset=ISO-8859-1")
        yield server


def test_once_with_all_six_sources_has_no_dead_links(tmp_path, api, health):
    """Every fetcher against loopback servers (Onionoo, the validator, CollecTor's 2018 set, consensus-health),
    then one render: the site a production config produces."""
    api.set("/uptime", onionoo_bytes(json.loads(RAW["onionoo_uptime"].read_text())))
    api.set("/bandwidth", onionoo_bytes(json.loads(RAW["onionoo_bandwidth"].read_text())))
    serve(api, set_2018())
    extra = _sources_extra(api) + aroi_source(api) + sources_toml(api, health)
    config = write_config(tmp_path, api.url("/details"), extra=extra)
    result = subprocess.run([sys.executable, "-m", "alliumd", "--config", str(config), "--once"],
                            capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr
    for name in ALL_SIX:
        assert (tmp_path / "cache" / f"{name}.summary.json").exists(), (name, result.stderr)
    www = tmp_path / "www"
    assert_no_dead_links(www, min_pages=200)     # published now: the downtime filter hides a few relays
    assert "gabelmoo" in (www / "authorities.html").read_text()
