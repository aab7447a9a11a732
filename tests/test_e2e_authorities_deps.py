"""End to end: what a consensus-health change and a collector change re-render in a running alliumd.

A real ``alliumd`` against loopback servers: Onionoo details (BUILT: the
small fixture with 20 relays carrying fingerprints of the real 2018 vote
set, see test_consensus_eval), CollecTor serving the 2018 set (gabelmoo's
vote in its labelled "modern" copy, with its bandwidth file) and the built
consensus-health page.  After the first complete render the served answers
change, one at a time, and the output tree is compared file by file
(inode, mtime and bytes):

* consensus-health reports a different problem for one authority: only
  ``authorities.html`` and ``network-health.html`` change (``status.html``
  may, it shows source states), no relay page;
* gabelmoo publishes a vote (same hour, new file) that no longer lists
  CalyxInstitute14: the authorities page and the health page change (relays
  per vote) and, of the relay pages, exactly that relay's HTML and JSON.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from daemon_harness import Daemon, now_published, onionoo_bytes, wait_for
from loopback import LoopbackAPI
from test_collector import GABELMOO, serve, set_2018
from test_consensus_eval import CALYX, details_with_2018_fingerprints, fp_of, summary_2018
from test_e2e_authorities_sources import HEALTH_PAGE, sources_toml

ALLOWED_EXTRA = {"status.html"}          # the status page shows source states; it may change with any poll


@pytest.fixture
def health():
    with LoopbackAPI() as server:
        server.set("/", HEALTH_PAGE.read_bytes(), content_type="text/html; charset=ISO-8859-1")
        yield server


def snapshot(root: Path) -> dict[str, tuple[int, int, bytes]]:
    out = {}
    for p in root.rglob("*"):
        if p.is_file():
            st = p.stat()
            out[str(p.relative_to(root))] = (st.st_ino, st.st_mtime_ns, p.read_bytes())
    return out


def changed(before: dict, after: dict) -> set[str]:
    return {p for p in before.keys() | after.keys() if before.get(p) != after.get(p)}


def drop_entry(vote: bytes, fingerprint_b64: str) -> bytes:
    """The vote without the router entry whose ``r`` line has this identity (up to the next ``r`` line)."""
    pattern = re.compile(rb"\nr \S+ " + re.escape(fingerprint_b64.encode()) + rb" .*?(?=\nr |\ndirectory-footer)", re.S)
    out, n = pattern.subn(b"", vote)
    assert n == 1
    return out


def ctl_status(d: Daemon) -> dict:
    proc = d.ctl("status", "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def wait_settled(d: Daemon, what: str, predicate=lambda: True) -> dict:
    """Until ``predicate`` holds (the change is on disk) and the renderer is idle with nothing queued.

    Later batches may still come (a status page refresh when a source's
    state moves): the comparisons allow status.html to change.
    """
    def settled():
        r = d.status()["renderer"]
        return r if predicate() and r["state"] == "idle" and r["queue"] == 0 else None
    return wait_for(settled, 45, what=what)


@pytest.mark.parametrize("env", [None, {"ALLIUMD_PARALLEL_MIN": "0", "ALLIUMD_RENDER_WORKERS": "2"}],
                         ids=["in-process", "render-workers"])
def test_health_change_and_vote_change_rerender_only_their_dependents(api, health, start_daemon, env):
    s2018 = summary_2018(modern=True)
    calyx = fp_of(s2018, CALYX)
    details = details_with_2018_fingerprints(s2018)
    details["relays_published"] = now_published()
    api.set("/details", onionoo_bytes(details))
    tree = set_2018()
    serve(api, tree)
    d = start_daemon(interval=3600, extra=sources_toml(api, health, interval=1), env=env)
    d.wait_ready()
    www = d.dir / "www"
    relay_page = www / f"relay/{calyx}/index.html"

    def complete():
        if not (www / "authorities.html").exists() or not relay_page.exists():
            return False
        return ("Votes for the consensus valid after 2018-10-15" in relay_page.read_text()
                and "Consensus could not be retrieved" in (www / "network-health.html").read_text())
    wait_settled(d, "the first complete render", complete)
    status = ctl_status(d)
    assert status["renderer"]["last_error"] is None
    # both healthy: they poll every second, so either may be caught in the middle of its next fetch
    for name in ("collector", "consensus_health"):
        assert status["sources"][name]["state"] in ("idle", "fetching"), status["sources"][name]
        assert status["sources"][name]["failures"] == 0
    before = snapshot(www)
    relays = {p for p in before if p.startswith("relay/")}
    assert len(relays) >= 30 and f"relay/{calyx}/index.json" in relays

    # 1. consensus-health: bastet's problem reads differently
    cell = b'<td class="oiv">Consensus could not be retrieved</td>'
    assert HEALTH_PAGE.read_bytes().count(cell) == 1
    page = HEALTH_PAGE.read_bytes().replace(cell, b'<td class="oiv">Consensus could not be retrieved (timed out)</td>')
    health.set("/", page, content_type="text/html; charset=ISO-8859-1")
    ch_success = status["sources"]["consensus_health"]["last_success"]
    wait_settled(d, "the consensus-health change to render",
                 lambda: d.source("consensus_health")["last_success"] != ch_success
                 and "(timed out)" in (www / "network-health.html").read_text()
                 and "(timed out)" in (www / "authorities.html").read_text())
    after = snapshot(www)
    diff = changed(before, after)
    assert {"authorities.html", "network-health.html"} <= diff <= {"authorities.html", "network-health.html",
                                                                   *ALLOWED_EXTRA}
    assert "(timed out)" in (www / "authorities.html").read_text()
    status = ctl_status(d)
    assert status["renderer"]["last_error"] is None and status["sources"]["consensus_health"]["last_error"] is None

    # 2. collector: a new vote by gabelmoo for the same hour that no longer lists CalyxInstitute14
    [old_name] = [n for n in tree["vote"] if GABELMOO in n]
    identity = re.search(rb"\nr CalyxInstitute14 (\S+) ", tree["vote"][old_name]).group(1).decode()
    new_name = old_name[:-40] + "0" * 40                          # same hour and authority, another digest
    tree["vote"][new_name] = drop_entry(tree["vote"].pop(old_name), identity)
    serve(api, tree)
    before = after
    col_success = status["sources"]["collector"]["last_success"]
    # the relay's metrics.txt (relay_metrics) is the batch's last family that reads collector: waiting for it
    # too means the batch is over even if the renderer's "rendering" report has not reached the supervisor yet
    authorities_before = before["authorities.html"][2]
    health_before = before["network-health.html"][2]
    metrics = www / f"relay/{calyx}/metrics.txt"
    metrics_before = before[f"relay/{calyx}/metrics.txt"][2]
    wait_settled(d, "the collector change to render",
                 lambda: d.source("collector")["last_success"] != col_success
                 and (www / "authorities.html").read_bytes() != authorities_before
                 and metrics.read_bytes() != metrics_before
                 and "does not list this relay" in relay_page.read_text()
                 # rewritten, as authorities.html: waiting for its text alone once ended before it was
                 and (www / "network-health.html").read_bytes() != health_before
                 and "19–20" in (www / "network-health.html").read_text()
                 and '"listed_by":3' in (www / f"relay/{calyx}/index.json").read_text())
    after = snapshot(www)
    diff = changed(before, after)
    assert {p for p in diff if p.startswith("relay/")} == {f"relay/{calyx}/index.html", f"relay/{calyx}/index.json",
                                                           f"relay/{calyx}/metrics.txt"}     # its votes per flag
    assert {"authorities.html", "network-health.html"} <= diff
    assert diff - relays <= {"authorities.html", "network-health.html", *ALLOWED_EXTRA}
    health_page = (www / "network-health.html").read_text()
    assert "19–20" in health_page                                 # relays per vote: gabelmoo now has 19
    data = json.loads((www / f"relay/{calyx}/index.json").read_text())
    assert data["consensus_evaluation"]["listed_by"] == 3
    status = ctl_status(d)
    assert status["renderer"]["last_error"] is None and status["sources"]["collector"]["last_error"] is None
    assert status["sources"]["collector"]["data_time"].startswith("2018-10-15T00:00:00")
    assert api.count(f"/recent/relay-descriptors/votes/{new_name}") == 1
