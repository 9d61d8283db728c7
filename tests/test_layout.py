"""The house shows its plan: the core's stages import only the stages below them, the Pelican
plugins never import each other, and no module imports itself round a circle."""

from __future__ import annotations

import graphlib
import os
import subprocess
import sys
import tomllib

import grimp
import pytest

from sites import REPO

PACKAGES = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"][
    "root_packages"
]


def test_the_import_contracts_are_kept():
    """pyproject.toml's import-linter contracts: the stages' layers, the plugins' independence.

    In a process of its own: import-linter sets up logging as a command does, which would silence
    the loggers of modules the other tests in this process already imported."""
    lint = "import sys, importlinter.cli as c; sys.exit(c.lint_imports(no_cache=True))"
    result = subprocess.run(
        [sys.executable, "-c", lint],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO / "plugins")},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 kept, 0 broken" in result.stdout


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(*PACKAGES, cache_dir=None)


def test_no_module_imports_itself_round_a_circle(graph):
    """Imports made only for type checkers count too: a circle there is a circle in the design."""
    imports = {module: graph.find_modules_directly_imported_by(module) for module in graph.modules}
    try:
        graphlib.TopologicalSorter(imports).prepare()
    except graphlib.CycleError as error:
        pytest.fail(f"import circle: {' -> '.join(error.args[1])}")


def test_every_command_module_imports_no_other_command_module(graph):
    """Commands share ``chorus.cli.common``; only ``chorus.cli.main`` wires them together."""
    commands = {m for m in graph.modules if m.startswith("chorus.cli.")} - {
        "chorus.cli.common",
        "chorus.cli.main",
        "chorus.cli.docs",
    }
    for module in sorted(commands):
        assert not graph.find_modules_directly_imported_by(module) & commands, module
