"""``chorus fetch`` and ``chorus approve``: bring members' posts in, print what happened, and
publish the drafts an editor has reviewed (thin commands over ``chorus.fetch``)."""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Column, Table

from chorus.cli.common import Site, console, errors, pass_site, print_problems, relative

if TYPE_CHECKING:
    from chorus.common.config import Config
    from chorus.fetch.run import FetchReport, MemberReport
    from chorus.members.registry import Member

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


@click.command()
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
    from chorus.fetch.run import run_fetch
    from chorus.members.takedowns import TakedownsError

    config = site.config
    registry = site.registry()
    # A broken member file costs only that member: the others are fetched as usual.
    if not registry.ok:
        print_problems(registry.problems)
        troubled = {problem.path for problem in registry.problems}
        in_use = troubled & {member.source for member in registry.members.values()}
        if unusable := len(troubled - in_use):
            errors.print(
                f"{unusable} member file{'s' * (unusable != 1)} with errors left out of this "
                "fetch; fix them (chorus members check) and fetch again."
            )
        if in_use:
            # A feed two files list: those members are fetched, that feed for neither.
            errors.print(
                f"{len(in_use)} member file{'s' * (len(in_use) != 1)} fetched without what "
                "the errors above name; fix them (chorus members check) and fetch again."
            )
    unknown = sorted(set(handles) - set(registry.members))
    if unknown:
        raise click.UsageError(f"no member with handle {', '.join(unknown)}")
    chosen = [m for h, m in registry.members.items() if not handles or h in handles]
    total = len({url for member in chosen for url in member.feeds})
    show = console.is_terminal if progress is None else progress
    with fetch_progress(disable=not show) as bar:
        task = bar.add_task("", total=total)
        done: set[str] = set()

        def advance(feed: Any) -> None:
            if feed.url not in done:
                done.add(feed.url)
                bar.update(task, advance=1, description=feed.url)

        try:
            report = run_fetch(config, chosen, on_feed_done=advance)
        except TakedownsError as error:
            raise click.ClickException(f"{error}; nothing was fetched") from None
    trusted = frozenset(member.handle for member in chosen if member.trusted)
    consent = {member.handle: member.consent for member in chosen}
    _print_report(report, trusted=trusted, every_member=every_member, consent=consent)
    if config.fetch_images:
        _fetch_images(config, report)
        # Avatars no member gives are deleted only when every member file was read.
        _fetch_avatars(config, chosen, every_member=not handles and registry.ok)
    sys.exit(0 if report.ok and registry.ok else 1)


def _fetch_avatars(config: Config, members: list[Member], *, every_member: bool) -> None:
    """Keep members' avatars in the repository, resized (chorus.fetch.avatars); a failure
    keeps the avatar fetched before and is named, but fails no fetch."""
    from chorus.fetch.avatars import fetch_avatars

    avatars = fetch_avatars(config, members, every_member=every_member)
    if avatars.fetched or avatars.failed or avatars.removed:
        removed = f", {len(avatars.removed)} removed (no member gives them)"
        console.print(
            f"Avatars: {len(avatars.fetched)} fetched, {avatars.unchanged} unchanged, "
            f"{len(avatars.failed)} failed{removed if avatars.removed else ''}",
            soft_wrap=True,
        )
    for handle, (url, why) in sorted(avatars.failed.items()):
        console.print(
            f"  [yellow]avatar[/yellow]  {escape(handle)}: {escape(url)}: {escape(why)} "
            "(the avatar kept before, or a generated picture, is shown)",
            soft_wrap=True,
        )


def _fetch_images(config: Config, report: FetchReport) -> None:
    """Keep the images of the posts this run wrote in the repository (chorus.fetch.media),
    and of those an interrupted run wrote before it could."""
    from chorus.fetch.media import localise_post_images, pending_images

    pending = pending_images(config)
    written = [
        config.community_dir / path
        for member in report.members
        for path in (*member.new, *member.updated)
    ]
    written = list(dict.fromkeys([*pending.posts(), *written]))
    media = localise_post_images(config, written) if written else None
    pending.clear()
    if media is None:
        return
    if media.fetched or media.failed:
        console.print(
            f"Images: {media.fetched} fetched ({media.bytes_written / 1e6:.1f} MB new), "
            f"{media.kept} already kept, {len(media.failed)} left on their sites",
            soft_wrap=True,
        )
    for url, why in list(media.failed.items())[:LIST_AT_MOST]:
        console.print(f"  [yellow]image[/yellow]   {escape(url)}: {escape(why)}", soft_wrap=True)


def fetch_progress(*, disable: bool) -> Progress:
    """The fetch's progress bar: the bar keeps its width, the URL after it is cut to fit."""
    return Progress(
        TextColumn("Fetching"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        # The one column that takes what is left of the line, and only that; a feed URL is
        # text, not markup.
        TextColumn("{task.description}", markup=False, table_column=Column(ratio=1, no_wrap=True)),
        console=errors,
        disable=disable,
        transient=True,
        expand=True,
    )


def natural_key(text: str) -> list[Any]:
    """Sort key for "natural" order: m4 before m37, case aside."""
    parts = re.split(r"(\d+)", text, flags=re.ASCII)
    # re.split with a group: the digit runs are at the odd places.
    return [int(part) if index % 2 else part.casefold() for index, part in enumerate(parts)]


def _print_report(
    report: FetchReport,
    *,
    trusted: frozenset[str] = frozenset(),
    every_member: bool = False,
    consent: dict[str, str] | None = None,
) -> None:
    """The report; new posts of members not in ``trusted`` are drafts waiting for review;
    ``consent`` gives each member's, for the posts rewritten to follow it."""
    consent = consent or {}
    listed_members = sorted(report.members, key=lambda member: natural_key(member.handle))
    if not every_member and len(report.members) > QUIET_MEMBERS_LISTED:
        # On a large site the members with nothing new would bury the ones with news.
        listed_members = [member for member in listed_members if _has_news(member)]
    table = Table(title="Fetch report", title_justify="left", show_edge=False)
    # Handles are never cut ("daringfireball-…" three times tells the rows apart for nobody):
    # the member column is as wide as the longest, and the counts' headings wrap instead.
    widest = max((len(member.handle) for member in listed_members), default=6)
    table.add_column("member", justify="left", no_wrap=True, min_width=widest)
    for column in ("new", "updated", "unchanged", "skipped", "not modified", "failed"):
        table.add_column(column, justify="left" if column == "failed" else "right")
    for member in listed_members:
        failed = len(member.failed)
        table.add_row(
            member.handle,
            _count(len(member.new), "green"),
            _count(len(member.updated), "yellow"),
            str(member.unchanged),
            str(member.left_out + member.filtered + member.duplicates),
            str(member.not_modified),
            _count(failed, "red"),
        )
    if listed_members:
        console.print(table)
        console.print(
            "[dim]new/updated/unchanged: posts; skipped: entries left out of their feed "
            "(listed below), filtered out by tags or already posted by someone; not "
            "modified/failed: feeds[/dim]",
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
                f"  [red]failed[/red]  {member.handle}: {escape(feed.url)}: "
                f"{escape(str(feed.error))}",
                soft_wrap=True,
            )
        if listed:
            draft = "" if member.handle in trusted else " [dim](draft)[/dim]"
            for path in member.new:
                console.print(
                    f"  [green]new[/green]     community/{escape(path)}{draft}", soft_wrap=True
                )
            for path in member.updated:
                console.print(
                    f"  [yellow]updated[/yellow] community/{escape(path)} (changed upstream)",
                    soft_wrap=True,
                )
        if member.narrowed:
            count = len(member.narrowed)
            console.print(
                f"  [yellow]narrowed[/yellow] {member.handle}: {count} post file"
                f"{'s' * (count != 1)} rewritten to hold no more than their consent "
                f"({consent.get(member.handle, '?')}) keeps; git history still has the old "
                "text (docs/members.md says how to purge it)",
                soft_wrap=True,
            )
        if member.reread:
            console.print(
                f"  [green]widened[/green] {member.handle}: consent "
                f"{consent.get(member.handle, '?')}; their feeds were read again in full",
                soft_wrap=True,
            )
        if member.rejected or member.removed:
            console.print(
                f"  [dim]kept out[/dim] {member.handle}: {member.rejected} rejected, "
                f"{member.removed} taken down (content/takedowns.yml)",
                soft_wrap=True,
            )
        for feed in member.feeds:
            if feed.moved_to:
                console.print(
                    f"  [yellow]moved[/yellow]   {member.handle}: {escape(feed.url)} now "
                    f"redirects permanently to {escape(feed.moved_to)}; update the member file",
                    soft_wrap=True,
                )
            if feed.warning:
                console.print(
                    f"  [yellow]warning[/yellow] {member.handle}: {escape(feed.url)}: "
                    f"{escape(feed.warning)}",
                    soft_wrap=True,
                )
            for note in feed.left_out.notes():
                console.print(
                    f"  [yellow]skipped[/yellow] {member.handle}: {escape(feed.url)}: "
                    f"{escape(note)}",
                    soft_wrap=True,
                )
    drafts = sum(len(m.new) for m in report.members if m.handle not in trusted)
    if drafts:
        console.print(
            f"{drafts:,} of the new posts {'are drafts' if drafts != 1 else 'is a draft'} "
            "waiting for review: chorus approve lists the drafts, chorus approve --all "
            "publishes them.",
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
        or member.narrowed
        or member.reread
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


@click.command()
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
    from chorus.fetch.store import approve as publish
    from chorus.fetch.store import drafts, read_title

    root = site.config.community_dir
    waiting = sorted(drafts(root), key=lambda post: natural_key(str(post.path.relative_to(root))))
    if paths:
        if targets or approve_all:
            raise click.UsageError("--paths only lists; it takes no TARGETS and no --all")
        for post in waiting:
            click.echo(relative(post.path))
        return
    if not targets and not approve_all:
        _print_rejected(site)
        if not waiting:
            console.print("No drafts are waiting for review.")
            return
        for post in waiting:
            console.print(
                f"[bold]{escape(read_title(post.path))}[/bold]  "
                f"[dim]{escape(post.handle)} · {escape(post.date[:10])}[/dim]\n"
                f"  {escape(relative(post.path))}",
                soft_wrap=True,
            )
        count = len(waiting)
        console.print(
            f"{count} draft{'s' * (count != 1)} waiting for review. Publish with: "
            "chorus approve --all, or chorus approve HANDLE|FILE ...",
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
        console.print(f"[green]published[/green] {relative(path)}", soft_wrap=True)
    if unmatched:
        sys.exit(1)


def _print_rejected(site: Site) -> None:
    """The entries rejected so far, per member: kept out of every fetch."""
    from chorus.members.takedowns import TakedownsError, load_takedowns

    try:
        takedowns = load_takedowns(site.config.takedowns_file)
    except TakedownsError as error:
        errors.print(f"[red]error[/red] {escape(str(error))}", soft_wrap=True)
        return
    counts = Counter(entry.member for entry in takedowns.entries if entry.kind == "rejected")
    if counts:
        listed = ", ".join(f"{handle} {count}" for handle, count in sorted(counts.items()))
        console.print(
            f"Rejected, kept out of every fetch: {escape(listed)} "
            f"({escape(relative(site.config.takedowns_file))})",
            soft_wrap=True,
        )


def _matches_file(path: Path, targets: tuple[str, ...]) -> bool:
    return any(Path(target).resolve() == path.resolve() for target in targets)
