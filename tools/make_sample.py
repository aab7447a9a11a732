#!/usr/bin/env python3
"""Build alliumd's bundled offline sample data set (``alliumd.sample``).

Why
---
alliumd needs a small, self-contained data set it can ship as package data:
for ``--offline`` / demo runs, for first-run smoke tests and for tests that must
not touch the network.  The full ``network-10k`` bench set (23 MiB gzip, 298 MiB
raw) is far too big to ship, and a random cut of relays would tear operators
and families apart, which makes the operator, family and AROI pages nonsense.

How
---
1. Read the bench set's ``details.json.gz`` (one relay object per line).
2. Build *units*: connected components of relays that share the same
   ``contact`` string or list each other in ``effective_family``.  A relay
   without contact and without family is a unit on its own.  Units therefore
   keep operators (contact groups) and families whole.
3. Shuffle the units (sorted by their smallest fingerprint first) with
   ``random.Random(SEED)`` and take them in that order while they fit into
   ``--target`` relays; units bigger than ``--max-unit`` relays are skipped so a
   single huge operator cannot dominate.
4. Top up: while a coverage requirement (exits, guards, non-running relays,
   relays without contact, families, each AROI proof type valid and invalid,
   ...) is not met, add the next unit in shuffled order that helps.
5. Pick ``--bridges`` bridges with the same seeded generator.
6. Copy the selected lines byte-for-byte into the Onionoo layout (envelope keys
   on their own lines, one object per line), adding one marker line
   ``"alliumd_sample":"..."`` right after the ``"version"`` line.  Uptime and
   bandwidth get exactly the same relays (by fingerprint) and bridges (by
   hashed fingerprint).  The AROI document keeps the matching ``results`` and
   gets ``metadata``/``statistics`` recomputed from them.
6b. Renormalise the network shares of the sample's relays: the bench set's
   ``consensus_weight_fraction`` and guard/middle/exit probabilities are
   shares of the 10k network and summed to 0.086 over the sample, so a sample
   page said "1.98 % of the network" where network-health said 23 %.  Each
   field is rescaled so it sums to 1 over the sample's running relays (the
   fraction becomes consensus_weight / the running relays' total weight, as
   Onionoo computes it), rewriting only those numbers in the copied lines.
7. Optionally (``--fixture``) write a 40-relay, uncompressed, marker-free
   details document for the end-to-end tests.

Everything is deterministic: string-seeded ``random.Random``, sorted inputs,
gzip with ``mtime=0`` and no file name, so reruns are byte-identical.
Standard library only.

Usage::

    python tools/make_sample.py --source /work/shared/bench/network-10k \\
        --out alliumd/sample --fixture tests/fixtures/onionoo_details_small.json
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import os
import random
import re
import sys
from collections import Counter

SEED = "alliumd-sample-1"
FIXTURE_SEED = "alliumd-fixture-1"
MARKER_KEY = "alliumd_sample"
MARKER_TEXT = (
    "Bundled alliumd sample, trimmed from the network-10k bench set "
    "(real 2026-08-22 relay skeleton, synthetic detail); not live data."
)
MAX_TOTAL_BYTES = 5 * 1024 * 1024

# Coverage the sample must have (minimum relay counts, checked after the
# seeded pick; missing ones are topped up with whole units).
REQUIREMENTS = {
    "exit": 20,
    "guard": 20,
    "guard_and_exit": 3,
    "non_running": 5,
    "no_contact": 5,
    "with_contact": 100,
    "family_2plus": 20,
    "aroi_uri_valid": 1,
    "aroi_uri_invalid": 1,
    "aroi_dns_valid": 1,
    "aroi_dns_invalid": 1,
    "non_ascii_contact": 3,
    "hostile_contact": 2,
}
# Markers of the bench set's deliberately hostile contact strings (HTML/JS
# injection, entity and backslash-escape traps, AROI url injection); keeping a
# few of them in the sample lets renderer tests check the escaping.
HOSTILE_MARKERS = ("<script", "onerror=", "<marquee", "&amp;", "\\n\\r")
MIN_COUNTRIES = 10
MIN_ASES = 10

FP_RE = re.compile(r'^\{"(?:hashed_)?fingerprint":"([0-9A-F]{40})"')


# --------------------------------------------------------------------------
# Onionoo line layout
# --------------------------------------------------------------------------

class OnionooDoc:
    """An Onionoo document split into envelope lines and object lines."""

    def __init__(self, head, relays, middle, bridges, tail):
        self.head = head        # lines up to and including '"relays":['
        self.relays = relays    # object lines, trailing comma stripped
        self.middle = middle    # '],' .. '"bridges":['
        self.bridges = bridges  # object lines, trailing comma stripped
        self.tail = tail        # ']}'


def read_onionoo(path, keep_relay=None, keep_bridge=None):
    """Read an Onionoo document line by line.

    ``keep_relay`` / ``keep_bridge`` are optional sets of (hashed)
    fingerprints; when given, only matching object lines are kept (so the
    242 MB uptime document is never held in memory as a whole).
    """
    head, relays, middle, bridges, tail = [], [], [], [], []
    state = "head"
    with gzip.open(path, "rt", encoding="utf-8", newline="\n") as fh:
        for raw in fh:
            line = raw.rstrip("\n")
            if state == "head":
                head.append(line)
                if line == '"relays":[':
                    state = "relays"
            elif state == "relays":
                if line == "],":
                    middle.append(line)
                    state = "middle"
                    continue
                obj = line[:-1] if line.endswith(",") else line
                if keep_relay is None or _fp(obj) in keep_relay:
                    relays.append(obj)
            elif state == "middle":
                middle.append(line)
                if line == '"bridges":[':
                    state = "bridges"
            elif state == "bridges":
                if line == "]}":
                    tail.append(line)
                    state = "done"
                    continue
                obj = line[:-1] if line.endswith(",") else line
                if keep_bridge is None or _fp(obj) in keep_bridge:
                    bridges.append(obj)
            elif line:
                raise ValueError(f"{path}: unexpected data after ']}}'")
    if state != "done":
        raise ValueError(f"{path}: not in the expected Onionoo line layout")
    if not head[0].startswith('{"version":'):
        raise ValueError(f"{path}: first line is not the version line")
    return OnionooDoc(head, relays, middle, bridges, tail)


def _fp(obj_line):
    m = FP_RE.match(obj_line)
    if m:
        return m.group(1)
    obj = json.loads(obj_line)
    return obj.get("fingerprint") or obj.get("hashed_fingerprint")


SHARE_FIELDS = ("consensus_weight_fraction", "guard_probability", "middle_probability", "exit_probability")


def java_float(value):
    """A float the way Onionoo (Java's Float.toString) writes it: 0.0, 0.0123, 1.4970911E-4."""
    if value == 0:
        return "0.0"
    mantissa, exponent = f"{value:.7E}".split("E")
    exponent = int(exponent)
    if -3 <= exponent < 7:
        text = repr(float(f"{value:.8g}"))
        return text if "e" not in text else f"{value:.10f}".rstrip("0")
    mantissa = mantissa.rstrip("0")
    return f"{mantissa}0E{exponent}" if mantissa.endswith(".") else f"{mantissa}E{exponent}"


def renormalise_shares(lines):
    """Rescale SHARE_FIELDS so each sums to 1 over the running relays of ``lines`` (see step 6b)."""
    objs = [json.loads(line) for line in lines]
    running = [o for o in objs if o.get("running") is True]
    total_weight = sum(o.get("consensus_weight") or 0 for o in running)
    sums = {k: sum(o.get(k) or 0.0 for o in running) for k in SHARE_FIELDS}
    out = []
    for line, obj in zip(lines, objs):
        for key in SHARE_FIELDS:
            if key not in obj:
                continue
            if key == "consensus_weight_fraction":
                value = (obj.get("consensus_weight") or 0) / total_weight if total_weight else 0.0
            else:
                value = obj[key] / sums[key] if sums[key] else 0.0
            pattern = re.compile(r'("%s":)(-?[0-9.Ee+-]+)' % key)
            line, n = pattern.subn(lambda m: m.group(1) + java_float(value), line, count=1)
            assert n == 1, (key, line[:80])
        out.append(line)
    return out


def render_onionoo(doc, relays, bridges, marker=True):
    lines = [doc.head[0]]
    if marker:
        lines.append(json.dumps(MARKER_KEY) + ":" + json.dumps(MARKER_TEXT) + ",")
    lines.extend(doc.head[1:])
    if relays:
        lines.append(",\n".join(relays))
    lines.extend(doc.middle)
    if bridges:
        lines.append(",\n".join(bridges))
    lines.extend(doc.tail)
    return ("\n".join(lines) + "\n").encode("utf-8")


# --------------------------------------------------------------------------
# Selection
# --------------------------------------------------------------------------

def build_units(relays):
    """Connected components over 'same contact' and 'effective_family'."""
    parent = {}

    def find(x):
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(a, b):
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    known = {r["fingerprint"] for r in relays}
    first_by_contact = {}
    for r in relays:
        fp = r["fingerprint"]
        find(fp)
        contact = r.get("contact")
        if contact is not None:
            if contact in first_by_contact:
                union(fp, first_by_contact[contact])
            else:
                first_by_contact[contact] = fp
        for member in r.get("effective_family", []):
            if member in known:
                union(fp, member)
    units = {}
    for r in relays:
        units.setdefault(find(r["fingerprint"]), []).append(r["fingerprint"])
    return [sorted(u) for _, u in sorted(units.items())]


def relay_tags(r, aroi):
    """Coverage categories one relay contributes to."""
    flags = set(r.get("flags", []))
    running = r.get("running", False)
    tags = set()
    if running and "Exit" in flags:
        tags.add("exit")
    if running and "Guard" in flags:
        tags.add("guard")
    if running and {"Exit", "Guard"} <= flags:
        tags.add("guard_and_exit")
    if not running:
        tags.add("non_running")
    contact = r.get("contact")
    tags.add("with_contact" if contact is not None else "no_contact")
    if contact and any(ord(ch) > 127 for ch in contact):
        tags.add("non_ascii_contact")
    if contact and any(m in contact for m in HOSTILE_MARKERS):
        tags.add("hostile_contact")
    if len(r.get("effective_family", [])) >= 2:
        tags.add("family_2plus")
    res = aroi.get(r["fingerprint"])
    if res is not None and res.get("proof_type"):
        kind = "uri" if res["proof_type"] == "uri-rsa" else "dns"
        tags.add(f"aroi_{kind}_{'valid' if res.get('valid') else 'invalid'}")
    return tags


def select_relays(relays, aroi, target, max_unit, seed):
    by_fp = {r["fingerprint"]: r for r in relays}
    units = build_units(relays)
    rng = random.Random(seed)
    order = list(units)
    rng.shuffle(order)

    chosen, count = [], 0
    for unit in order:
        if len(unit) > max_unit:
            continue
        if count + len(unit) <= target:
            chosen.append(unit)
            count += len(unit)
        if count >= target:
            break

    def coverage():
        c = Counter()
        for unit in chosen:
            for fp in unit:
                c.update(relay_tags(by_fp[fp], aroi))
        return c

    cov = coverage()
    topped_up = []
    while True:
        missing = [k for k, n in REQUIREMENTS.items() if cov[k] < n]
        if not missing:
            break
        chosen_ids = {id(u) for u in chosen}
        for unit in order:
            if id(unit) in chosen_ids or len(unit) > max_unit:
                continue
            tags = set().union(*(relay_tags(by_fp[fp], aroi) for fp in unit))
            if tags & set(missing):
                chosen.append(unit)
                topped_up.append((len(unit), sorted(tags & set(missing))))
                break
        else:
            raise SystemExit(f"cannot satisfy coverage requirements: {missing}")
        cov = coverage()

    selected = sorted(fp for unit in chosen for fp in unit)
    return selected, len(chosen), topped_up


def select_bridges(bridge_fps, n, seed):
    rng = random.Random(seed + "-bridges")
    return sorted(rng.sample(sorted(bridge_fps), min(n, len(bridge_fps))))


def select_fixture(sample_relays, n=40, seed=FIXTURE_SEED):
    """Pick ``n`` relays from the sample for the small test fixture.

    One complete small family (2-5 members, all in the sample) first, then
    3 exits, 5 guards, 2 non-running relays and 2 relays without contact,
    then a seeded fill.
    """
    rng = random.Random(seed)
    by_fp = {r["fingerprint"]: r for r in sample_relays}
    fps = sorted(by_fp)
    picked = []

    def add(fp):
        if fp not in picked and len(picked) < n:
            picked.append(fp)

    families = sorted({
        tuple(sorted(r["effective_family"])) for r in sample_relays
        if 2 <= len(r.get("effective_family", [])) <= 5
        and all(m in by_fp for m in r["effective_family"])
    })
    if families:
        for fp in rng.choice(families):
            add(fp)

    def pick(pred, k):
        pool = [fp for fp in fps if fp not in picked and pred(by_fp[fp])]
        for fp in rng.sample(pool, min(k, len(pool))):
            add(fp)

    pick(lambda r: r["running"] and "Exit" in r["flags"], 3)
    pick(lambda r: r["running"] and "Guard" in r["flags"]
         and "Exit" not in r["flags"], 5)
    pick(lambda r: not r["running"], 2)
    pick(lambda r: r.get("contact") is None, 2)
    pick(lambda r: True, n - len(picked))
    return sorted(picked)


# --------------------------------------------------------------------------
# AROI
# --------------------------------------------------------------------------

def _rate(valid, total):
    return (valid / total * 100) if total else 0.0


def aroi_summary(results):
    total = len(results)
    valid = sum(1 for r in results if r.get("valid"))
    per = {}
    for key, ptype in (("dns_rsa", "dns-rsa"), ("uri_rsa", "uri-rsa")):
        sub = [r for r in results if r.get("proof_type") == ptype]
        v = sum(1 for r in sub if r.get("valid"))
        per[key] = {"total": len(sub), "valid": v, "success_rate": _rate(v, len(sub))}
    per["no_proof"] = {"total": sum(1 for r in results if not r.get("proof_type"))}
    counts = {
        "total_relays": total,
        "valid_relays": valid,
        "invalid_relays": total - valid,
        "success_rate": _rate(valid, total),
    }
    return counts, per


def build_aroi(src_doc, keep):
    results = [r for r in src_doc["results"] if r.get("fingerprint") in keep]
    counts, per = aroi_summary(results)
    out = {MARKER_KEY: MARKER_TEXT}
    for key, value in src_doc.items():
        if key == "metadata":
            meta = dict(value)
            meta.update(counts)
            out[key] = meta
        elif key == "statistics":
            stats = dict(value)
            stats.update(counts)
            stats["proof_types"] = per
            out[key] = stats
        elif key == "results":
            out[key] = results
        elif key != MARKER_KEY:
            out[key] = value
    return json.dumps(out, indent=2, ensure_ascii=False).encode("utf-8")


# --------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------

def gzip_bytes(data):
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0,
                       compresslevel=9) as gz:
        gz.write(data)
    return buf.getvalue()


def write_file(path, data):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


def describe(relays, n_units, bridges):
    flags = lambda r: set(r.get("flags", []))  # noqa: E731
    running = [r for r in relays if r["running"]]
    contacts = {r.get("contact") for r in relays if r.get("contact") is not None}
    fam = {tuple(sorted(r["effective_family"])) for r in relays
           if len(r.get("effective_family", [])) >= 2}
    return {
        "relays": len(relays),
        "running": len(running),
        "non_running": len(relays) - len(running),
        "exit": sum(1 for r in running if "Exit" in flags(r)),
        "guard": sum(1 for r in running if "Guard" in flags(r)),
        "guard_and_exit": sum(1 for r in running if {"Guard", "Exit"} <= flags(r)),
        "authority": sum(1 for r in relays if "Authority" in flags(r)),
        "with_contact": sum(1 for r in relays if r.get("contact") is not None),
        "no_contact": sum(1 for r in relays if r.get("contact") is None),
        "distinct_contacts": len(contacts),
        "operator_units": n_units,
        "families_2plus": len(fam),
        "countries": len({r.get("country") for r in relays}),
        "ases": len({r.get("as") for r in relays if r.get("as")}),
        "bridges": bridges,
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--source", required=True,
                    help="directory with the network-10k bench documents")
    ap.add_argument("--out", required=True, help="output directory (alliumd/sample)")
    ap.add_argument("--fixture", help="also write the 40-relay test fixture here")
    ap.add_argument("--target", type=int, default=1000, help="relays to aim for")
    ap.add_argument("--max-unit", type=int, default=200,
                    help="skip operator/family units bigger than this")
    ap.add_argument("--bridges", type=int, default=50)
    ap.add_argument("--seed", default=SEED)
    args = ap.parse_args(argv)

    src = lambda name: os.path.join(args.source, name)  # noqa: E731

    details = read_onionoo(src("details.json.gz"))
    relays = [json.loads(line) for line in details.relays]
    relay_line = {r["fingerprint"]: line for r, line in zip(relays, details.relays)}
    bridge_line = {_fp(line): line for line in details.bridges}

    with gzip.open(src("aroi.json.gz"), "rb") as fh:
        aroi_doc = json.loads(fh.read().decode("utf-8"))
    aroi = {r["fingerprint"]: r for r in aroi_doc["results"]}

    # Sanity: our metadata formula reproduces the source's own numbers.
    counts, per = aroi_summary(aroi_doc["results"])
    for key, value in counts.items():
        assert aroi_doc["metadata"][key] == value, key
    assert aroi_doc["statistics"]["proof_types"] == per

    selected, n_units, topped = select_relays(relays, aroi, args.target,
                                              args.max_unit, args.seed)
    keep = set(selected)
    bridges = select_bridges(bridge_line, args.bridges, args.seed)
    keep_b = set(bridges)

    out = {}
    out["onionoo_details.json.gz"] = render_onionoo(
        details, renormalise_shares([relay_line[fp] for fp in selected]), [bridge_line[h] for h in bridges])
    for kind in ("uptime", "bandwidth"):
        doc = read_onionoo(src(f"{kind}.json.gz"), keep, keep_b)
        got_r = [_fp(line) for line in doc.relays]
        got_b = [_fp(line) for line in doc.bridges]
        if sorted(got_r) != selected or sorted(got_b) != bridges:
            raise SystemExit(f"{kind}: relay/bridge set differs from details")
        out[f"onionoo_{kind}.json.gz"] = render_onionoo(doc, doc.relays, doc.bridges)
    if {fp for fp in aroi if fp in keep} != keep:
        raise SystemExit("aroi: some selected relays have no result")
    out["aroi.json.gz"] = build_aroi(aroi_doc, keep)

    total = 0
    for name, data in out.items():
        gz = gzip_bytes(data)
        total += len(gz)
        write_file(os.path.join(args.out, name), gz)
        print(f"{name:28s} raw {len(data):>11,d}  gzip {len(gz):>9,d}  "
              f"sha256 {hashlib.sha256(gz).hexdigest()[:16]}")
    print(f"{'total':28s} {'':15s}  gzip {total:>9,d}")
    if total > MAX_TOTAL_BYTES:
        raise SystemExit(f"sample is {total} bytes > {MAX_TOTAL_BYTES}; "
                         "rerun with a smaller --target (e.g. 800)")

    sel_objs = [json.loads(relay_line[fp]) for fp in selected]
    stats = describe(sel_objs, n_units, len(bridges))
    print("sample:", json.dumps(stats))
    if topped:
        print("topped up with units:", topped)
    if stats["countries"] < MIN_COUNTRIES or stats["ases"] < MIN_ASES:
        raise SystemExit("sample lacks country/AS diversity")

    if args.fixture:
        fx = select_fixture(sel_objs)
        data = render_onionoo(details, [relay_line[fp] for fp in fx], [], marker=False)
        write_file(args.fixture, data)
        fx_objs = [json.loads(relay_line[fp]) for fp in fx]
        print(f"fixture {args.fixture}: {len(data):,d} bytes, "
              + json.dumps(describe(fx_objs, 0, 0)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
