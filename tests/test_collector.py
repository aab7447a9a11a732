"""The collector source: parsing real CollecTor files, the index, the bundle fetch, validation.

Every parser test reads a real file from tests/fixtures/collector/ (see its
README: some are trimmed).  Two things are built here and labelled so: the
index.json listing what the loopback server serves, and a "modern" copy of
gabelmoo's 2018 vote with the bandwidth-file and ``stats`` lines current
votes carry (no such real vote was available offline).
"""

from __future__ import annotations

import base64
import functools
import gzip
import hashlib
import json
import re
import time
from pathlib import Path

import pytest

from alliumd import http
from alliumd.fetchers import InvalidDocument, collector
from alliumd.summaries import votes

from loopback import LoopbackAPI

FIX = Path(__file__).resolve().parent / "fixtures" / "collector"
MAATUSKA_2016 = FIX / ("2016-09-20-13-00-00-vote-49015F787433103580E3B66A1707A00E60F2D15B-"
                       "60ADC6BEC262AE921A1037D54C8A3976367DBE87.gz")
DANNENBERG_2016 = FIX / ("2016-10-01-16-00-00-vote-0232AF901C31A04EE9848595AF9BB7620D4C5B2E-"
                         "FEE63B4AB7CE5A6BDD09E9A5C4F01BD61EB7E4F1.trimmed")
CONSENSUS_2018 = FIX / "2018-10-15-00-00-00-consensus.part"
VOTES_2018 = sorted(FIX.glob("2018-10-15-00-00-00-vote-*.part"))
GABELMOO = "ED03BB616EB2F60BEC80151114BB25CEF515B226"
BW_V14 = FIX / "stem_bandwidth_file_v1.4.txt"
ROLE_DIRS = {"consensus": "consensuses", "vote": "votes", "bandwidth": "bandwidths"}


def read(path: Path) -> bytes:
    return gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()


@functools.lru_cache(maxsize=None)
def parsed_consensus(name: str) -> votes.StatusDoc:
    return votes.parse_status(read(FIX / name), "consensus")


def r_lines(data: bytes) -> int:
    return sum(1 for line in data.split(b"\n") if line.startswith(b"r "))


# -- test data builders (BUILT, labelled) ---------------------------------------------------

def bandwidth_name(body: bytes, stamp: str = "2019-04-21-21-35-04") -> str:
    return f"{stamp}-bandwidth-{hashlib.sha256(body).hexdigest().upper()}"


def modern_vote(vote: bytes, bw_file: bytes | None = None, *, digest: bool = True) -> bytes:
    """BUILT: a real vote plus the lines current votes carry: ``bandwidth-file-headers`` and
    ``bandwidth-file-digest`` naming ``bw_file`` (stem's real v1.4 file), and a ``stats`` line
    (tor's format ``wfu=%.6f tk=%lu mtbf=%.0f``; invented values) after every ``id ed25519`` line."""
    out = vote
    if bw_file is not None:
        headers = (b"bandwidth-file-headers timestamp=1555882497 version=1.4.0 software=sbws "
                   b"software_version=1.1.0 file_created=2019-04-21T21:35:04\n")
        if digest:
            b64 = base64.b64encode(hashlib.sha256(bw_file).digest()).rstrip(b"=")
            headers += b"bandwidth-file-digest sha256=" + b64 + b"\n"
        out = out.replace(b"\ndir-source ", b"\n" + headers + b"dir-source ", 1)
    return re.sub(rb"(\nid ed25519 [^\n]*)", rb"\1\nstats wfu=0.998765 tk=1234567 mtbf=2345678", out)


def set_2018(*, modern: bool = True, votes_subset: int | None = None) -> dict[str, dict[str, bytes]]:
    """The real 2018 set as CollecTor would serve it (names without ``.part``)."""
    bw = BW_V14.read_bytes()
    tree: dict[str, dict[str, bytes]] = {"consensus": {"2018-10-15-00-00-00-consensus": CONSENSUS_2018.read_bytes()},
                                         "vote": {}, "bandwidth": {}}
    for path in VOTES_2018[:votes_subset]:
        body = path.read_bytes()
        if modern and GABELMOO in path.name:
            body = modern_vote(body, bw)
        tree["vote"][path.name.removesuffix(".part")] = body
    if modern:
        tree["bandwidth"][bandwidth_name(bw)] = bw
    return tree


def index_json(tree: dict[str, dict[str, bytes]], *, sha: bool = True) -> bytes:
    """BUILT: a current-format index.json listing ``tree``.  Its ``path`` is the real CollecTor:
    the fetcher must build file URLs from the configured index URL, never from this."""
    dirs = []
    for role, sub in ROLE_DIRS.items():
        files = []
        for name, body in sorted(tree.get(role, {}).items()):
            entry = {"path": name, "size": len(body), "last_modified": "2018-10-15 00:05"}
            if sha:
                entry["sha256"] = base64.b64encode(hashlib.sha256(body).digest()).decode()
            files.append(entry)
        dirs.append({"path": sub, "files": files})
    return json.dumps({"index_created": "2018-10-15 00:10", "build_revision": "test",
                       "path": "https://collector.torproject.org",
                       "directories": [{"path": "recent", "directories": [
                           {"path": "relay-descriptors", "directories": dirs}]}]}).encode()


def serve(api: LoopbackAPI, tree: dict[str, dict[str, bytes]], *, sha: bool = True) -> None:
    for role, files in tree.items():
        for name, body in files.items():
            api.set(f"/recent/relay-descriptors/{ROLE_DIRS[role]}/{name}", body, content_type="text/plain")
    api.set("/index/index.json", index_json(tree, sha=sha))


def file_path(role: str, name: str) -> str:
    return f"/recent/relay-descriptors/{ROLE_DIRS[role]}/{name}"


# -- parsing real files ---------------------------------------------------------------------

def test_full_2016_maatuska_vote():
    data = read(MAATUSKA_2016)
    doc = votes.parse_status(data, "vote")
    assert len(doc.entries) == r_lines(data) == 7903
    assert sum(1 for e in doc.entries.values() if e[3] is not None) == 7526      # Measured= (bwauth)
    assert doc.authorities == [{"id": "49015F787433103580E3B66A1707A00E60F2D15B", "nickname": "maatuska",
                                "address": "171.25.193.9", "hostname": "171.25.193.9", "dir_port": 443,
                                "or_port": 80, "contact": "4096R/23291265 Linus Nordberg <linus@nordberg.se>"}]
    h = doc.header
    assert h["valid_after"] == "2016-09-20 13:00:00" and h["published"] == "2016-09-20 12:50:01"
    assert h["consensus_methods"] == [13, 14, 15, 16, 17, 18, 19, 20, 22]
    assert h["flag_thresholds"]["guard-wfu"] == 0.98 and h["flag_thresholds"]["guard-tk"] == 691200
    assert h["flag_thresholds"]["fast-speed"] == 102000
    assert h["bandwidth_file_headers"] is None and h["bandwidth_file_sha256"] is None
    nick, mask, bw, measured, wfu, tk, mtbf, ipv6, published = doc.entries["000149E6EF7102AACA9690D6E8DD2932124B94AB"]
    assert (nick, bw, measured, wfu, ipv6) == ("PDrelay1", 2992, 8890, None, 0)
    assert [f for i, f in enumerate(doc.flags) if mask >> i & 1] == ["Fast", "Guard", "HSDir", "Running",
                                                                      "Stable", "V2Dir", "Valid"]
    assert published == 1474347169


def test_trimmed_2016_dannenberg_vote_has_no_measurements():
    data = read(DANNENBERG_2016)
    doc = votes.parse_status(data, "vote")
    assert len(doc.entries) == r_lines(data) == 150
    assert doc.authorities[0]["nickname"] == "dannenberg"
    assert not any(e[3] is not None for e in doc.entries.values())


@pytest.mark.parametrize("name, method, signers", [
    ("2016-09-20-13-00-00-consensus.trimmed", 20, 7),
    ("2016-10-02-17-00-00-consensus-microdesc.trimmed", 20, 8),
    ("2018-10-15-00-00-00-consensus.part", 28, 9),
    ("2020-02-29-10-00-00-consensus.trimmed", 29, 8),
    ("2020-02-29-11-00-00-consensus.trimmed", 29, 7),
    ("2020-03-05-10-00-00-consensus.gz", 29, 9),
])
def test_consensuses(name, method, signers):
    data = read(FIX / name)
    doc = parsed_consensus(name)
    assert len(doc.entries) == r_lines(data)
    assert doc.header["method"] == method and len(doc.signers) == signers
    stamp = name[:19]
    assert doc.valid_after == f"{stamp[:10]} {stamp[11:13]}:{stamp[14:16]}:{stamp[17:19]}"
    assert doc.header["bandwidth_weights"]["Wgg"] > 0


def test_full_2020_consensus_counts():
    doc = parsed_consensus("2020-03-05-10-00-00-consensus.gz")
    assert len(doc.entries) == 6532
    assert sum(e[3] for e in doc.entries.values()) == 408                 # Unmeasured=1
    assert [a["nickname"] for a in doc.authorities] == ["dannenberg", "tor26", "longclaw", "bastet", "maatuska",
                                                         "moria1", "dizum", "gabelmoo", "Faravahar"]


@pytest.mark.parametrize("name, relays, version, software, excluded", [
    ("2019-05-14-11-43-39-bandwidth-1997D0509203B29E02FE5CAB27C07CBD8365C5751135264D3AC70BA3E1638B41",
     22, "1.0.0", "torflow", 0),
    ("2019-05-14-12-35-04-bandwidth-376B05F867C6E06C816DD2FF7A5C7B88D9829D958F0DA2F73BDFFD2C3B49D217",
     41, "1.4.0", "sbws", 4),
    ("stem_bandwidth_file_v1.0.txt", 94, "1.0.0", "torflow", 0),
    ("stem_bandwidth_file_v1.2.txt", 81, "1.2.0", "sbws", 0),
    ("stem_bandwidth_file_v1.4.txt", 58, "1.4.0", "sbws", 0),
])
def test_bandwidth_files(name, relays, version, software, excluded):
    data = read(FIX / name)
    doc = votes.parse_bandwidth_file(data)
    assert len(doc.relays) == data.count(b"node_id=$") == relays
    assert (doc.info["version"], doc.info["software"], doc.info["excluded"]) == (version, software, excluded)
    assert all(len(fp) == 40 and cell[0] >= 0 for fp, cell in doc.relays.items())
    if version == "1.0.0":
        assert doc.info["headers"] == {} and all(c[2] is None for c in doc.relays.values())
    else:
        assert doc.info["headers"]["file_created"] == doc.info["created"]
        assert all(c[2] is not None for c in doc.relays.values())          # success=


def test_bandwidth_file_excluded_relays_keep_their_reason():
    doc = votes.parse_bandwidth_file(read(FIX / "2019-05-14-12-35-04-bandwidth-376B05F867C6E06C816DD2FF7A5C7B88D9829D958F0DA2F73BDFFD2C3B49D217"))
    statuses = {votes.BANDWIDTH_STATUS[c[1]] for c in doc.relays.values()}
    assert statuses == {"voted", "unmeasured"}


# -- the index --------------------------------------------------------------------------------

def test_full_2016_index_selects_every_authority_for_the_newest_consensus():
    files = collector.parse_index(collector.decompress((FIX / "index_2016-08-22_full_metrics-lib.json.gz").read_bytes(),
                                                       10_000_000))
    assert all(f.sha256 is None for f in files)               # old format: path, size, last_modified only
    sel = collector.select(files)
    assert sel.consensus.name == "2016-08-22-10-00-00-consensus"
    assert len(sel.votes) == 8 and all(v.time == sel.consensus.time for v in sel.votes)
    assert len({v.authority for v in sel.votes}) == 8 and sel.bandwidths == []


def test_cropped_2019_index_falls_back_to_each_authoritys_newest_vote():
    files = collector.parse_index((FIX / "index_2019-11-30_cropped_stem.json").read_bytes())
    sel = collector.select(files)
    assert sel.consensus.name == "2019-11-28-01-00-00-consensus"
    assert [v.name[:19] for v in sel.votes] == ["2019-11-27-23-00-00"] * 3      # no vote for 01:00 listed
    assert len(sel.bandwidths) == 3 and all(b.digest and b.sha256 for b in sel.bandwidths)
    assert sel.votes[0].sha256 == base64.b64decode("uBb0SCyaR+hRrJBoHpcgzDtdKzZD7bsqWVAf4ivYNao=").hex()


def test_index_refusals():
    with pytest.raises(InvalidDocument, match="not JSON"):
        collector.parse_index(b"<html>maintenance</html>")
    with pytest.raises(InvalidDocument, match="index_created"):
        collector.parse_index(b'{"files": []}')
    with pytest.raises(InvalidDocument, match="no consensus"):
        collector.select(collector.parse_index(b'{"index_created": "2020-01-01 00:00"}'))
    with pytest.raises(InvalidDocument, match="more than"):
        collector.decompress(gzip.compress(b"{}" * 1000), 100)


def test_hostile_index_names_are_ignored():
    tree = {"vote": {"../../etc/passwd": b"x", "2018-10-15-00-00-00-vote-XYZ": b"x"},
            "consensus": {"2018-10-15-00-00-00-consensus": b"x", "2018-10-15-00-00-00-consensus/../x": b"x"}}
    files = collector.parse_index(index_json(tree))
    assert [f.name for f in files] == ["2018-10-15-00-00-00-consensus"]


def test_files_are_fetched_from_the_configured_host():
    assert collector.files_base("https://collector.torproject.org/index/index.json") == "https://collector.torproject.org"
    assert collector.files_base("http://127.0.0.1:8080/index/index.json.xz") == "http://127.0.0.1:8080"
    assert collector.files_base("https://mirror.example/c/idx.json") == "https://mirror.example/c"


# -- modern vote lines and the bandwidth file a vote names ----------------------------------------

def test_modern_vote_lines_and_bandwidth_reference():
    bw = BW_V14.read_bytes()
    gabelmoo = next(p for p in VOTES_2018 if GABELMOO in p.name).read_bytes()
    data = modern_vote(gabelmoo, bw)
    doc = votes.parse_status(data, "vote")
    assert all(e[4:7] == (0.998765, 1234567, 2345678) for e in doc.entries.values())
    assert doc.header["bandwidth_file_headers"]["file_created"] == "2019-04-21T21:35:04"
    assert doc.header["bandwidth_file_sha256"] == hashlib.sha256(bw).hexdigest().upper()
    ref = votes.bandwidth_reference(data[:collector.HEAD_BYTES])
    assert ref.sha256 == hashlib.sha256(bw).hexdigest().upper()
    assert ref.times == ("2019-04-21-21-35-04", "2019-04-21-21-34-57")

    other = collector._index_file("bandwidth", {"path": bandwidth_name(b"other", "2019-04-21-21-35-04")})
    named = collector._index_file("bandwidth", {"path": bandwidth_name(bw, "2019-04-21-21-40-00")})
    assert collector.match_bandwidth(ref, [other, named]) is named                     # by digest
    by_time = votes.bandwidth_reference(modern_vote(gabelmoo, bw, digest=False)[:collector.HEAD_BYTES])
    assert by_time.sha256 is None
    assert collector.match_bandwidth(by_time, [other, named]) is other                 # by file_created
    assert votes.bandwidth_reference(gabelmoo[:collector.HEAD_BYTES]) is None          # a 2018 vote names none


# -- the summary --------------------------------------------------------------------------------

def summary_of(tree: dict[str, dict[str, bytes]]) -> dict:
    consensus_name, consensus_body = next(iter(tree["consensus"].items()))
    consensus = votes.parse_status(consensus_body, "consensus")
    vote_inputs = [votes.VoteInput(name, name.split("-vote-")[1][:40], votes.parse_status(body, "vote"))
                   for name, body in sorted(tree["vote"].items())]
    bw = [votes.BandwidthInput(name, GABELMOO, votes.parse_bandwidth_file(body))
          for name, body in tree["bandwidth"].items()]
    return votes.build_summary(consensus_name, consensus, vote_inputs, bw)


def test_2018_set_lined_up_against_its_consensus():
    s = summary_of(set_2018(modern=False))
    assert s["relays_published"] == "2018-10-15 00:00:00" and s["consensus"]["method"] == 28
    auths = {a["nickname"]: a for a in s["authorities"]}
    assert len(auths) == 9 and len(s["consensus"]["voters"]) == 9             # from dir-source lines only
    assert {n for n, a in auths.items() if a["vote"]} == {"dannenberg", "bastet", "gabelmoo", "Faravahar"}
    assert {n: a["vote"]["measured"] for n, a in auths.items() if a["vote"]} == {
        "dannenberg": 0, "bastet": 20, "gabelmoo": 19, "Faravahar": 20}
    assert all(a["in_consensus"] and a["signed"] for a in auths.values())
    in_consensus = [fp for fp, r in s["relays"].items() if "c" in r]
    assert len(in_consensus) == 20 and len(s["relays"]) > 20                    # some voted, not in consensus
    cols = [a["id"] for a in s["authorities"]]
    for fp, relay in s["relays"].items():
        assert len(relay["v"]) == len(cols) and "b" not in relay
        for auth, cell in zip(s["authorities"], relay["v"]):
            assert (cell is not None) <= (auth["vote"] is not None)
    mask, weight, unmeasured = s["relays"][in_consensus[0]]["c"]
    assert votes.flags_of(s, mask) and weight >= 0 and unmeasured in (0, 1)


def test_summary_with_a_bandwidth_file_and_stats():
    s = summary_of(set_2018(modern=True))
    gabelmoo = next(a for a in s["authorities"] if a["id"] == GABELMOO)
    assert gabelmoo["bandwidth_file"]["version"] == "1.4.0" and gabelmoo["bandwidth_file"]["relays"] == 58
    assert gabelmoo["vote"]["bandwidth_file_headers"]["software"] == "sbws"
    col = s["authorities"].index(gabelmoo)
    cells = [r["v"][col] for r in s["relays"].values() if r["v"][col] is not None]
    assert cells and all(c[3:6] == [0.998765, 1234567, 2345678] for c in cells)
    assert all(len(r["b"]) == len(s["authorities"]) for r in s["relays"].values())


def test_summary_is_deterministic_and_compact():
    a = collector.dumps(summary_of(set_2018()))
    b = collector.dumps(summary_of(set_2018()))
    assert a == b and b"\n" not in a


def test_stale_vote_keeps_its_header_but_not_the_matrix():
    tree = set_2018(modern=False)
    name = next(n for n in tree["vote"] if GABELMOO in n)
    tree["vote"][name] = tree["vote"][name].replace(b"valid-after 2018-10-15 00:00:00", b"valid-after 2018-10-14 23:00:00")
    s = summary_of(tree)
    col = next(i for i, a in enumerate(s["authorities"]) if a["id"] == GABELMOO)
    assert s["authorities"][col]["vote"]["current"] is False
    assert all(r["v"][col] is None for r in s["relays"].values())


def test_vote_whose_dir_source_is_not_its_file_name():
    tree = set_2018(modern=False)
    consensus = votes.parse_status(CONSENSUS_2018.read_bytes(), "consensus")
    doc = votes.parse_status(next(iter(tree["vote"].values())), "vote")
    s = votes.build_summary("c", consensus, [votes.VoteInput("v", GABELMOO, doc)], [])
    row = next(a for a in s["authorities"] if a["id"] == GABELMOO)
    assert row["vote"] is None and "dir-source" in row["vote_error"]


# -- refusals -------------------------------------------------------------------------------------

def test_malformed_documents_are_refused():
    vote = VOTES_2018[0].read_bytes()
    with pytest.raises(votes.InvalidStatus):
        votes.parse_status(b"garbage\n", "vote")
    with pytest.raises(votes.InvalidStatus, match="vote-status"):
        votes.parse_status(vote, "consensus")
    with pytest.raises(votes.InvalidStatus, match="vote-status"):
        votes.parse_status(CONSENSUS_2018.read_bytes(), "vote")
    broken = re.sub(rb"\nr (\S+) \S+", rb"\nr \1 !!notbase64!!", vote, count=1)
    with pytest.raises(votes.InvalidStatus):
        votes.parse_status(broken, "vote")
    first = vote.index(b"\nr ")
    second = vote.index(b"\nr ", first + 1)
    duplicated = vote[:second] + vote[first:second] + vote[second:]
    with pytest.raises(votes.InvalidStatus, match="duplicate"):
        votes.parse_status(duplicated, "vote")
    header_only = vote[:first] + b"\n" + vote[vote.index(b"\ndirectory-footer"):]
    with pytest.raises(votes.InvalidStatus, match="no router entries"):
        votes.parse_status(header_only, "vote")
    with pytest.raises(votes.InvalidStatus):
        votes.parse_bandwidth_file(b"not a bandwidth file\n")
    with pytest.raises(votes.InvalidStatus):
        votes.parse_bandwidth_file(b"1555882497\nnode_id=$NOTHEX bw=1\n")


def test_hostile_header_text_is_plain_and_capped():
    vote = VOTES_2018[0].read_bytes()
    evil = vote.replace(b"\ncontact ", b"\ncontact <script>alert(1)</script>\x07" + b"A" * 500 + b" ", 1)
    doc = votes.parse_status(evil, "vote")
    contact = doc.authorities[0]["contact"]
    assert len(contact) <= votes.MAX_TEXT and "\x07" not in contact     # escaped later by the templates


# -- the bundle: fetch against the loopback server, validate ----------------------------------

class Cache:
    def __init__(self, root: Path):
        self.dir = root / "cache"
        self.tmp = self.dir / ".tmp"
        self.tmp.mkdir(parents=True)
        self.path = self.dir / "collector.json"
        self.session = http.new_session()

    def fetch(self, api: LoopbackAPI, **kw) -> http.FetchResult:
        return collector.fetch_bundle(self.session, api.url("/index/index.json"), tmp_dir=self.tmp,
                                      prefix="collector.json", timeout=5, retries=0, max_bytes=10_000_000,
                                      cache_path=self.path, rand=lambda: 0.5, **kw)

    def publish(self, result: http.FetchResult) -> None:
        result.tmp_path.replace(self.path)

    def store(self) -> set[str]:
        return {p.name for p in (self.dir / collector.STORE_DIRNAME).iterdir()}


def test_bundle_fetch_downloads_only_what_is_new(tmp_path):
    cache = Cache(tmp_path)
    with LoopbackAPI() as api:
        serve(api, set_2018(votes_subset=3))                   # one authority's vote not there yet
        first = cache.fetch(api)
        assert first.status == 200
        info = collector.validate(first.tmp_path)
        s = json.loads(info.summary)
        assert info.data_time == 1539561600 and sum(1 for a in s["authorities"] if a["vote"]) == 3
        assert any(a["bandwidth_file"] for a in s["authorities"])      # the modern gabelmoo vote named one
        cache.publish(first)
        assert all(r.path.startswith(("/index/", "/recent/relay-descriptors/")) for r in api.requests_log)

        again = cache.fetch(api, etag=first.etag, last_modified=first.last_modified)
        assert again.status == 304                              # index unchanged

        api.clear_log()
        tree = set_2018()
        serve(api, tree)                                        # the fourth vote arrives
        third = cache.fetch(api, etag=first.etag)
        assert third.status == 200
        fetched = [r.path for r in api.requests_log]
        new_vote = sorted(tree["vote"])[3]
        assert fetched == ["/index/index.json", file_path("vote", new_vote)]
        s = json.loads(collector.validate(third.tmp_path).summary)
        assert sum(1 for a in s["authorities"] if a["vote"]) == 4
        cache.publish(third)

        api.clear_log()
        unconditional = cache.fetch(api)                        # same selection, nothing downloaded
        assert unconditional.status == 304 and [r.path for r in api.requests_log] == ["/index/index.json"]
    manifest = collector.read_manifest(cache.path)
    assert cache.store() == {e["sha256"] for e in manifest["files"]}      # nothing else kept


def test_old_index_without_digests_reuses_files_by_name(tmp_path):
    cache = Cache(tmp_path)
    with LoopbackAPI() as api:
        serve(api, set_2018(modern=False), sha=False)
        cache.publish(cache.fetch(api))
        api.clear_log()
        api.set("/index/index.json", index_json(set_2018(modern=False), sha=False) + b" ")   # index changed
        assert cache.fetch(api).status == 304
        assert [r.path for r in api.requests_log] == ["/index/index.json"]


def test_a_vote_refused_for_good_is_listed_with_its_error(tmp_path):
    cache = Cache(tmp_path)
    tree = set_2018(modern=False)
    with LoopbackAPI() as api:
        serve(api, tree)
        gone = next(n for n in tree["vote"] if GABELMOO in n)
        api.fault(file_path("vote", gone), "status", code=404)
        result = cache.fetch(api)
        s = json.loads(collector.validate(result.tmp_path).summary)
    row = next(a for a in s["authorities"] if a["id"] == GABELMOO)
    assert row["vote"] is None and "404" in row["vote_error"]
    assert sum(1 for a in s["authorities"] if a["vote"]) == 3


def test_transient_failures_fail_the_poll_and_keep_downloads(tmp_path):
    cache = Cache(tmp_path)
    tree = set_2018()
    with LoopbackAPI() as api:
        serve(api, tree)
        last = sorted(tree["vote"])[-1]
        api.fault(file_path("vote", last), "status", code=500, times=1)
        with pytest.raises(http.FetchError, match="500"):
            cache.fetch(api)
        assert not cache.path.exists() and not list(cache.tmp.iterdir())
        api.clear_log()
        result = cache.fetch(api)
        assert result.status == 200
        assert file_path("consensus", "2018-10-15-00-00-00-consensus") not in [r.path for r in api.requests_log]


def test_a_file_that_is_not_what_the_index_says_is_refused(tmp_path):
    cache = Cache(tmp_path)
    tree = set_2018(modern=False)
    with LoopbackAPI() as api:
        serve(api, tree)
        api.set(file_path("consensus", "2018-10-15-00-00-00-consensus"), b"tampered\n")
        with pytest.raises(http.FetchError, match="index says|sha256"):
            cache.fetch(api)
    assert not (cache.dir / collector.STORE_DIRNAME / hashlib.sha256(b"tampered\n").hexdigest()).exists()


def test_an_invalid_index_is_a_permanent_error(tmp_path):
    cache = Cache(tmp_path)
    with LoopbackAPI() as api:
        api.set("/index/index.json", b"<html>portal</html>")
        with pytest.raises(http.FetchError, match="invalid index") as e:
            cache.fetch(api)
    assert e.value.transient is False


def test_deadline_bounds_the_whole_bundle(tmp_path, monkeypatch):
    cache = Cache(tmp_path)
    with LoopbackAPI() as api:
        serve(api, set_2018())
        monkeypatch.setattr(collector, "DOWNLOAD_SHARE", 0.0)
        started = time.monotonic()
        with pytest.raises(http.FetchError, match="deadline"):
            cache.fetch(api)
        assert time.monotonic() - started < 3


def bundle_on_disk(tmp_path: Path, tree) -> Path:
    """Fetch ``tree`` from a loopback server and publish the manifest like the runtime does."""
    cache = Cache(tmp_path)
    with LoopbackAPI() as api:
        serve(api, tree)
        cache.publish(cache.fetch(api))
    return cache.path


def test_validate_refuses_broken_bundles(tmp_path):
    path = bundle_on_disk(tmp_path, set_2018(modern=False))
    assert collector.validate(path).items == 22
    manifest = collector.read_manifest(path)
    store = collector.store_dir(path)

    path.write_text("{}")
    with pytest.raises(InvalidDocument, match="not an alliumd collector bundle"):
        collector.validate(path)

    consensus = next(e for e in manifest["files"] if e["role"] == "consensus")
    path.write_bytes(collector.manifest_bytes(manifest))
    (store / consensus["sha256"]).write_bytes(b"corrupt")
    with pytest.raises(InvalidDocument, match="corrupt"):
        collector.validate(path)
    (store / consensus["sha256"]).unlink()
    with pytest.raises(InvalidDocument, match="missing"):
        collector.validate(path)


def test_validate_degrades_a_bad_vote_but_refuses_when_none_is_usable(tmp_path):
    tree = set_2018(modern=False)
    bad = next(n for n in tree["vote"] if GABELMOO in n)
    tree["vote"][bad] = b"@type network-status-vote-3 1.0\nnot a vote\n"
    path = bundle_on_disk(tmp_path / "one", tree)
    s = json.loads(collector.validate(path).summary)
    row = next(a for a in s["authorities"] if a["id"] == GABELMOO)
    assert row["vote"] is None and "network-status-version" in row["vote_error"]

    for name in tree["vote"]:
        tree["vote"][name] = b"not a vote\n"
    with pytest.raises(InvalidDocument, match="no usable vote"):
        collector.validate(bundle_on_disk(tmp_path / "all", tree))
