"""The overview, the all-relays table and one page per relay (HTML and its JSON view model).

Relay pages read details, uptime, bandwidth, CollecTor votes and the AROI
validator but need only details: a missing source leaves its section saying
so.

The ~10k relay pages are the bulk of the site.  Each view, chart geometry
included, is a Deferred of the relay's own records (its record, ranks,
uptime and bandwidth records, family, vote row, AROI status, group ids,
events, source marks): its page key is derived from exactly those
arguments (pages/pagekey.py), and it is built only for relays whose key
changed, in a render worker, from those records alone.
Charts are not memoized in a model: ~30 kB per relay, ~300 MB for a
10k-relay network.

Votes and AROI are per-relay inputs too: the arguments hold the relay's own
row of the vote matrix (as compact JSON text), what every relay's
evaluation shares (authorities, thresholds) and the relay's AROI status, so
a new CollecTor summary or validator run re-renders only the relays whose
share changed.  The consensus evaluation itself (model/consensus_eval.py,
~0.4 ms per relay with nine authorities) is built in the render worker from
that row.  These two sources are not named in the relay pages' chrome (their
data time changes with every run, which would change every page): the
sections state their own freshness, and a stale or missing source changes
the pages' ``marks`` (and keys) once.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from ..model import bandwidth as bandwidth_model, charts, consensus_eval, format as fmt, identity
from ..model import relay_extras as extras_model, uptime as uptime_model
from ..model.aroi import JUDGED, PROOF_LABELS
from ..model.health import overload_view, relay_diagnostics
from ..model.percentiles import relay_percentiles
from ..core.jsonx import loads
from ..core.jsonx import view_bytes as json_bytes
from .pagekey import same_arguments
from .registry import Deferred, ModelSpec, Page, PageFamily, RenderInputs
from . import events as event_pages
from .common import (BANDWIDTH, DETAILS, DETAILS_ONLY, HEALTH_PATH, INDEX_PATH, RELAYS_ALL_PATH, TOP_PATH,
                     UPTIME, as_path, contact_path, country_path, family_path, first_seen_path, flag_path,
                     list_path, relay_json_path, relay_path, relays as _relays)

COLLECTOR, AROI = "collector", "aroi"
RELAY_INPUTS = frozenset({DETAILS, UPTIME, BANDWIDTH, COLLECTOR, AROI})
RELAY_CHROME = frozenset({DETAILS, UPTIME, BANDWIDTH})       # sources the page chrome names (see above)
RELAY_JSON_SCHEMA = "alliumd.relay/1"
LIST_KINDS = (("countries", "Countries"), ("networks", "Networks (AS)"), ("platforms", "Platforms"),
              ("contacts", "Operators"), ("families", "Families"))
LIST_VARIANT = "bandwidth"
FAMILY_SHOWN = 20             # family members listed on a relay page (all of them: the family page)


def optional_model(inputs: RenderInputs, name: str, source: str) -> Any:
    """A model that needs ``source``, or None while that source has no data."""
    return inputs.model(name) if inputs.has(source) else None


# -- overview and the all-relays table --------------------------------------------------------

def expand_index(inputs: RenderInputs) -> Iterator[Page]:
    model = _relays(inputs)
    summary = {**model.summary, "top_relays": [{**r, "path": relay_path(r["fingerprint"])}
                                                for r in model.summary["top_relays"]]}
    yield Page(INDEX_PATH, "index.mako", {
        "published": model.published, "summary": summary,
        "links": {"health": HEALTH_PATH, "top": TOP_PATH,
                  "lists": [{"label": label, "path": list_path(kind, LIST_VARIANT)} for kind, label in LIST_KINDS]},
    })


ALL_RELAYS_FIELDS = ("running", "fingerprint", "nickname", "fp_short", "flags_text", "country_code", "as_number",
                     "observed_bandwidth_text", "consensus_weight", "version", "os", "first_seen_date")


def expand_relays_all(inputs: RenderInputs) -> Iterator[Page]:
    model = _relays(inputs)
    yield Page(RELAYS_ALL_PATH, "relays_all.mako", {
        "published": model.published,
        "relays": [{k: r[k] for k in ALL_RELAYS_FIELDS} for r in model.relays],     # only what the table shows
        "count": fmt.count(len(model.relays)),
    })


# -- one page per relay -----------------------------------------------------------------------

def expand_relay(inputs: RenderInputs) -> Iterator[Page]:
    marks = relay_marks(inputs)
    for fp, records in inputs.model("relay_pages").items():
        args = (records, marks)
        yield Page(relay_path(fp), "relay.mako", Deferred(relay_page_view, args))
        yield Page(relay_json_path(fp), "relay.json", Deferred(relay_json_view, args), content_type="json")


NO_MARKS = {"votes_stale": False, "aroi_available": True, "aroi_stale": False, "aroi_sample": False}


def relay_marks(inputs: RenderInputs) -> dict[str, bool]:
    """Freshness of the per-relay sources whose data time the relay chrome does not name.

    Part of every relay page's view and key: it changes every relay page,
    but only when a source turns stale, comes or goes.
    """
    votes, aroi = inputs.sources.get(COLLECTOR), inputs.sources.get(AROI)
    return {"votes_stale": bool(votes and votes.available and votes.stale),
            "aroi_available": inputs.has(AROI),
            "aroi_stale": bool(aroi and aroi.available and aroi.stale),
            "aroi_sample": bool(aroi and aroi.available and aroi.sample)}


def build_relay_votes(inputs: RenderInputs) -> dict[str, Any]:
    """What relay pages take from the CollecTor summary: the shared context and one row per relay.

    Rows are kept as compact JSON text: a few hundred bytes per relay,
    compared and hashed as one string, parsed only by the worker that
    renders the page.
    """
    summary = inputs.doc(COLLECTOR)
    if not isinstance(summary, dict):
        return {"context": None, "rows": {}}
    relays = summary.get("relays") if isinstance(summary.get("relays"), dict) else {}
    return {"context": consensus_eval.build_context(summary),
            "rows": {fp: json_bytes(row).decode() for fp, row in relays.items()}}


def build_relay_pages(inputs: RenderInputs) -> dict[str, tuple]:
    """Per relay (model order): the arguments of its views (their page key is derived from them).

    The models reuse a relay's record objects when its lines did not change,
    so a relay whose arguments are all the same objects (or equal) as last
    time keeps its old argument tuple: the new copies are garbage, and the
    renderer recognises the old tuple's key without hashing it again.
    """
    model = _relays(inputs)
    keys = inputs.model("groups").relay_keys
    ranks = inputs.model("relay_percentiles")
    uptime = optional_model(inputs, "uptime", UPTIME)
    bandwidth = optional_model(inputs, "bandwidth", BANDWIDTH)
    votes = optional_model(inputs, "relay_votes", COLLECTOR)
    context = votes["context"] if votes is not None else None
    rows = votes["rows"] if votes is not None else {}
    aroi = inputs.model("aroi").relays
    recent = inputs.model("history").relays
    extras = inputs.model("relay_extras")
    previous = inputs.previous("relay_pages") or {}
    out = {}
    members: dict = {}
    for relay in model.relays:
        fp = relay["fingerprint"]
        up = uptime.relays.get(fp) if uptime is not None else None
        bw = bandwidth.relays.get(fp) if bandwidth is not None else None
        vote = (context, rows.get(fp)) if context is not None else None
        args = (relay, ranks.get(fp), up, bw, family_section(relay, model, keys, shared=members), vote,
                aroi.get(fp), keys[fp], recent.get(fp, ()), extras[fp])
        old = previous.get(fp)
        out[fp] = old if old is not None and same_arguments(old, args) else args
    return out


def relay_page_view(records: tuple, marks: dict[str, bool]) -> dict[str, Any]:
    """The relay page's view: its data and the chart geometry of its histories.

    ``records`` is the relay's entry of build_relay_pages: (relay, ranks, uptime entry,
    bandwidth entry, family, vote, AROI status, group ids, events, extras).
    """
    uptime_entry, bandwidth_entry = records[2], records[3]
    charts_view = charts.relay_history_charts(uptime_model.series_of(uptime_entry),
                                              bandwidth_model.series_of(bandwidth_entry))
    return {**_shared_data(records, marks), "charts": charts_view}


def relay_json_view(records: tuple, marks: dict[str, bool]) -> dict[str, Any]:
    """``relay/<FP>/index.json``: the page's view model without chart geometry."""
    return {"schema": RELAY_JSON_SCHEMA, **_shared_data(records, marks)}


_last_data: list = [None, None, None]          # (records, marks, relay_data of them): see _shared_data


def _shared_data(records: tuple, marks: dict[str, bool]) -> dict[str, Any]:
    """relay_data, computed once for a relay's two pages.

    The HTML and JSON jobs of a relay are queued together with the very same
    argument objects (pickling keeps that identity within a chunk), so the
    second view reuses the first one's data when the arguments are the same
    objects.  Views are read-only, so sharing the dict is safe.
    """
    last_records, last_marks, last_data = _last_data
    if records is last_records and marks is last_marks:
        return last_data
    relay, ranks, uptime_entry, bandwidth_entry, family, vote, aroi, groups, events, extras = records
    data = relay_data(relay, family, ranks, uptime_entry, bandwidth_entry, vote, aroi, groups, marks, events,
                      extras)
    _last_data[:] = [records, marks, data]
    return data


def relay_data(relay: dict[str, Any], family: dict[str, Any], ranks: dict[str, int | None] | None,
               uptime_entry: dict[str, Any] | None, bandwidth_entry: dict[str, Any] | None,
               vote: tuple | None = None, aroi: dict[str, Any] | None = None, groups: dict[str, Any] | None = None,
               marks: dict[str, bool] = NO_MARKS, events: tuple = (), extras: dict | None = None) -> dict[str, Any]:
    """Everything a relay page shows except chart geometry (this is also the relay's JSON).

    ``groups`` is the relay's entry of the groups model (``relay_keys``); None: no group links.
    """
    contact = relay["contact"]
    evaluation = consensus_section(vote, marks)
    diagnostics = relay_diagnostics(relay, uptime_entry, bandwidth_entry)
    if evaluation.get("diagnostics"):
        order = {"error": 0, "warning": 1, "info": 2}
        diagnostics = sorted(diagnostics + evaluation["diagnostics"], key=lambda d: order.get(d["severity"], 3))
    return {
        "relay": relay,
        "diagnostics": diagnostics,
        "links": relay_links(relay, groups) if groups is not None else NO_LINKS,
        "aroi_domain": identity.aroi_domain(contact),
        "aroi_validation": aroi_section(aroi, marks),
        "family": family["members"],
        "family_note": family["note"],
        "percentiles": ranks or {"consensus_weight": None, "guard": None, "middle": None, "exit": None},
        "uptime": uptime_section(uptime_entry, relay["flags"]),
        "traffic": traffic_section(bandwidth_entry),
        "overload": overload_view(bandwidth_entry),
        "consensus_evaluation": evaluation,
        "events": event_pages.relay_events_section(events),
        "extras": extras,
    }


def consensus_section(vote: tuple | None, marks: dict[str, bool]) -> dict[str, Any]:
    """The consensus evaluation of one relay (model/consensus_eval.py), or why there is none."""
    if vote is None:
        return consensus_eval.unavailable()
    context, row = vote
    view = consensus_eval.evaluate(context, loads(row) if row is not None else None)
    return {**view, "stale": marks["votes_stale"]}


AROI_STATUS_TEXT = {
    "validated": "validated",
    "unauthorized": "unauthorized: the proof does not list this relay",
    "misconfigured": "misconfigured: the proof could not be checked",
    "unknown": "unknown: the AROI fields are complete but the validator has no current answer for this relay",
    "incomplete": "incomplete: AROI fields missing",
    "not_configured": "not configured",
}


def aroi_section(status: dict[str, Any] | None, marks: dict[str, bool]) -> dict[str, Any]:
    """The relay's AROI validation line (model/aroi.py relay_status; plain, fixed vocabulary)."""
    status = status or {"status": "not_configured", "proof_type": None, "missing": [], "reason": None,
                        "error": None}
    code = status["status"]
    proof = status.get("proof_type")
    return {
        "status": code,
        "text": AROI_STATUS_TEXT.get(code, code),
        "proof_type": PROOF_LABELS.get(proof, proof) if proof else None,
        "missing": list(status.get("missing") or []),
        "reason": status.get("reason"),
        "error": status.get("error") if code in JUDGED else None,
        "validator_available": marks["aroi_available"],
        "stale": marks["aroi_stale"], "sample": marks["aroi_sample"],
    }


NO_LINKS = {"contact": None, "family": None, "as": None, "country": None, "first_seen": None, "flags": []}


def relay_links(relay: dict[str, Any], keys: dict[str, Any]) -> dict[str, Any]:
    """Site-relative paths of the group pages this relay belongs to (None where it has no such group).

    ``keys`` is the relay's entry of the groups model (``relay_keys``): the
    very ids the group pages are expanded from, so every link made here
    names a page that this build writes.  They come from
    alliumd.model.identity, which only returns path-safe ids.
    """
    flag_ids = {flag: fid for fid, flag in keys["flags"]}
    return {
        "contact": contact_path(keys["contact"]) if keys["contact"] else None,
        "family": family_path(keys["family"]) if keys["family"] else None,
        "as": as_path(keys["as"]) if keys["as"] else None,
        "country": country_path(keys["country"]) if keys["country"] else None,
        "first_seen": first_seen_path(keys["first_seen"]) if keys["first_seen"] else None,
        "flags": [{"flag": flag, "path": flag_path(flag_ids[flag]) if flag in flag_ids else None}
                  for flag in relay["flags"]],
    }


MEMBER_STATUS = {
    "family": None,
    # this relay lists it; had it listed this relay back, the two would be in one family
    "not_mutual": "not in this relay's family on this site: it does not list this relay back",
    "hidden": "no page: down for more than {days:g} days (hidden by the downtime filter)",
    "absent": "no page: not in the current Onionoo details document",
}


def family_section(relay: dict[str, Any], model: Any, keys: dict[str, dict[str, Any]],
                   limit: int = FAMILY_SHOWN, shared: dict | None = None) -> dict[str, Any]:
    """The first ``limit`` family members (by fingerprint), what links each of them, and the family page note.

    A member is linked when it has a relay page; one without says why
    (absent from the document, hidden by the downtime filter), and one that
    has a page but is not in this relay's family says that the listing is
    not mutual.  Capped so that a page of a big family stays small and
    building all of them stays linear in the network size; the family page
    lists everyone.  ``shared`` (one dict per build) makes every relay of a family share its
    members' entries instead of holding its own copies (~14 MB on a 10k-relay network).
    """
    shared = {} if shared is None else shared
    own = keys[relay["fingerprint"]]["family"]
    members = []
    for fp in relay["family"][:limit]:
        other = model.by_fingerprint.get(fp)
        if other is not None:
            status = "family" if own is not None and keys[fp]["family"] == own else "not_mutual"
        else:
            status = "hidden" if fp in model.hidden else "absent"
        member = shared.get((fp, status))
        if member is None:
            text = MEMBER_STATUS[status]
            member = shared[fp, status] = {
                "fingerprint": fp, "present": other is not None, "nickname": other["nickname"] if other else None,
                "status": status, "note": text.format(days=model.downtime_days) if text else None}
        members.append(member)
    return {"members": members, "note": family_note(relay, model, own)}


def family_note(relay: dict[str, Any], model: Any, family_id: str | None) -> str | None:
    """Why a relay that lists a family has no family page (None when it has one or lists nobody)."""
    if family_id is not None or not relay["family"]:
        return None
    listed = relay["family"]
    present = sum(1 for fp in listed if fp in model.by_fingerprint)
    if present:
        return ("No family page: none of the listed members on this site lists this relay back "
                "(a family is the relays that list each other).")
    hidden = sum(1 for fp in listed if fp in model.hidden)
    parts = [f"{fmt.count(len(listed) - hidden)} not in the current Onionoo details document"] if len(listed) > hidden \
        else []
    if hidden:
        parts.append(f"{fmt.count(hidden)} hidden by the downtime filter")
    return "No family page: no listed member is on this site (" + ", ".join(parts) + ")."


def uptime_section(entry: dict[str, Any] | None, current_flags: list[str] = ()) -> dict[str, Any] | None:
    """Uptime and flag uptime per period, rounded to what the page shows (one decimal).

    The flag is chosen against the relay's current flags (model.uptime.flag_uptime).
    """
    if not isinstance(entry, dict):
        return None
    flag, flag_uptime = uptime_model.flag_uptime(entry, current_flags)
    uptime = entry.get("uptime") or {}
    periods = []
    for period in charts.PERIODS:
        overall, flagged = _round1(uptime.get(period)), _round1(flag_uptime.get(period))
        periods.append({"period": period, "label": charts.PERIOD_LABELS[period],
                        "uptime": overall, "uptime_text": _pct_text(overall),
                        "flag_uptime": flagged,
                        "flag_uptime_text": "same as overall" if flagged is not None and flagged == overall
                        else _pct_text(flagged)})
    return {"flag": flag,
            "outlier": entry.get("outlier") if entry.get("outlier") in ("low", "high") else None,
            "periods": periods}


def traffic_section(entry: dict[str, Any] | None) -> dict[str, Any] | None:
    """Mean read/written bandwidth and total data per period, from the bandwidth history."""
    if not isinstance(entry, dict):
        return None
    read, write, totals = entry.get("read") or {}, entry.get("write") or {}, entry.get("total_bytes") or {}
    periods = []
    for period in charts.PERIODS:
        r, w, t = _int(read.get(period)), _int(write.get(period)), _int(totals.get(period))
        periods.append({"period": period, "label": charts.PERIOD_LABELS[period],
                        "read": r, "read_text": fmt.bandwidth(r), "write": w, "write_text": fmt.bandwidth(w),
                        "total_bytes": t, "total_text": charts.data_size(t)})
    best = entry.get("total_data_period")
    best = best if isinstance(best, str) and best in charts.PERIOD_LABELS else None
    total = _int(entry.get("total_data"))
    return {"periods": periods, "total_data": total, "total_data_text": charts.data_size(total),
            "total_data_period": best, "total_data_period_label": charts.PERIOD_LABELS.get(best)}


def _number(value: Any) -> float | None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    return float(value) if ok else None


def _round1(value: Any) -> float | None:
    number = _number(value)
    return round(number, 1) if number is not None else None


def _int(value: Any) -> int | None:
    number = _number(value)
    return round(number) if number is not None else None


def _pct_text(value: float | None) -> str:
    return f"{value:.1f}%" if value is not None else fmt.MISSING


MODELS = [
    ModelSpec("relay_percentiles", DETAILS_ONLY, lambda inputs: relay_percentiles(_relays(inputs).relays)),
    ModelSpec("relay_votes", frozenset({COLLECTOR}), build_relay_votes),
    ModelSpec("relay_extras", DETAILS_ONLY,
              lambda inputs: extras_model.build_relay_extras(_relays(inputs).relays, _relays(inputs).by_fingerprint,
                                                             inputs.model("groups").relay_keys,
                                                             inputs.previous("relay_extras"))),
    ModelSpec("relay_pages", RELAY_INPUTS, build_relay_pages),
]

FAMILIES = [
    # index.html (expand_index's overview plus the AROI leaderboards) is the family "index" of pages/aroi.py
    PageFamily("relays_all", DETAILS_ONLY, expand_relays_all, required=DETAILS_ONLY,
               description="table of all relays", paths=(RELAYS_ALL_PATH,), nav=(40, "All relays", RELAYS_ALL_PATH)),
    PageFamily("relay", RELAY_INPUTS, expand_relay, required=DETAILS_ONLY, chrome=RELAY_CHROME,
               description="one page per relay, with its view model as JSON"),
]
