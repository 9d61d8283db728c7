"""What every ``chorus`` command shares: the site it works on and the consoles it prints to.

Commands import this module, never each other, so the command line has no import circles.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape

from chorus.common.config import Config, ConfigError
from chorus.common.frontmatter import Problem
from chorus.members.registry import Registry, load_registry

console = Console(stderr=False, highlight=False)
errors = Console(stderr=True, highlight=False)


class Site:
    """The site a command works on: its settings file, read once when first needed."""

    def __init__(self, settings_file: Path) -> None:
        self.settings_file = settings_file
        self._settings: dict[str, Any] | None = None

    def existing_settings_file(self) -> Path:
        """The settings file; outside a site, the error every command gives."""
        if not self.settings_file.is_file():
            raise click.UsageError(
                f"no settings file at {self.settings_file}: run chorus in the site's "
                "directory or pass --settings PATH/TO/pelicanconf.py"
            )
        return self.settings_file

    @property
    def settings(self) -> dict[str, Any]:
        if self._settings is None:
            from pelican.settings import read_settings  # Pelican only where settings are read

            self._settings = read_settings(str(self.existing_settings_file()))
        return self._settings

    @property
    def config(self) -> Config:
        try:
            return Config.from_settings(self.settings)
        except ConfigError as error:
            raise click.UsageError(f"{self.settings_file}: {error}") from None

    def registry(self) -> Registry:
        config = self.config
        return load_registry(
            config.members_dir,
            content_dir=config.content_dir,
            local_feeds_dir=config.local_feeds_dir,
        )


pass_site = click.make_pass_decorator(Site)


def print_problems(problems: Iterable[Problem]) -> None:
    """Print each problem (of a member file, an issue file) with its file and field."""
    for problem in problems:
        where = f"{relative(problem.path)}: " + (f"{problem.field}: " if problem.field else "")
        errors.print(f"[red]error[/red] {escape(where + problem.message)}", soft_wrap=True)


def relative(path: Path) -> str:
    """The path as the user typed it: relative to the working directory when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve())) or "."
    except ValueError:
        return str(path)


def interactive() -> bool:
    """Whether missing answers may be asked for: only when a person is at the terminal."""
    return sys.stdin.isatty()
