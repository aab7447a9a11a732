"""Relay pages (HTML and JSON) with and without uptime/bandwidth models; hostile input; percentiles.

The uptime and bandwidth models are hand-made per the shared interface
(alliumd.model.uptime / bandwidth): per relay means, flag uptime, series
of at most 90 points, overload objects.  Rendering mirrors the engine:
html through the Mako lookup, json as the view itself.
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import pytest
from lxml import etree

from alliumd.model import identity
from alliumd.model.percentiles import distribution, ordinal, percentile, rank, relay_percentiles
from alliumd.model.relays import build_relays
from alliumd.pages import site
from alliumd.pages.relays import RELAY_JSON_SCHEMA
from alliumd.renderer.build import json_bytes
from alliumd.renderer.jobs import page_bytes
from alliumd.pages.registry import ModelSpec, RenderInputs, SourceInfo, checked
from alliumd.pages.templates import make_lookup

FIXTURE = Path(__file__).parent / "fixtures" / "onionoo_details_small.json"
DETAILS, UPTIME, BANDWIDTH = "onionoo_details", "onionoo_uptime", "onionoo_bandwidth"
THYME = "037B6C60DAD4DF32FDA29BF458D5C8C816AA8F3E"           # guard, AROI contact tokelrk.xyz, family of 2
LOOKUP = make_lookup()
PERIODS = ("1M", "6M", "1Y", "5Y")
SPANS = {"1M": ("2026-07-22 12:00:00", "2026-08-21 12:00:00"), "6M": ("2026-02-22 12:00:00", "2026-08-21 12:00:00"),
         "1Y": ("2025-08-23 00:00:00", "2026-08-21 00:00:00"), "5Y": ("2021-08-30 00:00:00", "2026-08-17 00:00:00")}


def load_doc() -> dict:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


# -- hand-made models (the shared interface) ----------------------------------------------------

def _series(values, period):
    """A summary graph (cache/graphs.py) spanning SPANS[period] with ``values``."""
    first, last = (datetime.fromisoformat(t) for t in SPANS[period])
    interval = round((last - first).total_seconds() / (len(values) - 1))
    return {"first": SPANS[period][0], "interval": interval, "values": values}


def _series_json(summary: dict) -> str:
    """A model entry keeps its relay's summary JSON (``series_json``); its series are parsed from it."""
    return json.dumps(summary, separators=(",", ":"))


def uptime_model(fingerprints: list[str]) -> SimpleNamespace:
    relays = {}
    for i, fp in enumerate(fingerprints):
        pct = 99.5 - i % 7
        relays[fp] = {
            "uptime": {"1M": pct, "6M": pct - 1, "1Y": None if i % 5 == 0 else pct - 2, "5Y": None},
            "flags": {"Guard" if i % 2 else "Running": [pct, pct - 3, None, None]},     # 1M, 6M, 1Y, 5Y
            "outlier": "low" if i == 3 else None,
            "series_json": _series_json({"uptime": {p: _series([pct / 100] * 60 + [None] + [0.5] * 29, p)
                                    for p in ("1M", "6M", "1Y")}}),
        }
    network = {"6M": {"count": len(relays), "mean": 95.0, "std": 2.0,
                      "percentiles": {"5": 90.0, "25": 94.0, "50": 96.0, "75": 98.0, "90": 99.0, "95": 99.5,
                                      "99": 100.0}}}
    return SimpleNamespace(published="2026-08-22 11:00:00 UTC", relays=relays, network=network)


def bandwidth_model(fingerprints: list[str]) -> SimpleNamespace:
    relays = {}
    for i, fp in enumerate(fingerprints):
        base = 1_000_000 * (i + 1)
        wave = {p: [round(base * (1 + 0.3 * math.sin(k / 4))) for k in range(31 if p == "1M" else 90)] for p in PERIODS}
        relays[fp] = {
            "read": {p: float(base) for p in PERIODS}, "write": {p: base * 1.02 for p in PERIODS},
            "total_bytes": {"1M": base * 2 * 86400 * 30, "6M": base * 2 * 86400 * 182, "1Y": None, "5Y": None},
            "total_data": base * 2 * 86400 * 182, "total_data_period": "6M",
            "series_json": _series_json({"read": {p: {**_series(wave[p], p), "scale": 1.0} for p in PERIODS},
                         "write": {p: {**_series([v * 1.02 for v in wave[p]], p), "scale": 1.0} for p in PERIODS}}),
            "overload_ratelimits": ({"rate-limit": 1073741824, "burst-limit": 1073741824, "write-count": 44696,
                                     "read-count": 14839, "timestamp": 1787356800000} if i == 0 else None),
            "overload_fd_exhausted": {"timestamp": 1787281200000} if i == 0 else None,
        }
    network = {"total_bytes": {"1M": 10 ** 15, "6M": 6 * 10 ** 15, "1Y": None, "5Y": None}, "read": {}, "write": {}}
    return SimpleNamespace(published="2026-08-22 11:00:00 UTC", relays=relays, network=network)


def make_inputs(doc, *, uptime=None, bandwidth=None) -> RenderInputs:
    """Render inputs like the engine's; hand-made models stand in for the uptime/bandwidth sources."""
    docs = {DETAILS: doc}
    models = {m.name: m for m in site.MODELS}
    for source, name, model in ((UPTIME, "uptime", uptime), (BANDWIDTH, "bandwidth", bandwidth)):
        if model is not None:
            docs[source] = {"hand-made": True}
            models[name] = ModelSpec(name, frozenset({source}), lambda inputs, m=model: m)
    sources = {n: SourceInfo(n, n, True, "2026-08-22 11:00 UTC", False, False) for n in docs}
    return RenderInputs(docs, {n: n for n in docs}, sources, models, {}, None, {"site_title": "Test"}, 0.0)


def render(inputs: RenderInputs, families=("relay",)) -> dict[str, bytes]:
    out = {}
    for family in site.FAMILIES:
        if family.name not in families:
            continue
        for page in family.expand(inputs):
            checked(page)
            assert page.path not in out
            out[page.path] = page_bytes(LOOKUP, page.template, page.content_type,
                                        page.view if page.content_type == "raw" else page.view_model(),
                                        path=page.path, site_title="Test",
                                        sources=inputs.source_line(sorted(family.chrome_sources)), nav=())
    return out


def with_models(doc=None):
    doc = doc or load_doc()
    fps = [r["fingerprint"] for r in doc["relays"]]
    return make_inputs(doc, uptime=uptime_model(fps), bandwidth=bandwidth_model(fps))


def relay_html(pages, fp=THYME) -> str:
    return pages[f"relay/{fp}/index.html"].decode()


# -- HTML checks ---------------------------------------------------------------------------------

SAFE_HREF = re.compile(r"^(?:(\.\./)*[A-Za-z0-9_][A-Za-z0-9_.-]*(/[A-Za-z0-9_][A-Za-z0-9_.-]*)*\.(html|css|atom|txt)"
                       r"|#[A-Za-z0-9_-]+)$")        # a site-relative page, or an anchor on this page
ATTRS = {"lang", "charset", "name", "content", "rel", "href", "class", "scope", "aria-current", "aria-label",
         "type", "title", "datetime",
         "id", "role", "aria-labelledby", "viewbox", "d", "points", "transform", "x", "y", "width", "height"}
VOID = {"meta", "link", "br", "hr", "img", "input", "path", "polyline", "rect"}


class Checker(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.problems, self.hrefs = [], [], []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name not in ATTRS:
                self.problems.append(f"attribute {name!r} on <{tag}>")
            if name == "href":
                self.hrefs.append(value)
                if not SAFE_HREF.match(value or "") or ".." in (value or "").replace("../", ""):
                    self.problems.append(f"href {value!r}")
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_endtag(self, tag):
        if not self.stack or self.stack.pop() != tag:
            self.problems.append(f"unbalanced </{tag}>")


def check_html(html: str) -> Checker:
    checker = Checker()
    checker.feed(html)
    checker.close()
    assert checker.problems == [] and checker.stack == [], checker.problems[:5]
    for svg in re.findall(r"<svg .*?</svg>", html, re.S):        # inline SVG is well-formed XML
        etree.fromstring(svg.encode())
    return checker


# -- without uptime/bandwidth ----------------------------------------------------------------------

def test_relay_pages_from_details_only():
    doc = load_doc()
    pages = render(make_inputs(doc))
    fps = {r["fingerprint"] for r in build_relays(doc).relays}
    assert set(pages) == {f"relay/{fp}/index.{ext}" for fp in fps for ext in ("html", "json")}
    html = relay_html(pages)
    check_html(html)
    for heading in ("Health status", "Connectivity and location", "Flags", "Bandwidth", "Uptime and stability",
                    "History", "Operator and family", "Software and version", "Overload", "Exit policy"):
        assert f"<h2>{heading}</h2>" in html
    assert "No uptime data." in html and "No bandwidth history data." in html
    assert "No bandwidth or uptime history data." in html and "<svg" not in html
    assert "no bandwidth data" in html                      # overload rows that need the bandwidth document
    assert 'href="../../static/charts.css"' in html
    assert 'href="../../contact/tokelrk.xyz/index.html"' in html and "AROI domain: tokelrk.xyz" in html
    assert f'href="../../family/{THYME}/index.html"' in html                 # smallest member names the family
    assert 'href="../../country/in/index.html">India (IN)</a>' in html
    assert 'href="../../as/AS23217/index.html"' in html and 'href="../../flag/guard/index.html">Guard</a>' in html
    assert 'href="../../first-seen/2019-08-22/index.html"' in html


def test_contact_without_aroi_links_by_hash():
    doc = load_doc()
    relay = next(r for r in doc["relays"] if r.get("contact") and not identity.aroi_domain(r["contact"]))
    html = relay_html(render(make_inputs(doc)), relay["fingerprint"])
    assert f'href="../../contact/{identity.contact_hash(relay["contact"])}/index.html"' in html
    no_contact = next(r for r in doc["relays"] if not r.get("contact"))
    html = relay_html(render(make_inputs(doc)), no_contact["fingerprint"])
    assert "No contact information given." in html and "../../contact/" not in html
    assert "No contact information: operators cannot be reached" in html


def test_json_is_the_view_without_chart_geometry_and_wording():
    inputs = with_models()
    pages = render(inputs)
    data = json.loads(pages[f"relay/{THYME}/index.json"])
    assert data["schema"] == RELAY_JSON_SCHEMA
    assert set(data) == {"schema", "published", "relay", "diagnostics", "links", "aroi_domain", "family", "family_note",
                         "percentiles", "uptime", "traffic", "overload", "aroi_validation", "consensus_evaluation",
                         "events", "extras"}
    assert data["published"] == "2026-08-22 11:00:00 UTC"                  # the details publication it shows
    assert data["consensus_evaluation"] == {"available": False}           # no collector source here
    assert data["aroi_validation"]["status"] in ("unknown", "validated", "unauthorized", "misconfigured")
    assert data["aroi_validation"]["validator_available"] is False
    assert data["relay"]["fingerprint"] == THYME and data["aroi_domain"] == "tokelrk.xyz"
    assert all(isinstance(v, int) or v is None for v in data["percentiles"].values())
    assert data["uptime"]["periods"][0] == {"period": "1M", "label": "past month", "uptime": 99.5,
                                            "uptime_text": "99.5%", "flag_uptime": 99.5,
                                            "flag_uptime_text": "same as overall"}
    assert data["traffic"]["total_data_period"] == "6M"
    assert data["traffic"]["total_data_period_label"] == "past 6 months"
    [family_page] = [p for p in site.FAMILIES if p.name == "relay"]
    view = next(p.view_model() for p in family_page.expand(inputs) if p.path == f"relay/{THYME}/index.html")
    assert json.loads(json_bytes({"schema": RELAY_JSON_SCHEMA, "published": data["published"],
                                  **{k: v for k, v in view.items() if k not in ("charts", "shown")}})) == data
    assert view["shown"]["consensus_weight"] == f"{data['relay']['consensus_weight']:,}"     # the page's wording


# -- with uptime and bandwidth ---------------------------------------------------------------------

def test_relay_page_with_uptime_and_bandwidth():
    doc = load_doc()
    pages = render(with_models(doc))
    first = doc["relays"][0]["fingerprint"]                  # i == 0: overloaded in the bandwidth model
    html = relay_html(pages, first)
    check_html(html)
    assert html.count('<figure class="chart">') == 4
    assert 'aria-labelledby="h1M"' in html and "History, past 5 years" in html
    assert "99.5%" in html and "same as overall" in html and "Running flag uptime" in html
    assert "Total data relayed: " in html and "past 6 months" in html
    assert "Hit its bandwidth rate limit" in html and "Ran out of file descriptors" in html
    assert "1,073.7 Mbit/s" not in html and "8.6 Gbit/s / 8.6 Gbit/s" in html and "14,839 / 44,696" in html
    outlier = doc["relays"][3]["fingerprint"]
    html = relay_html(pages, outlier)
    assert "Uptime is a low outlier" in html and "statistical low outlier" in html


def test_rendering_is_deterministic_and_lean():
    first = render(with_models())
    assert render(with_models()) == first
    sizes = sorted(len(body) for path, body in first.items() if path.endswith(".html"))
    # four charts of full 90-point synthetic series (real histories are smoother and shorter);
    # allium's relay page is ~81 kB
    assert sizes[len(sizes) // 2] < 20_000 and sizes[-1] < 24_000, sizes


def test_missing_relay_in_models_and_partial_models():
    doc = load_doc()
    fps = [r["fingerprint"] for r in doc["relays"]]
    inputs = make_inputs(doc, uptime=uptime_model(fps[1:]))          # no bandwidth source, THYME has no uptime
    html = relay_html(render(inputs), fps[0])
    check_html(html)
    assert "No uptime data." in html and "No bandwidth history data." in html
    html = relay_html(render(inputs), fps[1])
    assert html.count('<figure class="chart">') == 3                  # uptime only: 1M, 6M, 1Y


# -- hostile input --------------------------------------------------------------------------------

PAYLOADS = ['<script>alert(1)</script>', '"><img src=x onerror=alert(1)>', "javascript:alert(1)",
            "ciissversion:2 proof:uri-rsa url:<marquee>x<b>evil", "' onmouseover='x", "&amp;<!--", "../../etc/passwd"]


def hostile(value, counter=[0]):
    """Replace every string inside ``value`` (but fingerprints) with a payload, recursively."""
    if isinstance(value, str):
        counter[0] += 1
        return PAYLOADS[counter[0] % len(PAYLOADS)]
    if isinstance(value, list):
        return [hostile(v) for v in value]
    if isinstance(value, dict):
        return {k: (v if k == "fingerprint" else hostile(v)) for k, v in value.items()}
    return value


PART_MARKER = re.compile(r"<!--(?:part [a-z_]+ [0-9a-f]*|/part [a-z_]+)-->")


def test_hostile_strings_in_every_field_are_never_unescaped():
    doc = load_doc()
    doc["relays"] = [hostile(r) for r in doc["relays"]]
    for r in doc["relays"][:3]:
        r["effective_family"] = [r["fingerprint"], "<script>", doc["relays"][5]["fingerprint"]]
        r["family_ids"] = ["<script>alert(1)</script>"]                  # Happy Families key: operator text
        r["alleged_family"] = ["$" + doc["relays"][6]["fingerprint"], "<img src=x>"]
    fps = [r["fingerprint"] for r in doc["relays"]]
    up, bw = uptime_model(fps), bandwidth_model(fps)
    bw.relays[fps[0]]["overload_ratelimits"] = {"timestamp": "<script>", "rate-limit": "<b>evil",
                                                "read-count": "<script>"}
    up.relays[fps[1]]["flag"] = "<script>"
    up.relays[fps[1]]["outlier"] = "<script>"
    pages = render(make_inputs(doc, uptime=up, bandwidth=bw), families=("relay", "health", "index"))
    assert len([p for p in pages if p.endswith("index.html") and p.startswith("relay/")]) == len(fps)
    for path, body in pages.items():
        text = body.decode()
        if path.endswith(".json"):
            json.loads(text)
            continue
        # the only comments a page holds are the renderer's own part markers (pages/fragments.py)
        text = PART_MARKER.sub("", text)
        for needle in ("<script", "<marquee", "<img", "<b>evil", "' onmouseover", "<!--"):
            assert needle not in text, (path, needle)
        checker = check_html(text)
        assert not any("javascript" in h or "passwd" in h for h in checker.hrefs)
    html = relay_html(pages, fps[0])
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html or "&lt;img src=x" in html
    assert "/contact/" in html and re.search(r'href="\.\./\.\./contact/[0-9a-f]{32}/index\.html"', html)


# -- percentiles ----------------------------------------------------------------------------------

def test_percentile_helpers():
    values = [1, 2, 2, 3, 10]
    assert [rank(values, v) for v in (0, 1, 2, 3, 10, 11)] == [0, 0, 20, 60, 80, 100]
    assert rank([], 5) is None and rank(values, None) is None
    assert percentile([1, 2, 3, 4], 50) == 2.5 and percentile([7], 99) == 7 and percentile([], 50) is None
    assert distribution([4, 1, 3, 2], (0, 100)) == {"0": 1, "100": 4} and distribution([]) is None
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 99, 100, 101)] == \
        ["1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "99th", "100th", "101st"]


def test_relay_percentiles_match_a_brute_force_count():
    model = build_relays(load_doc())
    ranks = relay_percentiles(model.relays)
    running = [r for r in model.relays if r["running"]]
    assert set(ranks) == {r["fingerprint"] for r in running}
    for r in running:
        below = sum(1 for o in running if o["consensus_weight"] < r["consensus_weight"])
        assert ranks[r["fingerprint"]]["consensus_weight"] == 100 * below // len(running)
        for pos in ("guard", "middle", "exit"):
            p = r[f"{pos}_probability"]
            eligible = [o[f"{pos}_probability"] for o in running if (o[f"{pos}_probability"] or 0) > 0]
            expected = None if not p else 100 * sum(1 for q in eligible if q < p) // len(eligible)
            assert ranks[r["fingerprint"]][pos] == expected
    html = relay_html(render(make_inputs(load_doc())))
    assert f"({ordinal(ranks[THYME]['consensus_weight'])} percentile)" in html


@pytest.mark.parametrize("name", ["relay_percentiles"])
def test_percentiles_are_a_details_only_model(name):
    [spec] = [m for m in site.MODELS if m.name == name]
    assert spec.inputs == frozenset({DETAILS})
