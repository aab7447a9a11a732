"""The architecture is enforced: import-linter checks the contracts in pyproject.toml on every run.

``ctl | supervisor | fetchers | renderer > pages > model | summaries > cache > core``:
a layer imports only layers below it, the four process roles never import
each other, nor do the view models and the fetchers' summarisers; fetchers
never render, the renderer never fetches, and renderer and pages read
summaries through cache and model, never through the summarisers.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"
# lint-imports (import-linter's command) in a fresh interpreter: it puts its working directory on sys.path
LINT = ("import sys; from importlinter.cli import lint_imports; "
        "sys.exit(lint_imports(config_filename=sys.argv[1], no_cache=True, no_logo=True))")


def lint_imports(config: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", LINT, str(config)], cwd=config.parent, capture_output=True,
                          text=True, timeout=120)


def test_the_contracts_are_the_architecture():
    contracts = tomllib.loads(PYPROJECT.read_text())["tool"]["importlinter"]["contracts"]
    layers = next(c for c in contracts if c["type"] == "layers")
    assert layers["layers"] == ["ctl | supervisor | fetchers | renderer", "pages", "model | summaries", "cache",
                                "core"]
    forbidden: dict[str, set[str]] = {}
    for c in contracts:
        for m in c["source_modules"] if c["type"] == "forbidden" else ():
            forbidden.setdefault(m, set()).update(c["forbidden_modules"])
    assert forbidden == {"alliumd.fetchers": {"alliumd.renderer", "alliumd.pages"},
                         "alliumd.renderer": {"alliumd.fetchers", "alliumd.summaries"},
                         "alliumd.pages": {"alliumd.summaries"}}


def test_every_package_folder_ships():
    """``packages`` in pyproject.toml is an explicit list: a new package folder left out of it would be
    missing from a plain ``pip install .`` while every test (run from the checkout) still passes."""
    listed = set(tomllib.loads(PYPROJECT.read_text())["tool"]["setuptools"]["packages"])
    root = PYPROJECT.parent
    folders = {".".join(init.parent.relative_to(root).parts) for init in (root / "alliumd").rglob("__init__.py")}
    assert folders and folders <= listed, sorted(folders - listed)


def test_the_import_contracts_are_kept():
    run = lint_imports(PYPROJECT)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Contracts: 4 kept, 0 broken." in run.stdout


def test_a_violation_is_caught(tmp_path):
    """The check is not vacuous: a model importing the renderer, or a summariser importing a model, breaks
    the layers contract."""
    pkg = tmp_path / "layered"
    for name, body in {"__init__": "", "core": "", "cache": "from . import core\n",
                       "model": "from . import renderer\n", "pages": "from . import model\n",
                       "renderer": "", "ctl": "", "supervisor": "", "fetchers": "",
                       "summaries": "from . import model\n"}.items():
        (pkg / f"{name}.py").parent.mkdir(exist_ok=True)
        (pkg / f"{name}.py").write_text(body)
    config = tmp_path / "pyproject.toml"
    config.write_text(PYPROJECT.read_text().split("[tool.importlinter]", 1)[1]
                      .replace('"alliumd', '"layered').join(["[tool.importlinter]", ""])
                      .replace('root_package = "alliumd"', 'root_package = "layered"'))
    run = lint_imports(config)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "layered.model is not allowed to import layered.renderer" in run.stdout
    assert "layered.summaries is not allowed to import layered.model" in run.stdout
