"""The import contracts (pyproject.toml, ``[tool.importlinter]``) hold for thrifty, and they fail
on a cycle: each case below copies the package, adds one import that goes the wrong way (a
function's lazy import counts as much as a module's), and expects the contract it breaks to
say so. ``make lint`` runs the same contracts; this test makes ``make test`` (and CI) run them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import thrifty

CONFIG = Path(__file__).parents[1] / "pyproject.toml"
PACKAGE = Path(thrifty.__file__).parent  # the package these tests import
LAYERS = "Layers point one way"
ACYCLIC = "No package's modules import in a cycle"
FACADE = "Only the commands use the facade"
COMMANDS = "Command groups import what they share, not each other"

# case: (the module, the import it gains, the contracts that must then report it broken)
WRONG_WAY = {
    "models <-> pack": ("models/load.py", "from thrifty.pack import unpack", {LAYERS, ACYCLIC}),
    "ship.http <-> ship.store": ("ship/http.py", "from thrifty.ship.store import open_store",
                                 {ACYCLIC}),
    "ship -> report": ("ship/progress.py", "from thrifty.report.text import NamedRows", {LAYERS}),
    "optimize -> facade": ("optimize/trial.py", "import thrifty as th", {FACADE}),
    "cli.measure -> cli.demo": ("cli/measure.py", "from thrifty.cli.demo import demo", {COMMANDS}),
}  # fmt: skip


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    """``lint-imports`` with thrifty's contracts, on the package ``thrifty`` inside ``root``."""
    command = [Path(sys.executable).with_name("lint-imports"), CONFIG, "--no-cache"]
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, timeout=120)


def broken(run: subprocess.CompletedProcess) -> set[str]:
    return {name for name in (LAYERS, ACYCLIC, FACADE, COMMANDS) if f"{name} BROKEN" in run.stdout}


def test_thrifty_keeps_its_contracts():
    run = lint_imports(PACKAGE.parent)
    assert run.returncode == 0, run.stdout + run.stderr
    assert broken(run) == set()


@pytest.mark.parametrize("case", WRONG_WAY)
def test_an_import_the_wrong_way_breaks_a_contract(case, tmp_path):
    module, statement, contracts = WRONG_WAY[case]
    shutil.copytree(PACKAGE, tmp_path / "thrifty", ignore=shutil.ignore_patterns("__pycache__"))
    with (tmp_path / "thrifty" / module).open("a") as source:
        source.write(f"\n\ndef _wrong_way():\n    {statement}\n")
    run = lint_imports(tmp_path)
    assert run.returncode == 1, run.stdout + run.stderr
    assert broken(run) == contracts, run.stdout
