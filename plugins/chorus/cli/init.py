"""``chorus init``: a new community site (a thin layer over chorus.onboarding.scaffold)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape

from chorus.cli.common import interactive, relative
from chorus.onboarding.scaffold import (
    Requirement,
    ScaffoldError,
    SiteAnswers,
    check_contact,
    check_site_url,
    check_text,
    create_site,
    installed_requirement,
)

console = Console(stderr=False, highlight=False)


def ask(label: str, check: Callable[[str], str]) -> str:
    """Prompt until ``check`` accepts the answer; its error is shown and the question asked
    again."""

    def proc(value: str) -> str:
        try:
            return check(value)
        except ScaffoldError as error:
            raise click.UsageError(str(error)) from None

    return click.prompt(label, value_proc=proc)


@click.command("init", short_help="Create a new community site in DIRECTORY.")
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False))
@click.option("--name", help="The community's name (SITENAME).")
@click.option(
    "--url", help="Where the site will live, e.g. https://community.example.org (SITEURL)."
)
@click.option("--editor", help="Who edits the site: a name, or the editors' team (AUTHOR).")
@click.option("--contact", help="How to reach the editors: an e-mail address or an http(s) URL.")
@click.option("--description", default="", help="One line under the name (SITESUBTITLE).")
@click.option(
    "--requirement",
    metavar="LINE",
    help="How the site (its make and its CI) installs Chorus: a line for requirements.txt, "
    "e.g. 'pelican-chorus==1.2.0'. Default: the Chorus running now, as it was installed: "
    "its release, its git commit, or its local path (good on this machine only).",
)
@click.option(
    "--force",
    is_flag=True,
    help="Write into a directory that is not empty: the template's files are overwritten, "
    "other files are left alone.",
)
@click.option("--no-input", is_flag=True, help="Never ask; fail if an answer is missing.")
def init(
    directory: Path,
    name: str | None,
    url: str | None,
    editor: str | None,
    contact: str | None,
    description: str,
    requirement: str | None,
    force: bool,
    no_input: bool,
) -> None:
    """Create a new community site in DIRECTORY: settings, theme, an example member and
    article, an about page with how to join, a Makefile and GitHub workflows (fetch on a
    schedule, deploy to GitHub Pages, check member pull requests, send the newsletter).

    Asks for the site's name, URL, editor and contact when they are not given as options
    and a terminal is there to answer. Refuses a directory that is not empty unless --force.

    \b
    Example:
      chorus init loom --name "The Loom Collective" --url https://loom.example \\
          --editor "Rosa Lindqvist" --contact editors@loom.example
    """
    if directory.is_dir() and any(directory.iterdir()) and not force:
        raise click.UsageError(
            f"{directory} is not empty: choose a new directory, or add --force to write the "
            "template's files into it (other files are left alone)"
        )
    questions = (
        ("name", "Site name", name, lambda value: check_text("site name", value)),
        ("url", "Site URL (https://...)", url, check_site_url),
        ("editor", "Editor (a name or a team)", editor, lambda value: check_text("editor", value)),
        ("contact", "Editors' contact (e-mail or URL)", contact, check_contact),
    )
    answers: dict[str, str] = {}
    missing = []
    for key, label, given, check in questions:
        if given is not None:
            answers[key] = given
        elif not no_input and interactive():
            answers[key] = ask(label, check)
        else:
            missing.append(f"--{key}")
    if missing:
        raise click.UsageError(
            f"missing {', '.join(missing)}: give them as options, or run chorus init in a "
            "terminal to be asked"
        )
    installs = Requirement(requirement) if requirement else installed_requirement()
    try:
        site = SiteAnswers(
            **answers,
            description=description,
            requirement=installs.line,
            requirement_note=installs.note,
        )
        written = create_site(directory, site, force=force)
    except ScaffoldError as error:
        raise click.UsageError(str(error)) from None
    except OSError as error:
        raise click.ClickException(f"cannot write the site: {error}") from None
    for path in written:
        console.print(f"[green]created[/green] {escape(relative(path))}", soft_wrap=True)
    console.print(
        f"\n{escape(site.name)} is ready in {escape(relative(directory))}/. Next:\n"
        f"  cd {escape(relative(directory))}\n"
        "  chorus fetch && chorus build    # the example member's posts, then output/\n"
        "  chorus serve                    # http://127.0.0.1:8000/\n"
        "  git init && git add . && git commit -m 'A new Chorus site'\n"
        "Then push it to GitHub and follow README.md to turn on Pages and the workflows.",
        soft_wrap=True,
    )
    if installs.note:
        console.print(
            f"\n[yellow]note[/yellow] requirements.txt installs Chorus with "
            f"{escape(installs.line)}\n{escape(installs.note)}",
            soft_wrap=True,
        )
