#!/usr/bin/env python3
"""SHA-256 manifests of the site ``alliumd --once`` renders, to show a refactoring is byte-identical.

    PYTHONPATH=TREE python tools/site_manifest.py TREE OUTDIR

renders the bundled sample with the shipped config inside ``unshare -n``
(no network: every source falls back to the sample) and writes
``sample.sha256`` to OUTDIR (every file but the status pages, which show the
time of the run).  Run it for the old and the new tree and ``diff`` the
manifests.  The test fixtures' site is checked by tests/test_golden_site.py.  TREE is a checkout (an
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
