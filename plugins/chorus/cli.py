"""The ``chorus`` command line: a thin layer over the core that turns its errors into advice."""

from __future__ import annotations

import logging
import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.logging import RichHandler
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from chorus import __version__
from chorus.cli_members import add as members_add
from chorus.cli_members import import_members, preview
from chorus.cli_mentions import mentions
from chorus.cli_newsletter import newsletter
from chorus.cli_site import init
from chorus.config import Config, ConfigError
from chorus.members import Registry, load_registry

if TYPE_CHECKING:
    from chorus.aggregate import FetchReport, MemberReport

# In a fetch report: new and updated files listed one by one up to this many; every member
# listed up to this many members (past it, only those with news).
LIST_AT_MOST = 50
QUIET_MEMBERS_LISTED = 20
FEED_OUTCOMES = {
    "ok": "fetched",
    "not_modified": "not modified",
    "failed": "failed",
    "deferred": "asked us to wait",
    "gone": "gone",
    "pending": "not reached",
}

console = Console(stderr=False, highlight=False)
errors = Console(stderr=True, highlight=False)


class Site:
    """The site a command works on: its settings file, read once when first needed."""

    def __init__(self, settings_file: Path) -> None:
        self.settings_file = settings_file
        self._settings: dict[str, Any] | None = None

    @property
    def settings(self) -> dict[str, Any]:
        if self._settings is None:
            if not self.settings_file.is_file():
                raise click.UsageError(
                    f"no settings file at {self.settings_file}: run chorus in the site's "
                    "directory or pass --settings PATH/TO/pelicanconf.py"
                )
            from pelican.settings import read_settings  # Pelican only where settings are read

            self._settings = read_settings(str(self.settings_file))
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


@main.group()
def members() -> None:
    """Work with the members registry (content/members/*.md)."""


@members.command("check")
@pass_site
def members_check(site: Site) -> None:
    """Validate every member file; report each problem with its file and field.

    Exits 1 if any file has a problem. Example: chorus members check
    """
    registry = site.registry()
    _print_problems(registry)
    from chorus.health import feed_health
    from chorus.state import load_state

    for health in feed_health(registry.members.values(), load_state(site.config.state_file)):
        if health.advice:
            errors.print(
                f"[yellow]warning[/yellow] {health.handle}: {health.url} {health.advice}",
                soft_wrap=True,
            )
    count = len(registry.members)
    if registry.ok:
        console.print(f"[green]✓[/green] {count} member file{'s' * (count != 1)} OK")
        return
    errors.print(
        f"{len(registry.problems)} problem(s); fix them and run "
        "[bold]chorus members check[/bold] again (format: docs/members.md)"
    )
    sys.exit(1)


def _print_problems(registry: Registry) -> None:
    for problem in registry.problems:
        where = f"{_relative(problem.path)}: " + (f"{problem.field}: " if problem.field else "")
        errors.print(f"[red]error[/red] {where}{problem.message}", markup=True, soft_wrap=True)


@main.command()
@click.argument("handles", nargs=-1)
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Show a progress bar (default: when writing to a terminal).",
)
@click.option(
    "--every-member",
    is_flag=True,
    help=f"List every member in the report; past {QUIET_MEMBERS_LISTED} members, only "
    "those with news are listed by default.",
)
@pass_site
def fetch(site: Site, handles: tuple[str, ...], progress: bool | None, every_member: bool) -> None:
    """Fetch members' feeds and write new and changed posts into content/community/.

    Give HANDLES to fetch only those members. Exits 1 if any feed failed (the other feeds are
    still fetched and written). Example: chorus fetch ada grace
    """
    from chorus.aggregate import run_fetch

    config = site.config
    registry = site.registry()
    if not registry.ok:
        _print_problems(registry)
        errors.print(
            "The members registry has errors, so nothing was fetched or written. "
            "Fix them (chorus members check) and fetch again."
        )
        sys.exit(1)
    unknown = sorted(set(handles) - set(registry.members))
    if unknown:
        raise click.UsageError(f"no member with handle {', '.join(unknown)}")
    chosen = [m for h, m in registry.members.items() if not handles or h in handles]
    total = len({url for member in chosen for url in member.feeds})
    show = console.is_terminal if progress is None else progress
    with Progress(
        TextColumn("Fetching"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        console=errors,
        disable=not show,
        transient=True,
    ) as bar:
        task = bar.add_task("", total=total)
        done: set[str] = set()

        def advance(feed: Any) -> None:
            if feed.url not in done:
                done.add(feed.url)
                bar.update(task, advance=1, description=feed.url)

        report = run_fetch(config, chosen, on_feed_done=advance)
    _print_report(report, every_member=every_member)
    sys.exit(0 if report.ok else 1)


def _print_report(report: FetchReport, *, every_member: bool = False) -> None:
    listed_members = report.members
    if not every_member and len(report.members) > QUIET_MEMBERS_LISTED:
        # On a large site the members with nothing new would bury the ones with news.
        listed_members = [member for member in report.members if _has_news(member)]
    table = Table(title="Fetch report", title_justify="left", show_edge=False)
    for column in ("member", "new", "updated", "unchanged", "skipped", "not modified", "failed"):
        table.add_column(column, justify="left" if column in ("member", "failed") else "right")
    for member in listed_members:
        failed = len(member.failed)
        table.add_row(
            member.handle,
            _count(len(member.new), "green"),
            _count(len(member.updated), "yellow"),
            str(member.unchanged),
            str(member.filtered + member.duplicates),
            str(member.not_modified),
            _count(failed, "red"),
        )
    if listed_members:
        console.print(table)
        console.print(
            "[dim]new/updated/unchanged: posts; skipped: filtered out by tags or already "
            "posted by someone; not modified/failed: feeds[/dim]",
            soft_wrap=True,
        )
    quiet = len(report.members) - len(listed_members)
    if quiet:
        console.print(
            f"{quiet:,} other member{'s' * (quiet != 1)}: nothing new "
            "(chorus fetch --every-member lists them)",
            soft_wrap=True,
        )
    console.print(_totals(report), soft_wrap=True)
    # Past a screenful, the table's counts and `git status` say more than a list of files.
    listed = sum(len(m.new) + len(m.updated) for m in report.members) <= LIST_AT_MOST
    for member in listed_members:
        for feed in member.failed:
            console.print(
                f"  [red]failed[/red]  {member.handle}: {feed.url}: {feed.error}", soft_wrap=True
            )
        if listed:
            for path in member.new:
                console.print(f"  [green]new[/green]     community/{path}", soft_wrap=True)
            for path in member.updated:
                console.print(
                    f"  [yellow]updated[/yellow] community/{path} (changed upstream)",
                    soft_wrap=True,
                )
        for feed in member.feeds:
            if feed.moved_to:
                console.print(
                    f"  [yellow]moved[/yellow]   {member.handle}: {feed.url} now "
                    f"redirects permanently to {feed.moved_to}; update the member file",
                    soft_wrap=True,
                )
            if feed.warning:
                console.print(
                    f"  [yellow]warning[/yellow] {member.handle}: {feed.url}: {feed.warning}",
                    soft_wrap=True,
                )
    failures = sum(len(member.failed) for member in report.members)
    if failures:
        errors.print(
            f"[red]{failures} feed(s) failed[/red]; the others were fetched. Posts "
            "already on the site stay there. Fix or remove the URLs above, or retry "
            "later.",
            soft_wrap=True,
        )


def _has_news(member: MemberReport) -> bool:
    """Something for a reader of the report: posts written, or a feed to look at."""
    return bool(
        member.new
        or member.updated
        or any(feed.outcome != "not_modified" or feed.moved_to for feed in member.feeds)
    )


def _totals(report: FetchReport) -> str:
    feeds = {feed.url: feed for member in report.members for feed in member.feeds}
    outcomes = Counter(feed.outcome for feed in feeds.values())
    new = sum(len(member.new) for member in report.members)
    updated = sum(len(member.updated) for member in report.members)
    parts = [f"{outcomes[key]:,} {label}" for key, label in FEED_OUTCOMES.items() if outcomes[key]]
    return (
        f"{len(feeds):,} feed{'s' * (len(feeds) != 1)} ({', '.join(parts) or 'none'}); "
        f"{new:,} new post{'s' * (new != 1)}, {updated:,} updated"
    )


def _count(value: int, colour: str) -> str:
    return f"[{colour}]{value}[/{colour}]" if value else "0"


@main.command()
@click.argument("targets", nargs=-1)
@click.option("--all", "approve_all", is_flag=True, help="Publish every draft.")
@click.option(
    "--paths", is_flag=True, help="Only print the drafts' paths, one a line, for scripts."
)
@pass_site
def approve(site: Site, targets: tuple[str, ...], approve_all: bool, paths: bool) -> None:
    """Publish draft posts; with no arguments, list the drafts waiting for review.

    TARGETS are post files or member handles (all of that member's drafts).
    Example: chorus approve ada content/community/grace/some-post-1a2b3c4d.html
    """
    from chorus.store import approve as publish
    from chorus.store import drafts

    root = site.config.community_dir
    waiting = list(drafts(root))
    if paths:
        if targets or approve_all:
            raise click.UsageError("--paths only lists; it takes no TARGETS and no --all")
        for post in waiting:
            click.echo(_relative(post.path))
        return
    if not targets and not approve_all:
        for post in waiting:
            console.print(
                f"{_relative(post.path)}  [dim]{post.handle} · {post.date[:10]}[/dim]",
                soft_wrap=True,
            )
        console.print(
            f"{len(waiting)} draft(s). Publish with: chorus approve --all, "
            "or chorus approve HANDLE|FILE ...",
            soft_wrap=True,
        )
        return
    chosen = []
    for post in waiting:
        if approve_all or post.handle in targets or _matches_file(post.path, targets):
            chosen.append(post.path)
    unmatched = [
        t
        for t in targets
        if t not in {p.handle for p in waiting}
        and not any(_matches_file(p.path, (t,)) for p in waiting)
    ]
    for target in unmatched:
        errors.print(
            f"[yellow]no draft matches {target}[/yellow] (already published, or no "
            "such member or file)"
        )
    for path in publish(chosen):
        console.print(f"[green]published[/green] {_relative(path)}", soft_wrap=True)
    if unmatched:
        sys.exit(1)


def _matches_file(path: Path, targets: tuple[str, ...]) -> bool:
    return any(Path(target).resolve() == path.resolve() for target in targets)


@main.command()
@click.option("--publish", is_flag=True, help="Build with publishconf.py for deployment.")
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Output directory.")
@click.option("--strict", is_flag=True, help="Fail on any warning.")
@pass_site
def build(site: Site, publish: bool, output: Path | None, strict: bool) -> None:
    """Build the site with Pelican (offline: posts are already in content/).

    Example: chorus build --publish
    """
    _run_pelican(site, publish=publish, output=output, extra=["--fatal", "warnings"] * strict)


@main.command()
@click.option("-p", "--port", default=8000, show_default=True, help="Port to listen on.")
@click.option("-b", "--bind", default="127.0.0.1", show_default=True, help="Address to bind.")
@pass_site
def serve(site: Site, port: int, bind: str) -> None:
    """Build the site, serve it locally and rebuild when files change.

    Example: chorus serve --port 8080
    """
    _run_pelican(
        site,
        publish=False,
        output=None,
        extra=["--autoreload", "--listen", "--port", str(port), "--bind", bind],
    )


def _run_pelican(site: Site, *, publish: bool, output: Path | None, extra: list[str]) -> None:
    import pelican

    settings_file = site.settings_file
    if publish:
        settings_file = settings_file.with_name("publishconf.py")
        if not settings_file.is_file():
            raise click.UsageError(f"--publish needs {settings_file}")
    arguments = ["--settings", str(settings_file), *extra]
    if output:
        arguments += ["--output", str(output)]
    pelican.main(arguments)


def _relative(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


# Command groups that live in their own modules, for the core areas they wrap.
main.add_command(mentions)
main.add_command(newsletter)
main.add_command(init)
members.add_command(members_add)
members.add_command(preview)
members.add_command(import_members)
