"""The house shows its plan: the core's stages import only the stages below them, the Pelican
plugins never import each other, and no module imports itself round a circle."""

from __future__ import annotations

import graphlib
import tomllib

import grimp
import pytest
from importlinter.cli import lint_imports

from sites import REPO

PACKAGES = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"][
    "root_packages"
]


def test_the_import_contracts_are_kept(capsys):
    """pyproject.toml's import-linter contracts: the stages' layers, the plugins' independence."""
    exit_code = lint_imports(config_filename=str(REPO / "pyproject.toml"), no_cache=True)
    report = capsys.readouterr().out
    assert exit_code == 0, report
    assert "3 kept, 0 broken" in report


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
