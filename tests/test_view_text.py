"""The pages' wording of their views (pages/relay_text.py, pages/group_text.py): what templates used to format.

The golden site and the bundled sample cover the common cases byte for byte;
these are the branches they do not reach.
"""

from __future__ import annotations

from alliumd.pages import group_text, relay_text


def test_relay_wording_helpers():
    assert relay_text.v(None) == relay_text.v("") == "–" and relay_text.v(0) == 0
    assert [relay_text.yesno(x) for x in (None, True, False)] == ["unknown", "yes", "no"]
    assert relay_text.join_present("AS1", None, "") == "AS1" and relay_text.join_present(None, "") == "–"
    assert relay_text.with_rank("1.2%", None) == "1.2%"
    assert relay_text.with_rank("1.2%", 12) == "1.2% (12th percentile)"
    assert relay_text.with_rank("1.2%", 23) == "1.2% (23rd percentile)"
    relay = {"first_seen": "2026-01-01", "first_seen_ago": "–", "last_seen": "2026-08-22",
             "last_seen_ago": "3 h 0 m before the data was published"}
    assert relay_text.with_ago(relay, "first_seen") == "2026-01-01"
    assert relay_text.with_ago(relay, "last_seen") == "2026-08-22 (3 h 0 m before the data was published)"


def test_family_members_beyond_the_page():
    relay = {"family": ["A" * 40, "B" * 40, "C" * 40]}
    assert relay_text._family_more(relay, [{}], "family/x/index.html") == \
        "2 more members are listed on the family page."
    assert relay_text._family_more(relay, [{}, {}], None) == "1 more member is not shown."
    assert relay_text._family_more(relay, [{}, {}, {}], None) is None
    assert relay_text._family_more(relay, [], None) is None          # no family shown: the page says so


def test_alleged_and_indirect_members_say_how_many_are_not_shown():
    member = {"fingerprint": "A" * 40, "present": False, "nickname": None}
    extras = {"alleged": [member] * 2, "alleged_count": 1234, "indirect": [], "indirect_count": 0}
    [alleged] = relay_text._also_members(extras)
    assert alleged["heading"] == "Alleged members (1,234; this relay lists them, they do not list it back):"
    assert alleged["more"] == "1,232 more not shown." and alleged["members"] == [member] * 2
    assert relay_text._also_members(None) == []
    full = {**extras, "alleged_count": 2, "indirect": [member], "indirect_count": 1}
    assert [g["more"] for g in relay_text._also_members(full)] == [None, None]


def test_overload_and_eligibility_cells():
    o = {"ratelimits": {"timestamp": "2026-08-22 10:00:00 UTC", "rate_limit": 100}, "fd_exhausted": None}
    shown = relay_text._overload({"overload_general": None}, o, traffic=None)
    assert shown == {"general": "none reported", "ratelimits": "2026-08-22 10:00:00 UTC", "limits": "100 / –",
                     "counts": "– / –", "fd_exhausted": "no bandwidth data"}
    assert relay_text._eligibility({"outcome": "yes", "assigned": True, "notes": []}) == "yes (assigned)"
    assert relay_text._eligibility({"outcome": "no", "assigned": False, "notes": ["WFU 90%", "TK 2 d"]}) == \
        "no: WFU 90%; TK 2 d"
    assert relay_text._consensus({"available": False}) is None


def test_group_wording():
    assert group_text.tally([{"name": "Linux", "count": 1200}, {"name": "BSD", "count": 3}]) == \
        "Linux (1,200), BSD (3)"
    assert group_text.row_total_data(None, {"total_data": "1.2 TB", "total_data_period": "1Y"}) == "1.2 TB (1Y)"
    assert group_text.row_total_data(None, {"total_data": "–", "total_data_period": None}) == "–"
    aroi = group_text._aroi({"proof_types": [], "counts": [{"label": "validated", "relays": 1000}],
                             "reasons": [{"reason": "no proof", "relays": 1}]})
    assert aroi == {"proof_types": "–", "counts": "validated: 1,000", "reasons": ["no proof (1 relay)"]}
