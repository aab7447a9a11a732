"""Onionoo uptime and bandwidth: streamed validation, the summary document, and the two models.

Real fixtures: the 2014 challenger lookups (old periods, nulls, no version,
a bridge-only empty response), the 2021 gonion samples (8.0 shape, trimmed
values) and a 40-relay modern document cut from the bundled sample.
"""

from __future__ import annotations

import gzip
import json
from importlib import resources
from pathlib import Path

import pytest

from alliumd.cache import layout, names
from alliumd.core import jsonx
from alliumd.fetchers import InvalidDocument, onionoo_bandwidth, onionoo_lines, onionoo_stream, onionoo_uptime
from alliumd.model.history import relay_items
from alliumd.summaries import histories as history
from alliumd.model import bandwidth as bandwidth_model, uptime as uptime_model
from alliumd.model.bandwidth import BandwidthModel, build_bandwidth
from alliumd.model.uptime import UptimeModel, build_uptime, build_uptime_from, distribution, percentile

from daemon_harness import onionoo_bytes

FIXTURES = Path(__file__).resolve().parent / "fixtures"
REAL = FIXTURES / "real"
UPTIME_SMALL = FIXTURES / "onionoo_uptime_small.json"
BANDWIDTH_SMALL = FIXTURES / "onionoo_bandwidth_small.json"
MORIA = "9695DFC35FFEB861329B9F1AB04C46397020CE31"
GABELMOO = "F2044413DAC2E02E3D6BCF4735A19BCA1DE97281"


def real(kind: str, name: str) -> Path:
    return next(REAL.glob(f"{kind}_{name}*.json"))


def load(path: Path) -> dict:
    return json.loads(path.read_text())


def summary_of(module, path: Path) -> dict:
    return json.loads(module.validate(path).summary)


def write(tmp_path: Path, body: bytes | str, name: str = "doc.json") -> Path:
    path = tmp_path / name
    path.write_bytes(body.encode() if isinstance(body, str) else body)
    return path


def pct(graph: dict) -> float:
    present = [v for v in graph["values"] if v is not None]
    return sum(present) / len(present) * graph["factor"] * 100


# -- the streamed reader ---------------------------------------------------------------------

def test_modern_document_is_read_line_by_line(tmp_path):
    seen = []
    streamed = onionoo_stream.read(UPTIME_SMALL, lambda obj, i: seen.append(i) or obj["fingerprint"])
    assert streamed.line_oriented and streamed.seen == 40 and seen == list(range(40))
    assert streamed.envelope == {"version": "8.0", "build_revision": "89598ea",
                                 "relays_published": "2026-08-22 11:00:00",
                                 "bridges_published": "2026-08-22 10:59:01"}


@pytest.mark.parametrize("layout", ["pretty", "one_line", "relay_split_over_lines"])
def test_other_layouts_fall_back_to_a_full_parse_with_the_same_summary(tmp_path, layout):
    doc = load(UPTIME_SMALL)
    if layout == "pretty":
        body = json.dumps(doc, indent=2)
    elif layout == "one_line":
        body = json.dumps(doc)
    else:
        body = UPTIME_SMALL.read_text().replace('"uptime":{', '\n"uptime":{', 1)
    path = write(tmp_path, body)
    streamed = onionoo_stream.read(path, lambda obj, i: obj["fingerprint"])
    assert not streamed.line_oriented and streamed.seen == 40
    assert onionoo_uptime.validate(path).summary == onionoo_uptime.validate(UPTIME_SMALL).summary


def test_2014_and_2021_real_documents_use_the_fallback():
    for path in (real("uptime", "lookup-" + MORIA), real("uptime", "limit1")):
        assert not onionoo_stream.read(path, lambda obj, i: obj).line_oriented


@pytest.mark.parametrize("module, path", [(onionoo_bandwidth, BANDWIDTH_SMALL), (onionoo_uptime, UPTIME_SMALL)])
def test_stdlib_json_gives_the_same_summary(monkeypatch, module, path):
    expected = module.validate(path).summary
    monkeypatch.setattr(onionoo_lines, "loads", json.loads)
    monkeypatch.setattr(onionoo_stream, "dumps", jsonx.stdlib_dumps)
    got = module.validate(path).summary
    assert json.loads(got) == json.loads(expected)


def test_bridges_are_never_read(tmp_path):
    doc = load(UPTIME_SMALL)
    bridge = {**doc["relays"][0], "fingerprint": "AB" * 20}             # hashed fingerprints look alike
    body = onionoo_bytes(doc).replace(b'"bridges":[]', b'"bridges":[\n' + json.dumps(bridge).encode() + b"\n]")
    info = onionoo_uptime.validate(write(tmp_path, body))
    assert "AB" * 20 not in json.loads(info.summary)["relays"] and info.items == 40


def test_envelope_members_after_the_relays_and_a_one_line_relays_array(tmp_path):
    doc = load(UPTIME_SMALL)
    doc["relays"] = doc["relays"][:2]
    body = ('{"relays_published":"2026-08-22 11:00:00",\n"relays":' + json.dumps(doc["relays"]) +
            ',\n"relays_truncated":7,\n"bridges_published":"2026-08-22 10:59:01",\n"bridges":[\n]\n}\n')
    streamed = onionoo_stream.read(write(tmp_path, body), lambda obj, i: obj["fingerprint"])
    assert streamed.line_oriented and streamed.seen == 2
    assert streamed.envelope["relays_truncated"] == 7


@pytest.mark.parametrize("body", [
    '{"version":"8.0",\n"relays_published":"2026-08-22 11:00:00",\n"relays":[\n{"fingerprint":"%s"}\n'
    '{"fingerprint":"%s"}\n]}\n' % (MORIA, GABELMOO),
    '{"version":"8.0"\n"relays_published":"2026-08-22 11:00:00",\n"relays":[\n]}\n',
    '{"version":"8.0",\n"relays_published":"2026-08-22 11:00:00",\n"relays":[\n],\n}\n',
])
def test_missing_or_extra_commas_are_not_accepted_line_by_line(tmp_path, body):
    with pytest.raises(InvalidDocument, match="not valid JSON"):
        onionoo_uptime.validate(write(tmp_path, body))


# -- what is refused -------------------------------------------------------------------------

def test_empty_relay_list_is_invalid_real_bridge_lookup():
    for module, kind in ((onionoo_uptime, "uptime"), (onionoo_bandwidth, "bandwidth")):
        with pytest.raises(InvalidDocument, match="'relays' is empty"):
            module.validate(real(kind, "lookup-DE6397A047ABE5F78B4C87AF725047831B221AAB"))


@pytest.mark.parametrize("change, message", [
    ({"version": "9.0"}, "not supported"),
    ({"version": "7.1"}, "not supported"),
    ({"relays_published": None}, "relays_published"),
    ({"relays_published": "2026-08-22T11:00:00Z"}, "relays_published"),
    ({"relays": None}, "'relays'"),
])
def test_broken_envelopes_are_invalid(tmp_path, change, message):
    doc = {**load(UPTIME_SMALL), **change}
    doc = {k: v for k, v in doc.items() if v is not None}
    body = onionoo_bytes(doc) if isinstance(doc.get("relays"), list) else json.dumps(doc).encode()
    with pytest.raises(InvalidDocument, match=message):
        onionoo_uptime.validate(write(tmp_path, body))


def test_another_major_version_is_refused_before_its_relays_are_read(tmp_path):
    doc = {**load(UPTIME_SMALL), "version": "9.0"}
    doc["relays"][0]["uptime"]["1_month"]["values"] = "a new encoding"
    with pytest.raises(InvalidDocument, match="not supported"):
        onionoo_uptime.validate(write(tmp_path, onionoo_bytes(doc)))


@pytest.mark.parametrize("body", [b"", b"<html>maintenance</html>", b'{"version":"8.0",\n"relays":[\n'])
def test_not_json_or_truncated_is_invalid(tmp_path, body):
    with pytest.raises(InvalidDocument, match="not valid JSON"):
        onionoo_bandwidth.validate(write(tmp_path, body))


def test_truncated_modern_document_is_invalid(tmp_path):
    body = BANDWIDTH_SMALL.read_bytes()
    with pytest.raises(InvalidDocument):
        onionoo_bandwidth.validate(write(tmp_path, body[: len(body) // 2]))


@pytest.mark.parametrize("fingerprint", [None, "", "abc", "9695dfc35ffeb861329b9f1ab04c46397020ce31",
                                         "$9695DFC35FFEB861329B9F1AB04C46397020CE31"])
def test_relay_without_a_valid_fingerprint_is_invalid(tmp_path, fingerprint):
    doc = load(UPTIME_SMALL)
    doc["relays"][3]["fingerprint"] = fingerprint
    with pytest.raises(InvalidDocument, match=r"relays\[3\] has no valid 40-hex fingerprint"):
        onionoo_uptime.validate(write(tmp_path, onionoo_bytes(doc)))


def test_a_bad_graph_makes_the_document_invalid_and_names_the_relay(tmp_path):
    doc = load(BANDWIDTH_SMALL)
    relay = doc["relays"][7]
    relay["read_history"]["1_month"]["values"][2] = 4000
    with pytest.raises(InvalidDocument, match=rf"relay {relay['fingerprint']}: read_history\.1_month"):
        onionoo_bandwidth.validate(write(tmp_path, onionoo_bytes(doc)))


def test_non_object_relay_is_invalid(tmp_path):
    doc = load(UPTIME_SMALL)
    doc["relays"][1] = ["not", "an", "object"]
    with pytest.raises(InvalidDocument, match=r"relays\[1\] is not an object"):
        onionoo_uptime.validate(write(tmp_path, onionoo_bytes(doc)))


# -- the summary document --------------------------------------------------------------------

def test_summary_document_shape_and_docinfo():
    info = onionoo_uptime.validate(UPTIME_SMALL)
    assert info.items == 40 and not info.is_sample and info.data_time == 1787396400.0
    assert b", " not in info.summary and b": " not in info.summary          # compact
    lines = info.summary.split(b"\n")                                       # one relay per line
    assert lines[1] == b'"relays":{' and lines[-1] == b"}}" and len(lines) == 40 + 3
    assert all(layout.split_item(line.rstrip(b",")) for line in lines[2:-1])
    doc = json.loads(info.summary)
    assert list(doc)[:3] == ["format", "source", "relays_published"]
    assert doc["format"] == onionoo_uptime.SUMMARY_FORMAT == names.UPTIME_SUMMARY_FORMAT
    assert doc["source"] == "onionoo_uptime" and doc["relays_published"] == "2026-08-22 11:00:00"
    assert list(doc["relays"]) == sorted(doc["relays"])
    assert onionoo_uptime.validate(UPTIME_SMALL).summary == info.summary           # deterministic
    assert len(info.summary) < UPTIME_SMALL.stat().st_size / 10


def test_sample_marker_is_copied(tmp_path):
    body = UPTIME_SMALL.read_bytes().replace(b'{"version":"8.0",\n', b'{"version":"8.0",\n"alliumd_sample":"x",\n')
    info = onionoo_uptime.validate(write(tmp_path, body))
    assert info.is_sample and json.loads(info.summary)["alliumd_sample"] == "x"


def test_bundled_samples_validate(tmp_path):
    for module, name in ((onionoo_uptime, "onionoo_uptime"), (onionoo_bandwidth, "onionoo_bandwidth")):
        raw = gzip.decompress((resources.files("alliumd.sample") / f"{name}.json.gz").read_bytes())
        info = module.validate(write(tmp_path, raw, name))
        assert info.is_sample and info.items == 1003


def test_duplicate_relays_keep_the_first(tmp_path):
    doc = load(UPTIME_SMALL)
    twin = json.loads(json.dumps(doc["relays"][0]))
    twin["uptime"]["1_month"]["values"] = [0] * 40
    doc["relays"].append(twin)
    summary = json.loads(onionoo_uptime.validate(write(tmp_path, onionoo_bytes(doc))).summary)
    assert len(summary["relays"]) == 40
    assert summary["relays"][twin["fingerprint"]]["uptime"]["1M"]["mean"] > 0


# -- the uptime model ------------------------------------------------------------------------

def test_no_summary_means_no_model():
    assert build_uptime(None) is None and build_bandwidth(None) is None
    assert build_uptime({"format": 999, "source": "onionoo_uptime", "relays": {}}) is None
    assert build_uptime(summary_of(onionoo_bandwidth, BANDWIDTH_SMALL)) is None     # wrong source
    assert build_bandwidth(summary_of(onionoo_uptime, UPTIME_SMALL)) is None


def test_uptime_of_a_real_2014_relay():
    raw = load(real("uptime", "lookup-" + MORIA))["relays"][0]["uptime"]
    model = build_uptime(summary_of(onionoo_uptime, real("uptime", "lookup-" + MORIA)))
    assert isinstance(model, UptimeModel) and model.published == "2014-04-04 10:00:00 UTC"
    relay = model.relays[MORIA]
    assert relay["uptime"]["1M"] == pytest.approx(pct(raw["1_month"]), abs=1e-3)
    assert relay["uptime"]["1Y"] == pytest.approx(pct(raw["1_year"]), abs=1e-3)
    assert relay["uptime"]["6M"] is None                        # 2014 had 3_months, not 6_months
    assert relay["flags"] == {} and uptime_model.flag_uptime(relay, ["Running", "Guard"]) == (None, {})
    series = uptime_model.series_of(relay)["1M"]
    assert len(series["values"]) <= 90 and all(v is None or 0 <= v <= 1 for v in series["values"])
    assert series["last"] == history.series_last(series["first"], series["interval"], len(series["values"]))


def test_fewer_than_30_points_is_no_uptime_and_guard_is_the_flag():
    model = build_uptime(summary_of(onionoo_uptime, real("uptime", "limit1")))
    relay = model.relays["000853C5B75A25D6960A0910D40A5F2B210B7D3A"]
    assert relay["points"]["1M"] == 2 and relay["uptime"]["1M"] is None
    flag, flagged = uptime_model.flag_uptime(relay, ["Fast", "Guard", "Running"])
    assert flag == "Guard" and flagged["6M"] is None
    assert uptime_model.series_of(relay)["1M"]["values"] == [1, 1]


def test_modern_relays_match_the_raw_document():
    raw = {r["fingerprint"]: r for r in load(UPTIME_SMALL)["relays"]}
    model = build_uptime(summary_of(onionoo_uptime, UPTIME_SMALL))
    assert set(model.relays) == set(raw)
    for fp, relay in model.relays.items():
        for period, key in history.PERIODS.items():
            graph = raw[fp]["uptime"].get(period)
            if graph is None or sum(v is not None for v in graph["values"]) < 30:
                assert relay["uptime"][key] is None
            else:
                assert relay["uptime"][key] == pytest.approx(pct(graph), abs=1e-3)
        flags = raw[fp].get("flags", {})
        expected_flag = next((f for f in ("Exit", "Guard", "Fast", "Running") if f in flags), None)
        flag, flagged = uptime_model.flag_uptime(relay, list(flags))    # holding every flag it has history for
        assert flag == expected_flag
        if expected_flag and "6_months" in flags[expected_flag]:
            g = flags[expected_flag]["6_months"]
            if sum(v is not None for v in g["values"]) >= 30:
                assert flagged["6M"] == pytest.approx(pct(g), abs=1e-3)


def test_each_flag_summary_is_its_own_graphs_even_when_graphs_repeat():
    """uptime_relay reuses the summary of an equal graph (most flag histories equal the uptime one): every
    flag's [mean, points] must still be what its own graph gives, for the small fixture and for made-up
    relays whose flags equal, nearly equal or differ from their uptime."""
    def expected(relay):
        out = {}
        for flag, periods in relay.get("flags", {}).items():
            if flag not in history.UPTIME_FLAGS:
                continue
            kept = periods if flag in history.FLAG_PRIORITY else {k: v for k, v in periods.items() if k == "1_month"}
            out[flag] = {key: [history.graph_summary(kept[p])["mean"], history.graph_summary(kept[p])["points"]]
                         for p, key in history.PERIODS.items() if p in kept}
        return out

    def graph(values, first="2026-07-22 12:00:00"):
        return {"first": first, "last": "2026-08-22 08:00:00", "interval": 14400, "factor": 0.001001001001001001,
                "count": len(values), "values": values}

    up = graph([999] * 150 + [None, 500] * 15)
    made_up = {"fingerprint": "A" * 40, "uptime": {"1_month": up, "6_months": graph([999] * 180)},
               "flags": {"Running": {"1_month": dict(up), "6_months": graph([999] * 180)},
                         "Valid": {"1_month": graph([999] * 150 + [None, 501] * 15), "6_months": graph([0] * 9)},
                         "Fast": {"1_month": graph([999] * 150 + [None, 500] * 15, first="2026-07-22 16:00:00")},
                         "Guard": {"1_month": graph([0, 999] * 90), "6_months": dict(up)},
                         "Exit": {"6_months": graph([999] * 180)}}}
    for relay in [*load(UPTIME_SMALL)["relays"], made_up]:
        assert history.uptime_relay(relay)["flags"] == expected(relay), relay["fingerprint"]
    broken = dict(made_up, flags={"Running": {"1_month": dict(up)}, "Fast": {"1_month": dict(up, values=["x"])}})
    with pytest.raises(history.BadGraph, match="flags.Fast.1_month"):
        history.uptime_relay(broken)
    # equal to the valid uptime graph by ==, but floats where only integers are valid: refused as on its own
    floats = [float(v) if v is not None else None for v in up["values"]]
    for bad in (dict(up, values=floats), dict(up, interval=14400.0)):
        assert bad == up
        with pytest.raises(history.BadGraph, match="flags.Running.1_month"):
            history.uptime_relay(dict(made_up, flags={"Running": {"1_month": bad}}))


def relay_summary(means: dict[str, float | None], flags: dict | None = None) -> dict:
    uptime = {p: {"mean": m, "points": 100, "first": "2026-08-01 12:00:00", "interval": 86400, "values": [m]}
              for p, m in means.items()}
    return {"uptime": uptime, "flags": flags or {}}


def uptime_doc(relays: dict) -> dict:
    return {"format": names.UPTIME_SUMMARY_FORMAT, "source": "onionoo_uptime",
            "relays_published": "2026-08-22 11:00:00", "relays": relays}


def test_flag_priority_exit_guard_fast_running():
    pair = [0.5, 100]
    doc = uptime_doc({
        "A" * 40: relay_summary({"6M": 1.0}, {"Running": pair, "Fast": pair, "Guard": pair, "Exit": [0.25, 100]}),
        "B" * 40: relay_summary({"6M": 1.0}, {"Running": pair, "Guard": [0.75, 100], "Stable": pair}),
        "C" * 40: relay_summary({"6M": 1.0}, {"Running": [0.9, 100], "Fast": [0.8, 29]}),
        "D" * 40: relay_summary({"6M": 1.0}, {"Running": [0.9, 100]}),
    })
    for flags in doc["relays"].values():
        flags["flags"] = {f: {"6M": v} for f, v in flags["flags"].items()}
    model = build_uptime(doc)
    held = {c: list(doc["relays"][c * 40]["flags"]) for c in "ABCD"}       # holding every flag it has history for
    picked = [uptime_model.flag_uptime(model.relays[c * 40], held[c]) for c in "ABCD"]
    assert [(flag, periods["6M"]) for flag, periods in picked] == \
        [("Exit", 25.0), ("Guard", 75.0), ("Fast", None), ("Running", 90.0)]


def test_flag_uptime_uses_the_relays_current_flags_not_a_lost_one():
    """Issue 16 #1: a relay that lost Guard (its history still has Guard) shows its Fast uptime."""
    doc = uptime_doc({"E" * 40: relay_summary({"6M": 1.0}, {"Running": {"6M": [0.9, 100]},
                                                            "Fast": {"6M": [0.8, 100]},
                                                            "Guard": {"6M": [0.7, 100]}})})
    entry = build_uptime(doc).relays["E" * 40]
    assert uptime_model.flag_uptime(entry, ["Fast", "Running", "Stable"]) == \
        ("Fast", {"1M": None, "6M": 80.0, "1Y": None, "5Y": None})
    assert uptime_model.flag_uptime(entry, ["Guard", "Fast", "Running"])[0] == "Guard"
    assert uptime_model.flag_uptime(entry, [])[0] is None                 # not running: no flag uptime
    from alliumd.pages.relays import uptime_section
    assert uptime_section(entry, ["Fast", "Running"])["flag"] == "Fast"


def test_network_distribution_and_outliers():
    means = [0.99] * 20 + [0.98] * 20 + [0.5, 0.005]            # 0.5 % is "offline" and left out
    doc = uptime_doc({f"{i:040X}": relay_summary({"1M": m, "6M": m}) for i, m in enumerate(means)})
    doc["relays"][f"{99:040X}"] = relay_summary({"1M": None})   # no data: no effect
    model = build_uptime(doc)
    six = model.network["6M"]
    kept = sorted(m * 100 for m in means if m * 100 > 1)
    mean = sum(kept) / len(kept)
    std = (sum((v - mean) ** 2 for v in kept) / len(kept)) ** 0.5
    assert six["count"] == 41 and six["mean"] == pytest.approx(mean, abs=1e-4)
    assert six["std"] == pytest.approx(std, abs=1e-4)
    assert set(six["percentiles"]) == {"5", "25", "50", "75", "90", "95", "99"}
    assert (six["percentiles"]["5"], six["percentiles"]["50"], six["percentiles"]["90"]) == (98.0, 98.0, 99.0)
    assert set(model.network) >= {"1M", "6M"}
    outliers = {fp: r["outlier"] for fp, r in model.relays.items() if r["outlier"]}
    assert outliers == {f"{40:040X}": "low", f"{41:040X}": "low"}


def test_high_outlier_and_empty_network():
    doc = uptime_doc({f"{i:040X}": relay_summary({"6M": 0.5}) for i in range(30)})
    doc["relays"]["F" * 40] = relay_summary({"6M": 1.0})
    assert build_uptime(doc).relays["F" * 40]["outlier"] == "high"
    empty = build_uptime(uptime_doc({}))
    assert empty.relays == {} and empty.network["6M"]["count"] == 0 and empty.network["6M"]["mean"] is None


def test_a_reused_entry_is_marked_again_against_the_new_network():
    doc = uptime_doc({f"{i:040X}": relay_summary({"6M": 0.5}) for i in range(30)})
    doc["relays"]["F" * 40] = relay_summary({"6M": 1.0})
    first = build_uptime(doc)
    assert first.relays["F" * 40]["outlier"] == "high"
    for i in range(30):                                   # everyone else catches up: F is no outlier now
        doc["relays"][f"{i:040X}"] = relay_summary({"6M": 1.0})
    second = build_uptime_from(doc, relay_items(doc["relays"]), first)
    assert second.relays["F" * 40]["outlier"] is None
    # a new mark means a marked copy: the previous model (and any page key derived from it) keeps its entry
    assert first.relays["F" * 40]["outlier"] == "high"
    assert second.relays["F" * 40]["uptime"] is first.relays["F" * 40]["uptime"]     # reused, not parsed again
    third = build_uptime_from(doc, relay_items(doc["relays"]), second)
    assert third.relays["F" * 40] is second.relays["F" * 40]          # same mark: the very same entry
    # what each announces to the renderer (ModelSpec.workload): 30 changed plus F's new mark, then nothing
    assert (first.changed, second.changed, third.changed) == (31, 31, 0)


def test_percentile_interpolates_between_ranks():
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile([1.0, 2.0, 3.0, 4.0], 99) == pytest.approx(3.97)
    assert percentile([7.0], 5) == 7.0
    assert distribution([None, 0.5, 1.0])["count"] == 0


def test_malformed_summary_entries_cost_one_relay():
    doc = uptime_doc({"A" * 40: relay_summary({"6M": 1.0}), "B" * 40: {"uptime": 5}, "../x": relay_summary({})})
    assert list(build_uptime(doc).relays) == ["A" * 40]


# -- the bandwidth model ---------------------------------------------------------------------

def test_bandwidth_of_a_real_2014_relay():
    raw = load(real("bandwidth", "lookup-" + GABELMOO))["relays"][0]
    model = build_bandwidth(summary_of(onionoo_bandwidth, real("bandwidth", "lookup-" + GABELMOO)))
    assert isinstance(model, BandwidthModel) and model.published == "2014-04-04 10:00:00 UTC"
    relay = model.relays[GABELMOO]

    def moved(graph):
        return sum(v * graph["factor"] * graph["interval"] for v in graph["values"] if v is not None)

    for key, period in (("1M", "1_month"), ("1Y", "1_year"), ("5Y", "5_years")):
        read, write = raw["read_history"][period], raw["write_history"][period]
        assert relay["read"][key] == pytest.approx(pct(read) / 100, abs=1)
        assert relay["write"][key] == pytest.approx(pct(write) / 100, abs=1)
        assert relay["total_bytes"][key] == pytest.approx(moved(read) + moved(write), abs=2)
    assert relay["read"]["6M"] is None and relay["total_bytes"]["6M"] is None
    assert relay["total_data_period"] == "5Y" and relay["total_data"] == relay["total_bytes"]["5Y"]
    series = bandwidth_model.series_of(relay)["write"]["5Y"]
    k = -(-len(raw["write_history"]["5_years"]["values"]) // 90)
    assert len(series["values"]) <= 90 and series["interval"] == 864000 * k
    assert relay["overload_ratelimits"] is None and relay["overload_fd_exhausted"] is None


def test_total_data_falls_back_5y_1y_6m_1m():
    def graphs(*periods):
        return {p: {"mean": 10, "points": 5, "total": total, "first": "2026-08-01 12:00:00",
                    "interval": 86400, "scale": 1.0, "values": [10]}
                for p, total in periods}
    doc = {"format": names.BANDWIDTH_SUMMARY_FORMAT, "source": "onionoo_bandwidth",
           "relays_published": "2026-08-22 11:00:00", "relays": {
               "A" * 40: {"read": graphs(("1M", 100), ("6M", 600), ("1Y", 1200)), "write": graphs(("1Y", 34))},
               "B" * 40: {"read": graphs(("1M", 7)), "write": {}},
               "C" * 40: {"read": {}, "write": {},
                          "overload_ratelimits": {"rate-limit": 5, "timestamp": 1787356800000}},
           }}
    model = build_bandwidth(doc)
    a, b, c = (model.relays[x * 40] for x in "ABC")
    assert (a["total_data_period"], a["total_data"]) == ("1Y", 1234)
    assert (b["total_data_period"], b["total_data"]) == ("1M", 7)
    assert (c["total_data_period"], c["total_data"]) == (None, None)
    assert c["overload_ratelimits"] == {"rate-limit": 5, "timestamp": 1787356800000}
    assert model.network["total_bytes"] == {"1M": 107, "6M": 600, "1Y": 1234, "5Y": None}
    assert model.network["read"]["1M"] == 20 and model.network["write"]["1Y"] == 10
    assert bandwidth_model.series_of(a)["read"]["6M"] == {"first": "2026-08-01 12:00:00", "last": "2026-08-01 12:00:00",
                                         "interval": 86400, "values": [10], "scale": 1.0}


def test_modern_bandwidth_matches_the_raw_document_and_network_sums():
    raw = {r["fingerprint"]: r for r in load(BANDWIDTH_SMALL)["relays"]}
    model = build_bandwidth(summary_of(onionoo_bandwidth, BANDWIDTH_SMALL))
    assert set(model.relays) == set(raw)
    for fp, relay in model.relays.items():
        g = raw[fp]["read_history"].get("6_months")
        if g:
            assert relay["read"]["6M"] == pytest.approx(pct(g) / 100, abs=1)
        assert relay["overload_ratelimits"] == history.overload(raw[fp].get("overload_ratelimits"))
    assert model.network["relays"] == 40
    assert model.network["total_bytes"]["1M"] == sum(r["total_bytes"]["1M"] or 0 for r in model.relays.values())


def test_models_are_plain_data():
    for model in (build_uptime(summary_of(onionoo_uptime, UPTIME_SMALL)),
                  build_bandwidth(summary_of(onionoo_bandwidth, BANDWIDTH_SMALL))):
        assert json.loads(json.dumps(model.relays)) == model.relays
        assert json.loads(json.dumps(model.network)) == model.network


def test_entries_keep_their_summary_text_and_share_equal_counts_and_flag_lists():
    from alliumd.model.history import series_summary
    for module, path, build in ((onionoo_uptime, UPTIME_SMALL, build_uptime),
                                (onionoo_bandwidth, BANDWIDTH_SMALL, build_bandwidth)):
        doc = summary_of(module, path)
        model = build(doc)
        for fp, entry in model.relays.items():
            assert series_summary(entry) == doc["relays"][fp]       # the whole summary, for the charts
        counts = [e.get("points", e.get("read_points")) for e in model.relays.values()]
        equal = [(a, b) for i, a in enumerate(counts) for b in counts[i + 1:] if a == b]
        assert equal and all(a is b for a, b in equal)
    lists = [v for e in build_uptime(summary_of(onionoo_uptime, UPTIME_SMALL)).relays.values()
             for v in e["flags"].values()]
    equal = [(a, b) for i, a in enumerate(lists) for b in lists[i + 1:] if a == b]
    assert equal and all(a is b for a, b in equal)
    assert series_summary({"series_json": "{not json"}) is None and series_summary(None) is None


# -- the parallel summary, and models that reuse unchanged relays ------------------------------------

@pytest.fixture(autouse=True)
def no_line_memo():
    """Each test starts without the fetcher's memo of the previous document's lines."""
    onionoo_stream.LineMemo.forget_all()
    yield
    onionoo_stream.LineMemo.forget_all()


@pytest.mark.parametrize("module, path", [(onionoo_uptime, UPTIME_SMALL), (onionoo_bandwidth, BANDWIDTH_SMALL)])
def test_parallel_summary_is_identical(module, path):
    kw = {"source": module.SOURCE, "summary_format": module.SUMMARY_FORMAT,
          "relay_summary": history.uptime_relay if module is onionoo_uptime else history.bandwidth_relay}
    serial = onionoo_stream.summarise(path, workers=1, **kw)
    onionoo_stream.LineMemo.forget_all()
    parallel = onionoo_stream.summarise(path, workers=2, **kw)
    assert parallel.summary == serial.summary and parallel.items == serial.items


@pytest.mark.parametrize("workers", [1, 2])
def test_unchanged_lines_keep_their_summary_and_changed_ones_are_summarised_again(tmp_path, monkeypatch, workers):
    kw = {"source": "onionoo_uptime", "summary_format": names.UPTIME_SUMMARY_FORMAT,
          "relay_summary": history.uptime_relay, "workers": workers}
    doc = load(UPTIME_SMALL)

    def onionoo_layout(doc) -> bytes:        # Onionoo's own layout: the bridges array over two lines
        return onionoo_bytes(doc).replace(b'"bridges":[]}', b'"bridges":[\n]\n}')

    onionoo_stream.summarise(write(tmp_path, onionoo_layout(doc), "v1.json"), **kw)
    memo = onionoo_stream.LineMemo.of("onionoo_uptime", names.UPTIME_SUMMARY_FORMAT)
    assert len(memo.previous) == len(doc["relays"])
    doc["relays"][3]["uptime"]["1_month"]["values"][-1] = 17
    doc["relays"].pop(5)
    calls = []
    real = history.uptime_relay
    monkeypatch.setattr(onionoo_stream, "SERIAL_CHANGED_LINES", 0)       # changed lines go to the pool
    v2 = write(tmp_path, onionoo_layout(doc), "v2.json")
    counting = (lambda obj: calls.append(1) or real(obj)) if workers == 1 else real    # a pool pickles it
    reused = onionoo_stream.summarise(v2, **{**kw, "relay_summary": counting})
    if workers == 1:
        assert len(calls) == 1                           # only the changed relay was summarised again
    assert len(memo.previous) == len(doc["relays"])      # the memo now holds this document's lines
    onionoo_stream.LineMemo.forget_all()
    assert reused.summary == onionoo_stream.summarise(v2, **kw).summary


def test_parallel_summary_reports_the_bad_relay_and_falls_back_for_other_layouts(tmp_path):
    kw = {"source": "onionoo_uptime", "summary_format": names.UPTIME_SUMMARY_FORMAT,
          "relay_summary": history.uptime_relay, "workers": 2}
    doc = load(UPTIME_SMALL)
    doc["relays"][7]["uptime"]["1_month"]["values"][0] = 1000
    with pytest.raises(InvalidDocument, match=doc["relays"][7]["fingerprint"]):
        onionoo_stream.summarise(write(tmp_path, onionoo_bytes(doc)), **kw)
    pretty = write(tmp_path, json.dumps(load(UPTIME_SMALL), indent=1), "pretty.json")
    assert onionoo_stream.summarise(pretty, **kw).summary == onionoo_uptime.validate(UPTIME_SMALL).summary


def test_models_read_line_by_line_keep_unchanged_entries():
    split_lines = layout.split_lines
    for module, build_from, path in ((onionoo_uptime, uptime_model.build_uptime_from, UPTIME_SMALL),
                                     (onionoo_bandwidth, bandwidth_model.build_bandwidth_from, BANDWIDTH_SMALL)):
        data = module.validate(path).summary
        lines = split_lines(data, "relays")
        first = build_from(lines.envelope, map(layout.split_item, lines.items))
        assert first.relays == (build_uptime if module is onionoo_uptime else build_bandwidth)(json.loads(data)).relays
        again = build_from(lines.envelope, map(layout.split_item, lines.items), first)
        assert all(again.relays[fp] is first.relays[fp] for fp in first.relays)
        assert again.relays == first.relays and again.network == first.network


def test_flag_uptime_is_kept_compact_and_read_through_flag_period():
    """Each flag's periods are a list in PERIOD_KEYS order; equal percentages are one object across relays."""
    model = build_uptime(summary_of(onionoo_uptime, UPTIME_SMALL))
    entries = [e for e in model.relays.values() if e["flags"]]
    assert entries and all(isinstance(v, list) and len(v) == len(uptime_model.PERIOD_KEYS)
                           for e in entries for v in e["flags"].values())
    entry = entries[0]
    flag = next(iter(entry["flags"]))
    for i, period in enumerate(uptime_model.PERIOD_KEYS):
        assert uptime_model.flag_period(entry, flag, period) == entry["flags"][flag][i]
    assert uptime_model.flag_period(entry, "NoSuchFlag", "1M") is None
    assert uptime_model.flag_period(None, flag, "1M") is None
    values = [v for e in model.relays.values() for vs in e["flags"].values() for v in vs if v is not None]
    assert len({id(v) for v in values}) == len(set(values))            # one object per distinct value
