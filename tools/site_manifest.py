#!/usr/bin/env python3
"""SHA-256 manifests of the site ``alliumd --once`` renders, to show a refactoring is byte-identical.

    PYTHONPATH=TREE python tools/site_manifest.py TREE OUTDIR

renders (1) the bundled sample with the shipped config inside ``unshare -n``
(no network: every source falls back to the sample) and (2) the test
fixtures (tests/fixtures/*_small.json) served from a loopback HTTP server,
then writes ``sample.sha256`` and ``fixtures.sha256`` to OUTDIR (every file
but the status pages, which show the time of the run).  Run it for the old
and the new tree and ``diff`` the manifests.  TREE is a checkout (an
unpacked ``git archive`` of another commit works, with ``alliumd/templates``
symlinked to ``../templates`` so its own templates are used).
"""
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

tree, out = Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve()
sys.path.insert(0, str(tree / "tests"))
from loopback import LoopbackAPI
shutil.rmtree(out, ignore_errors=True); out.mkdir(parents=True)
env = dict(os.environ, PYTHONPATH=str(tree))
def manifest(www, name):
    lines = []
    for p in sorted(www.rglob("*")):
        if p.is_file() and p.name != "status.html" and "status" not in p.name:
            lines.append(f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.relative_to(www)}")
    (out / name).write_text("\n".join(lines) + "\n")
    print(name, len(lines))
# 1. bundled sample, no network
s = out / "sample"; (s / "etc").mkdir(parents=True)
shutil.copy(tree / "etc" / "allium.toml", s / "etc" / "allium.toml")
r = subprocess.run(["unshare", "-n", sys.executable, "-m", "alliumd", "--config", str(s / "etc/allium.toml"), "--once"],
                   cwd=s, env=env, capture_output=True, text=True)
assert r.returncode == 0, r.stderr
manifest(s / "var" / "www", "sample.sha256")
# 2. test fixtures over loopback
f = out / "fixtures"; f.mkdir()
fx = tree / "tests" / "fixtures"
with LoopbackAPI() as api:
    api.set("/details", (fx / "onionoo_details_small.json").read_bytes())
    api.set("/uptime", (fx / "onionoo_uptime_small.json").read_bytes())
    api.set("/bandwidth", (fx / "onionoo_bandwidth_small.json").read_bytes())
    api.set("/aroi", (fx / "aroi_latest_small.json").read_bytes())
    cfg = f / "allium.toml"
    cfg.write_text(f'''[daemon]
cache_dir = "cache"
output_dir = "www"
state_dir = "lib"
run_dir = "run"
[sources.onionoo_details]
enabled = true
url = "{api.url('/details')}"
[sources.onionoo_uptime]
enabled = true
url = "{api.url('/uptime')}"
[sources.onionoo_bandwidth]
enabled = true
url = "{api.url('/bandwidth')}"
[sources.aroi]
enabled = true
url = "{api.url('/aroi')}"
[sources.collector]
enabled = false
[sources.consensus_health]
enabled = false
''')
    r = subprocess.run([sys.executable, "-m", "alliumd", "--config", str(cfg), "--once"], cwd=f, env=env,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    fetched = {e.path for e in api.requests_log}
    assert len(fetched) == 4, fetched                  # every source was fetched
manifest(f / "www", "fixtures.sha256")
