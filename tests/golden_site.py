"""The golden site: every page built from the test fixtures, as a manifest {path: sha256}.

Why: a refactoring must not change a byte of the site.  The fixtures are served
from a loopback HTTP server, every source's real fetcher fetches, validates and
publishes them into a cache directory (in this process, with a fixed clock),
and the real ``SiteBuilder`` renders the whole site with a fixed ``now``.
``tests/test_golden_site.py`` compares the result with the committed
``tests/fixtures/golden_site.json``.

A change that is meant to change pages regenerates the manifest deliberately:

    python -m tests.golden_site --update
"""

from __future__ import annotations

import argparse
import calendar
import contextlib
import hashlib
import io
import json
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from loopback import LoopbackAPI  # noqa: E402

FIX = HERE / "fixtures"
GOLDEN = FIX / "golden_site.json"
NOW = float(calendar.timegm(time.strptime("2026-08-22 12:00:00", "%Y-%m-%d %H:%M:%S")))
# source -> (URL path, fixture file)
DOCUMENTS = {
    "onionoo_details": ("/details", FIX / "onionoo_details_small.json"),
    "onionoo_uptime": ("/uptime", FIX / "onionoo_uptime_small.json"),
    "onionoo_bandwidth": ("/bandwidth", FIX / "onionoo_bandwidth_small.json"),
    "aroi": ("/aroi/latest.json", FIX / "aroi_latest_small.json"),
    "consensus_health": ("/consensus-health/", FIX / "consensus_health" / "consensus-health_BUILT_2025-04-03-0500.html"),
}
COLLECTOR_INDEX = "/index/index.json"


def _config(directory: Path, api: LoopbackAPI) -> Path:
    urls = {name: api.url(path) for name, (path, _) in DOCUMENTS.items()}
    urls["collector"] = api.url(COLLECTOR_INDEX)
    tables = "".join(f'[sources.{name}]\nenabled = true\nurl = "{url}"\ntimeout = 30\nretries = 0\n'
                     f"max_bytes = 50000000\n\n" for name, url in sorted(urls.items()))
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "allium.toml"
    path.write_text(f"""[daemon]
cache_dir = "cache"
output_dir = "www"
state_dir = "lib"
run_dir = "run"
sample_fallback = false

[render]
workers = 1
site_title = "Golden metrics"

{tables}""")
    return path


def build(directory: Path) -> Path:
    """Fetch every fixture through its fetcher, render the site; return the output directory."""
    from alliumd import config as configmod
    from alliumd.fetchers.runtime import Fetcher
    from alliumd.pages.site import FAMILIES, MODELS
    from alliumd.renderer.build import SiteBuilder
    from alliumd.pages.registry import Registry
    from test_collector import serve, set_2018

    with LoopbackAPI() as api:
        for path, fixture in DOCUMENTS.values():
            api.set(path, fixture.read_bytes(), last_modified=NOW - 600)
        serve(api, set_2018(modern=True))
        cfg = configmod.load(_config(directory, api))
        for name in sorted(cfg.sources):
            if not cfg.sources[name].enabled:
                continue
            fetcher = Fetcher(cfg, name, clock=lambda: NOW, rand=lambda: 0.5)
            with contextlib.redirect_stdout(io.StringIO()):         # its reports to the supervisor
                ok = fetcher.run_once()
            if ok != 0 or fetcher.record.last_error:
                raise RuntimeError(f"fetching {name} failed: {fetcher.record.last_error}")
    builder = SiteBuilder(cfg, Registry(FAMILIES, MODELS), clock=lambda: NOW, workers=1)
    try:
        result = builder.build(full=True, now=NOW)
    finally:
        builder.close()
    if result.errors:
        raise RuntimeError(f"render errors: {result.errors}")
    return cfg.daemon.output_dir


def manifest(output: Path) -> dict[str, str]:
    return {p.relative_to(output).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(output.rglob("*")) if p.is_file()}


def golden_manifest() -> dict[str, str]:
    with tempfile.TemporaryDirectory(prefix="alliumd-golden-") as tmp:
        return manifest(build(Path(tmp)))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--update", action="store_true", help=f"rewrite {GOLDEN.relative_to(HERE.parent)}")
    args = ap.parse_args(argv)
    current = golden_manifest()
    if args.update:
        GOLDEN.write_text(json.dumps(current, indent=1, sort_keys=True) + "\n")
        print(f"{GOLDEN}: {len(current)} files")
        return 0
    golden = json.loads(GOLDEN.read_text())
    differ = sorted(p for p in golden.keys() | current.keys() if golden.get(p) != current.get(p))
    print("\n".join(differ) if differ else f"identical: {len(current)} files")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
