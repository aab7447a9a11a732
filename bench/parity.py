"""Issue 16's figures on a full-size network: each fixed defect and each added figure, computed by the same
model functions the pages use, from documents summarised the way the fetchers summarise them.

    python -m bench.parity --data ../shared/bench/network-10k [--build]

``--build`` also renders the whole site in-process into a temporary directory and checks that the web
root holds no ``.tmp/``.  Nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from alliumd.fetchers import source_module
from alliumd.model import aroi as aroi_model, format as fmt, health as hm, relay_extras
from alliumd.model.bandwidth import build_bandwidth
from alliumd.model.groups import build_groups
from alliumd.cache.graphs import FLAG_PRIORITY
from alliumd.model.relays import build_relays
from alliumd.model.uptime import build_uptime, flag_uptime

from .run import load_data

EXAMPLE = "99348748C22EE093F22D32F1996507DC2E363872"


def summarise(kind: str, raw: bytes, work: Path) -> dict:
    path = work / f"{kind}.json"
    path.write_bytes(raw)
    source = "aroi" if kind == "aroi" else f"onionoo_{kind}"
    summary = source_module(source).validate(path).summary
    path.unlink()
    return json.loads(summary)


def show(item: str, figure: str) -> None:
    print(f"{item}: {figure}", flush=True)


def rows(card: dict) -> dict[str, dict]:
    return {r["label"]: r for r in card["rows"]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--build", action="store_true")
    args = ap.parse_args(argv)
    started = time.monotonic()
    docs = load_data(args.data)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        details = json.loads(docs["details"][0])
        uptime = build_uptime(summarise("uptime", docs["uptime"][0], work))
        bandwidth = build_bandwidth(summarise("bandwidth", docs["bandwidth"][0], work))
        validator = aroi_model.build_validator(summarise("aroi", docs["aroi"][0], work)) if "aroi" in docs else None
    relays = build_relays(details)
    groups = build_groups(relays)
    keys = groups.relay_keys
    am = aroi_model.build_aroi(relays, groups, validator)
    running = [r for r in relays.relays if r["running"]]
    n = len(running)
    print(f"# {args.data}: {len(relays.relays):,} relays listed, {n:,} running, published {relays.published} "
          f"(models in {time.monotonic() - started:.1f} s)")

    # 1. flag uptime from the current flags
    changed = 0
    for r in running:
        entry = uptime.relays.get(r["fingerprint"])
        if not entry:
            continue
        old = next((f for f in FLAG_PRIORITY if f in entry["flags"]), None)     # the old rule: history only
        if old != flag_uptime(entry, r["flags"])[0]:
            changed += 1
    ex = relays.by_fingerprint.get(EXAMPLE)
    ex_entry = uptime.relays.get(EXAMPLE)
    show("#1 flag uptime: running relays whose shown flag changes (history flag no longer held)",
         f"{changed:,} of {n:,} running")
    if ex is not None and ex_entry is not None:
        show(f"#1 example {EXAMPLE}", f"flags now {ex['flags']}; old pick "
             f"{next((f for f in FLAG_PRIORITY if f in ex_entry['flags']), None)}, new pick "
             f"{flag_uptime(ex_entry, ex['flags'])[0]}")

    # 2. bandwidth served masters / legends
    metrics = aroi_model.build_operator_metrics(relays, groups, uptime, bandwidth, am)
    for period, key in (("6M", "bandwidth_masters"), ("5Y", "bandwidth_legends")):
        cat = aroi_model.CATEGORY_BY_KEY[key]
        new = aroi_model.rank(metrics, cat, 10)
        old_value = {gid: sum(b["read"][period] for fp in groups.groups["contact"][gid].fingerprints
                              if (b := bandwidth.relays.get(fp)) and b["read"][period] is not None)
                     for gid in metrics}
        old = sorted((m for m in metrics.values() if m.relays > cat.min_relays and old_value[m.id] > 0),
                     key=lambda m: (-old_value[m.id], -m.relays, m.id))[:10]
        show(f"#2 {cat.title}: top 3 new (served over the period)",
             "; ".join(f"{m.label} {fmt.bandwidth(getattr(m, cat.metric))}" for m in new[:3]))
        show(f"#2 {cat.title}: top 3 old (sum of relay means)",
             "; ".join(f"{m.label} {fmt.bandwidth(old_value[m.id])}" for m in old[:3]))
        show(f"#2 {cat.title}: operators in the old top 10 no longer in the new top 10",
             str(len({m.id for m in old} - {m.id for m in new})))
    young = sum(1 for b in bandwidth.relays.values() if 0 < b["read_points"]["6M"] < aroi_model.SERVED_MIN_POINTS)
    show("#2 relays with a 6-month history of fewer than 30 days (no longer counted)", f"{young:,}")
    show("#2 period length (points)", str(bandwidth.network["period_points"]))

    # 3. new relays: one scope
    published = fmt.parse_timestamp(relays.published)
    new_running = hm.new_relay_counts(running, published)
    new_listed = hm.new_relay_counts(relays.relays, published)
    show("#3 new relays in the last 30 days", f"{new_running['30 days']:,} of {n:,} running "
         f"(the old count over listed relays: {new_listed['30 days']:,}); 24 h {new_running['24 hours']:,}, "
         f"6 months {new_running['6 months']:,}, 1 year {new_running['1 year']:,}")

    # relay page
    extras = relay_extras.build_relay_extras(relays.relays, relays.by_fingerprint, keys)
    show("relay: region / city / coordinates present", f"{sum(1 for r in running if r['region_name']):,} / "
         f"{sum(1 for r in running if r['city_name']):,} / {sum(1 for r in running if r['coordinates_text']):,} "
         f"of {n:,} running")
    up = sorted(r["state_seconds"] for r in running if r["state_seconds"] is not None)
    down = sorted(r["state_seconds"] for r in relays.relays if not r["running"] and r["state_seconds"] is not None)
    from alliumd.model.format import duration
    show("relay: current UP span, median over running relays", f"{duration(statistics.median(up))} ({len(up):,})")
    show("relay: current DOWN span, median over listed non-running relays",
         f"{duration(statistics.median(down))} ({len(down):,})")
    if ex is not None:
        show(f"relay: {EXAMPLE}", f"{ex['state'].upper()} for {ex['state_duration']}, {ex['city_name']}, "
             f"{ex['region_name']}, {ex['coordinates_text']}, AS rarity {extras[EXAMPLE]['as_rarity']['text']}, "
             f"family support {extras[EXAMPLE]['family_support']}")
    rarity = Counter(e["as_rarity"]["score"] for fp, e in extras.items()
                     if e["as_rarity"] and relays.by_fingerprint[fp]["running"])
    show("relay: AS rarity score distribution (running relays)", ", ".join(f"{k}: {rarity[k]:,}" for k in sorted(rarity)))
    support = Counter(extras[r["fingerprint"]]["family_support"] for r in running)
    show("relay: family support type (running)", ", ".join(f"{k} {v:,}" for k, v in sorted(support.items())))
    show("relay: running relays with alleged / indirect members",
         f"{sum(1 for r in running if r['alleged_family']):,} / {sum(1 for r in running if r['indirect_family']):,}")

    # network health
    dashboard = hm.assemble(hm.details_cards(relays), hm.uptime_card_of(relays, uptime),
                            hm.growth_card_of(relays, bandwidth))             # as pages/health.py caches them
    cards = {c["id"]: c for c in dashboard["cards"]}
    show("health: overloaded", f"{rows(cards['roles'])['Overloaded']['value']} "
         f"({rows(cards['roles'])['Overloaded']['detail']})")
    g = rows(cards["growth"])
    show("health: relay age mean / median", f"{g['Relay age, mean']['value']} / {g['Relay age, median']['value']} "
         f"({g['Relay age, mean']['detail']})")
    [per_flag_bw] = [t for t in cards["capacity"]["tables"] if t["caption"].startswith("Observed bandwidth per flag")]
    show("health: " + per_flag_bw["caption"] + " [flag, relays, mean, median]",
         "; ".join(" ".join(r) for r in per_flag_bw["rows"]))
    [per_flag_up] = [t for t in cards["uptime"]["tables"] if t["caption"].startswith("1-month uptime per flag")]
    show("health: " + per_flag_up["caption"] + " [flag, holding, 30+ points, mean, median]",
         "; ".join(" ".join(r) for r in per_flag_up["rows"]))
    st = hm.validated_stack_card(relays, keys, am)
    show("health: IPv4-only vs dual-stack, validated operators",
         "; ".join(f"{r['label']}: {r['value']} ({r['detail']})" for r in st["rows"]) + " | top: " +
         "; ".join(" ".join(r) for r in st["tables"][0]["rows"]) if st["available"] else st["notes"][0])
    e = rows(cards["exits"])
    show("health: exit address restrictions", "; ".join(
        f"{k}: {e[k]['value']} ({e[k]['detail']})" for k in ("Rejecting private networks",
                                                              "Restricted by destination address",
                                                              "Rejecting particular addresses",
                                                              "Accepting particular addresses")))
    u = rows(cards["utilization"])
    show("health: weight per observed Mbit/s EU / non-EU",
         f"{u['Weight per observed Mbit/s, EU']['value']} ({u['Weight per observed Mbit/s, EU']['detail']}) / "
         f"{u['Weight per observed Mbit/s, outside the EU']['value']} "
         f"({u['Weight per observed Mbit/s, outside the EU']['detail']})")
    show("health: " + cards["utilization"]["tables"][0]["caption"],
         "; ".join(" ".join(r) for r in cards["utilization"]["tables"][0]["rows"]))
    hf = hm.happy_families_card(relays, keys, None)
    show("health: Happy Families", "; ".join(f"{r['label']}: {r['value']} ({r['detail'] or ''})"
                                            for r in hf["rows"][:4]) + " | " + " ".join(hf["notes"]))

    # leaderboards
    lb = aroi_model.build_leaderboards(relays, groups, uptime, bandwidth, am)
    show("leaderboards: overview", "; ".join(f"{r['label']}: {r['value']} ({r['detail']})"
                                             for r in lb.overview["rows"]))
    show("leaderboards: top 3 of Bandwidth Contributed", ", ".join(
        f"{x['label']} {x['value_text']}" for x in lb.overview["top3"][0]["entries"]))

    if args.build:
        build_site(args.data)
    print(f"# done in {time.monotonic() - started:.1f} s")
    return 0


def build_site(data: Path) -> None:
    """A cold in-process build of the full network (bench/profile.py's setup); checks the web root for .tmp/."""
    from . import profile
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        files = profile.prepare(data, work)
        for sub in ("cache", "www", "lib", "run"):
            (work / sub).mkdir()
        cache = work / "cache"
        profile.install(files["details"], cache / "onionoo_details.json")
        profile.install(files["uptime"], cache / "onionoo_uptime.summary.json")
        profile.install(files["bandwidth"], cache / "onionoo_bandwidth.summary.json")
        profile.install(files["aroi"], cache / "aroi.summary.json")
        builder = profile.builder_for(work)
        started = time.monotonic()
        result = builder.build(full=True)
        builder.close()
        www = work / "www"
        show("#4 cold build", f"{time.monotonic() - started:.1f} s, errors {len(result.errors)}, "
             f".tmp in web root: {(www / '.tmp').exists()}, hidden entries at the root: "
             f"{sorted(p.name for p in www.iterdir() if p.name.startswith('.'))}")


if __name__ == "__main__":
    sys.exit(main())
