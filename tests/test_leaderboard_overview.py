"""The totals and top-3 summary above the leaderboards (issue 16), on the 40-relay fixture with the AROI sample."""

from __future__ import annotations

from alliumd.model import aroi, format as fmt
from test_aroi import models


def test_overview_totals_and_top_three_of_every_board():
    rm, gm, _, am = models()
    lb = aroi.build_leaderboards(rm, gm, None, None, am)
    rows = {r["label"]: r for r in lb.overview["rows"]}
    running = [r for r in rm.relays if r["running"]]
    assert rows["Running relays"]["value"] == str(len(running)) == "35"
    observed = sum(r["observed_bandwidth"] or 0 for r in running)
    assert rows["Observed bandwidth"] == {"label": "Observed bandwidth", "value": fmt.bandwidth(observed),
                                          "detail": "of 35 running"}
    metrics = aroi.build_operator_metrics(rm, gm, None, None, am)
    top = sorted(metrics.values(), key=lambda m: (-m.bandwidth, -m.relays, m.id))[:3]
    assert rows["Top 3 operators' observed bandwidth"]["value"] == fmt.bandwidth(sum(m.bandwidth for m in top))
    ranked = sum(1 for r in running if gm.relay_keys[r["fingerprint"]]["contact"] in metrics)
    assert rows["Run by a ranked operator"]["value"] == str(ranked)
    validated = sum(1 for gid in metrics if am.operators[gid]["status"] == aroi.VALIDATED)
    assert rows["Operators whose AROI validates"]["value"] == str(validated) and validated > 0
    assert [c["key"] for c in lb.overview["top3"]] == [c.key for c in aroi.CATEGORIES]
    for c, board in zip(lb.overview["top3"], lb.categories):
        assert [e["id"] for e in c["entries"]] == [e["id"] for e in board["entries"][:3]]
    no_validator = aroi.build_leaderboards(rm, gm, None, None, None)
    assert {r["label"]: r for r in no_validator.overview["rows"]}["Operators whose AROI validates"]["value"] == \
        fmt.MISSING
