"""The ``chorus`` command group: global options, and the commands of every module wired in."""

from __future__ import annotations

import importlib
import logging
from pathlib import Path
from typing import cast

import click
from rich.logging import RichHandler

from chorus import __version__
from chorus.cli.common import Site, errors

# Each command as "module:attribute", and the commands added to a group from other modules.
COMMANDS = {
    "init": "chorus.cli.init:init",
    "members": "chorus.cli.members:members",
    "fetch": "chorus.cli.fetch:fetch",
    "approve": "chorus.cli.fetch:approve",
    "reject": "chorus.cli.moderation:reject",
    "remove": "chorus.cli.moderation:remove",
    "build": "chorus.cli.build:build",
    "serve": "chorus.cli.build:serve",
    "mentions": "chorus.cli.mentions:mentions",
    "newsletter": "chorus.cli.newsletter:newsletter",
}
SUBCOMMANDS = {"members": ["chorus.cli.moderation:members_remove"]}


def _load(where: str) -> click.Command:
    module, attribute = where.split(":")
    command: click.Command = getattr(importlib.import_module(module), attribute)
    return command


class LazyGroup(click.Group):
    """A group that imports a command's module only when that command runs (or help lists it).

    Importing every command costs most of a second (the importers' parsers, the HTTP client,
    the newsletter's mail libraries); `chorus build` and `chorus fetch` need only their own."""

    def list_commands(self, context: click.Context) -> list[str]:
        return sorted({*COMMANDS, *self.commands})

    def get_command(self, context: click.Context, name: str) -> click.Command | None:
        if name not in self.commands and name in COMMANDS:
            command = _load(COMMANDS[name])
            for where in SUBCOMMANDS.get(name, ()):
                cast(click.Group, command).add_command(_load(where))
            self.add_command(command, name)
        return self.commands.get(name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "-s",
    "--settings",
    "settings_file",
    type=click.Path(path_type=Path),
    default="pelicanconf.py",
    show_default=True,
    envvar="CHORUS_SETTINGS",
    help="The site's Pelican settings file.",
)
@click.option("-v", "--verbose", is_flag=True, help="Log every step.")
@click.version_option(__version__, prog_name="chorus")
@click.pass_context
def main(context: click.Context, settings_file: Path, verbose: bool) -> None:
    """Chorus: a community blog built from its members' feeds.

    \b
    Typical round:
      chorus members check    # validate content/members/*.md
      chorus fetch            # bring new posts into content/community/
      chorus approve          # list drafts; chorus approve --all publishes them
      chorus build            # build the site into output/
    """
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(message)s",
        handlers=[RichHandler(console=errors, show_time=False, show_path=False)],
    )
    context.obj = Site(settings_file)
