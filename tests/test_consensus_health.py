"""The consensus_health source: scraping depictor's page tolerantly and as hostile input.

No real HTML page was available offline: the main fixture is BUILT from
depictor's structure (its header says so) and checked here against the two
real stored *text* copies of the page (TEXT-EXCERPT files, real).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from alliumd.fetchers import InvalidDocument
from alliumd.fetchers import consensus_health as fetcher
from alliumd.summaries import consensus_health as ch

FIX = Path(__file__).resolve().parent / "fixtures" / "consensus_health"
PAGE = FIX / "consensus-health_BUILT_2025-04-03-0500.html"
EXCERPT = FIX / "consensus-health_index_TEXT-EXCERPT_2025-04-03-0500_unusual-authorities.txt"
NINE = ["bastet", "dannenberg", "dizum", "faravahar", "gabelmoo", "longclaw", "maatuska", "moria1", "tor26"]


def page() -> str:
    return PAGE.read_bytes().decode("latin-1")


def parse(text: str) -> dict:
    return ch.parse_page(text.encode("latin-1", "xmlcharrefreplace"))


def without_section(text: str, anchor: str) -> str:
    """The page with one whole section (anchor, title, table) cut out."""
    start = text.index(f'<a name="{anchor}">')
    end = text.index("<!-- ====", start)
    return text[:start] + text[end:]


def auth(summary: dict, nick: str) -> dict:
    return next(a for a in summary["authorities"] if a["nickname"] == nick)


def test_fixture_says_it_is_built():
    assert "BUILT, NOT CAPTURED" in page()[:400]


def test_every_section_of_the_built_page():
    s = parse(page())
    assert s["format"] == ch.FORMAT and s["source"] == "consensus_health"
    assert s["relays_published"] == "2025-04-03 05:00:00" and s["valid_after_late"] is False
    assert set(s["sections"].values()) == {"ok"} and set(s["sections"]) == set(ch.SECTIONS)
    assert [a["nickname"] for a in s["authorities"]] == NINE
    assert s["consensus"]["method"] == 34 and s["consensus"]["running"] == 7958
    assert len(s["consensus"]["params"]) == 19 and "ReachableIPv6" in s["consensus"]["known_flags"]
    bastet = auth(s, "bastet")
    assert bastet["vote_present"] is False and bastet["signed"] is False and bastet["clock_problem"] is True
    assert "known_flags" not in bastet and bastet["bwauth_problem"] == "Missing vote"
    assert auth(s, "dizum")["supports_consensus_method"] is False
    assert auth(s, "dizum")["versions_differ"] is True
    assert "0.4.9.3-alpha" not in auth(s, "dizum")["server_versions"]         # struck: the vote lacks it
    assert "0.4.7.16" in auth(s, "dizum")["client_versions"]                  # red: only in the vote
    assert auth(s, "moria1")["params_conflict"] is True and auth(s, "moria1")["params"]["moria1experiment"] == 1
    assert auth(s, "maatuska")["flag_thresholds"]["guard-wfu"] == 0.98
    assert auth(s, "maatuska")["relays"] == 9485 and auth(s, "maatuska")["running"] == 8005
    assert auth(s, "faravahar")["clock_skew"] == 2.0 and auth(s, "faravahar")["clock_problem"] is False
    assert {a["nickname"] for a in s["authorities"] if a.get("has_bandwidth_file")} == set(NINE) - {"dizum", "dannenberg"}
    assert {a["nickname"]: a.get("bwauth_measured") for a in s["authorities"] if "bwauth_measured" in a} == {
        "faravahar": 8820, "gabelmoo": 8841, "longclaw": 8807, "maatuska": 8833, "moria1": 8812, "tor26": 8790}
    assert auth(s, "gabelmoo")["version"] == "0.4.9.2-alpha"
    assert {(n["authority"], n["section"]) for n in s["notices"]} == {
        ("bastet", "validafter"), ("bastet", "signatures"), ("bastet", "bwauthstatus")}


def test_built_page_agrees_with_the_real_text_copy():
    """The real 2025-04-03 text: its valid-after, unusual authority, signature and known-flags rows."""
    real = EXCERPT.read_text()
    s = parse(page())
    assert "Consensus was published 2025-04-03 05:00:00 UTC" in real
    assert re.search(r"bastet Consensus could not be retrieved", real)
    assert {"authority": "bastet", "section": "validafter", "text": "Consensus could not be retrieved"} in s["notices"]
    signatures = flags = 0
    for line in real.splitlines():
        m = re.fullmatch(r"(\w+) consensus \(microdesc\) vote descriptors( bandwidth file)?", line)
        if m:
            assert auth(s, m.group(1))["has_bandwidth_file"] == bool(m.group(2))
            signatures += 1
        m = re.fullmatch(r"(\w+) known-flags (.*)", line)
        if m and m.group(1) != "maatuska":                  # the excerpt is cut inside maatuska's row
            assert auth(s, m.group(1))["known_flags"] == m.group(2).split()
            flags += 1
    assert (signatures, flags) == (9, 5)


@pytest.mark.parametrize("anchor", [name for name in ch.SECTIONS if name != "validafter"])
def test_a_missing_section_degrades_only_that_section(anchor):
    full = parse(page())
    s = parse(without_section(page(), anchor))
    assert s["sections"][anchor] == "missing"
    assert all(state == "ok" for name, state in s["sections"].items() if name != anchor)
    assert [a["nickname"] for a in s["authorities"]] == NINE
    assert s["relays_published"] == full["relays_published"]


def test_a_section_without_its_table_is_unreadable():
    text = page()
    start = text.index('<a name="flagthresholds">')
    table = text.index("<table", start)
    text = text[:table] + text[text.index("</table>", table) + len("</table>"):]
    s = parse(text)
    assert s["sections"]["flagthresholds"] == "unreadable"
    assert not any("flag_thresholds" in a for a in s["authorities"])
    assert s["sections"]["knownflags"] == "ok"


@pytest.mark.parametrize("body, reason", [
    (b"", "empty"),
    (b"   \n", "empty"),
    (b'{"relays": []}', "title"),
    (b"<html><head><title>Error 503 Service Unavailable</title></head><body><h2>HTTP ERROR 503</h2></body></html>",
     "title"),
    (b"<html><head><title>Consensus health</title></head><body><p>maintenance</p></body></html>", "valid-after"),
    (b"\x00\x01\x02\xff" * 100, "title"),
])
def test_unrecognizable_pages_are_rejected(body, reason):
    with pytest.raises(ch.UnrecognizedPage, match=reason):
        ch.parse_page(body)


def test_a_page_without_any_core_section_is_rejected():
    text = page()
    for anchor in ch.CORE_SECTIONS:
        text = without_section(text, anchor)
    with pytest.raises(ch.UnrecognizedPage, match="none of the"):
        parse(text)


def test_scraped_text_is_hostile():
    text = page()
    text = text.replace('<td class="oiv">Consensus could not be retrieved</td>',
                        '<td class="oiv"><script>alert(1)</script><b onmouseover="x()">down</b>'
                        '<img src=x onerror=alert(2)>&lt;script&gt;\x07' + "A" * 500 + "</td>")
    text = text.replace("<td>known-flags Authority BadExit", "<td>known-flags <i>Evil</i> &lt;x&gt; Authority BadExit", 1)
    text = text.replace("<td>moria1</td>", "<td>moria1<script>x</script></td>", 1)
    text = text.replace("<td>tor26</td>", '<td><a href="javascript:x">tor26 evil</a></td>', 1)
    s = parse(text)
    notice = next(n for n in s["notices"] if n["section"] == "validafter")
    assert notice["text"].startswith("down<script>") and "alert" not in notice["text"]   # text only, no tags
    assert len(notice["text"]) <= ch.MAX_TEXT and "\x07" not in notice["text"]
    assert auth(s, "moria1")["known_flags"][:2] == ["Evil", "Authority"]                # "<x>" is not a flag
    encoded = json.dumps(s)
    assert "onmouseover" not in encoded and "onerror" not in encoded and "javascript" not in encoded
    assert not any(a["nickname"] == "tor26 evil" for a in s["authorities"])           # not a nickname: ignored


def test_fetcher_validate(tmp_path):
    info = fetcher.validate(PAGE)
    assert info.data_time == 1743656400 and info.items == 9
    assert json.loads(info.summary) == ch.parse_page(PAGE.read_bytes())
    bad = tmp_path / "page"
    bad.write_bytes(b"<html><title>Captive portal</title></html>")
    with pytest.raises(InvalidDocument, match="not a consensus-health page"):
        fetcher.validate(bad)
