"""Group pages, listings and the top page rendered the way the renderer does.

Real documents, a hand-made hostile document (HTML/JS payloads, ``../``, NUL,
10 kB strings, bidi controls and lone surrogates in every string field),
determinism, and the incremental-rendering contract: a change to one relay
leaves the views of unrelated groups byte-identical.
"""

from __future__ import annotations

import copy
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import lxml.html
import pytest

from alliumd import paths
from alliumd.model import charts, groups as gm, identity
from alliumd.model.relays import build_relays
from alliumd.pages import common, groups as group_pages, lists as list_pages, pagekey, search as search_pages, site
from alliumd.renderer.build import view_digest
from alliumd.renderer.jobs import page_bytes
from alliumd.pages.registry import ModelSpec, Page, RenderInputs, SourceInfo, checked
from alliumd.pages.templates import make_lookup, template_dir

FIXTURES = Path(__file__).parent / "fixtures"
REAL = FIXTURES / "real"
MIT = "details_search-AS3-MIT_3relays_2021-10-09-1400.json"
LOOKUP = make_lookup()
MINE = [*group_pages.FAMILIES, *list_pages.FAMILIES, *search_pages.FAMILIES]
DETAILS, UPTIME, BANDWIDTH = common.DETAILS, common.UPTIME, common.BANDWIDTH


def small() -> dict:
    return json.loads((FIXTURES / "onionoo_details_small.json").read_text(encoding="utf-8"))


def make_inputs(doc, *, uptime=None, bandwidth=None) -> RenderInputs:
    """The real models, plus hand-made uptime/bandwidth models (the shared interface) when given."""
    models = {m.name: m for m in site.MODELS}
    models["uptime"] = ModelSpec("uptime", frozenset({UPTIME}), lambda inputs: uptime)
    models["bandwidth"] = ModelSpec("bandwidth", frozenset({BANDWIDTH}), lambda inputs: bandwidth)
    sources = {s: SourceInfo(s, s, True, "2026-08-22 11:00 UTC", False, False) for s in (DETAILS, UPTIME, BANDWIDTH)}
    return RenderInputs({DETAILS: doc}, {DETAILS: "d", UPTIME: "u", BANDWIDTH: "b"}, sources, models, {}, None,
                        {"site_title": "Test metrics"}, 0.0)


def expand(inputs: RenderInputs, families=MINE) -> dict[str, tuple[Page, object]]:
    out = {}
    for family in families:
        for page in family.expand(inputs):
            checked(page)
            assert page.path not in out
            out[page.path] = (page, family)
    return out


def render(inputs: RenderInputs, families=MINE) -> dict[str, bytes]:
    out = {}
    for path, (page, family) in expand(inputs, families).items():
        out[path] = page_bytes(LOOKUP, page.template, page.content_type,
                               page.view if page.content_type == "raw" else page.view_model(),
                               path=path, site_title="Test metrics",
                               sources=inputs.source_line(sorted(family.chrome_sources)), nav=())
    return out


def fake_uptime(doc, value=99.5):
    return SimpleNamespace(published="x", network={}, relays={
        r["fingerprint"]: {"uptime": {"1M": None, "6M": value, "1Y": None, "5Y": None}} for r in doc["relays"]})


def fake_bandwidth(doc, total=3_000_000_000):
    return SimpleNamespace(published="x", network={}, relays={
        r["fingerprint"]: {"total_data": total, "total_data_period": "1Y"} for r in doc["relays"]})


# -- HTML checks ----------------------------------------------------------------------------

ATTRS = {"lang", "charset", "name", "content", "rel", "href", "class", "scope", "aria-current", "aria-label",
         "id", "action", "method", "role", "for", "type", "autocomplete", "spellcheck", "maxlength", "src",
         "defer", "data-index", "data-root", "aria-live", "title", "datetime",
         "viewbox", "aria-labelledby", "x", "y", "width", "height"}      # the inline SVG uptime chart
VOID = {"meta", "link", "br", "hr", "img", "input"}
INTERNAL = re.compile(r"^(\.\./)*(index\.html|relays/(all|top)\.html|status\.html|search\.html"
                      r"|static/(style|groups|charts)\.css|static/search\.js|search-index\.json|relay/[0-9A-F]{40}/index\.html"
                      r"|family/[0-9A-F]{40}/index\.html|as/AS[0-9]+/index\.html|country/[a-z]{2}/index\.html"
                      r"|contact/([0-9a-f]{32}|[a-z0-9.-]+)/index\.html|platform/[a-z0-9-]+/index\.html"
                      r"|flag/[a-z0-9]+/index\.html|first-seen/\d{4}-\d\d-\d\d/index\.html"
                      r"|lists/[a-z]+-by-[a-z-]+\.html|network-health\.html|[a-z/-]+\.html"
                      r"|events\.atom|metrics\.txt)$")                                  # the page's own feed, next to it
EXTERNAL = re.compile(r"^https://" + identity.DOMAIN_RE.pattern + "/$")


class Checker(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.problems, self.links, self.scripts = [], [], [], []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name not in ATTRS:
                self.problems.append(f"attribute {name!r} on <{tag}>")
            if name in ("href", "src", "action"):
                self.links.append(value)
                if not (INTERNAL.match(value or "") or (name == "href" and EXTERNAL.match(value or ""))):
                    self.problems.append(f"{name} {value!r}")
        if tag == "script":
            self.scripts.append(dict(attrs).get("src"))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack.pop() != tag:
            self.problems.append(f"unbalanced </{tag}>")

    def handle_data(self, data):
        if self.stack and self.stack[-1] == "script" and data.strip():
            self.problems.append("inline script")


def check_html(body: bytes) -> Checker:
    html = body.decode("utf-8")
    assert "\x00" not in html
    assert html.startswith("<!DOCTYPE html>")
    checker = Checker()
    checker.feed(html)
    checker.close()
    assert checker.problems == [] and checker.stack == [], checker.problems[:5]
    lxml.html.fromstring(body)
    return checker


# -- declarations -----------------------------------------------------------------------------

def test_families_read_exactly_what_they_show():
    fams = {f.name: f for f in MINE}
    d, du, dub = frozenset({DETAILS}), frozenset({DETAILS, UPTIME}), frozenset({DETAILS, UPTIME, BANDWIDTH})
    assert {n: f.inputs for n, f in fams.items()} == {
        "group_static": frozenset(), "group_family": dub | {"aroi"}, "group_contact": dub | {"aroi"}, "group_as": d,
        "group_country": d, "group_platform": d, "group_flag": du, "group_first_seen": d,
        "lists": d, "lists_total_data": frozenset({DETAILS, BANDWIDTH}), "top": du,
        "search_page": d, "search_index": d}   # search_page: its Data line
    for f in MINE:
        # the search page reads nothing but links the listings, so it is written only when they are
        assert f.required == (d if f.inputs or f.name == "search_page" else frozenset())
    registered = {f.name for f in site.FAMILIES}
    assert set(fams) <= registered
    assert {"groups", "group_total_data"} <= {m.name for m in site.MODELS}


# -- real documents ---------------------------------------------------------------------------

def test_small_fixture_pages_paths_and_html():
    doc = small()
    pages = render(make_inputs(doc, uptime=fake_uptime(doc), bandwidth=fake_bandwidth(doc)))
    model = gm.build_groups(build_relays(doc))
    expected = {"static/groups.css", "static/search.js", common.TOP_PATH, common.SEARCH_PATH,
                common.SEARCH_INDEX_PATH}
    for kind, path_of in group_pages.GROUP_PATHS.items():
        for gid in model.groups[kind]:
            expected.add(path_of(gid))
            if kind in group_pages.WITH_JSON:
                expected.add(common.entity_json_path(path_of(gid)))
    for variant in gm.VARIANTS:
        for list_kind in gm.LIST_KINDS:
            expected.add(common.list_path(list_kind, variant.name))
    assert set(pages) == expected
    assert sum(1 for p in pages if p.startswith("lists/")) == 90
    assert sum(1 for p in pages if p.startswith("family/") and p.endswith(".html")) == 6    # one per family
    for path, body in pages.items():
        assert paths.relpath(path) == path
        if path.endswith(".html"):
            check_html(body)
        elif path.endswith(".json"):
            json.loads(body)
    assert pages["static/groups.css"] == (template_dir() / "groups.css").read_bytes()
    assert pages["static/search.js"] == (template_dir() / "search.js").read_bytes()


def test_contact_page_shows_text_links_domain_and_history():
    doc = small()
    pages = render(make_inputs(doc, uptime=fake_uptime(doc), bandwidth=fake_bandwidth(doc)))
    html = pages["contact/tokelrk.xyz/index.html"].decode()
    assert '<a href="https://tokelrk.xyz/" rel="nofollow noopener noreferrer">tokelrk.xyz</a>' in html
    assert "ciissversion:2 proof:uri-rsa email:noc[]tokelrk.xyz" in html
    assert 'href="../../relay/037B6C60DAD4DF32FDA29BF458D5C8C816AA8F3E/index.html">Thyme01</a>' in html
    assert "99.5%" in html and "3 GB (1Y)" in html
    assert 'href="../../static/groups.css"' in html
    view = json.loads(pages["contact/tokelrk.xyz/index.json"])
    assert view["contact"]["aroi_domain"] == "tokelrk.xyz" and view["kind"] == "contact"
    assert view["history"]["uptime_mean"] == "99.5%" and view["relays"][0]["total_data"] == "3 GB"
    # a hashed contact: text only, never a link
    hashed = next(p for p in pages if re.match(r"contact/[0-9a-f]{32}/index\.html$", p))
    hashed_html = pages[hashed].decode()
    assert "AROI domain" not in hashed_html and "https://" not in hashed_html.split("<h2>Contact</h2>")[1].split("</section>")[0]


def test_pages_without_uptime_or_bandwidth_say_so():
    pages = render(make_inputs(small()))
    html = pages["contact/tokelrk.xyz/index.html"].decode()
    assert "no uptime data available" in html and "no bandwidth history available" in html
    assert "no uptime data available" in pages["flag/guard/index.html"].decode()
    assert "No uptime data is available yet" in pages[common.TOP_PATH].decode()
    empty = pages[common.list_path("contacts", "total-data")].decode()
    assert "No bandwidth history is available yet" in empty and "<tbody>" not in empty


def test_family_page_lists_members_and_their_contacts():
    doc = small()
    pages = render(make_inputs(doc))
    model = gm.build_groups(build_relays(doc))
    fid, group = max(model.groups["family"].items(), key=lambda kv: kv[1].size)
    view = json.loads(pages[common.entity_json_path(common.family_path(fid))])
    assert [r["fingerprint"] for r in view["relays"]] == group.fingerprints
    assert view["summary"]["relays"] == group.size
    assert [c["href"] for c in view["related"]] == [common.contact_path(c) for c in sorted(group.contacts)]


def test_lists_are_sorted_and_link_their_groups():
    doc = small()
    inputs = make_inputs(doc, bandwidth=fake_bandwidth(doc))
    pages = expand(inputs)
    page, _ = pages[common.list_path("networks", "bandwidth")]
    view = page.view_model()
    labels = [r["label"] for r, _ in view["rows"]]          # (the kind's shared row, the sorted value)
    model = gm.build_groups(build_relays(doc))
    expected = sorted(model.groups["as"].values(), key=lambda g: (-g.bandwidth, g.id))
    assert labels == [g.label for g in expected]
    assert view["rows"][0][0]["href"] == common.as_path(expected[0].id)
    first_seen, _ = pages[common.list_path("countries", "first-seen")]
    dates = [value for _, value in first_seen.view_model()["rows"]]
    assert dates == sorted(dates)
    total, _ = pages[common.list_path("contacts", "total-data")]
    total = total.view_model()
    assert total["available"] and all(value.endswith("GB") for _, value in total["rows"])


def test_top_page_sorts_by_consensus_weight_and_says_so():
    doc = small()
    pages = expand(make_inputs(doc, uptime=fake_uptime(doc, 97.0)))
    page, _ = pages[common.TOP_PATH]
    weights = [r["consensus_weight"] for r in page.view["rows"]]
    running = [r for r in doc["relays"] if r.get("running")]
    assert weights == sorted(weights, reverse=True) and len(weights) == min(500, len(running))
    assert page.view["measure"] == "consensus weight" and page.view["rows"][0]["uptime"] == "97.0%"
    html = render(make_inputs(doc), [f for f in MINE if f.name == "top"])[common.TOP_PATH].decode()
    assert "Top 500 relays by consensus weight" in html


def test_real_documents_render(tmp_path):
    for path in sorted(REAL.glob("*.json")):
        pages = render(make_inputs(json.loads(path.read_text(encoding="utf-8"))))
        for name, body in pages.items():
            if name.endswith(".html"):
                check_html(body)
            elif name.endswith(".json"):
                json.loads(body)
    mit = render(make_inputs(json.loads((REAL / MIT).read_text(encoding="utf-8"))))
    assert "as/AS3/index.html" in mit and "as/AS3/index.json" in mit
    assert "family/9715C81BA8C5B0C698882035F75C67D6D643DBE3/index.html" in mit
    contacts = b"".join(body for path, body in mit.items() if path.startswith("contact/") and path.endswith(".html"))
    assert b"Jon Proulx &lt;jon AT csail dot mit dot edu&gt;" in contacts


def test_rendering_twice_is_byte_identical():
    doc = small()
    a = render(make_inputs(doc, uptime=fake_uptime(doc), bandwidth=fake_bandwidth(doc)))
    b = render(make_inputs(copy.deepcopy(doc), uptime=fake_uptime(doc), bandwidth=fake_bandwidth(doc)))
    assert a == b


def test_a_change_to_one_relay_leaves_unrelated_views_identical():
    doc = small()
    changed = copy.deepcopy(doc)
    target = changed["relays"][5]
    target["observed_bandwidth"] += 12_345_678
    target["consensus_weight"] += 777
    target["consensus_weight_fraction"] = (target.get("consensus_weight_fraction") or 0) * 1.5
    before, after = expand(make_inputs(doc)), expand(make_inputs(changed))
    assert set(before) == set(after)
    keys = gm.build_groups(build_relays(doc)).relay_keys[target["fingerprint"]]
    touched = {group_pages.group_href(kind, keys[kind]) for kind in ("family", "as", "contact", "country",
                                                                      "platform", "first_seen") if keys[kind]}
    touched |= {group_pages.group_href("flag", fid) for fid, _ in keys["flags"]}
    touched |= {common.entity_json_path(p) for p in touched}
    same = diff = 0
    for path, (page, _) in before.items():
        if not path.split("/")[0] in ("family", "as", "contact", "country", "platform", "flag", "first-seen"):
            continue
        if path in touched:
            diff += view_digest(page, b"") != view_digest(after[path][0], b"")
        else:
            assert view_digest(page, b"") == view_digest(after[path][0], b""), path
            same += 1
    assert same > 100 and diff >= 6


# -- hostile input ----------------------------------------------------------------------------

PAYLOADS = ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "javascript:alert(1)",
            "../../../etc/passwd", "a\x00b", "\u202eevil\u202c\u2067x\u2069", "x" * 10_000,
            "' onmouseover='alert(1)", "\ud800lone", "<marquee>m"]


def hostile_document() -> dict:
    doc = small()

    def poison(value, i):
        if isinstance(value, str):
            return PAYLOADS[i % len(PAYLOADS)] + value[:12] + PAYLOADS[(i + 3) % len(PAYLOADS)]
        if isinstance(value, list):
            return [poison(v, i + j) for j, v in enumerate(value)]
        return value

    keep = {"fingerprint", "first_seen", "last_seen", "last_restarted", "last_changed_address_or_port"}
    for i, r in enumerate(doc["relays"]):
        for key in list(r):
            if key not in keep and key != "effective_family":
                r[key] = poison(r[key], i)
        r["running"] = True
    a, b = doc["relays"][0]["fingerprint"], doc["relays"][1]["fingerprint"]
    doc["relays"][0]["effective_family"] = [a, b, "../../x", "<b>x</b>", "\x00"]
    doc["relays"][1]["effective_family"] = [a, b]
    doc["relays"][2]["contact"] = "ciissversion:2 proof:uri-rsa url:<marquee>x<b>evil"
    doc["relays"][3]["contact"] = "ciissversion:2 proof:uri-rsa url:https://ok-domain.example.org/\u202e"
    doc["relays"][4]["contact"] = "ciissversion:2 proof:dns-rsa url:xn--bcher-kva.example"
    doc["relays"][5]["platform"] = "Tor 0.4.8 on ../../<script>"
    doc["relays"][6]["first_seen"] = "../../../../etc/passwd"
    doc["relays"][7]["as"] = "AS1/../../x"
    doc["relays"][8]["country"] = "../"
    doc["relays"][9]["flags"] = ["Running", "../x", "<script>", "A" * 40]
    return doc


def test_hostile_document_is_escaped_everywhere():
    doc = hostile_document()
    pages = render(make_inputs(doc, uptime=fake_uptime(doc), bandwidth=fake_bandwidth(doc)))
    assert any(p.startswith("contact/xn--bcher-kva.example/") for p in pages)
    assert "family/" + min(doc["relays"][0]["fingerprint"], doc["relays"][1]["fingerprint"]) + "/index.html" in pages
    for path, body in pages.items():
        assert paths.relpath(path) == path and "passwd" not in path and ".." not in path
        if path.endswith(".html"):
            html = body.decode("utf-8")
            for needle in ("<script>", "<marquee", "<img", "\x00", "<b>evil"):
                assert needle not in html, (path, needle)
            checker = check_html(body)
            assert all(s is None or s.endswith("static/search.js") for s in checker.scripts)
            assert not any("javascript" in (link or "") for link in checker.links)
        elif path.endswith(".json"):
            text = body.decode("utf-8")
            json.loads(text)
            assert "\ud800" not in text and "\\u0000" not in text
    html = pages["contact/xn--bcher-kva.example/index.html"].decode()
    assert 'href="https://xn--bcher-kva.example/"' in html
    contact_links = [p for p in pages if p.startswith("contact/")]
    assert not any("marquee" in p for p in contact_links)


def test_large_hostile_strings_are_bounded_in_lists():
    doc = hostile_document()
    pages = render(make_inputs(doc), [f for f in MINE if f.name == "lists"])
    for path, body in pages.items():
        assert len(body) < 200_000, path                 # 10 kB names are cut to labels


# -- the uptime chart of contact and family pages ---------------------------------------------

def chart_row(nickname, pct):
    return {"nickname": nickname, "uptime": gm.uptime_text(pct), "uptime_pct": gm.uptime_value(pct)}


def test_uptime_value_is_rounded_like_the_text_and_bounded():
    assert gm.uptime_value(99.94) == 99.9 and gm.uptime_text(99.94) == "99.9%"
    assert gm.uptime_value(100.04) == 100.0 and gm.uptime_value(-3) == 0.0 and gm.uptime_value(50) == 50.0
    for bad in (None, True, "99", float("nan"), float("inf")):
        assert gm.uptime_value(bad) is None


def test_uptime_chart_is_one_bar_per_relay_capped_and_plain_numbers():
    rows = [chart_row(f"relay{i}", 100 - i) for i in range(60)]
    chart = gm.uptime_chart(rows)
    assert chart == gm.uptime_chart(copy.deepcopy(rows))                     # pure, deterministic
    assert (chart["shown"], chart["relays"]) == (50, 60) and len(chart["rows"]) == 50
    assert [r["label"] for r in chart["rows"]] == [f"relay{i}" for i in range(50)]  # view order: weight desc
    assert chart["rows"][0]["value_text"] == "100.0%" and chart["rows"][49]["value_text"] == "51.0%"
    span = charts.BAR_WIDTH - charts.BAR_LABEL_W - charts.BAR_VALUE_W
    assert float(chart["rows"][0]["w"]) == span and float(chart["rows"][49]["w"]) == pytest.approx(span * 0.51, abs=0.1)
    assert chart["height"] == 50 * charts.BAR_ROW + 4
    for r in chart["rows"]:
        assert all(re.fullmatch(r"\d+(\.\d)?", r[k]) for k in ("y", "text_y", "w", "value_x"))
    json.dumps(chart)                                                          # plain data only
    assert gm.uptime_chart(rows, limit=3)["shown"] == 3


def test_uptime_chart_without_data_and_with_gaps():
    assert gm.uptime_chart([]) is None
    assert gm.uptime_chart([chart_row("a", None), chart_row("b", None)]) is None
    assert gm.uptime_chart([{"nickname": "a", "uptime": "–"}]) is None        # rows without history
    chart = gm.uptime_chart([chart_row("a", 80), chart_row("b", None)])
    assert [(r["label"], r["w"], r["value_text"]) for r in chart["rows"]][1] == ("b", "0", "no data")
    assert "a 80.0%, b no data" in chart["summary"]


def _contact_path(doc, index):
    keys = gm.build_groups(build_relays(doc)).relay_keys[doc["relays"][index]["fingerprint"]]
    return common.contact_path(keys["contact"]), common.family_path(keys["family"]) if keys["family"] else None


def test_contact_and_family_pages_draw_the_uptime_chart_json_stays_plain():
    doc = small()
    pages = render(make_inputs(doc, uptime=fake_uptime(doc, 97.25), bandwidth=fake_bandwidth(doc)))
    html = pages["contact/tokelrk.xyz/index.html"].decode()
    assert 'href="../../static/charts.css"' in html
    tree = lxml.html.fromstring(pages["contact/tokelrk.xyz/index.html"])
    svg, = tree.xpath("//svg")
    assert svg.get("aria-labelledby") == "uptime-chart" and svg.get("role") == "img"
    assert svg.xpath("./title")[0].text == "Uptime per relay, past 6 months: Thyme01 97.2%, Thyme02 97.2%."
    assert [t.text for t in svg.xpath("./text[@class='bl']")] == ["Thyme01", "Thyme02"]
    assert len(svg.xpath("./rect")) == 2
    view = json.loads(pages["contact/tokelrk.xyz/index.json"])
    assert "uptime_chart" not in view and view["relays"][0]["uptime_pct"] == 97.2
    families = [p for p in pages if p.startswith("family/") and p.endswith(".html")]
    assert families and all(b"<svg" in pages[p] for p in families)
    assert not any(b"uptime_chart" in pages[p] for p in pages if p.endswith(".json"))
    # kinds without the chart, and every page without uptime data: no SVG, no chart stylesheet
    for path, body in pages.items():
        if path.endswith(".html") and not path.startswith(("contact/", "family/")):
            assert b"<svg" not in body and b"charts.css" not in body, path
    for path, body in render(make_inputs(doc)).items():
        assert b"<svg" not in body and b"charts.css" not in body, path


def test_uptime_chart_caps_large_operators_and_says_so():
    doc = small()
    contact = "ciissversion:2 url:bigop.example proof:uri-rsa"
    clones = [{**r, "fingerprint": f"{i + 1:040X}", "effective_family": []} for i, r in enumerate(doc["relays"])]
    doc["relays"] += clones
    for r in doc["relays"]:
        r["contact"] = contact
    pages = render(make_inputs(doc, uptime=fake_uptime(doc), bandwidth=fake_bandwidth(doc)),
                   [f for f in MINE if f.name == "group_contact"])
    html = next(body for p, body in pages.items() if p.endswith(".html")).decode()
    n = len(doc["relays"])
    assert n > gm.UPTIME_CHART_LIMIT
    assert html.count("<rect ") == gm.UPTIME_CHART_LIMIT
    assert f"shows the 50 relays with the most consensus weight of {n}" in html


def test_contact_keys_cover_the_chart_and_unchanged_contacts_are_skipped():
    doc = small()
    index = next(i for i, r in enumerate(doc["relays"]) if r.get("contact"))
    path, _ = _contact_path(doc, index)
    fp = doc["relays"][index]["fingerprint"]

    def keyed(uptime):
        pages = expand(make_inputs(doc, uptime=uptime, bandwidth=fake_bandwidth(doc)),
                       [f for f in MINE if f.name == "group_contact"])
        return {p: pagekey.derive(page.view.fn, page.view.args) for p, (page, _) in pages.items()}, pages

    base, pages = keyed(fake_uptime(doc))
    again, _ = keyed(fake_uptime(doc))
    assert base == again and all(base.values())
    # the HTML page's key is the digest of the JSON view, and its chart is a function of that view
    page, _ = pages[path]
    assert page.view_model()["uptime_chart"] == gm.uptime_chart(pages[common.entity_json_path(path)][0]
                                                                  .view_model()["relays"])
    # an uptime change too small to show changes no key; a visible one changes only that contact's keys
    tiny = fake_uptime(doc)
    tiny.relays[fp] = {"uptime": {"6M": 99.51}}
    assert keyed(tiny)[0] == base
    shown = fake_uptime(doc)
    shown.relays[fp] = {"uptime": {"6M": 42.0}}
    after, pages_after = keyed(shown)
    changed = {p for p in base if base[p] != after[p]}
    assert changed == {path, common.entity_json_path(path)}
    values = [r["value_text"] for r in pages_after[path][0].view_model()["uptime_chart"]["rows"]]
    assert "42.0%" in values


def test_hostile_nicknames_in_the_chart_are_escaped_text():
    doc = hostile_document()
    pages = render(make_inputs(doc, uptime=fake_uptime(doc), bandwidth=fake_bandwidth(doc)))
    titles = []
    for path, body in pages.items():
        if path.startswith(("contact/", "family/")) and path.endswith(".html"):
            for svg in lxml.html.fromstring(body).xpath("//svg"):
                titles.append(svg.xpath("./title")[0].text)
                assert not svg.xpath(".//*[not(self::title or self::text or self::rect)]")
    assert titles and any("<script>" in t or "<img" in t for t in titles)    # shown as text, not markup


def test_listing_keys_change_exactly_when_a_listing_does():
    """Listings are keyed pages: unchanged order, values and rows keep the key (nothing is built)."""
    def pages(doc):
        return {p: page for p, (page, _) in expand(make_inputs(doc), list_pages.FAMILIES[:1]).items()}

    def key(page):
        return pagekey.derive(page.view.fn, page.view.args)

    doc = small()
    before = pages(doc)
    renamed = copy.deepcopy(doc)
    renamed["relays"][0]["nickname"] = "SomethingElse"        # only family labels (member nicknames) show it
    faster = copy.deepcopy(doc)
    faster["relays"][0]["observed_bandwidth"] = 10 ** 10
    for changed, expected in ((renamed, set()), (faster, {common.list_path("networks", "bandwidth")})):
        after = pages(changed)
        moved = {p for p in after if key(after[p]) != key(before[p])}
        assert expected <= moved
        if changed is renamed:
            assert moved and all(p.startswith("lists/families-") for p in moved)
        for path in after:      # a key is kept exactly when the view is the same
            same_view = after[path].view_model() == before[path].view_model()
            assert same_view == (path not in moved), path
