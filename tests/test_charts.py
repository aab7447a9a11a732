"""Chart geometry (alliumd.model.charts) and its SVG templates: deterministic, small, well-formed."""

from __future__ import annotations

import json
import math
import re
from datetime import datetime, timezone

import pytest
from lxml import etree
from mako.template import Template

from alliumd.model import charts
from alliumd.pages.templates import make_lookup

COORD = re.compile(r"^\d+(\.\d)?$")
NUMBER = re.compile(r"^-?\d+(\.\d+)?(e[+-]\d+)?$")


def series(values, first="2026-07-22 12:00:00", last="2026-08-21 12:00:00"):
    return {"first": first, "last": last, "interval": 86400, "values": values}


def wave(n, base=1_000_000, amp=400_000):
    """A deterministic bandwidth-like series in bytes/s."""
    return [base + amp * math.sin(i / 3) for i in range(n)]


def bandwidth_chart(read, write=None, uptime=None):
    return charts.time_chart(title="History", period="1M", bands=[
        ("bandwidth", [("Read", series(read)), ("Written", series(write if write is not None else read))]),
        ("uptime", [("Uptime", uptime)])])


def plotted(line):
    """A line's segments in chart coordinates: its points (index, value) through its transform."""
    a, b, c, d, e, f = map(float, re.fullmatch(r"matrix\(([^)]*)\)", line["transform"]).group(1).split(" "))
    assert b == c == 0 and a > 0 and d < 0
    out = []
    for segment in line["segments"]:
        numbers = segment.split(" ")
        assert len(numbers) % 2 == 0 and all(NUMBER.match(n) and len(n) <= 8 for n in numbers), segment
        out.append([(a * float(x) + e, d * float(y) + f) for x, y in zip(numbers[::2], numbers[1::2])])
    return out


def all_points(chart):
    return [p for band in chart["bands"] for line in band["lines"] for seg in plotted(line) for p in seg]


# -- geometry -----------------------------------------------------------------------------------

def test_same_data_gives_identical_view_models():
    a = bandwidth_chart(wave(31), wave(31, base=900_000))
    b = bandwidth_chart(wave(31), wave(31, base=900_000))
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def test_points_are_short_numbers_that_the_transform_puts_inside_the_plot():
    chart = bandwidth_chart(wave(90), wave(90, base=1_100_000))
    points = all_points(chart)
    assert len(points) == 180
    for x, y in points:
        assert charts.LEFT - 1e-6 <= x <= charts.RIGHT + 1e-6 and charts.TOP - 1e-6 <= y <= chart["height"]
    for band in chart["bands"]:
        assert all(COORD.match(t["y"]) for t in band["y_ticks"])
    assert all(COORD.match(t["x"]) for t in chart["x_ticks"])


def test_summary_integers_are_drawn_as_they_are_stored_with_their_scale():
    """Bandwidth summaries hold Onionoo's integers 0–999 and a scale (bytes/s per unit): the points are those
    integers, and the read and written lines share the band's axis through their transforms."""
    read = {**series([0, 500, 999]), "scale": 20_000.0}          # 20 MB/s × 999 / 1000 → 159.8 Mbit/s
    write = {**series([999, 999, 0]), "scale": 10_000.0}
    chart = charts.time_chart(title="History", period="1M", bands=[("bandwidth", [("Read", read), ("Written", write)])])
    band = chart["bands"][0]
    assert [ln["segments"] for ln in band["lines"]] == [["0 0 1 500 2 999"], ["0 999 1 999 2 0"]]
    [read_points], [write_points] = (plotted(ln) for ln in band["lines"])
    ceiling = float(band["y_ticks"][-1]["label"])                 # Mbit/s
    bottom = charts.TOP + charts.BAND_HEIGHTS["bandwidth"]
    top_read = bottom - 999 * 20_000 * 8 / 1e6 / ceiling * charts.BAND_HEIGHTS["bandwidth"]
    assert read_points[2][1] == pytest.approx(top_read) and write_points[0][1] == pytest.approx(
        bottom - (bottom - top_read) / 2)
    assert "read mean 79.9 Mbit/s, peak 159.8 Mbit/s" in chart["summary"]


def test_long_series_are_downsampled_to_at_most_90_points():
    chart = bandwidth_chart(wave(365), wave(365))
    for band in chart["bands"]:
        for line in band["lines"]:
            assert sum(len(seg) for seg in plotted(line)) <= charts.MAX_POINTS
    assert charts.downsample([1.0, None, 3.0, None], limit=2) == [1.0, 3.0]
    assert charts.downsample([None, None, 2.0, 4.0], limit=2) == [None, 3.0]
    assert charts.downsample([1, 2, 3], limit=5) == [1, 2, 3]


def test_a_full_90_point_series_spans_the_plot_in_whole_x_units():
    chart = bandwidth_chart(wave(90))
    line = chart["bands"][0]["lines"][0]
    assert line["transform"].startswith(f"matrix(6 0 0 -") and line["transform"].endswith(
        f" {charts.LEFT} {charts.TOP + charts.BAND_HEIGHTS['bandwidth']})")
    xs = [x for x, _ in plotted(line)[0]]
    assert len(xs) == 90 and xs[0] == charts.LEFT and xs[-1] == charts.RIGHT


def test_gaps_split_lines_and_a_lone_point_stays_visible():
    values = [1e6, 2e6, None, 3e6, None, 1e6, 1e6, 2e6]
    line = bandwidth_chart(values)["bands"][0]["lines"][0]
    segments = plotted(line)
    assert len(segments) == 3
    (x0, y0), (x1, y1) = segments[1]                                   # a short dash around the lone point
    assert y0 == y1 and x1 - x0 == pytest.approx(2 * charts.DASH, abs=0.1)
    assert (x0 + x1) / 2 == pytest.approx(charts.LEFT + (charts.RIGHT - charts.LEFT) * 3 / 7, abs=0.1)


def test_a_single_point_is_a_dash_in_the_middle_kept_inside_the_plot():
    [[(x0, _), (x1, _)]] = plotted(bandwidth_chart([1e6])["bands"][0]["lines"][0])
    assert (x0 + x1) / 2 == pytest.approx((charts.LEFT + charts.RIGHT) / 2) and x1 - x0 == pytest.approx(3, abs=0.1)
    edge = charts.time_chart(title="History", period="1M", bands=[
        ("bandwidth", [("Read", series([1e6, None, None, 1e6], first="2026-07-22 12:00:00"))])])
    for segment in plotted(edge["bands"][0]["lines"][0]):
        assert all(charts.LEFT - 1e-6 <= x <= charts.RIGHT + 1e-6 for x, _ in segment)


def test_flat_stretches_are_two_points():
    up = charts.time_chart(title="History", period="1M", bands=[
        ("uptime", [("Uptime", series([1.0] * 90))])])
    line = up["bands"][0]["lines"][0]
    assert line["segments"] == ["0 1 89 1"]
    assert plotted(line) == [[(charts.LEFT, charts.TOP), (charts.RIGHT, charts.TOP)]]
    dip = charts.time_chart(title="History", period="1M", bands=[
        ("uptime", [("Uptime", series([1.0] * 40 + [0.0] + [1.0] * 49))])])
    assert dip["bands"][0]["lines"][0]["segments"] == ["0 1 39 1 40 0 41 1 89 1"]      # flat, down, up, flat


def _reference_segments(values, level_runs):
    """The polyline rule written plainly: runs between gaps; with ``level_runs`` a point level with both
    neighbours is left out; a lone point is a dash (checked apart: its ends depend on the transform)."""
    runs, run = [], []
    for i, v in enumerate(values):
        if v is None:
            runs, run = runs + [run] if run else runs, []
        else:
            run.append((i, v))
    runs += [run] if run else []
    out = []
    for run in runs:
        if len(run) == 1:
            out.append("dash")
            continue
        if level_runs or len({v for _, v in run}) == 1:
            run = [run[0]] + [p for j, p in enumerate(run[1:-1], 1)
                              if not run[j - 1][1] == p[1] == run[j + 1][1]] + [run[-1]]
        out.append(" ".join(f"{i} {v}" for i, v in run))
    return out


@pytest.mark.parametrize("seed", range(40))
def test_segments_follow_the_plain_rule_with_and_without_gaps(seed):
    import random
    rng = random.Random(seed)
    n = rng.choice([0, 1, 2, 3, 17, 90])
    levels = rng.sample([0, 1, 250, 999, 0.5, 0.999], 3)
    gap_rate = rng.choice([0.0, 0.0, 0.2, 0.6])
    values = [None if rng.random() < gap_rate else rng.choice(levels) for _ in range(n)]
    for level_runs in (True, False):
        got, expected = charts._segments(values, 6.0, charts.LEFT, level_runs), _reference_segments(values, level_runs)
        assert len(got) == len(expected)
        for segment, rule in zip(got, expected):
            if rule == "dash":
                x0, y0, x1, y1 = segment.split(" ")
                assert y0 == y1 and float(x0) < float(x1)
            else:
                assert segment == rule


def test_bandwidth_axis_unit_and_ticks_cover_the_peak():
    chart = bandwidth_chart([10_000_000, 20_000_000, 25_000_000])          # bytes/s: peak 200 Mbit/s
    assert "bandwidth (Mbit/s)" in chart["caption"]
    labels = [t["label"] for t in chart["bands"][0]["y_ticks"]]
    assert labels[0] == "0" and float(labels[-1]) >= 200 and len(labels) <= 5
    top_y = min(y for _, y in all_points(chart))
    assert top_y >= charts.TOP - 1e-6
    assert "peak 200.0 Mbit/s" in chart["summary"]


def test_uptime_band_is_percent_with_its_own_labels():
    chart = bandwidth_chart(wave(31), uptime=series([0.5, 1.0, None, 0.25]))
    uptime_band = chart["bands"][1]
    assert [t["label"] for t in uptime_band["y_ticks"]] == ["0%", "100%"]
    assert "uptime mean 58.3%, lowest 25.0%" in chart["summary"]
    assert [k["label"] for k in chart["legend"]] == ["Read", "Written", "Uptime"]


def test_bands_without_data_are_dropped_and_no_data_gives_no_chart():
    only_uptime = charts.time_chart(title="History", period="6M", bands=[
        ("bandwidth", [("Read", None), ("Written", series([None, None]))]),
        ("uptime", [("Uptime", series([1.0, 0.9]))])])
    assert len(only_uptime["bands"]) == 1 and only_uptime["legend"] == []
    assert only_uptime["bands"][0]["lines"][0]["cls"] == "s2"              # uptime keeps its colour
    assert charts.time_chart(title="History", period="1M", bands=[("bandwidth", [("Read", None)])]) is None
    assert charts.relay_history_charts(None, None) == []


@pytest.mark.parametrize("bad", ["x", True, float("nan"), float("inf"), -5.0, {"v": 1}, [1]])
def test_malformed_values_are_gaps_or_clamped_never_errors(bad):
    chart = bandwidth_chart([1e6, bad, 2e6, 3e6])
    assert all(charts.TOP - 1e-6 <= y <= chart["height"] for _, y in all_points(chart))


def test_a_scale_that_is_no_number_draws_nothing_and_zero_is_a_line_of_zeros():
    def chart(scale):
        return charts.time_chart(title="History", period="1M", bands=[
            ("bandwidth", [("Read", {**series([5, None, 7]), "scale": scale})])])
    assert chart("x") is None and chart(-1.0) is None and chart(float("nan")) is None
    zeros = chart(0)
    assert [y for _, y in all_points(zeros)] == [charts.TOP + charts.BAND_HEIGHTS["bandwidth"]] * 4   # two dashes
    assert "read mean 0 bit/s, peak 0 bit/s" in zeros["summary"]


def test_uptime_above_one_is_drawn_at_100_percent():
    chart = charts.time_chart(title="History", period="1M", bands=[("uptime", [("Uptime", series([1.5, 0.5, 2]))])])
    assert min(y for _, y in all_points(chart)) == pytest.approx(charts.TOP)


def test_malformed_series_objects_draw_nothing():
    for bad in ({"first": ["x"], "last": {"y": 1}, "values": [1e6, 2e6]}, {"values": "abc"}, ["x"], 5,
                {"first": "9999-12-01 00:00:00", "last": "0001-01-01 00:00:00", "values": [1, 2]},
                {"first": "0001-01-01 00:00:00", "last": "9999-12-31 23:59:59", "values": [1, 2]}):
        chart = charts.time_chart(title="History", period="1M", bands=[("bandwidth", [("Read", bad)])])
        assert chart is None or all(charts.LEFT - 1e-6 <= x <= charts.RIGHT + 1e-6 for x, _ in all_points(chart))


def test_lines_with_different_spans_share_one_time_axis():
    chart = charts.time_chart(title="History", period="1M", bands=[
        ("bandwidth", [("Read", series([1e6] * 31))]),
        ("uptime", [("Uptime", series([1.0, 0.5], first="2026-08-11 12:00:00", last="2026-08-21 12:00:00"))])])
    first_x = plotted(chart["bands"][1]["lines"][0])[0][0][0]
    assert first_x == pytest.approx(charts.LEFT + (charts.RIGHT - charts.LEFT) * 20 / 30, abs=0.1)


def test_time_ticks_follow_the_calendar():
    utc = timezone.utc
    month = charts.time_ticks(datetime(2026, 7, 22, 12, tzinfo=utc), datetime(2026, 8, 21, 12, tzinfo=utc))
    assert [label for _, label in month][:2] == ["Jul 23", "Jul 30"] and len(month) <= 6
    year = charts.time_ticks(datetime(2025, 8, 22, tzinfo=utc), datetime(2026, 8, 22, tzinfo=utc))
    assert all(t.day == 1 for t, _ in year) and 3 <= len(year) <= 6
    decade = charts.time_ticks(datetime(2021, 8, 22, tzinfo=utc), datetime(2026, 8, 22, tzinfo=utc))
    assert [label for _, label in decade] == ["2022", "2023", "2024", "2025", "2026"]
    century = charts.time_ticks(datetime(1900, 1, 1, tzinfo=utc), datetime(2026, 1, 1, tzinfo=utc))
    assert 3 <= len(century) <= 7


def test_bar_chart_scales_truncates_and_summarises():
    chart = charts.bar_chart("Relays by role", [("Exit", 50, "50"), ("Guard", 100, "100"),
                                                ("A very long autonomous system name indeed", 25, "25")])
    widths = [float(r["w"]) for r in chart["rows"]]
    assert widths[1] == charts.BAR_WIDTH - charts.BAR_LABEL_W - charts.BAR_VALUE_W
    assert widths[0] == pytest.approx(widths[1] / 2, abs=0.1)
    assert len(chart["rows"][2]["label"]) == charts.BAR_LABEL_MAX and chart["rows"][2]["label"].endswith("…")
    assert chart["summary"].startswith("Relays by role: Exit 50, Guard 100")
    share = charts.bar_chart("Share", [("x", 25, "25%")], max_value=100)
    assert float(share["rows"][0]["w"]) == pytest.approx(widths[1] / 4, abs=0.1)
    assert charts.bar_chart("Empty", []) is None


def test_data_size_units():
    assert charts.data_size(None) == "–"
    assert charts.data_size(999) == "999 B"
    assert charts.data_size(1_234_000_000_000) == "1.23 TB"
    assert charts.data_size(5e15) == "5 PB"


# -- templates: well-formed, accessible, small ---------------------------------------------------

DRAW = Template("""<%namespace name="ch" file="charts.mako"/>\\
<root>
% for c in times:
${ch.time_chart(c, "h" + c['period'])}
% endfor
% for c in bars:
${ch.bar_chart(c, "b%d" % loop.index)}
% endfor
</root>""", lookup=make_lookup(), default_filters=["h"], strict_undefined=True)


def relay_history():
    uptime = {"series": {p: series([1.0] * 80 + [0.5, None] + [1.0] * 8, first=f, last=l)
                         for p, f, l in (("1M", "2026-07-22 14:00:00", "2026-08-22 10:00:00"),
                                         ("6M", "2026-02-22 18:00:00", "2026-08-22 06:00:00"),
                                         ("1Y", "2025-08-23 00:00:00", "2026-08-21 00:00:00"),
                                         ("5Y", "2021-08-30 00:00:00", "2026-08-17 00:00:00"))}}
    spans = {"1M": ("2026-07-22 12:00:00", "2026-08-21 12:00:00"), "6M": ("2026-02-22 12:00:00", "2026-08-21 12:00:00"),
             "1Y": ("2025-08-23 00:00:00", "2026-08-21 00:00:00"), "5Y": ("2021-08-30 00:00:00", "2026-08-17 00:00:00")}
    n = {"1M": 31, "6M": 90, "1Y": 90, "5Y": 90}
    bandwidth = {"series": {d: {p: series(wave(n[p], base=b), *spans[p]) for p in spans}
                            for d, b in (("read", 2_000_000), ("write", 2_050_000))}}
    return charts.relay_history_charts(uptime["series"], bandwidth["series"])


def test_svg_is_well_formed_accessible_and_small():
    history = relay_history()
    assert [c["period"] for c in history] == ["1M", "6M", "1Y", "5Y"]
    bars = [charts.bar_chart('AS <script>"x"</script> & co', [("<b>AS1</b>", 3, "3 & more")])]
    markup = DRAW.render(chrome={"root": ""}, times=history, bars=bars)
    root = etree.fromstring(markup.encode())
    svgs = root.findall(".//svg")
    assert len(svgs) == 5
    for svg in svgs:
        assert svg.get("role") == "img"
        title = svg.find("title")
        assert title is not None and title.get("id") == svg.get("aria-labelledby") and title.text
        assert svg.get("viewBox").startswith("0 0 ")
    assert "<script>" not in markup and "<b>" not in markup
    assert "History, past month (2026-07-22 to 2026-08-22): read mean" in markup
    for chart in history:                                           # a few kB each
        one = DRAW.render(chrome={"root": ""}, times=[chart], bars=[])
        assert len(one.encode()) < 4500, (chart["period"], len(one))
    assert DRAW.render(chrome={"root": ""}, times=relay_history(), bars=bars) == markup     # deterministic


def test_labels_stay_inside_the_svg_box():
    """Issue 14 item 6: bar labels were clipped on the left, the 5-year chart's last axis label on the right."""
    from datetime import datetime, timezone

    from alliumd.model import charts as ch
    bar = ch.bar_chart("Shares", [("AS32788 BRIFARKLINK AB WIDE NAME", 5.0, "23.0%"), ("x", 1.0, "1%")])
    assert bar["rows"][0]["label"] == "AS32788 BRIFARKLINK AB WI…"           # BAR_LABEL_MAX characters
    assert bar["label_x"] >= ch.BAR_LABEL_MAX * ch.CHAR_W                    # … which fit left of the bars
    assert float(bar["rows"][0]["value_x"]) + len("23.0%") * ch.CHAR_W <= bar["width"]
    moved = 0
    for start, end in ((datetime(2021, 1, 20, tzinfo=timezone.utc), datetime(2026, 1, 1, 6, tzinfo=timezone.utc)),
                       (datetime(2025, 7, 1, tzinfo=timezone.utc), datetime(2026, 1, 1, 6, tzinfo=timezone.utc)),
                       (datetime(2025, 12, 2, tzinfo=timezone.utc), datetime(2026, 1, 1, 1, tzinfo=timezone.utc))):
        _, ticks = ch._time_axis(100, start, end)
        assert ticks
        for t in ticks:
            half = len(t["label"]) * ch.CHAR_W / 2
            assert half <= float(t["lx"]) <= ch.WIDTH - half, t
            moved += t["lx"] != t["x"]
    assert moved                                     # a label at the right edge was moved inside the box
