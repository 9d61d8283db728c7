"""The documentation keeps up with the code: the CLI reference is generated from --help, every
command has an example, every setting is documented, and every link between docs resolves."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from chorus.cli.docs import commands, render
from chorus.cli.main import main
from chorus.common.config import DEFAULTS, ENVIRONMENT_ONLY

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
LEAVES = [
    (path, command) for path, command, _ in commands(main) if not isinstance(command, click.Group)
]


def test_cli_reference_is_up_to_date():
    committed = (DOCS / "cli.md").read_text(encoding="utf-8")
    assert committed == render(), "docs/cli.md is out of date: run `make docs` and commit it"


@pytest.mark.parametrize(("path", "command"), LEAVES, ids=[path for path, _ in LEAVES])
def test_every_command_has_help_with_an_example(path, command):
    assert command.help and "Example" in command.help, f"{path}: add an example to its help"
    assert path in (DOCS / "cli.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(DEFAULTS))
def test_every_setting_is_documented_with_its_default(name):
    rows = [
        line
        for line in (DOCS / "settings.md").read_text(encoding="utf-8").splitlines()
        if line.startswith(f"| `{name}` |")
    ]
    assert len(rows) == 1, f"{name}: no row (or several) in docs/settings.md"
    assert rows[0].count("|") >= 4, f"{name}: the row needs its default and what it does"


@pytest.mark.parametrize("name", sorted(ENVIRONMENT_ONLY))
def test_every_secret_is_documented(name):
    assert f"`{name}`" in (DOCS / "settings.md").read_text(encoding="utf-8")


def test_documentation_set():
    for name in (
        "quickstart.md",
        "settings.md",
        "members.md",
        "templates.md",
        "cli.md",
        "deploy.md",
        "migrating.md",
        "curated-posts.md",
    ):
        assert (DOCS / name).is_file(), name
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for name in ("quickstart", "deploy", "migrating", "cli"):
        assert f"docs/{name}.md" in readme, f"the README does not link docs/{name}.md"


MARKDOWN_LINK = re.compile(r"\]\((?!https?:|mailto:|#)([^)#\s]+)(?:#[^)]*)?\)")


@pytest.mark.parametrize(
    "page", [REPO / "README.md", *sorted(DOCS.glob("*.md"))], ids=lambda page: page.name
)
def test_links_between_docs_resolve(page):
    text = page.read_text(encoding="utf-8")
    broken = [
        target for target in MARKDOWN_LINK.findall(text) if not (page.parent / target).exists()
    ]
    assert broken == [], f"{page.name}: broken links {broken}"


CONTEXT_KEY = re.compile(r"""context\[["']([A-Za-z_]+)["']\]\s*=(?!=)""")
ARTICLE_ATTRIBUTE = re.compile(r"\b(?:article|page|item)\.(chorus_[a-z_]+)\s*=(?!=)")


@pytest.mark.parametrize(
    "plugin", sorted((REPO / "plugins").glob("chorus_*/__init__.py")), ids=lambda p: p.parent.name
)
def test_the_template_context_each_plugin_adds_is_documented(plugin):
    source = plugin.read_text(encoding="utf-8")
    added = set(CONTEXT_KEY.findall(source)) | set(ARTICLE_ATTRIBUTE.findall(source))
    documented = (DOCS / "templates.md").read_text(encoding="utf-8")
    missing = sorted(name for name in added if f"`{name}`" not in documented)
    assert missing == [], f"{plugin.parent.name} adds {missing}: document them in docs/templates.md"
