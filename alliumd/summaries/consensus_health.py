"""The consensus-health page (depictor's HTML) → a plain-text summary (pure).

The page (https://consensus-health.torproject.org/) is a sequence of sections, each an ``<a name=…>``
anchor, an ``<h3>`` title and usually one ``<table>`` of rows
``<tr><td>authority</td><td>…</td></tr>``; a red cell (``class="oiv"``)
marks a problem, the blue ``consensus`` row (``class="ic"``) the consensus.
The generator writes unbalanced markup (the ``<a name>`` is never closed),
so sections are found by walking the document in order: an anchor opens a
section and the first table after it, before the next anchor, is its table.

Tolerance: each section is parsed on its own; a missing or unreadable
section is reported in ``sections`` and leaves only its own fields empty.
A page without the consensus-health title and a valid-after time, or
without any of the core sections, is rejected (the last good summary
stays).  Everything scraped is hostile: the summary holds plain text only
(no markup survives ``text_content``), capped, without control characters;
authority names must look like Tor nicknames or the row is ignored.

The summary (``consensus_health.summary.json``)::

    {"format": 1, "source": "consensus_health",
     "relays_published": valid-after "YYYY-MM-DD hh:mm:ss",   (the data time the chrome shows)
     "valid_after_late": the page marks the consensus as too old,
     "sections": {anchor: "ok" | "missing" | "unreadable"},     (every anchor in SECTIONS)
     "notices": [{"authority": nickname | null, "section": anchor, "text": str}],
     "consensus": {"known_flags", "running", "method", "client_versions",
                   "server_versions", "params"},                 (fields of readable sections)
     "authorities": [{"nickname": lower-case, …per section fields…}]}   (sorted by nickname)

Per-authority fields (present when their section was readable and the row
says something): ``signed`` (bool), ``signature_problem`` (text),
``has_bandwidth_file`` (bool), ``vote_present`` (bool), ``known_flags``,
``flag_thresholds`` ({key: number | text}), ``relays`` / ``running`` (int),
``consensus_methods`` ([int]), ``supports_consensus_method`` (bool),
``client_versions`` / ``server_versions`` ([str]), ``versions_differ``
(bool), ``params`` ({key: int}), ``params_conflict`` (bool),
``clock_skew`` (seconds, float), ``clock_problem`` (bool), ``version``
(text), ``bwauth_measured`` (int), ``bwauth_problem`` (text).
"""

from __future__ import annotations

import re
from copy import deepcopy
from typing import Any, Iterator

from lxml import etree, html

from ..cache.names import CONSENSUS_HEALTH_SUMMARY_FORMAT
from ..core.timefmt import onionoo_epoch
from ..core.text import plain_text

FORMAT = CONSENSUS_HEALTH_SUMMARY_FORMAT
SECTIONS = ("validafter", "signatures", "knownflags", "flagthresholds", "numberofrelays",
            "consensusmethods", "recommendedversions", "consensusparams", "authorityclocks",
            "authorityversions", "bwauthstatus")
CORE_SECTIONS = ("signatures", "knownflags", "numberofrelays", "consensusmethods")
ALL_ANCHORS = frozenset(SECTIONS) | {
    "ipv6stats", "authoritykeys", "sharedrandom", "protocols", "bwweights", "bwauthinfo",
    "fallbackdirstatus", "downloadstats", "relayinfo", "vote", "overlap"}

MAX_TEXT = 200            # a notice or other free text kept in the summary
MAX_CELL = 20_000         # a data cell read for parsing (params lines run to ~1 kB)
MAX_ITEMS = 300
_NICK_RE = re.compile(r"[A-Za-z0-9]{1,19}")
_TIME_RE = re.compile(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)")
_KV_RE = re.compile(r"([A-Za-z0-9_.-]{1,64})=(\S{1,64})")
_INT_RE = re.compile(r"-?\d{1,15}")
_FLAG_RE = re.compile(r"[A-Za-z0-9_-]{1,32}")
_VERSION_RE = re.compile(r"[0-9A-Za-z.+_-]{1,40}")


class UnrecognizedPage(ValueError):
    """Not a consensus-health page (or one without anything usable): never published."""


class _Unreadable(Exception):
    """Internal: a section is present but its content cannot be read."""


# -- text helpers -------------------------------------------------------------------------

def text_of(el, limit: int = MAX_TEXT) -> str:
    """An element's text, markup dropped, whitespace collapsed, control characters removed, capped."""
    raw = el.text_content()[:MAX_CELL * 4] if el is not None else ""
    return plain_text(raw, limit, fold=True)


def cell_text(el) -> str:
    """A data cell's whole text, for parsing (values taken from it are validated one by one)."""
    return text_of(el, MAX_CELL)


def _is_problem(el) -> bool:
    """The cell (or something inside it) is marked red (``oiv``)."""
    classes = (el.get("class") or "").split()
    return "oiv" in classes or bool(el.xpath(".//*[contains(concat(' ', normalize-space(@class), ' '), ' oiv ')]"))


def _nickname(text: str) -> str | None:
    return text.lower() if _NICK_RE.fullmatch(text) else None


def _number(text: str) -> int | float | str:
    if _INT_RE.fullmatch(text):
        return int(text)
    try:
        return float(text.rstrip("%")) / (100 if text.endswith("%") else 1)
    except ValueError:
        return text[:64]


def _words_after(text: str, keyword: str) -> list[str] | None:
    """``"known-flags A B C"`` → ``["A", "B", "C"]``; None when the keyword does not lead."""
    if not text.startswith(keyword):
        return None
    return text[len(keyword):].split()[:MAX_ITEMS]


# -- sections -------------------------------------------------------------------------------

def _sections(root) -> dict[str, dict[str, Any]]:
    """anchor → {"tables": [table, …], "paragraphs": [p, …]} in document order."""
    found: dict[str, dict[str, Any]] = {}
    current = None
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        tag = el.tag.lower()
        if tag == "a":
            name = el.get("name") or el.get("id")
            href = el.get("href") or ""
            if name in ALL_ANCHORS:
                current = found.setdefault(name, {"tables": [], "paragraphs": []})
            elif href.startswith("#") and href[1:] in ALL_ANCHORS and "anchor" in (el.get("class") or ""):
                current = found.setdefault(href[1:], {"tables": [], "paragraphs": []})
        elif current is not None and tag == "table" and _outer_table(el):
            current["tables"].append(el)
        elif current is not None and tag == "p":
            current["paragraphs"].append(el)
    return found


def _outer_table(table) -> bool:
    return not any(a.tag == "table" for a in table.iterancestors() if isinstance(a.tag, str))


def _rows(section: dict[str, Any], index: int = 0) -> Iterator[list]:
    """The ``<tr>`` rows (as lists of ``<td>``) of the section's ``index``-th table; header rows skipped."""
    tables = section["tables"]
    if len(tables) <= index:
        raise _Unreadable("no table")
    for tr in tables[index].iter("tr"):
        cells = [c for c in tr if isinstance(c.tag, str) and c.tag.lower() == "td"]
        if cells:
            yield cells


def _authority_rows(section: dict[str, Any], index: int = 0) -> Iterator[tuple[str | None, list]]:
    """(lower-case nickname or "consensus" or None for a continuation row, cells)."""
    for cells in _rows(section, index):
        first = text_of(cells[0])
        if first == "consensus":
            yield "consensus", cells
        elif first == "":
            yield None, cells
        else:
            nick = _nickname(first)
            if nick is not None:
                yield nick, cells


# -- per-section readers: (page summary, section) → fills it in ---------------------------

def _valid_after(out, section) -> None:
    for p in section["paragraphs"]:
        text = text_of(p)
        if text.startswith("Consensus was published"):
            m = _TIME_RE.search(text)
            if m:
                out["relays_published"] = m.group(1)
                out["valid_after_late"] = _is_problem(p)
                break
    else:
        raise _Unreadable("no 'Consensus was published' line")
    for table in section["tables"]:            # the optional "Unusual Authorities:" table
        for tr in table.iter("tr"):
            cells = [c for c in tr if isinstance(c.tag, str) and c.tag.lower() == "td"]
            if len(cells) >= 2:
                out["notices"].append({"authority": _nickname(text_of(cells[0])), "section": "validafter",
                                       "text": text_of(cells[1]) or "unusual authority"})


def _signatures(out, section) -> None:
    for nick, cells in _authority_rows(section):
        if nick in (None, "consensus"):
            continue
        auth = _auth(out, nick)
        links = text_of(cells[1]) if len(cells) > 1 else ""
        status = cells[2] if len(cells) > 2 else None
        if len(cells) > 1 and _is_problem(cells[1]):          # "Missing entirely from consensus"
            auth["signed"], auth["signature_problem"] = False, links
            continue
        auth["has_bandwidth_file"] = "bandwidth file" in links
        problem = text_of(status) if status is not None else ""
        auth["signed"] = not problem
        if problem:
            auth["signature_problem"] = problem
            out["notices"].append({"authority": nick, "section": "signatures", "text": problem})


def _known_flags(out, section) -> None:
    for nick, cells in _authority_rows(section):
        if nick is None or len(cells) < 2:
            continue
        flags = _words_after(cell_text(cells[1]), "known-flags")
        target = out["consensus"] if nick == "consensus" else _auth(out, nick)
        if flags is None:
            if nick != "consensus" and _is_problem(cells[1]):
                target["vote_present"] = False
            continue
        target["known_flags"] = [f for f in flags if _FLAG_RE.fullmatch(f)]
        if nick != "consensus":
            target["vote_present"] = True


def _flag_thresholds(out, section) -> None:
    for nick, cells in _authority_rows(section):
        if nick in (None, "consensus") or len(cells) < 2:
            continue
        text = cell_text(cells[1])
        if text.startswith("flag-thresholds"):
            _auth(out, nick)["flag_thresholds"] = {k: _number(v) for k, v in _KV_RE.findall(text)[:MAX_ITEMS]}


def _number_of_relays(out, section) -> None:
    for nick, cells in _authority_rows(section):
        if nick is None:
            continue
        target = out["consensus"] if nick == "consensus" else _auth(out, nick)
        for cell in cells[1:]:
            m = re.fullmatch(r"(\d{1,9}) (total|Running)", text_of(cell))
            if m:
                target["relays" if m.group(2) == "total" else "running"] = int(m.group(1))


def _consensus_methods(out, section) -> None:
    for nick, cells in _authority_rows(section):
        if nick is None or len(cells) < 2:
            continue
        text = cell_text(cells[1])
        if nick == "consensus":
            m = re.fullmatch(r"consensus-method (\d{1,4})", text)
            if m:
                out["consensus"]["method"] = int(m.group(1))
            continue
        methods = _words_after(text, "consensus-methods")
        if methods is not None:
            auth = _auth(out, nick)
            auth["consensus_methods"] = [int(m) for m in methods if m.isdigit()]
            auth["supports_consensus_method"] = not _is_problem(cells[1])


def _recommended_versions(out, section) -> None:
    last = None
    for nick, cells in _authority_rows(section):
        nick = nick or last
        last = nick
        if nick is None or len(cells) < 2:
            continue
        text = _listed_text(cells[1])
        target = out["consensus"] if nick == "consensus" else _auth(out, nick)
        for key in ("client-versions", "server-versions"):
            if text.startswith(key):
                items = [v.strip() for v in text[len(key):].split(",")]
                target[key.replace("-", "_")] = [v for v in items if _VERSION_RE.fullmatch(v)][:MAX_ITEMS]
                if nick != "consensus" and _is_problem(cells[1]):
                    target["versions_differ"] = True
                elif nick != "consensus":
                    target.setdefault("versions_differ", False)


def _listed_text(cell) -> str:
    """A versions cell without the struck-through entries (consensus versions the vote lacks)."""
    copy = deepcopy(cell)
    for struck in list(copy.iter("s", "strike", "del")):
        struck.drop_tree()
    return cell_text(copy)


def _consensus_params(out, section) -> None:
    for nick, cells in _authority_rows(section):
        if nick is None or len(cells) < 2:
            continue
        text = cell_text(cells[1])
        if not text.startswith("params"):
            continue
        params = {k: int(v) for k, v in _KV_RE.findall(text)[:MAX_ITEMS] if _INT_RE.fullmatch(v)}
        if nick == "consensus":
            out["consensus"]["params"] = params
        else:
            auth = _auth(out, nick)
            auth["params"] = params
            auth["params_conflict"] = _is_problem(cells[0]) or _is_problem(cells[1])


def _authority_clocks(out, section) -> None:
    for nick, cells in _authority_rows(section):
        if nick in (None, "consensus") or len(cells) < 2:
            continue
        auth = _auth(out, nick)
        m = re.fullmatch(r"(-?\d{1,9}(?:\.\d+)?) seconds", text_of(cells[1]))
        if m:
            auth["clock_skew"] = float(m.group(1))
        auth["clock_problem"] = _is_problem(cells[1]) or m is None


def _authority_versions(out, section) -> None:
    for nick, cells in _authority_rows(section):
        if nick in (None, "consensus") or len(cells) < 2:
            continue
        _auth(out, nick)["version"] = text_of(cells[1])[:80]


def _bwauth_status(out, section) -> None:
    for nick, cells in _authority_rows(section):
        if nick in (None, "consensus") or len(cells) < 2:
            continue
        auth = _auth(out, nick)
        text = text_of(cells[1])
        m = re.match(r"(\d{1,9}) Measured values in w lines", text)
        if m and not _is_problem(cells[1]):
            auth["bwauth_measured"] = int(m.group(1))
        else:
            auth["bwauth_problem"] = text or "problem"
            out["notices"].append({"authority": nick, "section": "bwauthstatus", "text": text or "problem"})


READERS = {"validafter": _valid_after, "signatures": _signatures, "knownflags": _known_flags,
           "flagthresholds": _flag_thresholds, "numberofrelays": _number_of_relays,
           "consensusmethods": _consensus_methods, "recommendedversions": _recommended_versions,
           "consensusparams": _consensus_params, "authorityclocks": _authority_clocks,
           "authorityversions": _authority_versions, "bwauthstatus": _bwauth_status}


def _auth(out, nick: str) -> dict[str, Any]:
    return out["_auths"].setdefault(nick, {"nickname": nick})


# -- the page ---------------------------------------------------------------------------------

def parse_page(data: bytes) -> dict[str, Any]:
    """The summary of one consensus-health page; raise UnrecognizedPage for anything else."""
    if not data.strip():
        raise UnrecognizedPage("empty page")
    parser = html.HTMLParser(no_network=True, remove_comments=True, remove_pis=True,
                             remove_blank_text=True, huge_tree=False)
    try:
        root = html.document_fromstring(data, parser=parser)
    except (etree.ParserError, ValueError) as e:
        raise UnrecognizedPage(f"not HTML: {str(e)[:80]}") from None
    for bad in list(root.iter("script", "style")):
        bad.drop_tree()
    title = text_of(next(iter(root.iter("title")), None)).lower()
    heading = any(text_of(h).lower() == "consensus health" for h in root.iter("h2"))
    if title != "consensus health" and not heading:
        raise UnrecognizedPage("no 'Consensus health' title: not a consensus-health page")
    sections = _sections(root)
    out: dict[str, Any] = {"format": FORMAT, "source": "consensus_health", "relays_published": None,
                           "valid_after_late": False, "sections": {}, "notices": [], "consensus": {},
                           "_auths": {}}
    for name in SECTIONS:
        section = sections.get(name)
        if section is None:
            out["sections"][name] = "missing"
            continue
        try:
            READERS[name](out, section)
            out["sections"][name] = "ok"
        except _Unreadable:
            out["sections"][name] = "unreadable"
    if out["relays_published"] is None:
        raise UnrecognizedPage("no valid-after time ('Consensus was published …')")
    if not any(out["sections"][name] == "ok" for name in CORE_SECTIONS):
        raise UnrecognizedPage("none of the signatures/known flags/relays/consensus methods sections is readable")
    auths = out.pop("_auths")
    out["authorities"] = [auths[n] for n in sorted(auths)][:MAX_ITEMS]
    out["notices"] = out["notices"][:MAX_ITEMS]
    return out


def data_time(summary: dict[str, Any]) -> float | None:
    """The page's valid-after time as epoch seconds."""
    return onionoo_epoch(summary["relays_published"])
