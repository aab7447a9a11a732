"""Dead links in a full-size site: build a network in-process, crawl every page (tests/site_crawl.py).

    python -m bench.linkcheck --data ../shared/bench/network-10k [--details-only] [--votes] [--relays N]
                              [--work DIR]
    python -m bench.linkcheck --site DIR          # only crawl an existing output directory

With ``--data`` the cache files are prepared as ``python -m bench.profile``
does (details, and unless ``--details-only`` the uptime, bandwidth and AROI
summaries; ``--votes`` adds the synthetic ``collector`` summary), only the
sources given data are enabled, and one cold ``SiteBuilder.build`` renders
the site before it is crawled.  ``--relays N`` keeps the first N relays of
the details document (a partial answer: most families lose members).
Prints the build and the crawl figures and the first offenders; exits 1 if
any link is broken.  The suite runs the same crawler on the test fixtures
(tests/test_site_links.py); this is the full-size check, outside the suite
because tests do not read ../shared.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

from alliumd.config import parse

from .profile import install, prepare, prepare_votes

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from site_crawl import Report, crawl  # noqa: E402


def first_relays(raw: bytes, count: int) -> bytes:
    """The document with only its first ``count`` relay lines (one relay object per line)."""
    lines = raw.split(b"\n")
    start = next(i for i, line in enumerate(lines) if line.startswith(b'"relays":[')) + 1
    end = next(i for i in range(start, len(lines)) if lines[i].startswith(b"]"))
    kept = lines[start:min(end, start + count)]
    if kept:
        kept[-1] = kept[-1].rstrip(b",")
    return b"\n".join(lines[:start] + kept + lines[end:])


def build_and_crawl(data: Path, work: Path, *, details_only: bool = False, votes: bool = False,
                    relays: int | None = None) -> Report:
    """Prepare the caches, render the site cold in this process, crawl it; prints what it measures."""
    from alliumd.pages.site import FAMILIES, MODELS
    from alliumd.renderer.build import SiteBuilder
    from alliumd.pages.registry import Registry

    files = prepare(data, work)
    for sub in ("cache", "www", "lib", "run"):
        shutil.rmtree(work / sub, ignore_errors=True)
        (work / sub).mkdir(parents=True)
    cache = work / "cache"
    if relays is not None:
        (cache / "onionoo_details.json").write_bytes(first_relays(files["details"].read_bytes(), relays))
    else:
        install(files["details"], cache / "onionoo_details.json")
    enabled = []
    if not details_only:
        for key, name in (("uptime", "onionoo_uptime"), ("bandwidth", "onionoo_bandwidth"), ("aroi", "aroi")):
            if files[key].exists():
                install(files[key], cache / f"{name}.summary.json")
                enabled.append(name)
    if votes:
        install(prepare_votes(files)["votes"], cache / "collector.summary.json")
        enabled.append("collector")
    cfg = parse({"daemon": {"cache_dir": str(cache), "output_dir": str(work / "www"), "state_dir": str(work / "lib"),
                            "run_dir": str(work / "run")},
                 "sources": {n: {"enabled": True} for n in enabled}}, work / "allium.toml")
    builder = SiteBuilder(cfg, Registry(FAMILIES, MODELS))
    started = time.monotonic()
    result = builder.build(full=True)
    builder.close()
    print(f"sources: onionoo_details{''.join(', ' + n for n in enabled)}"
          f"{f' (first {relays} relays)' if relays is not None else ''}", flush=True)
    print(f"build: {result.written} pages written in {time.monotonic() - started:.1f} s, "
          f"errors {result.errors or '-'}", flush=True)
    return timed_crawl(work / "www")


def timed_crawl(www: Path) -> Report:
    started = time.monotonic()
    report = crawl(www)
    print(f"crawl: {report.summary()} ({time.monotonic() - started:.1f} s)", flush=True)
    return report


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.linkcheck", description=__doc__.splitlines()[0])
    what = ap.add_mutually_exclusive_group(required=True)
    what.add_argument("--data", type=Path, help="a network directory (details.json[.gz], uptime, bandwidth, aroi)")
    what.add_argument("--site", type=Path, help="an existing output directory to crawl")
    ap.add_argument("--work", type=Path, default=Path("/tmp/alliumd-linkcheck"))
    ap.add_argument("--details-only", action="store_true", help="render from the details document alone")
    ap.add_argument("--votes", action="store_true", help="add the collector source with synthetic votes")
    ap.add_argument("--relays", type=int, help="keep only the first N relays of the details document")
    ap.add_argument("--show", type=int, default=20, help="offenders to list")
    args = ap.parse_args(argv)
    if args.site is not None:
        report = timed_crawl(args.site)
    else:
        report = build_and_crawl(args.data, args.work, details_only=args.details_only, votes=args.votes,
                                 relays=args.relays)
    if report.broken:
        print(report.first(args.show))
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
