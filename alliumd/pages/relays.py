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

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..model import bandwidth as bandwidth_model, charts, consensus_eval, format as fmt, identity
from ..model import aroi as aroi_model, relay_extras as extras_model, uptime as uptime_model
from ..model.relays import at_publication
from ..model.health import overload_view, relay_diagnostics
from ..model.history import series_text
from ..model.percentiles import relay_percentiles
from ..core.canonical import reuse_equal
from ..core.jsonx import view_bytes as json_bytes
from .pagekey import same_arguments
from .fragments import Fragment, token_of
from .registry import Deferred, ModelSpec, Page, PageFamily, RenderInputs
from . import events as event_pages
from .common import (BANDWIDTH, DETAILS, DETAILS_ONLY, HEALTH_PATH, INDEX_PATH, RELAYS_ALL_PATH, TOP_PATH,
                     UPTIME, list_path, relay_json_path, relay_path, relays as _relays)
from .relay_sections import (NO_LINKS, aroi_section, consensus_section, family_section, relay_links,
                             traffic_section, uptime_section)
from .relay_text import relay_text

COLLECTOR, AROI = "collector", "aroi"
RELAY_INPUTS = frozenset({DETAILS, UPTIME, BANDWIDTH, COLLECTOR, AROI})
RELAY_CHROME = frozenset({DETAILS, UPTIME, BANDWIDTH})       # sources the page chrome names (see above)
RELAY_JSON_SCHEMA = "alliumd.relay/1"
LIST_KINDS = (("countries", "Countries"), ("networks", "Networks (AS)"), ("platforms", "Platforms"),
              ("contacts", "Operators"), ("families", "Families"))
LIST_VARIANT = "bandwidth"


def optional_model(inputs: RenderInputs, name: str, source: str) -> Any:
    """A model that needs ``source``, or None while that source has no data."""
    return inputs.model(name) if inputs.has(source) else None


# -- overview and the all-relays table --------------------------------------------------------

def overview_summary(summary: dict[str, Any]) -> dict[str, Any]:
    """The network summary with the overview's wording of its counts (index.mako only lays it out)."""
    counts = {f"{key}_text": fmt.count(summary[key])
              for key in ("relays_truncated", "relays_running", "relays_total", "countries", "as_count")}
    return {**summary, **counts,
            "roles": [{**role, "label": role["role"].capitalize(), "count_text": fmt.count(role["count"])}
                      for role in summary["roles"]],
            "flags": [{**f, "count_text": fmt.count(f["count"])} for f in summary["flags"]],
            "top_relays": [{**r, "path": relay_path(r["fingerprint"]),
                            "consensus_weight_text": fmt.count(r["consensus_weight"])}
                           for r in summary["top_relays"]]}


def expand_index(inputs: RenderInputs) -> Iterator[Page]:
    model = _relays(inputs)
    summary = overview_summary(model.summary)
    yield Page(INDEX_PATH, "index.mako", {
        "published": model.published, "summary": summary,
        "links": {"health": HEALTH_PATH, "top": TOP_PATH,
                  "lists": [{"label": label, "path": list_path(kind, LIST_VARIANT)} for kind, label in LIST_KINDS]},
    })


ALL_RELAYS_FIELDS = ("running", "fingerprint", "nickname", "fp_short", "flags_text", "country_code", "as_number",
                     "observed_bandwidth_text", "version", "os", "first_seen_date")


def all_relays_row(relay: dict[str, Any]) -> dict[str, Any]:
    """What relays/all.html shows of a relay: only what the table shows."""
    return {**{k: relay[k] for k in ALL_RELAYS_FIELDS}, "consensus_weight_text": fmt.count(relay["consensus_weight"])}


@dataclass(frozen=True)
class AllRelaysRows:
    """The table rows of relays/all.html in model order, and the relay view each was made from."""

    rows: list[dict[str, Any]]
    sources: dict[str, tuple[dict[str, Any], dict[str, Any]]]     # fingerprint → (relay view, row)


def build_all_relays_rows(inputs: RenderInputs) -> AllRelaysRows:
    """A relay whose view is the very object of last time (the relays model keeps unchanged relays' views),
    or whose new row is equal to the old one (a new hour moves every running relay's ``last_seen``, which
    the table does not show), keeps its row object, so the template's row cache (pages/rowcache.py)
    reuses its HTML."""
    previous = inputs.previous("all_relays_rows")
    known = previous.sources if previous is not None else {}
    rows, sources = [], {}
    for relay in _relays(inputs).relays:
        fp = relay["fingerprint"]
        old = known.get(fp)
        if old is None:
            row = all_relays_row(relay)
        else:
            row = old[1] if old[0] is relay else reuse_equal(all_relays_row(relay), old[1])
        rows.append(row)
        sources[fp] = (relay, row)
    return AllRelaysRows(rows, sources)


def expand_relays_all(inputs: RenderInputs) -> Iterator[Page]:
    model = _relays(inputs)
    rows = inputs.model("all_relays_rows").rows
    yield Page(RELAYS_ALL_PATH, "relays_all.mako", {
        "published": model.published,
        "relays": rows,
        "count": fmt.count(len(rows)),
    })


# -- one page per relay -----------------------------------------------------------------------

def expand_relay(inputs: RenderInputs) -> Iterator[Page]:
    marks = relay_marks(inputs)
    stamp = (_relays(inputs).source_time,)     # not in the key: a new hour renders the relays it changed
    for fp, records in inputs.model("relay_pages").items():
        args = (records, marks)
        yield Page(relay_path(fp), "relay.mako", Deferred(relay_page_view, args, stamp))
        yield Page(relay_json_path(fp), "relay.json", Deferred(relay_json_view, args, stamp), content_type="json")


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


class RelayPageArgs(dict):
    """fingerprint → the argument tuple of its pages, and what their family sections were computed against
    besides those arguments (the hidden relays and the downtime filter), for the next build."""

    hidden: frozenset = frozenset()
    downtime_days: float | None = None


def _family_dirty(model: Any, keys: dict[str, dict[str, Any]], previous: dict[str, tuple]) -> set[str] | None:
    """The fingerprints whose family-section inputs changed since ``previous`` was built: relays that came,
    went or changed (their view), whose group ids changed, or that were or are hidden.

    A relay's family section (relay_sections.family_section) reads its own view and group ids and, of each
    fingerprint its family lists, the view (present? nickname), the group ids and whether it is hidden: a
    relay outside this set whose family lists none of it has the section it had.  None: nothing to reuse.
    """
    if not isinstance(previous, RelayPageArgs) or previous.downtime_days != model.downtime_days:
        return None
    by_fp = model.by_fingerprint
    dirty = set(previous.hidden ^ model.hidden)
    for fp, args in previous.items():
        relay, own = by_fp.get(fp), keys.get(fp)
        if (relay is not args[0] and relay != args[0]) or (own is not args[7] and own != args[7]):
            dirty.add(fp)
    dirty.update(fp for fp in by_fp if fp not in previous)
    return dirty


def build_relay_pages(inputs: RenderInputs) -> RelayPageArgs:
    """Per relay (model order): the arguments of its views (their page key is derived from them).

    The models reuse a relay's record objects when its lines did not change,
    so a relay whose arguments are all the same objects (or equal) as last
    time keeps its old argument tuple: the new copies are garbage, and the
    renderer recognises the old tuple's key without hashing it again.  A
    relay's family section, which reads other relays, is kept when none of
    what it reads changed (see _family_dirty).
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
    dirty = _family_dirty(model, keys, previous)
    out = RelayPageArgs()
    out.hidden, out.downtime_days = model.hidden, model.downtime_days
    members: dict = {}
    for relay in model.relays:
        fp = relay["fingerprint"]
        up = uptime.relays.get(fp) if uptime is not None else None
        bw = bandwidth.relays.get(fp) if bandwidth is not None else None
        vote = (context, rows.get(fp)) if context is not None else None
        old = previous.get(fp)
        if old is not None and dirty is not None and fp not in dirty and dirty.isdisjoint(relay["family"]):
            family = old[4]
        else:
            family = family_section(relay, model, keys, shared=members)
        args = (relay, ranks.get(fp), up, bw, family, vote, aroi.get(fp), keys[fp], recent.get(fp, ()), extras[fp])
        out[fp] = old if old is not None and same_arguments(old, args) else args
    return out


def relay_page_view(records: tuple, marks: dict[str, bool], published: str | None = None) -> dict[str, Any]:
    """The relay page's view: its data, the page's wording of it (pages/relay_text.py) and the chart
    geometry of its histories.

    ``records`` is the relay's entry of build_relay_pages: (relay, ranks, uptime entry,
    bandwidth entry, family, vote, AROI status, group ids, events, extras).  ``published`` is the
    details document's ``relays_published``, which the relay's spans are counted to (Deferred ``stamp``).
    """
    uptime_entry, bandwidth_entry = records[2], records[3]
    data = _shared_data(records, marks, published)
    return {**data, "shown": relay_text(data), "charts": history_charts(uptime_entry, bandwidth_entry)}


def history_charts(uptime_entry: dict[str, Any] | None, bandwidth_entry: dict[str, Any] | None) -> Fragment:
    """The relay page's charts as a reusable part (pages/fragments.py): drawn from the two history entries
    alone, so a page rewritten for anything else (ranks, family, a new details hour) copies them."""
    return Fragment("charts", token_of(series_text(uptime_entry), series_text(bandwidth_entry)), relay_charts,
                    (uptime_entry, bandwidth_entry))


def relay_charts(uptime_entry: dict[str, Any] | None, bandwidth_entry: dict[str, Any] | None) -> list[dict]:
    return charts.relay_history_charts(uptime_model.series_of(uptime_entry),
                                       bandwidth_model.series_of(bandwidth_entry))


def relay_json_view(records: tuple, marks: dict[str, bool], published: str | None = None) -> dict[str, Any]:
    """``relay/<FP>/index.json``: the page's view model without chart geometry, and the details publication
    it shows (its spans count to it; a later publication that changed nothing here left the file as it is)."""
    return {"schema": RELAY_JSON_SCHEMA, "published": fmt.timestamp(fmt.parse_onionoo_time(published)),
            **_shared_data(records, marks, published)}


_last_data: list = [None, None, None, None]    # (records, marks, published, relay_data of them): _shared_data


def _shared_data(records: tuple, marks: dict[str, bool], published: str | None) -> dict[str, Any]:
    """relay_data, computed once for a relay's two pages.

    The HTML and JSON jobs of a relay are queued together with the very same
    argument objects (pickling keeps that identity within a chunk), so the
    second view reuses the first one's data when the arguments are the same
    objects.  Views are read-only, so sharing the dict is safe.
    """
    last_records, last_marks, last_published, last_data = _last_data
    if records is last_records and marks is last_marks and published == last_published:
        return last_data
    relay, ranks, uptime_entry, bandwidth_entry, family, vote, aroi, groups, events, extras = records
    relay = at_publication(relay, fmt.parse_onionoo_time(published))
    data = relay_data(relay, family, ranks, uptime_entry, bandwidth_entry, vote, aroi, groups, marks, events,
                      extras)
    _last_data[:] = [records, marks, published, data]
    return data


def relay_data(relay: dict[str, Any], family: dict[str, Any], ranks: dict[str, int | None] | None,
               uptime_entry: dict[str, Any] | None, bandwidth_entry: dict[str, Any] | None,
               vote: tuple | None = None, aroi: dict[str, Any] | None = None, groups: dict[str, Any] | None = None,
               marks: dict[str, bool] = NO_MARKS, events: tuple = (), extras: dict | None = None) -> dict[str, Any]:
    """Everything a relay page shows except chart geometry (this is also the relay's JSON).

    ``relay`` has its spans counted (model.relays.at_publication).  ``groups`` is the relay's entry of the
    groups model (``relay_keys``); None: no group links.
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


def build_as_rarity(inputs: RenderInputs) -> aroi_model.AsRarityModel:
    """The AS rarity scores relay pages and leaderboards share, updated for the ASes a document touched."""
    return aroi_model.as_rarity_model(_relays(inputs).by_fingerprint, inputs.model("groups"),
                                      inputs.previous("as_rarity"))


MODELS = [
    ModelSpec("all_relays_rows", DETAILS_ONLY, build_all_relays_rows),
    ModelSpec("relay_percentiles", DETAILS_ONLY, lambda inputs: relay_percentiles(_relays(inputs).relays)),
    ModelSpec("relay_votes", frozenset({COLLECTOR}), build_relay_votes),
    ModelSpec("as_rarity", DETAILS_ONLY, build_as_rarity),
    ModelSpec("relay_extras", DETAILS_ONLY,
              lambda inputs: extras_model.build_relay_extras(_relays(inputs).relays, _relays(inputs).by_fingerprint,
                                                             inputs.model("groups").relay_keys,
                                                             inputs.previous("relay_extras"),
                                                             inputs.model("as_rarity").scores)),
    ModelSpec("relay_pages", RELAY_INPUTS, build_relay_pages),
]

FAMILIES = [
    # index.html (expand_index's overview plus the AROI leaderboards) is the family "index" of pages/aroi.py
    PageFamily("relays_all", DETAILS_ONLY, expand_relays_all, required=DETAILS_ONLY,
               description="table of all relays", paths=(RELAYS_ALL_PATH,), nav=(40, "All relays", RELAYS_ALL_PATH),
               warm=True),
    PageFamily("relay", RELAY_INPUTS, expand_relay, required=DETAILS_ONLY, chrome=RELAY_CHROME,
               description="one page per relay, with its view model as JSON"),
]
