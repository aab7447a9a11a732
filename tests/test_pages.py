"""Page families rendered end to end: real documents, hostile documents, determinism, chrome."""

from __future__ import annotations

import importlib.util
import json

from lxml import etree
from prometheus_client.openmetrics.parser import text_string_to_metric_families
import re
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from alliumd import paths
from alliumd.pages import site
from alliumd.renderer.build import json_bytes
from alliumd.renderer.jobs import page_chrome
from alliumd.renderer.registry import STATUS_INPUT, Registry, RenderInputs, SourceInfo, checked

REPO = Path(__file__).resolve().parents[1]
REAL = Path(__file__).parent / "fixtures" / "real"
MIT = "details_search-AS3-MIT_3relays_2021-10-09-1400.json"
GABELMOO_2014 = "details_lookup-F2044413DAC2E02E3D6BCF4735A19BCA1DE97281_2014_challenger.json"
BRIDGE_2014 = "details_lookup-DE6397A047ABE5F78B4C87AF725047831B221AAB_2014_challenger.json"
NOEXIT = "9715C81BA8C5B0C698882035F75C67D6D643DBE3"
EXIT = "A53C46F5B157DD83366D45A8E99A244934A14C46"


def _ensure_templates_package() -> None:
    """In a source checkout (no install) ``alliumd.templates`` is the top-level templates/ dir."""
    try:
        import alliumd.templates  # noqa: F401
    except ModuleNotFoundError:
        spec = importlib.util.spec_from_file_location(
            "alliumd.templates", REPO / "templates" / "__init__.py",
            submodule_search_locations=[str(REPO / "templates")])
        module = importlib.util.module_from_spec(spec)
        sys.modules["alliumd.templates"] = module
        spec.loader.exec_module(module)


_ensure_templates_package()
from alliumd.renderer.templates import make_lookup, template_dir  # noqa: E402

LOOKUP = make_lookup()
NAV = Registry(site.FAMILIES, site.MODELS).nav(lambda source: True)


def details_source(*, sample=False, stale=False, available=True) -> SourceInfo:
    return SourceInfo("onionoo_details", "Onionoo details", available, "2021-10-09 14:00 UTC",
                      sample, stale)


def make_inputs(doc, *, status=None, source=None) -> RenderInputs:
    sources = {"onionoo_details": source or details_source()}
    return RenderInputs({"onionoo_details": doc}, {"onionoo_details": "hash"}, sources,
                        {m.name: m for m in site.MODELS}, {}, status, {"site_title": "Test metrics"}, 0.0)


def render_site(inputs: RenderInputs) -> dict[str, bytes]:
    """Expand every family and render each page the way the renderer does."""
    out: dict[str, bytes] = {}
    for family in site.FAMILIES:
        for page in family.expand(inputs):
            checked(page)
            assert page.path not in out
            if page.content_type == "raw":
                out[page.path] = page.view["body"]
                continue
            if page.content_type == "json":
                out[page.path] = json_bytes(page.view_model())
                continue
            chrome = page_chrome(page.path, inputs.settings["site_title"],
                                 inputs.source_line(sorted(family.inputs)), NAV)
            out[page.path] = LOOKUP.get_template(page.template).render(chrome=chrome, **page.view_model())
    return out


def load(name: str) -> dict:
    return json.loads((REAL / name).read_text(encoding="utf-8"))


# -- HTML checks --------------------------------------------------------------------------

VOID = {"meta", "link", "br", "hr", "img", "input"}
ALLOWED_ATTRS = {"lang", "charset", "name", "content", "rel", "href", "class", "scope", "aria-current", "id",
                 "role", "aria-label", "aria-labelledby", "aria-hidden", "viewbox", "d", "points", "transform",
                 "x", "y", "x1", "x2", "y1", "y2", "width", "height", "text-anchor", "colspan", "rowspan",
                 "title", "type", "for", "action", "method", "value", "placeholder", "src", "defer",
                 "autocomplete", "data-index", "open", "xmlns", "focusable", "dir", "fill", "stroke", "r",
                 "cx", "cy", "preserveaspectratio", "dominant-baseline", "font-size", "stroke-width",
                 "stroke-dasharray", "opacity", "fill-opacity", "datetime", "start", "lang", "hidden",
                 "for", "inputmode", "spellcheck", "minlength", "maxlength", "size", "rx", "ry", "cls",
                 "vector-effect", "stroke-linejoin", "stroke-linecap", "clip-path", "aria-live", "data-root",
                 "role", "tabindex", "aria-describedby"}
# every link is a site-relative page, stylesheet or script, an in-page anchor, or an https AROI link
HREF_RE = re.compile(r"^((\.\./)*[A-Za-z0-9_-][A-Za-z0-9_./-]*\.(html|css|js|json|atom|txt)(#[A-Za-z0-9_-]+)?"
                     r"|#[A-Za-z0-9_-]+|https://[a-z0-9.-]+/)$")


class Checker(HTMLParser):
    """Tag balance, and every attribute name/value is one the templates write themselves."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name not in ALLOWED_ATTRS:
                self.problems.append(f"attribute {name!r} on <{tag}>")
            if name == "href":
                self.hrefs.append(value)
                if not HREF_RE.match(value or ""):
                    self.problems.append(f"href {value!r}")
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack.pop() != tag:
            self.problems.append(f"unbalanced </{tag}>")


def check_html(html: str) -> Checker:
    assert html.startswith("<!DOCTYPE html>\n<html lang=\"en\">")
    assert '<meta charset="utf-8">' in html
    checker = Checker()
    checker.feed(html)
    checker.close()
    assert checker.problems == [] and checker.stack == []
    return checker


# -- declarations -------------------------------------------------------------------------

def test_declarations():
    families = {f.name: f for f in site.FAMILIES}
    assert {"static", "index", "relays_all", "relay", "status", "health"} <= set(families)
    assert families["static"].inputs == frozenset()
    assert families["relays_all"].inputs == families["relays_all"].required == frozenset({"onionoo_details"})
    # the home page carries the AROI leaderboards: it reads what they read, and needs only details
    assert families["index"].inputs == {"onionoo_details", "onionoo_uptime", "onionoo_bandwidth", "aroi"}
    assert families["index"].required == frozenset({"onionoo_details"})
    assert families["relay"].required == frozenset({"onionoo_details"})
    # relay pages also show their votes and AROI status, but only the Onionoo sources in their chrome
    assert families["relay"].inputs == {"onionoo_details", "onionoo_uptime", "onionoo_bandwidth", "collector", "aroi"}
    assert families["relay"].chrome_sources == {"onionoo_details", "onionoo_uptime", "onionoo_bandwidth"}
    assert families["status"].inputs == frozenset({STATUS_INPUT}) and not families["status"].required
    models = {m.name: m for m in site.MODELS}
    assert models["relays"].inputs == frozenset({"onionoo_details"})
    assert models["uptime"].inputs == frozenset({"onionoo_uptime"})
    assert models["bandwidth"].inputs == frozenset({"onionoo_bandwidth"})


# -- real documents -----------------------------------------------------------------------

def test_real_document_renders_every_page():
    pages = render_site(make_inputs(load(MIT)))
    assert {"static/style.css", "index.html", "relays/all.html", "status.html",
            *(f"relay/{fp}/index.html" for fp in (EXIT, NOEXIT, "9695DFC35FFEB861329B9F1AB04C46397020CE31"))
            } <= set(pages)
    assert pages["static/style.css"] == (template_dir() / "style.css").read_bytes()
    for path, body in pages.items():
        assert paths.relpath(path) == path
        if path.endswith(".html"):
            check_html(body.decode("utf-8"))
    index = pages["index.html"].decode()
    assert f'href="relay/{EXIT}/index.html">csailmitexit</a>' in index
    assert 'href="relays/all.html"' in index and 'href="status.html"' in index
    assert index.index("csailmitexit") < index.index("csailmitnoexit") < index.index("moria1")
    all_page = pages["relays/all.html"].decode()
    assert f'href="../relay/{NOEXIT}/index.html">csailmitnoexit</a>' in all_page
    assert 'href="../static/style.css"' in all_page


def test_relay_page_content_and_family_links():
    pages = render_site(make_inputs(load(MIT)))
    page = pages[f"relay/{NOEXIT}/index.html"].decode()
    assert 'href="../../static/style.css"' in page and 'href="../../index.html"' in page
    assert f'<a href="../../relay/{EXIT}/index.html">csailmitexit</a>' in page
    assert "438.9 Mbit/s" in page and "Tor 0.4.5.7 on Linux" in page
    assert "Jon Proulx &lt;jon AT csail dot mit dot edu&gt;" in page      # contact: text only
    assert "2021-09-30 17:30:31 UTC (8 d 20 h before the data was published)" in page
    exit_page = pages[f"relay/{EXIT}/index.html"].decode()
    assert "reject *:6881-6999" in exit_page and "128.31.0.13" in exit_page


def test_family_member_missing_from_document_is_plain_text():
    doc = load(MIT)
    doc["relays"][0]["effective_family"].append("E" * 40)
    page = render_site(make_inputs(doc))["relay/9695DFC35FFEB861329B9F1AB04C46397020CE31/index.html"].decode()
    assert f'<span class="fp">{"E" * 40}</span>' in page
    assert f'relay/{"E" * 40}/' not in page


def test_2014_and_bridge_only_documents_render():
    pages = render_site(make_inputs(load(GABELMOO_2014)))
    page = pages["relay/F2044413DAC2E02E3D6BCF4735A19BCA1DE97281/index.html"].decode()
    assert "AS24900 QSC AG" in page and "Germany (DE)" in page
    check_html(page)
    empty = render_site(make_inputs(load(BRIDGE_2014)))
    assert not any(p.startswith("relay/") for p in empty)
    assert "No running relays" in empty["index.html"].decode()


def test_rendering_is_deterministic():
    first = render_site(make_inputs(load(MIT)))
    second = render_site(make_inputs(load(MIT)))
    assert first == second


# -- chrome -------------------------------------------------------------------------------

@pytest.mark.parametrize("sample,stale", [(False, False), (True, False), (False, True), (True, True)])
def test_chrome_states_source_time_and_markers(sample, stale):
    pages = render_site(make_inputs(load(MIT), source=details_source(sample=sample, stale=stale)))
    for path in ("index.html", "relays/all.html", f"relay/{EXIT}/index.html"):
        html = pages[path].decode()
        assert "Onionoo details, published 2021-10-09 14:00 UTC" in html
        assert ("sample data" in html) is sample
        assert (">stale<" in html) is stale


def test_chrome_marks_unavailable_source():
    html = render_site(make_inputs(load(MIT), source=details_source(available=False)))["index.html"].decode()
    assert '<span class="badge warn">no data yet</span>' in html
    off = details_source(available=False)
    off = SourceInfo(off.name, off.label, False, None, False, False, enabled=False)
    html = render_site(make_inputs(load(MIT), source=off))["index.html"].decode()
    assert '<span class="badge warn">disabled</span>' in html


def test_current_page_is_marked_in_nav():
    pages = render_site(make_inputs(load(MIT)))
    assert '<a href="../relays/all.html" aria-current="page">' in pages["relays/all.html"].decode()
    assert 'aria-current' not in pages[f"relay/{EXIT}/index.html"].decode()


# -- hostile input ------------------------------------------------------------------------

HOSTILE_NICK = "<script>alert(1)</script>"
HOSTILE_CONTACT = 'ciissversion:2 url:<marquee>x<b>evil proof:uri-rsa "onmouseover=x'
HOSTILE_PLATFORM = 'Tor 0.4.8.9 on "Linux" javascript:alert(1) <img src=x onerror=alert(1)>'
A, B, C = "A" * 40, "B" * 40, "C" * 40


def hostile_document() -> dict:
    evil = '"><b>evil</b><script>x</script>'
    return {
        "version": "8.0", "relays_published": "2026-08-22 11:00:00",
        "relays": [
            {"nickname": HOSTILE_NICK, "fingerprint": A, "contact": HOSTILE_CONTACT,
             "platform": HOSTILE_PLATFORM, "version": '"><script>', "version_status": evil,
             "or_addresses": ['<script>:1', '[::1]:"onmouseover=x'], "exit_addresses": [evil],
             "dir_address": "javascript:alert(1)", "verified_host_names": ["<marquee>host"],
             "flags": ["Running", "<script>", "Exit"], "running": True,
             "country": "<s", "country_name": "<marquee>Land", "as": "AS1<script>", "as_name": evil,
             "consensus_weight": 10, "exit_policy": ['accept *:80"><script>', "reject *:*"],
             "exit_policy_summary": {"accept": ["<b>evil", "80"]},
             "exit_policy_v6_summary": {"reject": ['"onmouseover=x']},
             "effective_family": [A, B, C, "<script>", "../../etc/passwd"],
             "first_seen": "<script>", "last_seen": "2026-08-22 11:00:00",
             "overload_general_timestamp": 1755860400000},
            {"nickname": "javascript:alert(1)", "fingerprint": B, "running": True,
             "flags": ["Running", "Guard"], "consensus_weight": 5, "contact": evil,
             "effective_family": [A, B]},
            {"nickname": "escape", "fingerprint": "../../../etc/passwd", "running": True},
            {"nickname": "escape2", "fingerprint": "<script>", "running": True},
        ],
        "bridges": [{"nickname": HOSTILE_NICK, "hashed_fingerprint": A}],
    }


HOSTILE_STATUS = {
    "daemon": {"running": True, "pid": 424242},
    "renderer": {"state": "<script>", "last_render": "<b>evil", "last_duration": "x",
                 "pages_written": 3, "pid": 434343, "rss": 987654321, "last_error": HOSTILE_CONTACT},
    "sources": {"onionoo_details": {"label": "<marquee>", "enabled": True, "state": "idle",
                                    "pid": 454545, "rss": 123456789, "last_error": HOSTILE_NICK,
                                    "last_error_at": "2026-08-22T11:00:00Z", "failures": 2,
                                    "data_time": "2026-08-22T11:00:00Z", "source": "cache",
                                    "stale": True}},
}


def test_hostile_document_is_escaped_everywhere():
    pages = render_site(make_inputs(hostile_document(), status=HOSTILE_STATUS))
    assert set(p for p in pages if p.startswith("relay/")) == {f"relay/{A}/index.html", f"relay/{B}/index.html",
                                                               f"relay/{A}/index.json", f"relay/{B}/index.json",
                                                               f"relay/{A}/events.atom", f"relay/{B}/events.atom",
                                                               f"relay/{A}/metrics.txt", f"relay/{B}/metrics.txt"}
    for path, body in pages.items():
        assert paths.relpath(path) == path
        if path.endswith(".atom"):                  # well-formed XML whatever the nicknames hold
            feed = etree.fromstring(body if isinstance(body, bytes) else body.encode())
            assert feed.tag == "{http://www.w3.org/2005/Atom}feed"
            assert b"<script" not in (body if isinstance(body, bytes) else body.encode())
        if path.endswith("metrics.txt"):            # valid OpenMetrics whatever the relay's strings hold
            text = body if isinstance(body, str) else body.decode()
            assert list(text_string_to_metric_families(text)) and text.endswith("# EOF\n")
        if not path.endswith(".html"):
            continue
        html = body.decode("utf-8").replace('<script src="static/search.js" defer></script>', "")
        for needle in ("<script", "<marquee", "<b>evil", "<img", '"onmouseover'):
            assert needle not in html, (path, needle)
        checker = check_html(html)              # no foreign attributes, every href a known page
        assert not any("javascript" in h for h in checker.hrefs)
    relay = pages[f"relay/{A}/index.html"].decode()
    assert "&lt;script&gt;alert(1)&lt;/s" in relay            # the nickname, escaped and capped at 19
    assert "url:&lt;marquee&gt;x&lt;b&gt;evil proof:uri-rsa &#34;onmouseover=x" in relay
    assert "javascript:alert(1)" in relay                      # as text, never as a link target
    assert f'<a href="../../relay/{B}/index.html">javascript:alert(1)</a>' in relay
    assert f'<span class="fp">{C}</span>' in relay             # family member without a page
    assert "etc/passwd" not in relay


def test_status_page_shows_no_pids_or_rss_and_tolerates_missing_keys():
    html = render_site(make_inputs(load(MIT), status=HOSTILE_STATUS))["status.html"].decode()
    for volatile in ("424242", "434343", "454545", "987654321", "123456789"):
        assert volatile not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "2026-08-22 11:00:00 UTC" in html
    assert "cache" in html and ">stale<" in html
    for status in (None, {}, {"sources": {"x": None}, "renderer": [], "daemon": "up"}):
        check_html(render_site(make_inputs(load(MIT), status=status))["status.html"].decode())


def test_new_user_details_units_separators_plurals_columns_and_data_line():
    """Issue 14 item 7: what a first reader trips over on the pages, checked on the rendered HTML."""
    doc = load(MIT)
    doc["relays"][0]["consensus_weight"] = 1234567
    doc["relays"][1]["running"] = False                  # down, but its last consensus flags say Running
    down_fp = doc["relays"][1]["fingerprint"]
    pages = {k: v.decode() for k, v in render_site(make_inputs(doc)).items() if k.endswith(".html")}
    # thousands separators for consensus weights in every table that shows them
    for path in ("relays/all.html", "relays/top.html", "as/AS3/index.html"):
        assert ">1,234,567<" in pages[path] and ">1234567<" not in pages[path], path
    # a down relay is shown without the Running flag, and is not on the Running flag page
    assert "Running" not in pages[f"relay/{down_fp}/index.html"].split("<h2>Flags")[-1].split("</section>")[0]
    assert down_fp not in pages.get("flag/running/index.html", "")
    # a listing sorted by observed bandwidth does not repeat it in a second column
    listing = pages["lists/networks-by-bandwidth.html"]
    header = listing.split("<thead>")[1].split("</thead>")[0]
    assert header.count("Observed") == 1 and "Weight share" in header
    by_weight = pages["lists/networks-by-consensus-weight.html"].split("<thead>")[1].split("</thead>")[0]
    assert "Weight share" not in by_weight and "Observed" in by_weight
    row = listing.split('<tbody class="ranked">')[1].split("</tr>")[0]
    assert row.count("<td") == header.count("<th")
    # one entry is "1 entry", not "1 entries"; rates are in Mbit/s, never MB/s
    one = pages["lists/countries-by-bandwidth.html"]
    assert "1 entry," in one and "1 entries" not in one
    assert not any("MB/s" in html for html in pages.values())
    # search.html names the data its index was built from
    assert "Onionoo details, published 2021-10-09 14:00 UTC" in pages["search.html"]


def test_counted_and_relative_times():
    from datetime import datetime, timedelta, timezone

    from alliumd.model import format as fmt
    assert (fmt.counted(1, "relay"), fmt.counted(2, "relay"), fmt.counted(1000, "entry", "entries")) == \
        ("1 relay", "2 relays", "1,000 entries")
    t = datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert fmt.ago(t, t) == "when the data was published"
    assert fmt.ago(t - timedelta(days=2), t) == "2 d 0 h before the data was published"
    assert fmt.ago(t + timedelta(hours=1), t) == "after the data was published"


def test_overview_comes_before_the_leaderboards_and_status_words_do_not_break():
    """Issue 14 item 6: the index put 19 leaderboards before the network overview; status.html broke "backoff"."""
    pages = render_site(make_inputs(load(MIT), status={"sources": {"onionoo_details": {
        "enabled": True, "state": "backoff", "source": "cache", "failures": 3}}}))
    index = pages["index.html"].decode()
    overview = [index.index(h) for h in ("<h2>Relays</h2>", "<h2>Running relays by role</h2>",
                                         "<h2>Top relays by consensus weight</h2>")]
    assert overview == sorted(overview) and overview[-1] < index.index("<h2>AROI operator leaderboards</h2>")
    status = pages["status.html"].decode()
    assert '<td class="nw">backoff</td>' in status and '<td class="nw">cache</td>' in status
    css = (template_dir() / "style.css").read_text()
    assert ".list td.nw { white-space: nowrap; overflow-wrap: normal; }" in css
