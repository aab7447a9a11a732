"""Graph histories (summaries/histories.py, cache/graphs.py): validation, decoding and the summary, on real graphs."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from alliumd.core import gcpause
from alliumd.summaries import histories as history
from alliumd.summaries.histories import BadGraph, graph_summary

REAL = Path(__file__).resolve().parent / "fixtures" / "real"


def real(name: str) -> dict:
    return json.loads((REAL / name).read_text())


MORIA_UPTIME = real("uptime_lookup-9695DFC35FFEB861329B9F1AB04C46397020CE31_2014_challenger.json")
BRIDGE_UPTIME = real("uptime_lookup-DE6397A047ABE5F78B4C87AF725047831B221AAB_2014_challenger.json")
GONION_UPTIME = real("uptime_limit1_TRIMMED-values_2021-10-01-1100.json")
MORIA_BW = real("bandwidth_lookup-9695DFC35FFEB861329B9F1AB04C46397020CE31_2014_challenger.json")
GABELMOO_BW = real("bandwidth_lookup-F2044413DAC2E02E3D6BCF4735A19BCA1DE97281_2014_challenger.json")


def graph(values, *, factor=0.001001001001001001, interval=14400, first="2026-07-22 14:00:00",
          last="2026-08-22 10:00:00", count=None):
    return {"first": first, "last": last, "interval": interval, "factor": factor,
            "count": len(values) if count is None else count, "values": values}


def expected_mean(g: dict) -> float:
    present = [v for v in g["values"] if v is not None]
    return sum(present) / len(present) * g["factor"]


# -- decoding --------------------------------------------------------------------------------

def test_real_graph_with_nulls_decodes_value_times_factor():
    g = BRIDGE_UPTIME["bridges"][0]["uptime"]["3_months"]          # 7 nulls, 2014 factor 0.001001001
    assert g["values"].count(None) == 7
    s = graph_summary(g)
    assert s["points"] == len(g["values"]) - 7
    assert s["mean"] == pytest.approx(expected_mean(g), abs=1e-5)
    assert "values" not in s                                         # no series unless asked


def test_factor_is_always_multiplied_not_assumed_1_over_999():
    g = graph([500, 500], factor=0.0008)                            # a relay whose best point was 80 %
    assert graph_summary(g)["mean"] == pytest.approx(0.4)


def test_bandwidth_mean_and_total_bytes_from_a_real_graph():
    g = MORIA_BW["relays"][0]["read_history"]["1_month"]
    s = graph_summary(g, with_total=True, digits=0)
    present = [v for v in g["values"] if v is not None]
    assert s["mean"] == round(expected_mean(g))
    assert s["total"] == pytest.approx(sum(v * g["factor"] * g["interval"] for v in present), rel=1e-12)


def test_count_is_not_trusted_len_values_is():
    g = GONION_UPTIME["relays"][0]["uptime"]["1_month"]
    assert g["count"] == 180 and len(g["values"]) == 2               # hand-trimmed upstream
    s = graph_summary(g, series=history.fraction_series)
    assert s["points"] == 2
    assert s["values"] == [1, 1]
    assert history.series_last(s["first"], s["interval"], len(s["values"])) == "2021-09-01 18:00:00"


def test_all_zero_history_with_factor_zero():
    s = graph_summary(graph([0, 0, 0], factor=0.0), series=history.scaled_series, with_total=True, digits=0)
    assert (s["mean"], s["total"], s["values"], s["scale"]) == (0, 0, [0, 0, 0], 0)


def test_empty_values_is_tolerated_as_no_data():
    s = graph_summary(graph([]), series=history.fraction_series)
    assert s == {"mean": None, "points": 0}


# -- validation ------------------------------------------------------------------------------

@pytest.mark.parametrize("change, message", [
    ({"values": [999, 1000]}, "outside 0–999"),
    ({"values": [-1, 999]}, "outside 0–999"),
    ({"values": [999, "999"]}, "other than integers"),
    ({"values": [999, 1.5]}, "non-integers"),
    ({"values": [999, [1]]}, "other than integers"),
    ({"values": "999,999"}, "'values'"),
    ({"factor": None}, "'factor'"),
    ({"factor": -1}, "'factor'"),
    ({"factor": True}, "'factor'"),
    ({"interval": 0}, "'interval'"),
    ({"interval": "14400"}, "'interval'"),
    ({"first": "2026-07-22T14:00:00Z"}, "'first'/'last'"),
    ({"last": None}, "'first'/'last'"),
    ({"first": "2026-02-30 14:00:00"}, "'first'/'last'"),     # the right shape, not a date
])
@pytest.mark.parametrize("few_values", [True, False])       # checked through their set, or as they are
def test_bad_graphs_are_refused(change, message, few_values):
    g = {**graph([999, 999]), **change}
    with pytest.raises(BadGraph, match=message):
        graph_summary(g, few_values=few_values)


def test_bandwidth_integers_up_to_999_are_kept_as_they_are_and_means_are_rescaled():
    kept = graph_summary(graph([999, None, 500]), series=history.scaled_series, few_values=False)
    assert kept["values"] == [999, None, 500] and kept["mean"] == graph_summary(graph([999, None, 500]))["mean"]
    low = graph_summary(graph([400, 200]), series=history.scaled_series, few_values=False)
    assert low["values"] == [999, 500]                      # rescaled so that the highest is 999


def test_graph_that_is_not_an_object_and_missing_keys():
    with pytest.raises(BadGraph):
        graph_summary([999])
    with pytest.raises(BadGraph):
        graph_summary({"values": [999]})


def test_bad_period_names_the_path():
    with pytest.raises(BadGraph, match=r"uptime\.6_months: 'values' outside"):
        history.period_summaries({"1_month": graph([999]), "6_months": graph([2000])}, "uptime")


# -- periods and flags -----------------------------------------------------------------------

def test_2014_periods_are_accepted_and_ignored():
    relay = MORIA_UPTIME["relays"][0]
    assert set(relay["uptime"]) == {"1_week", "1_month", "3_months", "1_year", "5_years"}
    s = history.uptime_relay(relay)
    assert set(s["uptime"]) == {"1M", "1Y", "5Y"}                  # no 6M in 2014; 1_week/3_months ignored
    assert s["flags"] == {}                                         # flags came with protocol 2.3
    bw = history.bandwidth_relay(MORIA_BW["relays"][0])
    assert set(bw["read"]) == set(bw["write"]) == {"1M", "1Y", "5Y"}


def test_missing_periods_and_flags_are_tolerated():
    assert history.uptime_relay({"fingerprint": "X"}) == {"uptime": {}, "flags": {}}
    assert history.bandwidth_relay({"fingerprint": "X"}) == {"read": {}, "write": {}}


def test_flags_keep_mean_and_points_of_the_known_flags_only():
    relay = GONION_UPTIME["relays"][0]
    s = history.uptime_relay({**relay, "flags": {**relay["flags"], "Valid": relay["flags"]["Guard"],
                                                 "<b>x</b>": relay["flags"]["Guard"]}})
    assert set(s["flags"]) == {"Guard", "Valid"}              # every known flag (a page picks by current flags)
    assert all(set(periods) <= {"1M", "6M", "1Y", "5Y"} and all(len(v) == 2 for v in periods.values())
               for periods in s["flags"].values())            # [mean, points]: no series
    assert s["flags"]["Guard"] == {"1M": [1.0, 1], "6M": [1.0, 2]}


def test_bad_flag_history_is_refused():
    with pytest.raises(BadGraph, match=r"flags\.Guard\.1_month"):
        history.uptime_relay({"flags": {"Guard": {"1_month": graph([999, None, 1001])}}})
    with pytest.raises(BadGraph, match="flags is not an object"):
        history.uptime_relay({"flags": ["Guard"]})


# -- series ----------------------------------------------------------------------------------

def test_series_has_at_most_90_bucket_means_at_bucket_centres():
    g = MORIA_UPTIME["relays"][0]["uptime"]["1_month"]                # 187 points of 4 h
    s = graph_summary(g, series=history.fraction_series)
    assert len(g["values"]) == 187
    k = 3                                                             # ceil(187 / 90)
    assert len(s["values"]) == 63 and s["interval"] == k * g["interval"]
    assert s["first"] == "2014-03-04 14:00:00"                       # first + (k-1)/2 intervals = +4 h
    first_bucket = [v * g["factor"] for v in g["values"][:3]]
    assert s["values"][0] == pytest.approx(sum(first_bucket) / 3, abs=5e-4)


def test_bucket_means_skip_nulls_and_null_only_buckets_stay_null():
    assert history.bucket_means([1, None, None, None, 3, 5, 6], 2) == [1, None, 4, 6]
    assert history.bucket_means([2, 4, 6, 8, 10], 2, has_null=False) == [3, 7, 10]
    assert history.bucket_means([1, None], 1) == [1, None]


def test_bucket_means_equal_the_mean_of_each_bucket_for_any_bucket_size():
    rng = random.Random(7)
    for _ in range(300):
        k = rng.randint(2, 5)
        values = [rng.choice([None, 0, 999, rng.randint(0, 999)]) for _ in range(rng.randint(1, 40))]
        buckets = [[v for v in values[i:i + k] if v is not None] for i in range(0, len(values), k)]
        expected = [sum(b) / len(b) if b else None for b in buckets]
        assert history.bucket_means(values, k) == expected
        if None not in values:
            got = history.bucket_means(values, k, has_null=False)
            assert got == expected and [type(m) for m in got] == [float] * len(got)


def test_real_nulls_reach_the_series_as_null():
    g = BRIDGE_UPTIME["bridges"][0]["uptime"]["1_week"]
    s = graph_summary(g, series=history.fraction_series)
    assert len(s["values"]) <= history.MAX_SERIES_POINTS
    assert s["points"] == len([v for v in g["values"] if v is not None])


def test_uptime_series_values_are_fractions_with_whole_numbers_as_ints():
    s = graph_summary(graph([999, 999, 0, 0, 500, 500]), series=history.fraction_series)
    assert s["values"] == [1, 1, 0, 0, 0.501, 0.501]
    assert type(s["values"][0]) is int


def test_bandwidth_series_round_trips_within_chart_resolution():
    g = GABELMOO_BW["relays"][0]["write_history"]["5_years"]
    s = graph_summary(g, series=history.scaled_series, with_total=True, digits=0)
    decoded = history.decode_scaled(s["values"], s["scale"])
    k = -(-len(g["values"]) // 90)
    raw = history.bucket_means(g["values"], k)
    top = max(m for m in raw if m is not None) * g["factor"]
    for got, mean in zip(decoded, raw):
        if mean is None:
            assert got is None
        else:
            assert got == pytest.approx(mean * g["factor"], abs=top / 999)
    assert all(v is None or 0 <= v <= 999 for v in s["values"])


def test_shift_time_and_series_last():
    assert history.shift_time("2026-08-22 10:00:00", 0) == "2026-08-22 10:00:00"
    assert history.shift_time("2026-12-31 22:00:00", 4 * 3600) == "2027-01-01 02:00:00"
    assert history.series_last("2026-07-22 12:00:00", 86400, 30) == "2026-08-20 12:00:00"


def test_overload_objects_keep_numbers_only():
    assert history.overload({"rate-limit": 1073741824, "timestamp": 1787356800000, "x": "<b>"}) == \
        {"rate-limit": 1073741824, "timestamp": 1787356800000}
    assert history.overload("nope") is None and history.overload({"a": "b"}) is None


def test_rendering_collects_less_often_and_restores_the_thresholds():
    import gc
    before = gc.get_threshold()
    with gcpause.rendering():
        assert gc.get_threshold() == gcpause.RENDER_THRESHOLDS and gc.isenabled()
    assert gc.get_threshold() == before
    try:
        with gcpause.rendering():
            raise KeyError("a failing batch")
    except KeyError:
        pass
    assert gc.get_threshold() == before


def test_gc_paused_restores_the_collector():
    import gc
    assert gc.isenabled()
    with gcpause.gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
