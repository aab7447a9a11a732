"""metrics.txt (model/openmetrics.py): valid OpenMetrics whatever the data holds."""

from __future__ import annotations

from prometheus_client.openmetrics.parser import text_string_to_metric_families

from alliumd.model import openmetrics

FP = "A" * 40


def render(families) -> str:
    return openmetrics.exposition(families)


def test_relay_metrics_parse_and_carry_the_values():
    relay = {"fingerprint": FP, "running": True, "flags": ["Fast", "Guard", "Running", 'x"} 1\n# EOF'],
             "consensus_weight": 1234, "consensus_weight_fraction": 0.001, "guard_probability": 0.002,
             "middle_probability": float("nan"), "exit_probability": None, "observed_bandwidth": 10_000_000,
             "advertised_bandwidth": 9_000_000, "overload_general_timestamp": 1}
    votes = [{"flag": "Guard", "votes": 6, "needed": 5}, {"flag": 'Bad"Flag', "votes": 1, "needed": 5}]
    text = render(openmetrics.relay_families(relay, {"uptime": {"1M": 99.5, "6M": "x"}}, votes, "validated"))
    assert text.endswith("# EOF\n") and text.count("# EOF") == 1
    families = {f.name: f for f in text_string_to_metric_families(text)}
    flags = {s.labels["flag"]: s.value for s in families["tor_relay_flag"].samples}
    assert flags["Guard"] == 1 and flags["Exit"] == 0 and len(flags) == len(openmetrics.FLAGS)
    assert {s.labels["position"] for s in families["tor_relay_probability"].samples} == {"guard"}   # NaN, None dropped
    assert [s.value for s in families["tor_relay_uptime_ratio"].samples] == [0.995]
    assert [s.labels["flag"] for s in families["tor_relay_flag_votes"].samples] == ["Guard"]       # bad label dropped
    assert families["tor_relay_aroi_validated"].samples[0].value == 1
    assert families["tor_relay_overloaded"].samples[0].value == 1


def test_operator_metrics_and_no_validator():
    members = [{"fingerprint": FP, "running": True, "flags": ["Guard"], "consensus_weight": 10,
                "consensus_weight_fraction": 0.5, "guard_probability": 0.1, "middle_probability": 0.2,
                "exit_probability": 0.0, "observed_bandwidth": 5, "advertised_bandwidth": 6},
               {"fingerprint": "B" * 40, "running": False, "flags": [], "consensus_weight": 0}]
    text = render(openmetrics.operator_families(members, None))
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert families["tor_operator_relays"].samples[0].value == 2
    assert families["tor_operator_relays_running"].samples[0].value == 1
    assert families["tor_operator_consensus_weight"].samples[0].value == 10
    assert "tor_operator_aroi_validated_relays" not in families


def test_a_relay_metrics_job_ships_only_what_it_reads():
    """A render worker gets a slim copy of the records the page reads (pages/events.py _ship_relay_metrics)
    and builds the very same view from it.  The page's key is that of what is shipped, so the worker, which
    has only that, derives the key the renderer would; a field the page does not show leaves it alone."""
    import pickle

    from alliumd.pages import events, pagekey
    from alliumd.pages.registry import Deferred
    relay = {"fingerprint": FP, "running": True, "flags": ["Fast", "Guard", "Running"], "consensus_weight": 1234,
             "consensus_weight_fraction": 0.001, "guard_probability": 0.002, "middle_probability": 0.3,
             "exit_probability": 0.0, "observed_bandwidth": 10_000_000, "advertised_bandwidth": 9_000_000,
             "overload_general_timestamp": None, "contact": "x" * 5000, "nickname": "n"}
    uptime = {"uptime": {"1M": 0.995, "6M": 0.5}, "raw": "y" * 5000}
    for up, aroi in ((uptime, {"status": "validated", "reason": "z"}), (None, None), (uptime, {})):
        view = Deferred(events.relay_metrics_view, (relay, up, None, aroi))
        data = pickle.dumps(view, protocol=pickle.HIGHEST_PROTOCOL)
        shipped = pickle.loads(data)
        assert shipped.fn is events.relay_metrics_of and len(data) < 2000
        assert shipped.build() == view.build() and view.build()["families"]
        key = pagekey.derive(view.fn, view.args)
        assert key == pagekey.derive(shipped.fn, shipped.args)
        assert key == pagekey.derive(view.fn, ({**relay, "contact": "other"}, up, None, aroi))
        assert key != pagekey.derive(view.fn, ({**relay, "consensus_weight": 1235}, up, None, aroi))


def test_a_relay_metrics_key_ignores_what_the_page_does_not_show():
    """metrics.txt's key comes from the relay's view, uptime entry, votes and AROI status, so a relay page
    rewritten for its percentile ranks or family leaves its metrics.txt alone."""
    from alliumd.pages import events
    from alliumd.pages.pagekey import FamilyKeys
    relay, up = {"fingerprint": FP, "running": True, "flags": ["Running"]}, {"uptime": {"1M": 0.9}}
    records = [relay, {"consensus_weight": 50}, up, None, {"members": []}, None, None, {}, (), {}]

    class Inputs:
        def model(self, name):
            assert name == "relay_pages"
            return {FP: tuple(records)}
    keys = FamilyKeys({}, False, {}, b"salt")
    page = next(events.expand_relay_metrics(Inputs()))
    first = keys.key(page.path, page.view.fn, page.view.args)
    old = FamilyKeys(keys.new, False, {}, b"salt")
    records[1] = {"consensus_weight": 51}                   # ranks moved, family rewritten
    records[4] = {"members": [{"fingerprint": "A" * 40}]}
    page = next(events.expand_relay_metrics(Inputs()))
    assert old.key(page.path, page.view.fn, page.view.args) == first and old.derived == 0
    records[0] = {**relay, "flags": ["Running", "Guard"]}  # what metrics.txt shows
    page = next(events.expand_relay_metrics(Inputs()))
    assert old.key(page.path, page.view.fn, page.view.args) != first


def test_help_text_is_written_as_it_is_and_escaped_the_openmetrics_way():
    """The text is OpenMetrics, not HTML: an apostrophe stays one (a template's HTML filter once wrote
    "network&#39;s"); backslash, double quote and line feed get the format's escapes."""
    relay = {"fingerprint": FP, "running": True, "flags": [], "consensus_weight_fraction": 0.5}
    text = render(openmetrics.relay_families(relay, None, None, "validated"))
    assert "# HELP tor_relay_consensus_weight_fraction share of the network's consensus weight\n" in text
    assert "&#39;" not in text
    family = {"name": "x", "type": "gauge", "help": 'a\\b "c"\nd', "samples": [{"labels": (), "value": "1"}]}
    text = render([family])
    assert text == '# TYPE x gauge\n# HELP x a\\\\b \\"c\\"\\nd\nx 1\n# EOF\n'
    [parsed] = text_string_to_metric_families(text)
    assert parsed.documentation == 'a\\b "c"\nd'


def test_a_relay_with_a_fingerprint_that_is_no_label_has_no_families():
    assert openmetrics.relay_families({"fingerprint": 'A"}', "running": True}, None, None, None) == []
