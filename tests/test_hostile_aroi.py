"""Hostile contact strings and validator answers on every AROI surface.

Relays of the details fixture get contacts carrying tags, quotes, javascript:
URLs and an IDN homograph, and the validator "answers" for them with markup
in its domains and errors.  The real registry renders the whole site; the
home page, the leaderboards, every contact page (HTML and JSON) and the
health page's AROI card are then parsed: no element or attribute comes from
operator text, and every link is site-relative, an anchor, or https to a
strict ASCII (punycode) domain.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import lxml.html
import pytest

from alliumd import config as configmod
from alliumd.fetchers import aroi as aroi_fetcher
from alliumd.pages.site import FAMILIES, MODELS
from alliumd.renderer.build import SiteBuilder
from alliumd.pages.registry import Registry

FIX = Path(__file__).parent / "fixtures"
HOMOGRAPH = "аррӏе.com"                      # Cyrillic letters that look like "apple.com"
PUNYCODE = "xn--80ak6aa92e.com"
CONTACTS = [
    "ciissversion:2 url:https://evil.example proof:uri-rsa <script>alert(1)</script>",
    "ciissversion:2 proof:dns-rsa url:<marquee>x<b>evil",                       # allium's injection
    "ciissversion:2 proof:uri-rsa url:javascript:alert(1)//example.org",
    'ciissversion:2 proof:uri-rsa url:"><img src=x onerror=alert(1)>.example.org',
    f"ciissversion:2 proof:uri-rsa url:https://{HOMOGRAPH}",
    "' onmouseover='alert(1) ciissversion:2 url:https://quote.example proof:dns-rsa",
    "<a href=javascript:alert(1)>click</a> email:x[]y.org",
]
LINK = re.compile(r"^(?:(\.\./)*[A-Za-z0-9_][A-Za-z0-9_./-]*\.(html|css|json|atom|txt)|#[A-Za-z0-9_-]+"
                  r"|https://[a-z0-9.-]+/)$")
MARKERS = ("<script>alert", "<marquee", "<img src=x", "<b>evil", "<a href=javascript")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile-aroi")
    details = json.loads((FIX / "onionoo_details_small.json").read_text())
    hostile = details["relays"][:len(CONTACTS)]
    for relay, contact in zip(hostile, CONTACTS):
        relay["contact"] = contact
        relay["running"] = True
    latest = json.loads((FIX / "aroi_latest_small.json").read_text())
    answers = {r["fingerprint"].upper(): r for r in latest["results"]}
    for i, relay in enumerate(hostile):
        if relay["fingerprint"] not in answers:
            answers[relay["fingerprint"]] = {"fingerprint": relay["fingerprint"], "nickname": "x"}
            latest["results"].append(answers[relay["fingerprint"]])
        answers[relay["fingerprint"]].update(
            valid=i in (0, 4), proof_type="uri-rsa",
            domain=[f"<b>evil{i}</b>", "javascript:alert(1)", PUNYCODE][i % 3] if i != 4 else HOMOGRAPH,
            error=None if i in (0, 4) else f"<script>alert({i})</script> fingerprint not found \"'")
    cfg = configmod.parse({"daemon": {"cache_dir": "cache", "output_dir": "www", "state_dir": "lib",
                                      "run_dir": "run"}}, tmp / "allium.toml")
    cfg.daemon.cache_dir.mkdir(parents=True)
    (cfg.daemon.cache_dir / "onionoo_details.json").write_text(json.dumps(details))
    (tmp / "latest.json").write_text(json.dumps(latest))
    (cfg.daemon.cache_dir / "aroi.summary.json").write_bytes(aroi_fetcher.validate(tmp / "latest.json").summary)
    result = SiteBuilder(cfg, Registry(FAMILIES, MODELS), workers=0).build(full=True)
    assert not result.errors, result.errors
    return cfg.daemon.output_dir


def check_page(path: Path) -> lxml.html.HtmlElement:
    raw = path.read_text()
    for marker in MARKERS:
        assert marker not in raw, (path, marker)
    tree = lxml.html.fromstring(raw)
    for el in tree.iter():
        if not isinstance(el.tag, str):
            continue
        assert el.tag not in ("script", "marquee", "img", "b", "iframe"), (path, el.tag)
        for attr, value in el.attrib.items():
            assert not attr.lower().startswith("on"), (path, attr)
            if attr in ("href", "src", "action"):
                assert LINK.match(value), (path, value)
                assert value.isascii(), (path, value)
    return tree


def aroi_pages(www: Path) -> list[Path]:
    contacts = sorted((www / "contact").glob("*/index.html"))
    assert len(contacts) > 10
    return [www / "index.html", www / "aroi" / "leaderboards.html", www / "network-health.html", *contacts]


def test_no_markup_and_only_safe_links_on_aroi_pages(site):
    for path in aroi_pages(site):
        check_page(path)
    for path in (site / "contact").glob("*/index.json"):
        text = path.read_text()
        json.loads(text)
        assert "javascript:" not in json.dumps(json.loads(text)["contact"].get("aroi_url") or "")


def test_the_homograph_is_shown_and_linked_as_punycode(site):
    page = site / "contact" / PUNYCODE / "index.html"
    tree = check_page(page)
    links = [a.get("href") for a in tree.iter("a")]
    assert f"https://{PUNYCODE}/" in links
    assert HOMOGRAPH not in tree.xpath("string(//h1)")                   # the heading names the punycode id
    assert PUNYCODE in tree.xpath("string(//h1)")
    assert "Validated" in tree.xpath("string(//section[@id='aroi'])")
    for path in aroi_pages(site):
        for a in lxml.html.parse(str(path)).iter("a"):
            assert HOMOGRAPH not in a.get("href", "")


def test_hostile_contacts_are_text_with_their_status(site):
    # the injection contact of allium's bug has no AROI domain: it is a hashed contact, its text escaped
    texts = {}
    for path in (site / "contact").glob("*/index.html"):
        tree = lxml.html.parse(str(path))
        texts[path.parent.name] = (tree.xpath("string(//section[h2='Contact'])"),
                                   tree.xpath("string(//section[@id='aroi'])"))
    marquee = [v for v in texts.values() if "<marquee>x<b>evil" in v[0]]
    assert len(marquee) == 1 and "Incomplete" in marquee[0][1]          # a url that is not a domain is no url
    script = texts["evil.example"]
    assert "<script>alert(1)</script>" in script[0] and "Validated" in script[1]
    # validator errors are never shown raw: only the fixed vocabulary of reasons
    for contact, aroi in texts.values():
        assert "<script>alert(" not in aroi
    health = lxml.html.parse(str(site / "network-health.html")).xpath("string(//section[@id='aroi'])")
    assert "relay not listed in the proof file" in health and "<script>" not in health
    # on the boards an operator is its domain, else its contact as (escaped, shortened) text
    for page in (site / "index.html", site / "aroi" / "leaderboards.html"):
        tree = lxml.html.parse(str(page))
        board = tree.xpath("string(//body)")
        assert "<a href=javascript:alert(1)>click</a>" in board and "evil.example" in board
        assert not [a for a in tree.iter("a") if "javascript" in a.get("href", "")]
