"""docs/cli.md, generated from the ``--help`` of every ``chorus`` command.

``python -m chorus.cli.docs > docs/cli.md`` (or ``make docs``) writes it; tests/test_docs.py
regenerates it and fails when the committed file differs, so the reference never drifts from
the commands.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

import click

WIDTH = 100  # the help text's width, fixed so that the file does not depend on the terminal
HEADER = """\
# Command-line reference

<!-- Generated from each command's --help by `make docs` (python -m chorus.cli.docs).
     Do not edit: tests/test_docs.py fails when this file and the commands differ. -->

Every `chorus` command and its `--help`. Options of `chorus` itself (`--settings`,
`--verbose`) go before the command: `chorus --settings site/pelicanconf.py fetch`.
"""


def commands(
    command: click.Command, name: str = "chorus", parent: click.Context | None = None
) -> Iterator[tuple[str, click.Command, click.Context]]:
    """Every command under ``command``, depth first, sorted by name, with its context."""
    context = click.Context(
        command,
        info_name=name,
        parent=parent,
        terminal_width=WIDTH,
        max_content_width=WIDTH,
        **command.context_settings,
    )
    yield context.command_path, command, context
    if isinstance(command, click.Group):
        for sub in sorted(command.list_commands(context)):
            child = command.get_command(context, sub)
            if child is not None and not child.hidden:
                yield from commands(child, sub, context)


def _anchor(path: str) -> str:
    return path.replace(" ", "-")


def render() -> str:
    """The whole of docs/cli.md."""
    from chorus.cli.main import main

    found = list(commands(main))
    lines = [HEADER]
    for path, command, _ in found:
        summary = command.get_short_help_str(limit=WIDTH)
        lines.append(f"- [`{path}`](#{_anchor(path)}): {summary}")
    for path, command, context in found:
        lines += ["", f"## {path}", "", "```text", command.get_help(context).rstrip(), "```"]
    return "\n".join(lines) + "\n"


def main() -> None:
    """Print docs/cli.md."""
    sys.stdout.write(render())


if __name__ == "__main__":
    main()
