"""The ``chorus`` command group: global options, and the commands of every module wired in."""

from __future__ import annotations

import logging
from pathlib import Path

import click
from rich.logging import RichHandler

from chorus import __version__
from chorus.cli.build import build, serve
from chorus.cli.common import Site, errors
from chorus.cli.fetch import approve, fetch
from chorus.cli.init import init
from chorus.cli.members import members
from chorus.cli.mentions import mentions
from chorus.cli.moderation import members_remove, reject, remove
from chorus.cli.newsletter import newsletter


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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


# In the order `chorus --help` lists them.
for command in (init, members, fetch, approve, reject, remove, build, serve, mentions, newsletter):
    main.add_command(command)
members.add_command(members_remove)
