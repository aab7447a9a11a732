"""The search index, the search page and search.js (run under node with a tiny DOM stand-in)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pytest

from alliumd import paths
from alliumd.model import groups as gm, identity
from alliumd.model.relays import build_relays
from alliumd.model.search import build_search_index, relay_ips
from alliumd.pages import common, search as search_pages
from alliumd.renderer.build import json_bytes
from alliumd.pages.templates import template_dir

from test_group_pages import check_html, hostile_document, make_inputs, render, small

RELAY_KEYS = {"f", "n", "ip", "a", "c", "as", "cc", "fam"}


def index_of(doc: dict) -> dict:
    relays = build_relays(doc)
    return build_search_index(relays, gm.build_groups(relays))


def test_an_unchanged_relay_keeps_its_entry_and_the_index_equals_a_fresh_one():
    """``memo``/``previous``: entries of relays whose view, keys and row are the same objects are reused."""
    from alliumd.model.relays import build_relays_lines
    doc = small()
    envelope = {k: v for k, v in doc.items() if k != "relays"}
    lines = [json.dumps(r).encode() for r in doc["relays"]]
    first_relays = build_relays_lines(envelope, lines)
    first_groups = gm.build_groups(first_relays)
    memo: dict = {}
    first = build_search_index(first_relays, first_groups, None, memo)
    renamed = dict(doc["relays"][0], nickname="Renamed")
    lines2 = [json.dumps(renamed).encode(), *lines[1:]]
    relays = build_relays_lines(envelope, lines2, first_relays)
    groups = gm.build_groups(relays, first_groups)
    again = build_search_index(relays, groups, memo, {})
    assert again == build_search_index(relays, groups)
    old = {e["f"]: e for e in first["relays"]}
    for e in again["relays"]:
        assert (e is old[e["f"]]) == (e["f"] != renamed["fingerprint"])
    assert {e["f"]: e for e in again["relays"]}[renamed["fingerprint"]]["n"] == "Renamed"


def test_index_schema_and_content():
    doc = small()
    index = index_of(doc)
    relays = build_relays(doc)
    assert set(index) == {"meta", "relays", "families", "as_names", "countries", "contacts"}
    assert index["meta"] == {"version": 1, "published": "2026-08-22 11:00:00 UTC",
                             "relays": len(relays.relays), "families": 6}
    assert [e["f"] for e in index["relays"]] == sorted(r["fingerprint"] for r in relays.relays)
    by_fp = {e["f"]: e for e in index["relays"]}
    for r in relays.relays:
        e = by_fp[r["fingerprint"]]
        assert set(e) <= RELAY_KEYS and {"f", "n", "ip"} <= set(e)
        assert e["n"] == r["nickname"]
        assert e.get("c") == identity.contact_id(r["contact"])
        assert e.get("a") == identity.aroi_domain(r["contact"])
        assert e.get("as") == r["as_number"] and e.get("cc") == r["country"]
        for key in ("c", "fam", "as", "cc"):
            if key in e:
                assert paths.relpath(e[key]) == e[key]
    thyme = by_fp["037B6C60DAD4DF32FDA29BF458D5C8C816AA8F3E"]
    assert thyme["a"] == "tokelrk.xyz" and thyme["c"] == "tokelrk.xyz" and thyme["ip"] == ["91.205.230.113"]
    assert thyme["fam"] == "037B6C60DAD4DF32FDA29BF458D5C8C816AA8F3E"
    family = next(f for f in index["families"] if f["id"] == thyme["fam"])
    assert family["sz"] == 2 and "Thyme01" in family["nn"]
    assert index["as_names"]["AS23217"] == "Marmiselck Systems" and index["countries"]["in"] == "India"
    assert "xmr:" in index["contacts"]["tokelrk.xyz"]
    assert all(len(t) <= 160 for t in index["contacts"].values())


def test_relay_ips_are_normalised_and_unique():
    relay = {"or_addresses": ["1.2.3.4:9001", "[2001:DB8:0:0::1]:443", "bogus:1", "[::1"],
             "exit_addresses": ["1.2.3.4", "5.6.7.8", "<script>"]}
    assert relay_ips(relay) == ["1.2.3.4", "2001:db8::1", "5.6.7.8"]


def test_index_is_compact_deterministic_json_even_for_hostile_documents():
    doc = hostile_document()
    data = json_bytes(index_of(doc))
    assert data == json_bytes(index_of(hostile_document()))
    text = data.decode("utf-8")
    parsed = json.loads(text)
    assert "\\u0000" not in text and "\ud800" not in text and ": " not in text[:200]
    for entry in parsed["relays"]:
        for key in ("c", "fam", "as", "cc"):
            if key in entry:
                assert paths.relpath(entry[key]) == entry[key]
        assert len(entry["n"]) <= 40


def test_search_page_works_without_javascript():
    pages = render(make_inputs(small()), search_pages.FAMILIES)
    html = pages[common.SEARCH_PATH].decode()
    checker = check_html(pages[common.SEARCH_PATH])
    assert checker.scripts == ["static/search.js"]
    assert '<form id="search-form" class="search" action="search.html" method="get"' in html
    assert 'data-index="search-index.json"' in html and "<noscript>" in html
    for list_kind in gm.LIST_KINDS:
        assert f'href="{common.list_path(list_kind, "bandwidth")}"' in html
    assert json.loads(pages[common.SEARCH_INDEX_PATH])["meta"]["version"] == 1


def test_script_builds_results_without_html_parsing():
    source = (template_dir() / "search.js").read_text(encoding="utf-8")
    js = re.sub(r"/\*.*?\*/", "", source, flags=re.S)          # the code, without its comments
    for forbidden in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "Function(",
                      "http://", "https://", "onclick", "setAttribute(\"on"):
        assert forbidden not in js, forbidden
    assert "textContent" in js and "createElement" in js


# -- the script itself, under node --------------------------------------------------------

NODE_HARNESS = r"""
const fs = require("fs");
const script = fs.readFileSync(process.argv[2], "utf8");
const index = JSON.parse(fs.readFileSync(process.argv[3], "utf8"));
const queries = JSON.parse(process.argv[4]);
class El {
  constructor(tag) { this.tagName = tag; this.children = []; this.attrs = {}; this.textContent = ""; this.className = ""; }
  appendChild(c) { this.children.push(c); return c; }
  removeChild(c) { this.children.splice(this.children.indexOf(c), 1); }
  get firstChild() { return this.children[0] || null; }
  setAttribute(k, v) { this.attrs[k] = String(v); }
  getAttribute(k) { return k in this.attrs ? this.attrs[k] : null; }
  addEventListener(t, f) { this["on_" + t] = f; }
  set innerHTML(v) { throw new Error("innerHTML used"); }
}
const els = {"search-form": new El("form"), q: new El("input"), results: new El("div"), "search-status": new El("p")};
els["search-form"].attrs = {"data-root": "", "data-index": "search-index.json"};
global.document = {getElementById: id => els[id] || null, createElement: t => new El(t)};
const overFile = process.env.SEARCH_PROTOCOL === "file:";
global.window = {fetch: true, location: {search: "", protocol: process.env.SEARCH_PROTOCOL || "http:"},
                 history: {replaceState() {}}};
// a browser refuses fetch() of a file:// URL with "Failed to fetch"
global.fetch = overFile ? async () => { throw new TypeError("Failed to fetch"); }
                        : async () => ({ok: true, json: async () => index});
eval(script);
const text = el => el.textContent + el.children.map(text).join("");
const snapshot = () => ({status: els["search-status"].textContent, sections: els.results.children.map(sec => ({
  title: sec.children[0].textContent,
  items: sec.children[1].children.map(li => ({href: li.children[0].attrs.href || null, tag: li.children[0].tagName,
                                             text: text(li.children[0]),
                                             detail: li.children[1] ? li.children[1].textContent : null}))}))});
const results = {};
(async () => {
  await new Promise(resolve => setTimeout(resolve, 5));
  results[""] = snapshot();             // the page as loaded, before anyone types
  for (const q of queries) {            // type the query and submit the form, as a user would
    els.q.value = q;
    els["search-form"].on_submit({preventDefault() {}});
    await new Promise(resolve => setTimeout(resolve, 5));
    results[q] = snapshot();
  }
  process.stdout.write(JSON.stringify(results));
})();
"""


@pytest.fixture(scope="module")
def run_search(tmp_path_factory):
    """Run search.js under node on an index built from ``doc`` for each query; {query: results}."""
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        pytest.skip("node is not installed")
    tmp = tmp_path_factory.mktemp("search")
    harness = tmp / "harness.js"
    harness.write_text(NODE_HARNESS)

    def run(doc: dict, queries: list[str], protocol: str = "http:") -> dict:
        index = tmp / "index.json"
        index.write_bytes(json_bytes(index_of(doc)))
        env = {**os.environ, "SEARCH_PROTOCOL": protocol}
        proc = subprocess.run([node, str(harness), str(template_dir() / "search.js"), str(index), json.dumps(queries)],
                              capture_output=True, text=True, timeout=30, env=env)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)

    return run


def section(result: dict, title: str) -> list[dict]:
    for s in result["sections"]:
        if s["title"].startswith(title):
            return s["items"]
    return []


THYME = "037B6C60DAD4DF32FDA29BF458D5C8C816AA8F3E"
RELAY_QUERIES = {
    "thyme": "nickname", "037b6c60": "fingerprint prefix", "$037B 6C60": "fingerprint with $ and space",
    "91.205.230": "IP prefix", "tokelrk.xyz": "AROI domain", "abuse[]tokelrk": "contact text",
    "AS23217": "AS", "in": "country code",
}


def test_search_finds_relays_by_every_field(run_search):
    results = run_search(small(), list(RELAY_QUERIES))
    for query, what in RELAY_QUERIES.items():
        relays = section(results[query], "Relays")
        assert any(item["href"] == f"relay/{THYME}/index.html" for item in relays), (what, results[query])


def test_search_opened_from_a_file_says_it_needs_http(run_search):
    """Issue 14 item 5: over file:// the index cannot be fetched; say so plainly instead of "Failed to fetch"."""
    over_http = run_search(small(), ["thyme"])
    assert over_http[""]["status"] == "" and section(over_http["thyme"], "Relays")
    over_file = run_search(small(), ["thyme"], protocol="file:")
    for state in (over_file[""], over_file["thyme"]):          # at once on load, and again after a search
        assert state["status"].startswith("Search needs the site served over HTTP"), state
        assert "python3 -m http.server --directory var/www" in state["status"] and state["sections"] == []


def test_search_finds_groups(run_search):
    r = run_search(small(), ["tokelrk", "AS23217", "india", "thyme01", "zzzz-no-such-relay"])
    assert section(r["tokelrk"], "Operators")[0]["href"] == "contact/tokelrk.xyz/index.html"
    assert section(r["AS23217"], "Networks")[0]["href"] == "as/AS23217/index.html"
    assert section(r["india"], "Countries")[0]["href"] == "country/in/index.html"
    assert section(r["thyme01"], "Families")[0]["href"] == f"family/{THYME}/index.html"
    assert r["zzzz-no-such-relay"]["sections"] == [] and r["zzzz-no-such-relay"]["status"] == "Nothing matches."


def test_search_results_of_hostile_data_are_text(run_search):
    result = run_search(hostile_document(), ["script"])["script"]
    relays = section(result, "Relays")
    assert relays and any("<script>" in item["text"] for item in relays)      # as text, via textContent
    for s in result["sections"]:
        for item in s["items"]:
            href = item["href"]
            assert href is None or re.match(r"^(relay|family|contact|as|country)/[A-Za-z0-9.-]+/index\.html$", href)
