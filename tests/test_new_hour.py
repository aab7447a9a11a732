"""A new Onionoo hour that changes nothing else renders only the pages whose content it changed.

Each hour moves ``relays_published`` and every running relay's ``last_seen``.
The pages used to show both, and to count every span ("UP for 3 d 4 h") to the
publication, so every page was rewritten every hour.  Now a page's key leaves
the publication time out: a page is rendered again when what it shows
changes, and it then states the new publication and counts its spans to it;
a page left as it is keeps stating the publication it shows, which the new
one repeated.  A source turning stale still re-renders every page.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from alliumd import atomic

from test_render_workers import FIXTURES, NOW, site_builder, tree

OLD, NEW = "2026-08-22 11:00:00", "2026-08-22 12:00:00"
UP = "31917AFC85EE34F85CAAF9CCCA56B90F2D4B1BA4"         # Seltorlo10: running, restarted 2026-08-20 09:33:28
CHANGED = "0DC16FEAA5A5E27A974009CBF7748BB6FAAE6DE1"    # Bluebirdbear001: running, gets a new nickname


def next_hour(changes: dict[str, dict] | None = None) -> bytes:
    """The fixture's details document one hour on, as Onionoo publishes it: the publication time and
    the running relays' ``last_seen`` move; ``changes`` updates relays by fingerprint."""
    doc = json.loads((FIXTURES / "onionoo_details_small.json").read_bytes())
    assert doc["relays_published"] == OLD
    doc["relays_published"] = NEW
    for relay in doc["relays"]:
        if relay.get("running") and relay.get("last_seen") == OLD:
            relay["last_seen"] = NEW
        relay.update((changes or {}).get(relay["fingerprint"], {}))
    return json.dumps(doc).encode()


def page(root: Path, fp: str) -> str:
    return (root / "relay" / fp / "index.html").read_text()


def test_a_new_hour_rewrites_only_what_it_changed(tmp_path):
    builder = site_builder(tmp_path, workers=0)
    www = tmp_path / "www"
    try:
        builder.build(full=True, now=NOW)
        before = tree(www)
        assert "published 2026-08-22 11:00 UTC" in page(www, UP)
        assert "UP for 2 d 1 h" in page(www, UP)
        atomic.write_bytes(tmp_path / "cache" / "onionoo_details.json",
                           next_hour({CHANGED: {"nickname": "Renamed001"}}), fsync=False)
        result = builder.build({"onionoo_details"}, now=NOW + 3600)
        assert result.errors == []
        after = tree(www)
        written = {p for p in after if after[p] != before.get(p)}
        relay_written = {p.split("/")[1] for p in written if p.startswith("relay/")}
        assert relay_written == {CHANGED}                       # the only relay whose content changed
        # every other page written shows the renamed relay (its groups, lists, the aggregates) or the hour
        for path in written - {f"relay/{CHANGED}/index.html", f"relay/{CHANGED}/index.json"}:
            text = after[path].decode()
            assert "Renamed001" in text or CHANGED in text or "2026-08-22 12:00" in text, path
        assert len(written) < 40, sorted(written)
        # the search page names the publication of the index it searches, which a new hour rewrites
        assert {"search.html", "search-index.json"} <= written and "2026-08-22 12:00:00 UTC)" in \
            after["search.html"].decode()
        # the unchanged page states the publication it shows, counted to it: as true as an hour ago
        assert after[f"relay/{UP}/index.html"] == before[f"relay/{UP}/index.html"]
        # the rewritten one states the new publication and counts to it
        html = page(www, CHANGED)
        assert "Renamed001" in html and "published 2026-08-22 12:00 UTC" in html
        assert "Last seen</th><td>2026-08-22 12:00:00 UTC (when the data was published)" in html
        restarted = re.search(r"Last restarted</th><td>(\S+ \S+) UTC \((\d+) d (\d+) h before", html)
        assert restarted and restarted.group(1) == "2026-08-06 01:27:39"
        assert (int(restarted.group(2)), int(restarted.group(3))) == (16, 10)     # to 12:00, not 11:00
        data = json.loads((www / "relay" / CHANGED / "index.json").read_bytes())
        assert data["published"] == "2026-08-22 12:00:00 UTC"            # the publication it shows
        assert json.loads(after[f"relay/{UP}/index.json"])["published"] == "2026-08-22 11:00:00 UTC"
        assert data["relay"]["last_seen"] == "2026-08-22 12:00:00 UTC"
        assert data["relay"]["state_duration"] == "16 d 10 h"
        # the footer says what a page's data time means, and where the latest ones are
        assert "the data times at its top are those of the" in html and 'href="../../status.html"' in html
    finally:
        builder.close()


def test_a_stale_source_still_marks_every_page(tmp_path):
    builder = site_builder(tmp_path, workers=0)
    www = tmp_path / "www"
    try:
        builder.build(full=True, now=NOW)
        assert "stale" not in page(www, UP)
        max_age = builder.cfg.sources["onionoo_details"].max_age
        result = builder.build(now=NOW + max_age + 3600)
        assert result.errors == []
        assert '<span class="badge warn">stale</span>' in page(www, UP)
        assert '<span class="badge warn">stale</span>' in (www / "contact").glob("*/index.html").__next__().read_text()
    finally:
        builder.close()
