"""Measure the history store: size after N simulated hourly publications, time per publication.

    python -m bench.history --data ../shared/bench/network-10k [--publications 1000] [--churn 0.01]
                            [--work DIR] [--retention-days 180]

Starts from the network's real details document (its relay views, through
the same relay and groups models the renderer builds) and simulates hourly
publications with churn, drawn from a fixed seed: each hour ``--churn`` of
the relays change one thing each (stop or come back: 40 %, a flag gained
or lost: 20 %, a restart: 15 %, a version: 10 %, a consensus weight
jump: 5 %, an address: 4 %, a contact: 3 %, new relays: 3 %), and every
running relay's consensus weight moves by up to ±10 % (what the bandwidth
authorities do every hour).  Each publication goes through
``alliumd.history.record.record`` (diff + one transaction + retention),
then the renderer's reload of the touched relays' recent events
(pages/events.py); the clock is simulated too (``now`` = publication time),
so 1,000 hours stay inside the 180-day retention.

Prints the store's size (database + WAL after a checkpoint), events and
events per publication, and the time per publication (median, p95, max);
then what the renderer holds of such a store after a (re)start: the recent
events of every relay, contact and family as page views (``views``:
tracemalloc's count of their memory, and the CPU time to build them).
``--views-only`` measures that on the store already in ``--work``.
"""

from __future__ import annotations

import argparse
import copy
import gzip
import json
import random
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from alliumd.history import record as recordmod
from alliumd.history.store import HistoryStore
from alliumd.model import format as fmt
from alliumd.model.groups import build_groups
from alliumd.model.relays import build_relays
from alliumd.pages import events as event_pages

KINDS = (("down_up", 0.40), ("flag", 0.20), ("restart", 0.15), ("version", 0.10), ("weight", 0.05),
         ("address", 0.04), ("contact", 0.03), ("new", 0.03))
FLAGS = ("Guard", "Stable", "HSDir", "Fast")


def load_details(data: Path) -> dict:
    for name in ("details.json.gz", "details.json"):
        path = data / name
        if path.exists():
            raw = path.read_bytes()
            return json.loads(gzip.decompress(raw) if name.endswith(".gz") else raw)
    raise SystemExit(f"{data}: no details.json(.gz)")


def mutate(relays: list[dict], rng: random.Random, churn: float, hour: int) -> list[dict]:
    """The next hour's relay views: weight noise for all, one change each for ``churn`` of them."""
    out = []
    for r in relays:
        if r["running"] and r["consensus_weight"]:
            r = {**r, "consensus_weight": max(1, int(r["consensus_weight"] * rng.uniform(0.9, 1.1)))}
        out.append(r)
    weights = [w for _, w in KINDS]
    for i in rng.sample(range(len(out)), max(1, int(len(out) * churn))):
        r = dict(out[i])
        kind = rng.choices([k for k, _ in KINDS], weights)[0]
        if kind == "down_up":
            r["running"] = not r["running"]
        elif kind == "flag":
            flag = rng.choice(FLAGS)
            r["flags"] = sorted(set(r["flags"]) ^ {flag})
        elif kind == "restart":
            r["last_restarted"] = f"2030-01-01 {hour % 24:02d}:00:00 UTC h{hour}"
        elif kind == "version":
            r["version"] = f"0.4.9.{hour % 50}"
            r["platform"] = f"Tor 0.4.9.{hour % 50} on Linux"
        elif kind == "weight":
            r["consensus_weight"] = int(r["consensus_weight"] * rng.choice((0.2, 3.0))) + 1
        elif kind == "address":
            r["or_addresses"] = [f"198.51.100.{rng.randrange(1, 255)}:{rng.randrange(1024, 65535)}"]
        elif kind == "contact":
            r["contact"] = f"operator-{rng.randrange(10**6)}@example.org"
        else:                                  # a new relay appears (a fresh fingerprint)
            r["fingerprint"] = f"{rng.getrandbits(160):040X}"
            out.append(r)
            continue
        out[i] = r
    return out


def measure_views(path: Path) -> dict:
    """The history model's event views after a (re)start (pages/events.py ``build_history``), built from
    the store at ``path``: how many lists and views, their memory and the CPU time to build them."""
    store = HistoryStore(path, readonly=True)
    lists = {column: store.recent_by(column, limit) for column, limit in
             (("fp", event_pages.RECENT), ("contact", event_pages.GROUP_RECENT),
              ("family", event_pages.GROUP_RECENT))}
    store.close()

    def build() -> tuple[event_pages.EventViews, dict]:
        views = event_pages.EventViews()
        return views, {column: {key: views.of(events) for key, events in by_key.items()}
                       for column, by_key in lists.items()}

    tracemalloc.start()
    views, model = build()
    held = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del views, model
    cpu = time.process_time()
    views, model = build()          # untraced: tracemalloc slows allocation down
    cpu = time.process_time() - cpu
    return {"events_listed": {column: sum(len(v) for v in by_key.values()) for column, by_key in lists.items()},
            "views": len(views.by_uid), "mb": round(held / 1e6, 1), "build_cpu_s": round(cpu, 2)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="bench.history", description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True, help="a directory with details.json(.gz)")
    ap.add_argument("--publications", type=int, default=1000)
    ap.add_argument("--churn", type=float, default=0.01, help="share of relays changing each hour (0.01)")
    ap.add_argument("--retention-days", type=float, default=180)
    ap.add_argument("--work", type=Path, help="keep the store here (default: a temporary directory)")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--views-only", action="store_true",
                    help="only measure the renderer's event views of the store in --work")
    args = ap.parse_args(argv)
    if args.views_only:
        if args.work is None or not (args.work / "history.sqlite3").exists():
            ap.error("--views-only needs --work with a history.sqlite3 (made by an earlier run)")
        print(json.dumps({"views": measure_views(args.work / "history.sqlite3")}, indent=2))
        return 0

    doc = load_details(args.data)
    model = build_relays(doc, 0)
    groups = build_groups(model)
    published = fmt.parse_onionoo_time(doc.get("relays_published")).timestamp()
    work = args.work or Path(tempfile.mkdtemp(prefix="alliumd-history-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    path = work / "history.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    store = HistoryStore(path, retention_days=args.retention_days)
    rng = random.Random(args.seed)
    relays = [copy.copy(r) for r in model.relays]
    keys = dict(groups.relay_keys)
    times, counts = [], []
    print(f"{len(relays):,} relays, {args.publications:,} hourly publications, churn {args.churn:.1%}",
          file=sys.stderr)
    for hour in range(args.publications + 1):
        t = published + hour * 3600
        if hour:
            relays = mutate(relays, rng, args.churn, hour)
        started = time.perf_counter()
        pub = recordmod.Publication(details_time=t, relays=relays, keys=keys)
        out = recordmod.record(store, pub, t)
        for fp in out.touched_relays:          # what the renderer's history model reloads (pages/events.py)
            store.events(fp=fp, limit=50)
        for cid in out.touched_contacts:
            store.events(contact=cid, limit=100)
        if hour:
            times.append(time.perf_counter() - started)
            counts.append(out.added)
        if hour and hour % 100 == 0:
            print(f"  hour {hour}: {sum(counts):,} events, last publication {times[-1] * 1000:.0f} ms",
                  file=sys.stderr)
    store.open().execute("PRAGMA wal_checkpoint(TRUNCATE)")
    stats = store.stats()
    store.close()
    size = sum(Path(str(path) + s).stat().st_size for s in ("", "-wal") if Path(str(path) + s).exists())
    times_ms = sorted(x * 1000 for x in times)
    result = {
        "relays": len(model.relays), "publications": args.publications, "churn": args.churn,
        "store_bytes": size, "store_mb": round(size / 1e6, 1), "events": stats["events"],
        "relay_states": stats["relays"], "events_per_publication": round(statistics.mean(counts), 1),
        "ms_per_publication": {"median": round(statistics.median(times_ms), 1),
                               "p95": round(times_ms[int(len(times_ms) * 0.95) - 1], 1),
                               "max": round(times_ms[-1], 1)},
        "store": str(path),
        "views": measure_views(path),
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
