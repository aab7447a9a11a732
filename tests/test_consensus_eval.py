"""The relay page's consensus evaluation (model/consensus_eval/) and its place in the site.

The vote data is real: the matched 2018 set (consensus + the votes of
bastet, dannenberg, Faravahar and gabelmoo, 20 entries each) from
tests/fixtures/collector/, summarised by summaries/votes/ like the fetcher
does.  Where a test needs figures no fixture has (the ``stats`` lines of
current votes), it uses test_collector's labelled "modern" copy of
gabelmoo's vote; where it edits a row, it says so.

The site tests build in-process with the real SiteBuilder: a details
document whose relays carry fingerprints of the 2018 set (BUILT: the small
Onionoo fixture with fingerprints replaced), a collector summary and an
AROI summary, then change one relay's votes or AROI result and check that
exactly that relay's pages are rewritten.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from alliumd import config as configmod
from alliumd.fetchers import aroi as aroi_fetcher
from alliumd.model import consensus_eval as ce
from alliumd.summaries import votes
from alliumd.pages.site import FAMILIES, MODELS
from alliumd.renderer.build import SiteBuilder
from alliumd.pages.registry import Registry

from test_collector import CONSENSUS_2018, GABELMOO, VOTES_2018, modern_vote

FIX = Path(__file__).parent / "fixtures"
CALYX = "0011BD2485AD45D984EC4159C88FC066E5E3300E"       # Exit Fast Guard HSDir … in every 2018 vote
JACTR = "009851DF933754B00DDE876FCE4088CE1B4940C1"       # Fast from one authority of four
UBUNTU = "0027A7846211F962AE3E23FBB0B5D2830F0E2A2D"      # in all four votes, not in the consensus
HOZIPI = "00B22A3945A8D09E6E4A0F8E0C5A6A3925D11D6C"      # in the consensus, in none of the four votes
THYME = "037B6C60DAD4DF32FDA29BF458D5C8C816AA8F3E"       # details fixture relay with a validated AROI


def summary_2018(*, modern: bool = False) -> dict:
    consensus = votes.parse_status(CONSENSUS_2018.read_bytes(), "consensus")
    inputs = []
    for path in VOTES_2018:
        body = path.read_bytes()
        if modern and GABELMOO in path.name:
            body = modern_vote(body)
        inputs.append(votes.VoteInput(path.name, path.name.split("-vote-")[1][:40], votes.parse_status(body, "vote")))
    return json.loads(json.dumps(votes.build_summary(CONSENSUS_2018.name, consensus, inputs, [])))


def fp_of(summary: dict, prefix: str) -> str:
    [fp] = [fp for fp in summary["relays"] if fp.startswith(prefix[:8])]
    return fp


@pytest.fixture(scope="module")
def s2018():
    return summary_2018()


# -- the context: once per summary --------------------------------------------------------------

def test_context_of_the_2018_set(s2018):
    ctx = ce.build_context(s2018)
    assert (ctx["voters"], ctx["majority"], ctx["votes"], ctx["bwauths"]) == (9, 5, 4, 3)   # floor(9/2)+1
    assert ctx["valid_after"] == "2018-10-15 00:00:00" and ctx["method"] == 28
    current = {a["nickname"]: a for a in ctx["authorities"] if a["current"]}
    assert set(current) == {"bastet", "dannenberg", "Faravahar", "gabelmoo"}
    assert not current["dannenberg"]["bwauth"] and current["gabelmoo"]["bwauth"]
    assert current["gabelmoo"]["thresholds"]["guard-wfu"] == 0.98
    assert current["gabelmoo"]["thresholds"]["fast-speed"] == 53000
    # the digest covers only what evaluations share: equal summaries, equal digests
    assert ce.build_context(copy.deepcopy(s2018))["digest"] == ctx["digest"]
    changed = copy.deepcopy(s2018)
    gabelmoo = next(a for a in changed["authorities"] if a["nickname"] == "gabelmoo")
    gabelmoo["vote"]["flag_thresholds"]["guard-wfu"] = 0.95
    assert ce.build_context(changed)["digest"] != ctx["digest"]


# -- one relay ------------------------------------------------------------------------------------

def test_relay_with_every_flag(s2018):
    ctx = ce.build_context(s2018)
    view = ce.evaluate(ctx, ce.relay_row(s2018, fp_of(s2018, CALYX)))
    assert view["in_consensus"] and view["listed_by"] == 4
    assert view["consensus"]["flags"] == ["Exit", "Fast", "Guard", "HSDir", "Running", "Stable", "V2Dir", "Valid"]
    rows = {r["flag"]: r for r in view["flags"]}
    assert rows["Guard"] == {"flag": "Guard", "votes": 4, "electorate": 4, "needed": 3, "in_consensus": True,
                             "majority": True}
    voted = [a for a in view["authorities"] if a["state"] == "voted"]
    assert [a["nickname"] for a in voted] == ["bastet", "dannenberg", "Faravahar", "gabelmoo"]
    assert [a["state"] for a in view["authorities"] if a["state"] != "voted"] == ["no current vote"] * 5
    gabelmoo = next(a for a in voted if a["nickname"] == "gabelmoo")
    assert gabelmoo["bandwidth"] == "80.0 Mbit/s" and gabelmoo["measured"] == "115.2 Mbit/s"   # 10000 / 14400 kB/s
    dannenberg = next(a for a in voted if a["nickname"] == "dannenberg")
    assert dannenberg["measured"] == "–"                         # not a bandwidth authority
    # no stats lines in 2018: WFU/TK-based requirements are unknown, never failed
    assert not view["stats_present"]
    guard = next(e for e in gabelmoo["eligibility"] if e["flag"] == "Guard")
    assert guard["outcome"] == "unknown" and guard["assigned"]
    assert guard["notes"] == ["WFU ≥ 98.0%: not in the vote", "time known ≥ 8 d 0 h: not in the vote"]
    fast = next(e for e in gabelmoo["eligibility"] if e["flag"] == "Fast")
    assert fast == {"flag": "Fast", "outcome": "yes", "assigned": True, "notes": []}
    assert view["diagnostics"] == []                            # it has every flag it can have


def test_why_no_fast_names_the_unmet_threshold(s2018):
    view = ce.evaluate(ce.build_context(s2018), ce.relay_row(s2018, fp_of(s2018, JACTR)))
    rows = {r["flag"]: r for r in view["flags"]}
    assert (rows["Fast"]["votes"], rows["Fast"]["needed"], rows["Fast"]["in_consensus"]) == (1, 3, False)
    texts = [d["text"] for d in view["diagnostics"]]
    assert ("Why no Fast: 1 of 4 authorities assigned it, 3 needed. Not met: bandwidth below "
            "424.0 kbit/s–768.0 kbit/s (3 authorities).") in texts
    assert any(t.startswith("Why no Guard: 0 of 4 authorities assigned it, 3 needed. Not met: bandwidth below "
                            "16.0 Mbit/s (4 authorities)") for t in texts)
    assert all(d["severity"] == "info" for d in view["diagnostics"])


def test_not_in_consensus(s2018):
    ctx = ce.build_context(s2018)
    view = ce.evaluate(ctx, ce.relay_row(s2018, fp_of(s2018, UBUNTU)))
    assert not view["in_consensus"] and view["listed_by"] == 4 and view["consensus"] is None
    assert view["diagnostics"][0] == {"severity": "error", "text": "Not in the consensus: listed by 4 of the 4 "
                                      "authority votes we have; inclusion needs 5 of 9 voting authorities."}
    absent = ce.evaluate(ctx, None)                             # no document lists it at all
    assert absent["listed_by"] == 0 and not absent["in_consensus"]
    assert absent["diagnostics"][0]["severity"] == "error"
    assert "needs 5 of 9 voting authorities" in absent["diagnostics"][0]["text"]
    listed_nowhere = ce.evaluate(ctx, ce.relay_row(s2018, fp_of(s2018, HOZIPI)))
    assert listed_nowhere["in_consensus"] and listed_nowhere["listed_by"] == 0
    assert [d["severity"] for d in listed_nowhere["diagnostics"]] == ["info"]


def test_too_few_measurements(s2018):
    """EDITED row: CalyxInstitute14 as if two of the three bandwidth authorities had not measured it."""
    ctx = ce.build_context(s2018)
    row = copy.deepcopy(ce.relay_row(s2018, fp_of(s2018, CALYX)))
    columns = [i for i, a in enumerate(ctx["authorities"]) if a["bwauth"]]
    for i in columns[:2]:
        row["v"][i][2] = None                                    # no Measured=
    view = ce.evaluate(ctx, row)
    assert view["bandwidth"]["measured_by"] == 1 and view["bandwidth"]["bwauths"] == 3
    [warning] = [d for d in view["diagnostics"] if d["severity"] == "warning"]
    assert warning["text"].startswith("Too few measurements: measured by 1 of 3 bandwidth authorities")
    row["c"][2] = 1                                              # and the consensus marks it Unmeasured
    [warning] = [d for d in ce.evaluate(ctx, row)["diagnostics"] if d["severity"] == "warning"]
    assert "its consensus weight is Unmeasured" in warning["text"]


def test_stats_lines_decide_guard_and_stable():
    """gabelmoo's modern copy carries wfu=0.998765 tk=1234567 mtbf=2345678 for every relay."""
    s = summary_2018(modern=True)
    ctx = ce.build_context(s)
    view = ce.evaluate(ctx, ce.relay_row(s, fp_of(s, CALYX)))
    assert view["stats_present"]
    gabelmoo = next(a for a in view["authorities"] if a["nickname"] == "gabelmoo")
    assert (gabelmoo["wfu"], gabelmoo["tk"], gabelmoo["mtbf"]) == ("99.9%", "14 d 6 h", "27 d 3 h")
    outcomes = {e["flag"]: e["outcome"] for e in gabelmoo["eligibility"]}
    assert outcomes == {"Guard": "yes", "Stable": "yes", "Fast": "yes", "HSDir": "yes"}
    bastet = next(a for a in view["authorities"] if a["nickname"] == "bastet")     # no stats: still unknown
    assert {e["flag"]: e["outcome"] for e in bastet["eligibility"]}["Guard"] == "unknown"


def test_requirements_against_thresholds():
    thresholds = {"fast-speed": 100_000, "stable-mtbf": 3_000_000, "guard-wfu": 0.98, "guard-tk": 691_200,
                  "guard-bw-inc-exits": 9_000_000, "guard-bw-exc-exits": 7_000_000}
    cell = {"bandwidth": 5000, "measured": 1500, "wfu": 0.95, "tk": 100_000, "mtbf": 500_000}
    flags = {"Fast", "Stable", "V2Dir", "Running", "Valid"}
    reqs = ce.requirements(cell, flags, thresholds)
    guard = {c[1]: c[0] for c in reqs["Guard"]}
    # measured 1.5 MB/s counts (not the self-reported 5 MB/s): below 2 MB/s and below min(9, 7) MB/s
    assert guard == {"Fast": True, "Stable": True, "V2Dir": True, "bandwidth": False, "WFU": False,
                     "time known": False}
    assert [ce.check_text(c) for c in reqs["Guard"] if c[0] is False] == [
        "bandwidth 12.0 Mbit/s < 16.0 Mbit/s", "WFU 95.0% < 98.0%", "time known 1 d 3 h < 8 d 0 h"]
    # MTBF 500,000 s is below stable-mtbf but above tor's 5-day guarantee
    assert reqs["Stable"][0][0] is True and reqs["Fast"][0][0] is True
    # an authority ignoring advertised bandwidths counts an unmeasured relay as 0
    unmeasured = {**cell, "measured": None}
    assert ce.credible_bandwidth(unmeasured, {**thresholds, "ignoring-advertised-bws": 1}) == \
        (0, "not measured (counts as 0)")
    assert ce.credible_bandwidth(unmeasured, thresholds) == (5_000_000, "self-reported")
    assert ce.requirements(unmeasured, flags, {})["Fast"][0][0] is None       # no threshold: unknown


# -- in the site: relay pages, keys, dependencies ----------------------------------------------------

def details_with_2018_fingerprints(summary: dict) -> dict:
    """BUILT: the small details fixture; relays 1..20 take fingerprints of the 2018 set (THYME keeps its own)."""
    doc = json.loads((FIX / "onionoo_details_small.json").read_text())
    fps = [fp for fp in summary["relays"]]
    for relay, fp in zip(doc["relays"][1:], fps):
        relay["fingerprint"] = fp
        relay["effective_family"] = [fp]
    return doc


def _site(tmp_path, details: dict, collector: dict | None, aroi: bytes | None):
    cfg = configmod.parse({"daemon": {"cache_dir": "cache", "output_dir": "www", "state_dir": "lib",
                                      "run_dir": "run"}}, tmp_path / "allium.toml")
    cfg.daemon.cache_dir.mkdir(parents=True, exist_ok=True)
    (cfg.daemon.cache_dir / "onionoo_details.json").write_text(json.dumps(details))
    if collector is not None:
        (cfg.daemon.cache_dir / "collector.summary.json").write_text(json.dumps(collector))
    if aroi is not None:
        (cfg.daemon.cache_dir / "aroi.summary.json").write_bytes(aroi)
    return cfg, SiteBuilder(cfg, Registry(FAMILIES, MODELS), workers=1)


def aroi_summary(valid: bool = True) -> bytes:
    doc = json.loads((FIX / "aroi_latest_small.json").read_text())
    for result in doc["results"]:
        if result["fingerprint"] == THYME and not valid:
            result.update(valid=False, error="URI-RSA: fingerprint not found in proof file")
    return aroi_fetcher.validate_doc(doc).summary


def snapshot(root: Path) -> dict[str, tuple[int, bytes]]:
    return {str(p.relative_to(root)): (p.stat().st_mtime_ns, p.read_bytes()) for p in root.rglob("*") if p.is_file()}


def changed_files(before: dict, after: dict) -> set[str]:
    return {p for p in before.keys() | after.keys() if before.get(p) != after.get(p)}


def test_relay_pages_show_votes_and_aroi_and_rerender_only_what_changed(tmp_path, s2018):
    details = details_with_2018_fingerprints(s2018)
    calyx = fp_of(s2018, CALYX)
    cfg, builder = _site(tmp_path, details, s2018, aroi_summary())
    assert not builder.build(full=True).errors
    www = cfg.daemon.output_dir
    html = (www / f"relay/{calyx}/index.html").read_text()
    assert "<h2>Consensus evaluation</h2>" in html and "gabelmoo" in html and "no current vote" in html
    assert "Votes for the consensus valid after 2018-10-15 00:00:00 UTC" in html
    data = json.loads((www / f"relay/{calyx}/index.json").read_text())
    assert data["consensus_evaluation"]["listed_by"] == 4
    thyme = (www / f"relay/{THYME}/index.html").read_text()
    assert "AROI validation: <b>validated</b> (URI-RSA proof)" in thyme
    assert "Not in the consensus" in thyme                     # THYME is not in the 2018 set
    # the relay pages' chrome names the Onionoo sources only; the vote data states its own time
    assert "CollecTor votes, published" not in html and "CollecTor votes, published" in \
        (www / "authorities.html").read_text()

    # one relay's row changes (EDITED: gabelmoo no longer lists CalyxInstitute14): only its pages
    edited = copy.deepcopy(s2018)
    column = next(i for i, a in enumerate(edited["authorities"]) if a["nickname"] == "gabelmoo")
    edited["relays"][calyx]["v"][column] = None
    (cfg.daemon.cache_dir / "collector.summary.json").write_text(json.dumps(edited))
    before = snapshot(www)
    result = builder.build()
    assert not result.errors and result.changed == ["collector"]
    assert {"relay", "authorities", "health"} <= set(result.families)
    # (and its metrics.txt: the authorities' votes per flag are among its gauges)
    assert changed_files(before, snapshot(www)) == {f"relay/{calyx}/index.html", f"relay/{calyx}/index.json",
                                                    f"relay/{calyx}/metrics.txt"}
    assert "does not list this relay" in (www / f"relay/{calyx}/index.html").read_text()

    # one relay's AROI result changes: only that relay's pages among the relay pages
    (cfg.daemon.cache_dir / "aroi.summary.json").write_bytes(aroi_summary(valid=False))
    before = snapshot(www)
    result = builder.build()
    assert not result.errors and result.changed == ["aroi"]
    relay_pages = {p for p in changed_files(before, snapshot(www)) if p.startswith("relay/")}
    # (its metrics.txt has the validation gauge; the status change is an event in its feed)
    assert relay_pages == {f"relay/{THYME}/index.html", f"relay/{THYME}/index.json", f"relay/{THYME}/metrics.txt",
                           f"relay/{THYME}/events.atom"}
    thyme = (www / f"relay/{THYME}/index.html").read_text()
    assert "AROI validation: <b>unauthorized: the proof does not list this relay</b> (URI-RSA proof)" in thyme

    # a shared threshold changes: every relay page is re-evaluated (the shared context is in every key);
    # only pages whose evaluation shows the change are rewritten: relays gabelmoo's vote lists
    edited = copy.deepcopy(edited)
    next(a for a in edited["authorities"] if a["nickname"] == "gabelmoo")["vote"]["flag_thresholds"]["fast-speed"] = 1
    (cfg.daemon.cache_dir / "collector.summary.json").write_text(json.dumps(edited))
    before = snapshot(www)
    result = builder.build()
    assert not result.errors
    relay_pages = {p for p in changed_files(before, snapshot(www)) if p.startswith("relay/")}
    listed = {fp for fp, row in edited["relays"].items() if row["v"][column] is not None}
    assert relay_pages and relay_pages <= {f"relay/{fp}/{name}" for fp in listed
                                           for name in ("index.html", "index.json", "metrics.txt")}
    jactr = fp_of(s2018, JACTR)                                   # too slow for 53 kB/s, fast enough for 1 B/s
    assert {f"relay/{jactr}/index.html", f"relay/{jactr}/index.json"} <= relay_pages
    builder.close()


def test_site_without_collector_data_says_so(tmp_path, s2018):
    cfg, builder = _site(tmp_path, details_with_2018_fingerprints(s2018), None, None)
    assert not builder.build(full=True).errors
    html = (cfg.daemon.output_dir / f"relay/{fp_of(s2018, CALYX)}/index.html").read_text()
    assert "No CollecTor vote data: the collector source is not enabled" in html
    thyme = (cfg.daemon.output_dir / f"relay/{THYME}/index.html").read_text()
    assert "no validator data" in thyme
    health = (cfg.daemon.output_dir / "network-health.html").read_text()
    assert "No directory-authority data" in health
    builder.close()


def test_hostile_vote_strings_are_escaped(tmp_path, s2018):
    """EDITED: authority nicknames and flag names as markup (the summary cleans control characters only)."""
    hostile = copy.deepcopy(s2018)
    for a in hostile["authorities"]:
        a["nickname"] = "<script>alert(1)</script>"
    hostile["flags"] = [f if f != "Valid" else "<b>x" for f in hostile["flags"]]
    cfg, builder = _site(tmp_path, details_with_2018_fingerprints(s2018), hostile, None)
    assert not builder.build(full=True).errors
    for path in (f"relay/{fp_of(s2018, CALYX)}/index.html", "network-health.html", "authorities.html"):
        text = (cfg.daemon.output_dir / path).read_text()
        assert "<script>alert" not in text and "<b>x" not in text
    assert "&lt;script&gt;" in (cfg.daemon.output_dir / f"relay/{fp_of(s2018, CALYX)}/index.html").read_text()
    builder.close()
