"""bench/synth_votes.py: the synthetic collector summary has the real summary's shape and the
variants bench.profile measures change what they claim to (a few hand-made relays, no bench data)."""

from __future__ import annotations

import json
from pathlib import Path

from alliumd.model import consensus_eval
from alliumd.summaries import votes

from bench import synth_votes

FIX = Path(__file__).resolve().parent / "fixtures" / "collector"


def relay(i: int, **kw) -> dict:
    fp = f"{i:040X}"
    base = {"fingerprint": fp, "nickname": f"relay{i}", "running": True, "measured": True,
            "flags": ["Fast", "Running", "Stable", "V2Dir", "Valid"] + (["Guard", "HSDir"] if i % 2 else []),
            "advertised_bandwidth": 5_000_000 + i * 1000, "consensus_weight": 4000 + i,
            "first_seen": "2025-01-01 00:00:00", "last_restarted": "2026-08-01 00:00:00",
            "or_addresses": ["192.0.2.1:443"] + (["[2001:db8::1]:443"] if i % 3 == 0 else [])}
    return {**base, **kw}


RELAYS = [relay(i) for i in range(1, 25)] + [relay(99, running=False, flags=["Valid"]),
                                              relay(98, measured=False)]


def real_summary() -> dict:
    """A summary of real documents: the 2018 consensus, one real vote with a ``stats`` line added as
    current votes carry it, and stem's real v1.4 bandwidth file."""
    consensus = votes.parse_status((FIX / "2018-10-15-00-00-00-consensus.part").read_bytes(), "consensus")
    path = sorted(FIX.glob("2018-10-15-00-00-00-vote-*.part"))[0]
    raw = path.read_bytes().replace(b"\nid ed25519 ", b"\nstats wfu=0.998765 tk=1234567 mtbf=2345678\nid ed25519 ")
    doc = votes.parse_status(raw, "vote")
    ident = path.name.split("-vote-")[1][:40]
    bw = votes.parse_bandwidth_file((FIX / "stem_bandwidth_file_v1.4.txt").read_bytes())
    return votes.build_summary("c", consensus, [votes.VoteInput(path.name, ident, doc)],
                               [votes.BandwidthInput("b", ident, bw)])


def kinds(cell: list) -> list[str]:
    return ["num" if isinstance(v, (int, float)) else type(v).__name__ for v in cell]


def test_synthetic_summary_has_the_real_shape():
    real, synth = real_summary(), synth_votes.build(RELAYS)
    assert synth.keys() == real.keys()
    assert synth["consensus"].keys() == real["consensus"].keys()
    for a in synth["authorities"]:
        assert a.keys() == real["authorities"][0].keys()
        assert a["vote"].keys() == next(r["vote"] for r in real["authorities"] if r["vote"]).keys()
        assert a["vote"]["current"] and a["in_consensus"] and a["signed"]
    bwauths = [a for a in synth["authorities"] if a["bandwidth_file"]]
    assert len(synth["authorities"]) == 9 and len(bwauths) == 6
    real_bw = next(a["bandwidth_file"] for a in real["authorities"] if a["bandwidth_file"])
    assert all(a["bandwidth_file"].keys() == real_bw.keys() for a in bwauths)
    real_cell = next(c for r in real["relays"].values() for c in r["v"] if c)
    for fp, row in synth["relays"].items():
        assert set(row) <= {"n", "c", "v", "b"} and len(row["v"]) == len(row["b"]) == 9
        for cell in filter(None, row["v"]):
            assert len(cell) == len(real_cell) == len(votes.VOTE_FIELDS)
            assert set(votes.flags_of(synth, cell[0])) <= set(synth_votes.KNOWN_FLAGS)
        for cell in filter(None, row["b"]):
            assert len(cell) == len(votes.BANDWIDTH_FIELDS) and kinds(cell) == ["num"] * 4
    # round trip through the serialisation collector.validate uses, and the relay page's reader
    summary = json.loads(synth_votes.summary_bytes(RELAYS))
    assert summary == json.loads(json.dumps(synth))
    context = consensus_eval.build_context(summary)
    assert context["voters"] == 9 and context["bwauths"] == 6 and context["majority"] == 5
    view = consensus_eval.evaluate(context, consensus_eval.relay_row(summary, RELAYS[0]["fingerprint"]))
    assert view["in_consensus"] and view["listed_by"] >= 5
    assert relay(99)["fingerprint"] not in {fp for fp, r in summary["relays"].items() if "c" in r}
    assert summary["relays"][relay(98)["fingerprint"]]["c"][2] == 1          # unmeasured in the consensus


def test_variants_change_what_they_claim():
    base = synth_votes.build(RELAYS)
    assert synth_votes.summary_bytes(RELAYS) == synth_votes.summary_bytes(RELAYS)        # deterministic
    hour = synth_votes.build(RELAYS, hour=1)
    assert hour["relays_published"] == "2026-08-22 12:00:00"
    assert all(hour["relays"][fp] != row for fp, row in base["relays"].items())
    touched = synth_votes.build(RELAYS, hour=1, touch=0.1)
    changed = {fp for fp, row in hour["relays"].items() if touched["relays"].get(fp) != row}
    expected = synth_votes.touched_relays([r["fingerprint"] for r in RELAYS], 0.1, 1)
    assert changed and changed <= expected and len(expected) == 3
    assert consensus_eval.build_context(touched)["digest"] == consensus_eval.build_context(hour)["digest"]
