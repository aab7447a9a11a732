"""The finished strings of a group page (group.mako only lays them out).

The group's view (pages/groups.py) is also its JSON for some kinds, so the
page's wording of it (thousands separators, "1 relay"/"2 relays", tallies,
joined lists, the total data column) is added to the HTML view only, under
``shown``.
"""

from __future__ import annotations

from typing import Any

from ..model.format import MISSING, count, counted

HEADINGS = {"family": "Family", "as": "Autonomous system", "contact": "Operator", "country": "Country",
            "platform": "Platform", "flag": "Flag", "first_seen": "First seen"}
OWN_UNIQUE = {"as": "unique_as", "country": "unique_countries", "contact": "unique_contacts",
              "family": "unique_families"}
UNIQUE = (("unique_as", "Autonomous systems"), ("unique_countries", "Countries"),
          ("unique_contacts", "Contacts"), ("unique_families", "Families"))


def tally(items: list[dict[str, Any]]) -> str:
    """Platforms or versions with their relay counts: "Linux (12), FreeBSD (3)"."""
    return ", ".join(f"{i['name']} ({count(i['count'])})" for i in items)


def group_text(view: dict[str, Any]) -> dict[str, Any]:
    """What group.mako prints of ``view`` (a group view, with ``uptime_chart`` for contacts and families)."""
    kind, s = view["kind"], view["summary"]
    history, contact, chart = view["history"], view["contact"], view.get("uptime_chart")
    return {
        "heading": HEADINGS[kind],
        "relays": counted(s["relays"], "relay"),
        "running": f"{count(s['running'])} running of {count(s['relays'])} listed",
        "roles": f"{count(s['exit'])} exit, {count(s['guard'])} guard, {count(s['middle'])} middle",
        "consensus_weight": f"{count(s['consensus_weight'])} ({s['consensus_weight_fraction']} of the network)",
        "unique": [{"heading": heading, "value": count(s[key])} for key, heading in UNIQUE
                   if OWN_UNIQUE.get(kind) != key],
        "platforms": tally(s["platforms"]), "versions": tally(s["versions"]),
        "aroi": _aroi(contact["aroi"]) if contact is not None and contact["aroi"] is not None else None,
        "history": _history(history) if history is not None else None,
        "chart_note": (f"The chart shows the {counted(chart['shown'], 'relay')} with the most consensus weight of "
                       f"{count(chart['relays'])}; the table below lists them all.")
        if chart and chart["shown"] < chart["relays"] else None,
        "related": [counted(g["relays"], "relay") for g in view["related"]],
    }


def _aroi(a: dict[str, Any]) -> dict[str, Any]:
    return {"proof_types": ", ".join(a["proof_types"]) or MISSING,
            "counts": ", ".join(f"{c['label']}: {count(c['relays'])}" for c in a["counts"]) or MISSING,
            "reasons": [f"{r['reason']} ({counted(r['relays'], 'relay')})" for r in a["reasons"]]}


def _history(history: dict[str, Any]) -> dict[str, str]:
    return {"uptime": f"{history['uptime_mean']} over {counted(history['uptime_relays'], 'relay')} with data",
            "total_data": f"{history['total_data']} read and written by "
                          f"{counted(history['total_data_relays'], 'relay')} with data, each over its longest "
                          "history (up to 5 years)"}


# a relay's row: group.mako's row def calls these itself (as ``<%namespace name="gt" module=…>``, so Mako
# passes the render context first), so a row the row cache holds (pages/rowcache.py) costs no formatting

def row_weight(context: Any, row: dict[str, Any]) -> str:
    """The consensus weight column."""
    return count(row["consensus_weight"])


def row_total_data(context: Any, row: dict[str, Any]) -> str:
    """The total data column (contact and family pages): the amount and the period it covers."""
    period = row["total_data_period"]
    return f"{row['total_data']} ({period})" if period else row["total_data"]
