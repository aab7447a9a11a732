"""Network memory on the site: the ``history`` model and the event pages and feeds.

The ``history`` model is where the renderer records: it is rebuilt when
details, CollecTor votes, AROI or consensus-health data change, diffs them
against the store (alliumd/history/record.py) and then holds, as plain
data, the recent events of every relay, contact and family and of the
network.  Pages never touch the database (render workers get events as
view arguments); a relay's event list is the same tuple object until one
of its events changes, so only the pages of relays, contacts and families
an event touches get new keys.

Pages: ``events.html`` + ``events.atom`` (network), ``relay/<FP>/events.atom``,
``contact/<id>/events.atom``, ``family/<id>/events.atom`` (every relay,
contact and family page has one, so the pages can always link it), and
``relay/<FP>/metrics.txt`` and ``contact/<id>/metrics.txt`` (OpenMetrics,
model/openmetrics.py); the "Recent events" sections and roll-ups are in the
relay, contact and family pages (pages/relays.py, pages/groups.py).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ..history import record as recordmod
from ..model import consensus_eval, events as ev, format as fmt, openmetrics
from ..model import uptime as uptime_model
from ..core.jsonx import loads
from .registry import Deferred, ModelSpec, Page, PageFamily, RenderInputs
from .common import (DETAILS, FEED_NAME, METRICS_NAME, contact_feed_path, contact_metrics_path, family_feed_path,
                     relay_feed_path, relay_metrics_path, relay_path, relays as relays_model)

log = logging.getLogger("alliumd.history")

COLLECTOR, AROI, HEALTH, UPTIME = "collector", "aroi", "consensus_health", "onionoo_uptime"
HISTORY_INPUTS = frozenset({DETAILS, COLLECTOR, AROI, HEALTH})
RELAY_EVENT_INPUTS = frozenset({DETAILS, COLLECTOR, AROI})
EVENTS_PATH = "events.html"
EVENTS_FEED_PATH = "events.atom"
RELAY_METRIC_INPUTS = frozenset({DETAILS, "onionoo_uptime", "onionoo_bandwidth", COLLECTOR, AROI})
RECENT = 50                     # events a relay page and a feed show
GROUP_RECENT = 100              # events kept per contact and family (roll-ups, feeds)
NETWORK_RECENT = 100
FEED_AUTHORITY = "tag:alliumd,2026:"      # Atom ids: tag URIs (RFC 4151), stable per relay, group and event





@dataclass
class HistoryModel:
    """Recent events as plain data (newest first); unchanged lists are the same tuple objects."""

    available: bool = False
    relays: dict[str, tuple] = field(default_factory=dict)
    contacts: dict[str, tuple] = field(default_factory=dict)
    families: dict[str, tuple] = field(default_factory=dict)
    network: tuple = ()
    kinds_24h: tuple = ()                 # ((kind, count), …) of relay events in the day before the newest
    started: float | None = None          # the store's first publication (empty feeds' `updated`)
    recoveries: int = 0                   # the store's recoveries when loaded (a new file: load everything)
    unchanged: recordmod.Unchanged | None = field(default=None, repr=False, compare=False)   # for record()
    views: "EventViews | None" = field(default=None, repr=False, compare=False)


class EventViews:
    """One view per event, by uid, whichever lists show it and from one build to the next.

    An event is in its relay's list, its contact's and its family's (and maybe the network's), and a
    long-running store holds up to RECENT events per relay and GROUP_RECENT per group: a view per list
    and per reload made the views more than twice as large (``python -m bench.history``: 133.7 MB, now
    60.6 MB after 1,000 publications) and rebuilt them on every reload.  A view is a pure
    function of the stored event (whose uid is a digest of what it says), so sharing it is safe.  Views
    no list shows any more are dropped when the cache has doubled since it was last pruned.
    """

    def __init__(self):
        self.by_uid: dict[Any, dict[str, Any]] = {}
        self._stamps: dict[float, tuple[float, str, str]] = {}
        self._prune_at = 1024

    def of(self, events: list[dict[str, Any]]) -> tuple:
        by_uid = self.by_uid
        out = []
        for e in events:
            view = by_uid.get(e["uid"])
            if view is None:
                view = by_uid[e["uid"]] = event_view(e, self._stamps)
            out.append(view)
        return tuple(out)

    def prune(self, *lists: dict[str, tuple] | tuple) -> None:
        """Keep only the views the model's lists show (when the cache has grown enough to be worth it)."""
        if len(self.by_uid) < self._prune_at:
            return
        shown = {}
        for group in lists:
            for events in (group.values() if isinstance(group, dict) else (group,)):
                for view in events:
                    shown[view["uid"]] = view
        self.by_uid = shown
        self._stamps = {}
        self._prune_at = max(1024, 2 * len(shown))


def event_view(e: dict[str, Any], stamps: dict[float, tuple[float, str, str]] | None = None) -> dict[str, Any]:
    """An event as pages show it (text cleaned again: the store may predate a cleaning rule).

    ``stamps`` (epoch → the epoch and its two time texts) shares them between the events of one
    publication; the strings are interned: a long store repeats each fingerprint, nickname, kind, flag
    and most sentences ("first seen", "lost Guard") in thousands of events."""
    kind = e["kind"]
    flag = sys.intern(e["after"]) if kind in (ev.FLAG_GAINED, ev.FLAG_LOST) and isinstance(e["after"], str) else None
    stamp = stamps.get(e["time"]) if stamps is not None else None
    if stamp is None:
        stamp = (e["time"], ev.iso(e["time"]), ev.time_text(e["time"]))
        if stamps is not None:
            stamps[stamp[0]] = stamp
    fp, nickname = e["fp"], e.get("nickname")
    return {"uid": e["uid"], "epoch": stamp[0], "time": stamp[1], "when": stamp[2], "kind": sys.intern(kind),
            "flag": flag, "text": sys.intern(ev.clean_text(e["text"], 400)), "fp": sys.intern(fp) if fp else fp,
            "nickname": sys.intern(ev.clean_text(nickname, 40)) if nickname else None}


def _time(text: Any) -> float | None:
    when = fmt.parse_onionoo_time(text[:19] if isinstance(text, str) else None)
    return when.timestamp() if when is not None else None


def publication(inputs: RenderInputs) -> recordmod.Publication:
    """What this batch's models say, for the diff (nothing from sample data: it is not the network)."""
    details = inputs.sources.get(DETAILS)
    model = inputs.model("relays")
    if details is not None and details.sample:
        return recordmod.Publication(details_time=None, relays=[])
    groups = inputs.model("groups")
    pub = recordmod.Publication(details_time=_time(model.source_time), relays=model.relays, keys=groups.relay_keys,
                                family_labels={k: g.label for k, g in groups.groups["family"].items()},
                                as_labels={k: g.label for k, g in groups.groups["as"].items()})
    if inputs.has(AROI) and not (inputs.sources.get(AROI) and inputs.sources[AROI].sample):
        aroi = inputs.model("aroi")
        pub.aroi = {fp: s.get("status") for fp, s in aroi.relays.items()}
        pub.aroi_time = _time(aroi.validator_published)
    if inputs.has(COLLECTOR):
        votes = inputs.model("relay_votes")
        context = votes.get("context")
        if context is not None:
            pub.vote_context, pub.vote_rows = context, votes["rows"]
            pub.thresholds = {a["nickname"]: a["thresholds"] for a in context["authorities"] if a["current"]}
            pub.votes_time = consensus_eval._valid_after_epoch(context)
    if inputs.has(HEALTH):
        doc = inputs.doc(HEALTH)
        if isinstance(doc, dict):
            pub.notices = [(f"{n.get('authority')}: " if n.get("authority") else "") + str(n.get("text"))
                           for n in doc.get("notices") or [] if isinstance(n, dict)]
            pub.notices_time = _time(doc.get("relays_published"))
    return pub


def build_history(inputs: RenderInputs) -> HistoryModel:
    """Record this publication, then load what the pages show (all of it after a (re)start or a prune)."""
    store = inputs.settings.get("history")
    if store is None or not inputs.has(DETAILS):
        return HistoryModel()
    pub = publication(inputs)
    previous = inputs.previous("history")
    recorded = recordmod.record(store, pub, inputs.now, previous.unchanged if previous is not None else None)
    if recorded.baseline and inputs.has(UPTIME):
        # a new store: seed it from the uptime history.  Uptime is read here without being an input of
        # this model on purpose: it matters once, at the baseline, never for later rebuilds.
        uptime = inputs.model("uptime")
        series = {fp: uptime_model.series_of(entry).get(ev.BACKFILL_PERIOD) for fp, entry in uptime.relays.items()}
        if recordmod.backfill(store, pub, series, inputs.now):
            previous = None                                   # load everything
    if store.open() is None:
        return HistoryModel()
    if previous is None or not previous.available or store.recoveries != previous.recoveries:
        views = EventViews()
        model = HistoryModel(available=True, views=views)
        model.relays = {fp: views.of(es) for fp, es in store.recent_by("fp", RECENT).items()}
        model.contacts = {c: views.of(es) for c, es in store.recent_by("contact", GROUP_RECENT).items()}
        model.families = {f: views.of(es) for f, es in store.recent_by("family", GROUP_RECENT).items()}
    else:
        views = previous.views if previous.views is not None else EventViews()
        model = HistoryModel(available=True, relays=dict(previous.relays), contacts=dict(previous.contacts),
                             families=dict(previous.families), views=views)
        # reload what this publication touched, and lists whose oldest event retention just removed
        cutoff = inputs.now - store.retention
        for lists, touched, column, limit in ((model.relays, recorded.touched_relays, "fp", RECENT),
                                              (model.contacts, recorded.touched_contacts, "contact", GROUP_RECENT),
                                              (model.families, recorded.touched_families, "family", GROUP_RECENT)):
            aged = {key for key, events in lists.items() if events and events[-1]["epoch"] < cutoff}
            for key in touched | aged:
                events = views.of(store.events(limit=limit, **{column: key}))
                if events:
                    lists[key] = events
                else:
                    lists.pop(key, None)
    model.recoveries = store.recoveries
    model.unchanged = recorded.unchanged
    model.network = views.of(store.events(network=True, limit=NETWORK_RECENT))
    views.prune(model.relays, model.contacts, model.families, model.network)
    model.kinds_24h = _kinds_24h(store)
    model.started = store.network_state("started")
    return model


def _kinds_24h(store) -> tuple:
    newest = store.events(limit=1)
    if not newest:
        return ()
    counts: dict[str, int] = {}
    for e in store.events(since=newest[0]["time"] - 86400):
        if e["fp"] is not None:
            counts[e["kind"]] = counts.get(e["kind"], 0) + 1
    return tuple(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def history(inputs: RenderInputs) -> HistoryModel:
    return inputs.model("history")


# -- Atom feeds ---------------------------------------------------------------------------------

def feed_view(*, feed_id: str, title: str, self_href: str, page_href: str, author: str,
              events: tuple, updated_fallback: float | None, relay_links: Iterable[str] = ()) -> dict[str, Any]:
    """One Atom feed (RFC 4287) as plain data; hrefs are relative to the feed's own location.

    An entry links its relay's page when the relay is one of ``relay_links`` (relays with a page),
    else the feed's own page."""
    entries = []
    linked = set(relay_links)
    for e in events[:RECENT]:
        who = f"{e['nickname'] or 'relay'} ({e['fp'][:8]})" if e["fp"] else "network"
        link = f"../../relay/{e['fp']}/index.html" if e["fp"] in linked else page_href
        entries.append({"id": f"{FEED_AUTHORITY}event/{e['uid']}", "title": f"{who}: {e['text']}",
                        "updated": e["time"], "summary": f"{e['when']}: {e['text']}", "link": link})
    updated = events[0]["time"] if events else ev.iso(updated_fallback or 0)
    return {"feed_id": feed_id, "title": ev.clean_text(title, 200), "self_href": self_href, "page_href": page_href,
            "author": ev.clean_text(author, 100), "updated": updated, "entries": entries}


def expand_relay_feeds(inputs: RenderInputs) -> Iterator[Page]:
    """One feed per relay; its view's arguments are the model's own objects (cheap to keep and compare)."""
    model = history(inputs)
    title = inputs.settings.get("site_title", "")
    for relay in inputs.model("relays").relays:
        fp = relay["fingerprint"]
        yield Page(relay_feed_path(fp), "events_feed.mako",
                   Deferred(relay_feed, (fp, relay["nickname"], title, model.relays.get(fp, ()), model.started)))


def relay_feed(fp: str, nickname: str | None, site_title: str, events: tuple,
               started: float | None) -> dict[str, Any]:
    """A relay's feed (a Deferred view: built only when its key changed, maybe in a worker)."""
    name = ev.clean_text(nickname, 40)
    return feed_view(feed_id=f"{FEED_AUTHORITY}relay/{fp}", title=f"{name} ({fp}): events", self_href=FEED_NAME,
                     page_href="index.html", author=site_title, events=events, updated_fallback=started)


def _group_feeds(inputs: RenderInputs, kind: str) -> Iterator[Page]:
    model = history(inputs)
    groups = inputs.model("groups").groups[kind]
    store = model.contacts if kind == "contact" else model.families
    site = inputs.settings.get("site_title", "")
    path_of = contact_feed_path if kind == "contact" else family_feed_path
    for gid, group in groups.items():
        shown = store.get(gid, ())[:RECENT]
        linked = sorted({e["fp"] for e in shown if e["fp"]} & set(group.fingerprints))   # relays with a page
        yield Page(path_of(gid), "events_feed.mako",
                   Deferred(group_feed, (kind, gid, group.label, site, shown, model.started, linked)))


def group_feed(kind: str, gid: str, label: str, site_title: str, events: tuple, started: float | None,
               linked: list[str]) -> dict[str, Any]:
    """A contact's or family's feed (a Deferred view, like :func:`relay_feed`)."""
    word = "operator" if kind == "contact" else "family"
    return feed_view(feed_id=f"{FEED_AUTHORITY}{kind}/{gid}",
                     title=f"{word} {ev.clean_text(label, 80)}: events of its relays", self_href=FEED_NAME,
                     page_href="index.html", author=site_title, events=events, updated_fallback=started,
                     relay_links=linked)


def expand_contact_feeds(inputs: RenderInputs) -> Iterator[Page]:
    return _group_feeds(inputs, "contact")


def expand_family_feeds(inputs: RenderInputs) -> Iterator[Page]:
    return _group_feeds(inputs, "family")


# -- the network events page -----------------------------------------------------------------

def expand_events(inputs: RenderInputs) -> Iterator[Page]:
    model = history(inputs)
    site = inputs.settings.get("site_title", "")
    pages = relays_model(inputs).by_fingerprint               # relays with a page (a link must resolve)
    events = [{**e, "relay_path": relay_path(e["fp"]) if e["fp"] in pages else None} for e in model.network]
    yield Page(EVENTS_PATH, "events.mako", {
        "available": model.available, "events": events, "feed": EVENTS_FEED_PATH,
        "kinds": [{"kind": k, "label": ev.ROLLUP_WORDS.get(k, k).format(flag="a flag"), "count": n}
                  for k, n in model.kinds_24h],
        "started": ev.time_text(model.started) if model.started else None})
    yield Page(EVENTS_FEED_PATH, "events_feed.mako", feed_view(
        feed_id=f"{FEED_AUTHORITY}network", title=f"{site}: network events", self_href=EVENTS_FEED_PATH,
        page_href=EVENTS_PATH, author=site, events=model.network, updated_fallback=model.started))


# -- what the relay, contact and family pages show ---------------------------------------------

def relay_events_section(events: tuple) -> dict[str, Any]:
    """The relay page's events, its feed and its metrics.txt (both written for every relay page)."""
    return {"items": list(events), "feed": FEED_NAME, "metrics": METRICS_NAME}


def group_events_section(events: tuple, members: int, listed: Iterable[str] = (), *,
                         metrics: bool = False) -> dict[str, Any]:
    """A contact's or family's roll-ups and latest events, its feed (always written: see above) and, for a
    contact, its metrics.txt.  An event links its relay's page only when the relay is ``listed`` on the
    group page (so it has a page): a relay gone from the network keeps its events, not a dead link."""
    raw = [{"fp": e["fp"], "kind": e["kind"], "time": e["epoch"], "after": e["flag"]} for e in events]
    listed = set(listed)
    return {"rollups": ev.rollups(raw, members), "items": [{**e, "linked": e["fp"] in listed} for e in events[:10]],
            "feed": FEED_NAME, "metrics": METRICS_NAME if metrics else None}


MODELS = [ModelSpec("history", HISTORY_INPUTS, build_history)]

FAMILIES = [
    PageFamily("events", HISTORY_INPUTS, expand_events, required=frozenset({DETAILS}),
               description="the network's notable changes and their Atom feed",
               paths=(EVENTS_PATH, EVENTS_FEED_PATH), nav=(55, "Events", EVENTS_PATH)),
    PageFamily("relay_feeds", RELAY_EVENT_INPUTS, expand_relay_feeds, required=frozenset({DETAILS}),
               chrome=frozenset(), description="one Atom feed of events per relay"),
    PageFamily("contact_feeds", RELAY_EVENT_INPUTS, expand_contact_feeds, required=frozenset({DETAILS}),
               chrome=frozenset(), description="one Atom feed per operator: its relays' events"),
    PageFamily("family_feeds", RELAY_EVENT_INPUTS, expand_family_feeds, required=frozenset({DETAILS}),
               chrome=frozenset(), description="one Atom feed per family: its members' events"),
]


# -- metrics.txt --------------------------------------------------------------------------------

def relay_metrics_view(relay: dict[str, Any], uptime_entry: dict | None, vote: tuple | None,
                       aroi: dict[str, Any] | None) -> dict[str, Any]:
    """``relay/<FP>/metrics.txt`` from the records of the relay page it reads (pages/relays.py
    build_relay_pages): only those are its arguments, so its key changes when they do, not when the page's
    percentile ranks, family or events do (then a tenth of the relays' pages change, and none of these)."""
    return relay_metrics_of(relay, uptime_entry, vote, aroi)


def _ship_relay_metrics(relay: dict[str, Any], uptime_entry: dict | None, vote: tuple | None,
                        aroi: dict[str, Any] | None) -> tuple:
    """What a render worker gets for a metrics.txt: the fields it shows, not the whole relay view and
    uptime entry (charts' series are most of it)."""
    return relay_metrics_of, (openmetrics.relay_fields(relay),
                              {"uptime": uptime_entry.get("uptime")} if uptime_entry else None,
                              vote, {"status": aroi.get("status")} if aroi else None)


relay_metrics_view.ship = _ship_relay_metrics


def relay_metrics_of(relay: dict[str, Any], uptime_entry: dict | None, vote: tuple | None,
                     aroi: dict[str, Any] | None) -> dict[str, Any]:
    flag_votes = None
    if vote is not None:
        context, row = vote
        evaluation = consensus_eval.evaluate(context, loads(row) if row is not None else None)
        flag_votes = evaluation.get("flags") or []
    return {"families": openmetrics.relay_families(relay, uptime_entry, flag_votes,
                                                   (aroi or {}).get("status") if aroi else None)}


def expand_relay_metrics(inputs: RenderInputs) -> Iterator[Page]:
    for fp, records in inputs.model("relay_pages").items():
        yield Page(relay_metrics_path(fp), "metrics.txt",
                   Deferred(relay_metrics_view, (records[0], records[2], records[5], records[6])),
                   content_type="openmetrics")




def contact_metrics_view(members: list[dict[str, Any]], validated: int | None) -> dict[str, Any]:
    return {"families": openmetrics.operator_families(members, validated)}


CONTACT_METRIC_FIELDS = ("fingerprint", "running", "flags", "consensus_weight", "consensus_weight_fraction",
                         "guard_probability", "middle_probability", "exit_probability", "observed_bandwidth",
                         "advertised_bandwidth")


def build_contact_metrics(inputs: RenderInputs) -> dict[str, tuple[tuple, Any]]:
    """Per contact: the arguments of its metrics.txt view (its page key is derived from them) and its group.

    The groups model keeps a group's object while none of its relays
    changed, so an unchanged group with the same validated count reuses its
    arguments (and so their key) without collecting its members again.
    """
    relays = inputs.model("relays").by_fingerprint
    aroi = inputs.model("aroi") if inputs.has(AROI) else None
    previous = inputs.previous("contact_metrics") or {}
    out = {}
    for gid, group in inputs.model("groups").groups["contact"].items():
        validated = None
        if aroi is not None and aroi.validator_available:
            validated = sum(1 for fp in group.fingerprints
                            if (aroi.relays.get(fp) or {}).get("status") == "validated")
        old = previous.get(gid)
        if old is not None and old[1] is group and old[0][1] == validated:
            out[gid] = old
            continue
        members = [{k: relays[fp].get(k) for k in CONTACT_METRIC_FIELDS} for fp in group.fingerprints
                   if fp in relays]
        out[gid] = ((members, validated), group)
    return out


def expand_contact_metrics(inputs: RenderInputs) -> Iterator[Page]:
    for gid, (args, _) in inputs.model("contact_metrics").items():
        yield Page(contact_metrics_path(gid), "metrics.txt", Deferred(contact_metrics_view, args),
                   content_type="openmetrics")


MODELS.append(ModelSpec("contact_metrics", frozenset({DETAILS, AROI}), build_contact_metrics))


FAMILIES += [
    PageFamily("relay_metrics", RELAY_METRIC_INPUTS, expand_relay_metrics, required=frozenset({DETAILS}),
               chrome=frozenset(), description="relay/<FP>/metrics.txt: the relay's external view, OpenMetrics"),
    PageFamily("contact_metrics", frozenset({DETAILS, AROI}), expand_contact_metrics,
               required=frozenset({DETAILS}), chrome=frozenset(),
               description="contact/<id>/metrics.txt: the operator's external view, OpenMetrics"),
]
