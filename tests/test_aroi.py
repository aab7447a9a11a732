"""The AROI source and models: validating ``latest.json``, its summary, classification, leaderboards.

Fixtures: the 40-relay details fixture and ``aroi_latest_small.json`` (built
from the validator's schema with those relays' real fingerprints), the
bundled sample (the runtime's fallback), and hand-made uptime/bandwidth
models for the history-based boards.
"""

from __future__ import annotations

import copy
import gzip
import json
from collections import Counter
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path

import pytest

from alliumd.fetchers import InvalidDocument, aroi as fetcher
from alliumd.model import aroi, contactinfo
from alliumd.summaries import aroi as aroi_summary
from alliumd.model.bandwidth import BandwidthModel
from alliumd.model.groups import Group, build_groups, clean_text
from alliumd.model.relays import build_relays
from alliumd.model.uptime import UptimeModel
from alliumd.cache import meta as cache_meta

FIXTURES = Path(__file__).resolve().parent / "fixtures"
AROI_FIXTURE = FIXTURES / "aroi_latest_small.json"
DETAILS = json.loads((FIXTURES / "onionoo_details_small.json").read_text())
LATEST = json.loads(AROI_FIXTURE.read_text())
STAMP = datetime(2026, 8, 22, 10, 7, 43, 512904, tzinfo=timezone.utc).timestamp()

THYME, THYME2 = "037B6C60DAD4DF32FDA29BF458D5C8C816AA8F3E", "2572FBDD"      # tokelrk.xyz; the second unchecked
VENUL_OK, VENUL_BAD = "072E2883", "ABD9D46C"                                 # venul.info
HAGYMA = "DC5FD78F"                                                           # hagyma-bridge.org, timed out
NO_CONTACT, NO_FIELDS = "25073FCA", "20C97B1A"


def fp(prefix: str) -> str:
    return next(r["fingerprint"] for r in DETAILS["relays"] if r["fingerprint"].startswith(prefix))


def summary_of(doc: dict) -> dict:
    return json.loads(fetcher.validate_doc(copy.deepcopy(doc)).summary)


def models(details: dict = DETAILS, latest: dict | None = LATEST):
    rm = build_relays(copy.deepcopy(details))
    gm = build_groups(rm)
    vm = aroi.build_validator(summary_of(latest)) if latest is not None else None
    return rm, gm, vm, aroi.build_aroi(rm, gm, vm)


# -- the fetcher: what a publishable document is ----------------------------------------------

def test_fixture_says_it_is_built_and_uses_the_fixture_relays():
    assert "BUILT" in LATEST["alliumd_fixture"] and "not a capture" in LATEST["alliumd_fixture"]
    fps = {r["fingerprint"].upper() for r in LATEST["results"]}
    assert {r["fingerprint"] for r in DETAILS["relays"]} - fps == {fp(THYME2)}
    assert set(LATEST) >= {"metadata", "statistics", "results"}


def test_validate_the_fixture():
    info = fetcher.validate(AROI_FIXTURE)
    assert info.items == 42 and info.data_time == pytest.approx(STAMP) and not info.is_sample
    doc = json.loads(info.summary)
    assert doc["format"] == aroi.SUMMARY_FORMAT and doc["source"] == "aroi"
    assert doc["metadata"] == {"timestamp": "2026-08-22T10:07:43.512904", "total_relays": 42, "valid_relays": 6,
                               "invalid_relays": 36, "success_rate": pytest.approx(14.2857, abs=1e-3)}
    assert doc["statistics"]["proof_types"]["dns_rsa"] == {"total": 2, "valid": 1, "success_rate": 50.0}
    results = doc["results"]
    assert list(results) == sorted(results)
    assert results[THYME] == {"valid": True, "proof_type": "uri-rsa", "domain": "tokelrk.xyz"}
    assert results["0268983473DD34ECF9239E86226C410D883CE175"]["proof_type"] == "dns-rsa"    # lower case in, upper out
    assert results[fp(NO_CONTACT)] == {"valid": False, "error": "No contact information"}
    # the renderer reads the validator's time and the sample marker from the summary
    assert cache_meta.document_time(doc) == pytest.approx(STAMP)
    assert not cache_meta.is_sample(doc)
    assert fetcher.validate(AROI_FIXTURE).summary == info.summary                # deterministic bytes
    assert info.summary.isascii()


def test_the_bundled_sample_is_accepted(tmp_path):
    sample = resources.files("alliumd.sample") / "aroi.json.gz"
    with sample.open("rb") as raw, gzip.open(raw) as body:
        (tmp_path / "aroi.json").write_bytes(body.read())
    info = fetcher.validate(tmp_path / "aroi.json")
    assert info.is_sample and info.items == 1003 and info.data_time == pytest.approx(STAMP)
    doc = json.loads(info.summary)
    assert cache_meta.is_sample(doc) and len(doc["results"]) == 1003
    assert aroi.build_validator(doc).sample


def broken(mutate) -> dict:
    doc = copy.deepcopy(LATEST)
    mutate(doc)
    return doc


@pytest.mark.parametrize("doc, message", [
    ([], "not a JSON object"),
    (broken(lambda d: d.pop("metadata")), "'metadata'"),
    (broken(lambda d: d.pop("statistics")), "'statistics'"),
    (broken(lambda d: d.update(results={})), "'results'"),
    (broken(lambda d: d.update(results=[])), "'results' is empty"),
    (broken(lambda d: d["metadata"].pop("timestamp")), "metadata.timestamp"),
    (broken(lambda d: d["metadata"].update(timestamp="yesterday")), "metadata.timestamp"),
    (broken(lambda d: d["results"].append("x")), "is not an object"),
    (broken(lambda d: d["results"][3].update(fingerprint="../../etc/passwd")), "40-hex fingerprint"),
    (broken(lambda d: d["results"][3].pop("fingerprint")), "40-hex fingerprint"),
    (broken(lambda d: d["results"][3].update(valid="true")), "'valid' is not a boolean"),
    (broken(lambda d: d["results"][3].update(error=404)), "'error' is neither"),
    (broken(lambda d: d["results"][3].update(domain=["x.org"])), "'domain' is neither"),
    (broken(lambda d: d["results"][3].update(proof_type={"a": 1})), "'proof_type' is neither"),
])
def test_invalid_documents_are_refused(doc, message):
    with pytest.raises(InvalidDocument, match=message):
        fetcher.validate_doc(doc)


def test_not_json_is_refused(tmp_path):
    (tmp_path / "x.json").write_bytes(b"<html>maintenance</html>")
    with pytest.raises(InvalidDocument, match="not valid JSON"):
        fetcher.validate(tmp_path / "x.json")


def test_hostile_result_values_are_reduced():
    def mutate(d):
        first = d["results"][0]
        d["results"][1:1] = [dict(first, valid=False, error="dup")]           # a duplicate: the first wins
        d["results"][2].update(domain="<marquee>x<b>evil", proof_type="URI-RSA <script>",
                               error="bad\x00\x1b[31m " + "x" * 5000 + "\ud800")
    doc = summary_of(broken(mutate))
    assert doc["results"][THYME]["valid"] is True
    bad = doc["results"][LATEST["results"][1]["fingerprint"]]
    assert "domain" not in bad and "proof_type" not in bad
    assert len(bad["error"]) == aroi_summary.ERROR_CHARS and bad["error"].startswith("bad [31m x")
    assert not any(ord(c) < 32 or 0xD800 <= ord(c) <= 0xDFFF for c in bad["error"])


def test_build_validator():
    assert aroi.build_validator(None) is None
    assert aroi.build_validator({"results": {}}) is None
    assert aroi.build_validator({**summary_of(LATEST), "format": 99}) is None
    vm = aroi.build_validator(summary_of(LATEST))
    assert vm.published == "2026-08-22 10:07:43 UTC" and len(vm.results) == 42 and not vm.sample
    assert vm.statistics["proof_types"]["uri_rsa"]["valid"] == 5
    junk = summary_of(LATEST)
    junk["results"]["not-a-fingerprint"] = {"valid": True}
    junk["results"]["A" * 40] = {"valid": "yes"}
    assert len(aroi.build_validator(junk).results) == 42


# -- classification -----------------------------------------------------------------------------

OK = "email:x[]example.org url:https://example.org proof:uri-rsa ciissversion:2"


@pytest.mark.parametrize("contact, entry, status", [
    (OK, {"valid": True, "proof_type": "uri-rsa", "domain": "example.org"}, aroi.VALIDATED),
    (OK, {"valid": True}, aroi.VALIDATED),
    (OK, None, aroi.UNKNOWN),                                                   # allium: "misconfigured"
    (OK, {"valid": True, "domain": "other.org"}, aroi.UNKNOWN),                 # checked against another domain
    (OK, {"valid": False, "error": "URI-RSA: Fingerprint not found at example.org"}, aroi.UNAUTHORIZED),
    (OK, {"valid": False, "error": "DNS-RSA: TXT record not found at abc.example.org"}, aroi.UNAUTHORIZED),
    (OK, {"valid": False, "error": "DNS-RSA: Domain not found (NXDOMAIN) for abc.example.org"}, aroi.MISCONFIGURED),
    (OK, {"valid": False, "error": "URI-RSA: HTTP error 404 for example.org"}, aroi.MISCONFIGURED),
    (OK, {"valid": False}, aroi.MISCONFIGURED),
    (OK, {"valid": False, "error": "Missing AROI fields: proof"}, aroi.UNKNOWN),   # the validator saw an older contact
    ("url:https://example.org ciissversion:2", {"valid": True}, aroi.INCOMPLETE),
    ("ciissversion:2", None, aroi.INCOMPLETE),
    ("ciissversion:2 proof:uri-rsa url:<marquee>x<b>evil", {"valid": False}, aroi.INCOMPLETE),
    ("noc@example.org", {"valid": False, "error": "Missing AROI fields: ciissversion, proof, url"},
     aroi.NOT_CONFIGURED),
    (None, {"valid": False, "error": "No contact information"}, aroi.NOT_CONFIGURED),
    (None, None, aroi.NOT_CONFIGURED),
])
def test_classify(contact, entry, status):
    assert aroi.classify(contactinfo.parse(contact), entry) == status


def test_relay_status_view():
    bad = {"valid": False, "proof_type": "dns-rsa", "domain": "example.org",
           "error": "DNS-RSA: TXT record not found at 0123.example.org"}
    view = aroi.relay_status(contactinfo.parse(OK), bad)
    assert view == {"status": aroi.UNAUTHORIZED, "aroi_domain": "example.org", "aroi_url": "https://example.org",
                    "proof_type": "dns-rsa", "missing": [], "error": bad["error"],
                    "reason": "DNS-RSA: TXT record not found"}
    partial = aroi.relay_status(contactinfo.parse("url:https://example.org ciissversion:2"), {"valid": True})
    assert partial["status"] == aroi.INCOMPLETE and partial["missing"] == ["proof"] and partial["error"] is None
    assert partial["aroi_url"] is None


@pytest.mark.parametrize("error, proof, reason", [
    ("URI-RSA: HTTP error 404 for sato.net at URL: https://sato.net/x; URI-RSA: HTTP error 404 for www.sato.net",
     "uri-rsa", "URI-RSA: HTTP error 404"),
    ("URI-RSA: HTTP error 403 for a.org at URL: https://a.org/.well-known/tor-relay/rsa-fingerprint.txt",
     "uri-rsa", "URI-RSA: HTTP error 403"),
    ("URI-RSA: HTTP error connection refused for URL: https://a.org/.well-known/tor-relay/rsa-fingerprint.txt",
     "uri-rsa", "URI-RSA: connection refused"),
    ("URI-RSA: HTTP error name resolution failed for a.org at URL: https://a.org/x.txt", "uri-rsa",
     "URI-RSA: domain name does not resolve"),
    ("URI-RSA: HTTP error connection timed out after 10s for URL: https://a.org/x.txt", "uri-rsa",
     "URI-RSA: timed out"),
    ("URI-RSA: Fingerprint not found at a.org", "uri-rsa", "URI-RSA: relay not listed in the proof file"),
    ("URI-RSA: SSL/TLS handshake failed (SSLV3_ALERT_HANDSHAKE_FAILURE) for URL: https://a.org/x.txt", "uri-rsa",
     "URI-RSA: TLS handshake failed"),
    ("URI-RSA: SSL certificate verify failed: certificate has expired for a.org", "uri-rsa",
     "URI-RSA: TLS certificate error"),
    ("DNS-RSA: TXT record not found at 0123.a.org", "dns-rsa", "DNS-RSA: TXT record not found"),
    ("DNS-RSA: Domain not found (NXDOMAIN) for 0123.a.org", "dns-rsa", "DNS-RSA: domain does not exist (NXDOMAIN)"),
    ("DNS-RSA: Lookup failed: The DNS operation timed out after 5.0 seconds", "dns-rsa", "DNS-RSA: timed out"),
    ("DNS-RSA: TXT record has invalid proof content. Expected 'we-run-this-tor-relay'", "dns-rsa",
     "DNS-RSA: TXT record has the wrong content"),
    ("DNS-RSA: Invalid domain in url field: <marquee>x<b>evil", None, "DNS-RSA: url field is not a valid domain"),
    ("<script>alert(1)</script>", None, "AROI: other error"),
    (None, "uri-rsa", None),
])
def test_error_reasons_come_from_a_fixed_vocabulary(error, proof, reason):
    assert aroi.error_reason(error, proof) == reason


def test_build_aroi_on_the_fixture():
    rm, gm, vm, am = models()
    assert am.validator_available and am.validator_published == "2026-08-22 10:07:43 UTC"
    assert set(am.relays) == set(rm.by_fingerprint)                       # the validator's extra relays are ignored
    status = {prefix: am.relays[fp(prefix)]["status"] for prefix in
              (THYME, THYME2, VENUL_OK, VENUL_BAD, HAGYMA, NO_CONTACT, NO_FIELDS)}
    assert status == {THYME: "validated", THYME2: "unknown", VENUL_OK: "validated", VENUL_BAD: "unauthorized",
                      HAGYMA: "misconfigured", NO_CONTACT: "not_configured", NO_FIELDS: "not_configured"}
    assert am.relays[fp(HAGYMA)]["reason"] == "URI-RSA: timed out"
    ops = am.operators
    assert ops["tokelrk.xyz"]["status"] == "validated" and ops["tokelrk.xyz"]["counts"]["unknown"] == 1
    assert ops["venul.info"]["status"] == "validated" and ops["venul.info"]["counts"]["unauthorized"] == 1
    assert ops["venul.info"]["reasons"] == [{"reason": "URI-RSA: relay not listed in the proof file", "relays": 1}]
    assert ops["hagyma-bridge.org"]["status"] == "misconfigured"
    assert ops["hagyma-bridge.org"]["proof_types"] == ["uri-rsa"]
    assert set(ops) == set(gm.groups["contact"])
    assert all(op["status"] == "not_configured" for gid, op in ops.items() if "." not in gid)
    net = am.network
    assert sum(net["counts"].values()) == net["relays"] == len(rm.relays)
    assert net["counts"] == {"validated": 4, "unauthorized": 1, "misconfigured": 1, "unknown": 1, "incomplete": 0,
                             "not_configured": 33}
    assert net["configured_relays"] == 7 and net["coverage_pct"] == 17.5 and net["validation_rate_pct"] == 66.7
    assert net["proof_types"]["uri-rsa"] == {"label": "URI-RSA", "relays": 6, "validated": 4, "success_pct": 66.7}
    assert net["proof_types"]["dns-rsa"]["relays"] == 0 and net["proof_types"]["dns-rsa"]["success_pct"] is None
    assert net["aroi_domains"] == 5 and net["validated_domains"] == 4
    assert net["top_reasons"][0]["operators"] == 1
    json.dumps([am.relays, am.operators, am.network])                        # plain data


def test_build_aroi_without_validator_data_marks_complete_setups_unknown():
    rm, gm, vm, am = models(latest=None)
    assert not am.validator_available and am.validator_published is None
    counts = Counter(s["status"] for s in am.relays.values())
    assert counts["unknown"] == 7 and counts["validated"] == 0
    assert am.operators["tokelrk.xyz"]["status"] == "unknown"


def test_incomplete_contacts():
    details = copy.deepcopy(DETAILS)
    relay = next(r for r in details["relays"] if r["fingerprint"] == fp(NO_FIELDS))
    relay["contact"] = "ciissversion:2 url:https://example.net"
    rm, gm, vm, am = models(details)
    assert am.relays[fp(NO_FIELDS)]["status"] == "incomplete" and am.relays[fp(NO_FIELDS)]["missing"] == ["proof"]
    gid = next(g for g, group in gm.groups["contact"].items() if fp(NO_FIELDS) in group.fingerprints)
    assert am.operators[gid]["status"] == "incomplete"


@pytest.mark.parametrize("statuses, expected", [
    (["validated", "unauthorized", "misconfigured"], "validated"),
    (["unauthorized", "misconfigured", "unknown"], "unauthorized"),
    (["misconfigured", "unknown", "incomplete"], "misconfigured"),
    (["unknown", "incomplete", "not_configured"], "unknown"),
    (["incomplete", "not_configured"], "incomplete"),
    (["not_configured"], "not_configured"),
])
def test_operator_cascade(statuses, expected):
    fps = [f"{i:040X}" for i in range(len(statuses))]
    group = Group("contact", "x.org", fingerprints=fps)
    views = {f: {"status": s, "proof_type": None, "reason": None} for f, s in zip(fps, statuses)}
    op = aroi.operator_status(group, views, {f: {"aroi": "x.org"} for f in fps})
    assert op["status"] == expected and sum(op["counts"].values()) == len(fps)


# -- leaderboards -------------------------------------------------------------------------------

BIG = "email:ops[]bigop.org url:https://bigop.org proof:dns-rsa ciissversion:2"
PEER_ORDER = ["bandwidth", "consensus_weight", "exit_authority", "guard_authority", "exit_operators",
              "guard_operators", "reliability_masters", "legacy_titans", "most_diverse", "platform_diversity",
              "non_eu_leaders", "frontier_builders", "network_veterans", "ipv4_leaders", "ipv6_leaders",
              "bandwidth_masters", "bandwidth_legends", "validated_relays", "total_data_champions"]


def big_network():
    """The fixture with 30 of its 40 relays run by one AROI operator (more than 25: the "masters" boards)."""
    details = copy.deepcopy(DETAILS)
    big = [r["fingerprint"] for r in details["relays"][:30]]
    for relay in details["relays"][:30]:
        relay["contact"] = BIG
    latest = copy.deepcopy(LATEST)                # the validator: 20 of them valid, 10 not in the DNS proof
    latest["results"] = [r for r in latest["results"] if r["fingerprint"].upper() not in big]
    latest["results"] += [{"fingerprint": f, "valid": i < 20, "proof_type": "dns-rsa", "domain": "bigop.org",
                           "error": None if i < 20 else f"DNS-RSA: TXT record not found at {f.lower()}.bigop.org"}
                          for i, f in enumerate(big)]
    return details, latest, big


def hand_made_history(fps: list[str]):
    """Uptime: 6M = 90 + i/10 %, except one relay without enough data; no 5Y anywhere.
    Bandwidth: 6M mean read 1 MB/s per relay over 180 daily points, except relay 1 (20 days: too young to
    count) and relay 2 (90 days: half the period); total data only over 1Y (so the 5Y → 1Y fallback shows)."""
    up = {f: {"uptime": {"1M": None, "6M": None if i == 0 else 90 + i / 10, "1Y": None, "5Y": None}}
          for i, f in enumerate(fps)}
    bw = {f: {"read": {"1M": None, "6M": 1_000_000, "1Y": None, "5Y": None},
              "read_points": {"1M": 0, "6M": {1: 20, 2: 90}.get(i, 180), "1Y": 0, "5Y": 0},
              "total_bytes": {"1M": None, "6M": None, "1Y": 10**12, "5Y": None}} for i, f in enumerate(fps)}
    network = {"period_points": {"1M": 0, "6M": 180, "1Y": 0, "5Y": 0}}
    return (UptimeModel("2026-08-22 11:00:00 UTC", up, {}),
            BandwidthModel("2026-08-22 11:00:00 UTC", bw, network))


def test_served_rate_averages_the_summed_rate_over_the_whole_period():
    """A weeks-old relay is not counted as if it had served all six months (issue 16 #2)."""
    old_relay = {"read": {"6M": 4_000_000.0}, "read_points": {"6M": 180}}
    half = {"read": {"6M": 2_000_000.0}, "read_points": {"6M": 90}}
    young = {"read": {"6M": 100_000_000.0}, "read_points": {"6M": 29}}           # below the 30-point minimum
    assert aroi.served_rate([old_relay, half, young], "6M", 180) == 4_000_000 + 1_000_000
    assert aroi.served_rate([young], "6M", 180) is None
    assert aroi.served_rate([old_relay], "6M", 0) is None                        # no period length known


def boards(lb) -> dict[str, list[dict]]:
    return {c["key"]: c["entries"] for c in lb.categories}


def test_leaderboards_on_the_fixture_with_hand_made_history():
    details, latest, big = big_network()
    rm, gm, vm, am = models(details, latest)
    uptime, bandwidth = hand_made_history([r["fingerprint"] for r in details["relays"]])
    lb = aroi.build_leaderboards(rm, gm, uptime, bandwidth, am)
    by_key = boards(lb)
    assert list(by_key) == PEER_ORDER == [c.key for c in aroi.CATEGORIES]
    assert lb.inputs == {"uptime": True, "bandwidth": True, "aroi": True} and lb.published == rm.published
    assert lb.operators == sum(1 for g in gm.groups["contact"].values()
                               if len((rm.by_fingerprint[g.fingerprints[0]]["contact"] or "").strip()) >= 3)

    # structure of every board
    for key, entries in by_key.items():
        assert len(entries) <= aroi.TOP_KEPT
        assert [e["rank"] for e in entries] == list(range(1, len(entries) + 1))
        assert all(set(e) == set(aroi.ENTRY_FIELDS) for e in entries)
        assert all(e["id"] in gm.groups["contact"] for e in entries)
        assert all(e["value"] > 0 for e in entries), key                 # operators with nothing are not ranked
        assert [e["value"] for e in entries] == sorted((e["value"] for e in entries), reverse=True), key
    assert json.loads(json.dumps(lb.categories)) == lb.categories           # plain data

    big_op = "bigop.org"
    # only operators with more than 25 relays compete on the history boards
    assert [e["id"] for e in by_key["reliability_masters"]] == [big_op]
    expected = sum(90 + i / 10 for i in range(1, 30)) / 29                   # relay 0 has too few points
    assert by_key["reliability_masters"][0]["value"] == round(expected, 1)
    assert by_key["reliability_masters"][0]["value_text"] == f"{expected:.1f}%"
    assert by_key["legacy_titans"] == []                                     # no 5-year data at all
    # issue 16 #2: served over the whole period: 28 full histories, one of half the period, one too young
    assert by_key["bandwidth_masters"][0]["value"] == 28 * 1_000_000 + 500_000 and by_key["bandwidth_legends"] == []
    assert "a day without data counts 0" in next(c for c in lb.categories
                                                 if c["key"] == "bandwidth_masters")["description"]
    total = by_key["total_data_champions"]
    assert total[0]["id"] == big_op and total[0]["value"] == 30 * 10**12 and total[0]["detail"] == "over 1Y"
    assert total[0]["value_text"] == "30 TB"
    assert by_key["validated_relays"][0] == {**by_key["validated_relays"][0], "id": big_op, "value": 20,
                                              "status": "validated", "aroi_domain": big_op, "label": big_op}
    # current contribution matches the contact pages (running relays, groups model)
    group = gm.groups["contact"][big_op]
    bw = next(e for e in by_key["bandwidth"] if e["id"] == big_op)
    assert bw["value"] == group.bandwidth and bw["exit"] == group.role_count["exit"]
    exits = by_key["exit_operators"]
    assert [e["value"] for e in exits] == sorted((g.role_count["exit"] for g in gm.groups["contact"].values()
                                                  if g.role_count["exit"]), reverse=True)[:len(exits)]
    share = sum(e["value"] for e in by_key["exit_authority"])
    assert share == pytest.approx(sum(g.role_weight["exit"] for gid, g in gm.groups["contact"].items()
                                      if gid in {e["id"] for e in by_key["exit_authority"]})
                                  / gm.network_role_weight["exit"], abs=1e-5)
    # veterans: measured from the document's own time, never the clock
    oldest = min(datetime.fromisoformat(rm.by_fingerprint[f]["first_seen"][:19]) for f in big)
    days = (datetime(2026, 8, 22, 11) - oldest).days
    vet = next(e for e in by_key["network_veterans"] if e["id"] == big_op)
    assert vet["detail"] == f"{days:,} days × 1.1" and vet["value"] == round(days * 1.1, 1)
    # badges for the top three of the boards allium titles
    diverse = by_key["most_diverse"][:4]
    assert len(diverse) == 4
    assert [e["badge"] for e in diverse] == ["Diversity Legend", "Diversity Master", "Diversity Champion", None]
    # the other boards: a champion badge for rank 1 only
    assert by_key["bandwidth"][0]["badge"] == "Bandwidth Champion"
    assert all(e["badge"] is None for e in by_key["bandwidth"][1:])
    assert all(entries[0]["badge"] for entries in by_key.values() if entries)
    # ranks per operator, for contact pages
    assert {r["category"] for r in lb.ranks[big_op]} >= {"reliability_masters", "validated_relays", "bandwidth"}
    assert all(r["rank"] == next(e["rank"] for e in by_key[r["category"]] if e["id"] == big_op)
               for r in lb.ranks[big_op])


def test_leaderboards_without_optional_inputs_and_determinism():
    rm, gm, vm, am = models()
    lb = aroi.build_leaderboards(rm, gm)
    by_key = boards(lb)
    assert lb.inputs == {"uptime": False, "bandwidth": False, "aroi": False}
    for key in ("reliability_masters", "legacy_titans", "bandwidth_masters", "bandwidth_legends",
                "validated_relays", "total_data_champions"):
        assert by_key[key] == [], key
    assert all(e["status"] is None for e in by_key["bandwidth"])
    rm2, gm2, _, _ = models(latest=None)
    assert aroi.build_leaderboards(rm2, gm2).categories == lb.categories
    with_aroi = boards(aroi.build_leaderboards(rm, gm, aroi=am))
    assert {e["id"]: e["value"] for e in with_aroi["validated_relays"]} == {
        "tokelrk.xyz": 1, "venul.info": 1, "garlicmint.fr": 1, "ledil-tor.io": 1}
    assert [e["id"] for e in with_aroi["validated_relays"]] == [          # ties: more relays, then id
        "tokelrk.xyz", "venul.info", "garlicmint.fr", "ledil-tor.io"]


def test_hostile_contacts_are_labels_never_links():
    rm, gm, vm, am = models()
    lb = aroi.build_leaderboards(rm, gm, aroi=am)
    entries = [e for c in lb.categories for e in c["entries"]]
    tagged = [e for e in entries if "<b>" in e["label"]]
    assert tagged, "the fixture's markup contact should rank somewhere"
    for e in tagged:
        contact = rm.by_fingerprint[gm.groups["contact"][e["id"]].fingerprints[0]]["contact"]
        assert e["label"] == clean_text(contact, 40) and e["aroi_domain"] is None
    for e in entries:
        assert e["aroi_domain"] is None or e["aroi_domain"] == e["id"] == e["label"]
        assert "javascript:" not in json.dumps(e)


def test_rank_ties_and_thresholds():
    def op(id_, relays, value):
        return aroi.OperatorMetrics(id=id_, label=id_, aroi_domain=None, relays=relays, ipv6_count=value)
    operators = {m.id: m for m in (op("b", 3, 5), op("a", 3, 5), op("c", 9, 5), op("d", 1, 7), op("e", 40, 0))}
    ipv6 = aroi.CATEGORY_BY_KEY["ipv6_leaders"]
    assert [m.id for m in aroi.rank(operators, ipv6)] == ["d", "c", "a", "b"]      # value, relays, then id
    assert [m.id for m in aroi.rank(operators, ipv6, n=2)] == ["d", "c"]
    masters = aroi.CATEGORY_BY_KEY["reliability_masters"]
    operators["e"].reliability_6m, operators["c"].reliability_6m = 99.0, 100.0
    assert [m.id for m in aroi.rank(operators, masters)] == ["e"]                  # c has only 9 relays


def test_allium_scores():
    assert aroi.country_rarity("MN", 1, 10_000) == 6 * 4 + 6 * 3 + 1 * 2 + 0
    assert aroi.country_rarity("DE", 1_000, 10_000) == 0
    assert aroi.country_rarity("US", 7, 10_000) == 4 * 3                          # share 0.07 %
    assert aroi.rare_countries(Counter({"MN": 1, "DE": 1_000, "US": 2_000}), 10_000) == {"MN"}
    assert aroi.as_rarity(0.06, 1) == 0 + 2 and aroi.as_rarity(0.001, 1) == 2 + 2
    assert aroi.as_rarity(0.000_1, 11) == 3 and aroi.as_rarity(0.0, 0) == 0
    assert [aroi.veteran_factor(n) for n in (1, 9, 10, 20, 50, 100, 200, 300)] == [
        1.0, 1.0, 1.05, 1.1, 1.15, 1.2, 1.25, 1.3]


def test_leaderboards_of_a_few_changed_relays_equal_a_fresh_build():
    """Operators whose contact group is unchanged keep their figures (the memo); the boards equal a fresh build."""
    from alliumd.model.relays import build_relays_lines
    details, latest, big = big_network()
    BIG_ID = build_groups(build_relays(copy.deepcopy(details))).relay_keys[big[0]]["contact"]

    def lines(doc):
        return {k: v for k, v in doc.items() if k != "relays"}, [json.dumps(r).encode() for r in doc["relays"]]

    def plain(lb):
        return lb.categories, lb.ranks, lb.overview, lb.operators, lb.inputs

    vm = aroi.build_validator(summary_of(latest))
    rm = build_relays_lines(*lines(details))
    gm = build_groups(rm)
    uptime, bandwidth = hand_made_history([r["fingerprint"] for r in details["relays"]])
    versions = ("uptime-1", "bandwidth-1")
    first = aroi.build_leaderboards(rm, gm, uptime, bandwidth, aroi.build_aroi(rm, gm, vm), versions=versions)
    changed = copy.deepcopy(details)
    changed["relays"][35]["consensus_weight"] *= 7               # one relay outside the big operator
    rm2 = build_relays_lines(*lines(changed), rm)
    gm2 = build_groups(rm2, gm)
    am2 = aroi.build_aroi(rm2, gm2, vm)
    again = aroi.build_leaderboards(rm2, gm2, uptime, bandwidth, am2, previous=first, versions=versions)
    assert plain(again) == plain(aroi.build_leaderboards(rm2, gm2, uptime, bandwidth, am2))
    kept = {gid for gid in again.memo.metrics if gm2.groups["contact"][gid] is gm.groups["contact"].get(gid)}
    moved = gm2.relay_keys[changed["relays"][35]["fingerprint"]]["contact"]
    assert kept and moved not in kept and BIG_ID in kept         # only the changed relay's operator is redone
    other = aroi.build_leaderboards(rm2, gm2, uptime, bandwidth, am2, previous=first, versions=("uptime-2",
                                                                                             "bandwidth-1"))
    assert plain(other) == plain(again)                          # a new uptime document: everything recomputed
    # a day later (the veteran days count to the publication): the operators are kept, their days recounted
    later = copy.deepcopy(changed)
    later["relays_published"] = "2026-08-23 11:00:00"
    for relay in later["relays"]:
        if relay.get("running") and relay.get("last_seen") == changed["relays_published"]:
            relay["last_seen"] = later["relays_published"]
    days = again.memo.metrics[BIG_ID].veteran_days             # (the memo is handed on: read it first)
    rm3 = build_relays_lines(*lines(later), rm2)
    gm3 = build_groups(rm3, gm2)
    am3 = aroi.build_aroi(rm3, gm3, vm)
    day = aroi.build_leaderboards(rm3, gm3, uptime, bandwidth, am3, previous=again, versions=versions)
    assert plain(day) == plain(aroi.build_leaderboards(rm3, gm3, uptime, bandwidth, am3))
    assert day.memo.metrics[BIG_ID].veteran_days == days + 1
