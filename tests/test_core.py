"""The shared primitives (alliumd/core): one time parser, one JSON shim, one text policy, one channel."""

from __future__ import annotations

import json

import pytest

from alliumd.core import channel, jsonx, timefmt
from alliumd.core.text import plain_text


def test_onionoo_time_is_parsed_one_way():
    assert timefmt.onionoo_epoch("2026-08-22 11:00:00") == 1787396400.0
    for bad in ("2026-08-22T11:00:00", "2026-8-22 11:00:00", "2026-08-22 11:00:00Z", "", None, 5,
                "2026-02-30 00:00:00", "٢٠٢٦-08-22 11:00:00"):
        assert timefmt.onionoo_epoch(bad) is None, bad
    assert timefmt.parse_iso_time("2026-08-22T11:00:00Z").timestamp() == 1787396400.0
    assert timefmt.parse_iso_time("2026-08-22T11:00:00").timestamp() == 1787396400.0     # no zone: UTC
    assert timefmt.parse_iso_time(True) is None and timefmt.parse_iso_time("yesterday") is None


def test_json_shim_writes_what_the_stdlib_fallback_writes():
    doc = {"a": [1, 2.5, None, True], "n": "Zürich ✓"}
    assert jsonx.dumps(doc) == jsonx.stdlib_dumps(doc)
    assert jsonx.loads(jsonx.dumps(doc)) == doc
    with pytest.raises(ValueError):
        jsonx.loads(b"{not json")
    assert jsonx.view_bytes({1: "x"}) == b'{"1":"x"}'           # views may have int keys


@pytest.mark.parametrize("raw, kwargs, expected", [
    ("plain text", {}, "plain text"),
    ("  padded\t", {}, "padded"),
    ("a\x00\x01b", {}, "a b"),                        # a run of controls is one space
    ("a\x85b\x9fc", {}, "a b c"),                     # C1 controls too
    ("a\ud800b", {}, "a b"),                          # lone surrogates
    ("a\u202eb\u2066c", {}, "a b c"),                # bidi overrides and isolates reorder text: gone
    ("a\ufffeb", {}, "a b"),                          # noncharacters (not allowed in XML)
    ("a\u200db\u200ec", {}, "a\u200db\u200ec"),          # joiners and marks stay (emoji, scripts)
    ("line\nbreak\r\nend", {}, "line break end"),
    ("a   b", {}, "a   b"),                           # spaces are the operator's
    ("a  \x01  b", {"fold": True}, "a b"),
    ("x" * 20, {"limit": 10}, "x" * 10),
    ("x" * 20, {"limit": 10, "ellipsis": True}, "x" * 9 + "…"),
    ("\x00\x1f\x7f", {}, ""),
])
def test_one_control_character_policy(raw, kwargs, expected):
    assert plain_text(raw, **kwargs) == expected


def test_channel_reassembles_lines_and_drops_what_is_not_a_message():
    reader = channel.LineReader()
    line = channel.encode(channel.SourceReport({"state": "idle"}).message())
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert reader.feed(line[:5]) == []
    assert reader.feed(line[5:] + b"garbage\n[1]\n" + channel.encode(channel.HEARTBEAT_MESSAGE)) == [
        {"event": "source", "record": {"state": "idle"}}, {"event": "heartbeat"}]
    msgs = reader.feed(channel.encode(channel.RendererReport({"state": "idle", "pages_written": 3}).message()))
    report = channel.RendererReport.of(msgs[0])
    assert report.fields == {"state": "idle", "pages_written": 3}
    assert channel.SourceReport.of(msgs[0]) is None and channel.RendererReport.of({"event": "source"}) is None
    assert channel.SourceReport.of({"event": "source", "record": "not an object"}) is None
    assert channel.Command.of(json.loads(channel.encode(channel.Command(channel.REFRESH).message()))) == "refresh"
    assert channel.Command.of({"cmd": 7}) is None
