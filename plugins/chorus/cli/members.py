"""``chorus members check | add | preview | import``: the registry checked, and members brought
in (a thin layer over chorus.members, chorus.onboarding.newcomers and chorus.onboarding.importers).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path
from typing import Any, cast

import click
from rich.markup import escape

from chorus.cli.common import (
    Site,
    console,
    errors,
    interactive,
    pass_site,
    print_problems,
    relative,
)
from chorus.common.config import Config
from chorus.common.urls import web_url
from chorus.members.registry import CONSENTS, Consent, Member, Problem, read_member
from chorus.onboarding.importers import FORMATS, Skipped, SourceError, read_source, to_new_members
from chorus.onboarding.newcomers import (
    MemberFileError,
    MemberPreview,
    NewMember,
    check_member,
    discover_feeds,
    preview_members,
    read_feeds,
    write_member,
)


@click.group()
def members() -> None:
    """Work with the members registry (content/members/*.md)."""


@members.command("check")
@pass_site
def members_check(site: Site) -> None:
    """Validate every member file; report each problem with its file and field.

    Exits 1 if any file has a problem. Example: chorus members check
    """
    registry = site.registry()
    print_problems(registry.problems)
    from chorus.fetch.health import feed_health
    from chorus.fetch.state import load_state

    for health in feed_health(registry.members.values(), load_state(site.config.state_file)):
        if health.advice:
            errors.print(
                f"[yellow]warning[/yellow] {health.handle}: {escape(health.url)} "
                f"{escape(health.advice)}",
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


LISTED = 5  # entries listed per feed in a preview
CONSENT_HELP = (
    "How much of each post may be republished: link (title, date, link), excerpt or full."
)
OUTCOMES = {  # what the first fetch would do with an entry, as the preview says it
    "publish": "published",
    "draft": "draft",
    "filtered": "filtered out",
    "duplicate": "duplicate",
    "on the site": "already here",
}
WHAT_CONSENT_KEEPS = {
    "link": "title, date and link only",
    "excerpt": "a short excerpt",
    "full": "the whole post",
}


# chorus members add --------------------------------------------------------------------------


@click.command("add", short_help="Write a new member file (and check its feed).")
@click.argument("handle")
@click.option("--name", help="The member's display name.")
@click.option("--site", "site_url", help="The member's home page (http or https).")
@click.option(
    "--feed",
    "feeds",
    multiple=True,
    help="A feed URL (RSS, Atom or JSON Feed); repeat for more. Without one, the feed is "
    'found from the home page (its <link rel="alternate"> feeds), with or without --check.',
)
@click.option("--avatar", help="An http(s) URL, or a path under content/.")
@click.option(
    "--consent",
    type=click.Choice(CONSENTS),
    default="excerpt",
    show_default=True,
    help=CONSENT_HELP,
)
@click.option(
    "--trusted/--not-trusted",
    default=False,
    show_default=True,
    help="Publish their posts without review.",
)
@click.option(
    "--link",
    "links",
    multiple=True,
    metavar="LABEL=URL",
    help="A profile link, e.g. github=https://github.com/ada or fediverse=@ada@social.example; "
    "repeat for more.",
)
@click.option("--include-tag", "include_tags", multiple=True, help="Only take posts with a tag.")
@click.option("--exclude-tag", "exclude_tags", multiple=True, help="Never take posts with a tag.")
@click.option(
    "--joined",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="When they joined; the newsletter welcomes them.  [default: today]",
)
@click.option("--bio", default="", help="A short bio, in Markdown.")
@click.option(
    "--check/--no-check",
    default=True,
    show_default=True,
    help="Fetch the feeds once and show what the first fetch would bring; refuse a feed "
    "that cannot be read. --no-check writes the file without fetching the feed (the home "
    "page is still read to find a feed when --feed is not given).",
)
@click.option("--no-input", is_flag=True, help="Never ask; fail if an answer is missing.")
@click.pass_obj
def add(
    site: Site,
    handle: str,
    name: str | None,
    site_url: str | None,
    feeds: tuple[str, ...],
    avatar: str | None,
    consent: str,
    trusted: bool,
    links: tuple[str, ...],
    include_tags: tuple[str, ...],
    exclude_tags: tuple[str, ...],
    joined: datetime | None,
    bio: str,
    check: bool,
    no_input: bool,
) -> None:
    """Write content/members/HANDLE.md, checked exactly as `chorus members check` checks
    member files; nothing is written if it would not pass.

    With --check (the default) the feeds are fetched once, through the same code and limits
    as `chorus fetch`, and the command shows what the first fetch would bring: how many
    posts, their titles, and what the member's consent keeps of them. No post is written. A
    feed that cannot be fetched or read stops the command, with nothing written.

    Without --feed, the home page is fetched and the feed it links to is used (feed
    discovery, as readers do it); this does not depend on --check. Asks for a missing name,
    site or feed when a terminal is there to answer.

    \b
    Example:
      chorus members add ada --name "Ada Lovelace" --site https://ada.example/ \\
          --feed https://ada.example/feed.xml --consent full --link github=https://github.com/ada
    """
    config = site.config
    can_ask = not no_input and interactive()
    name = name or (click.prompt("Name") if can_ask else None)
    site_url = site_url or (click.prompt("Home page (https://...)") if can_ask else None)
    missing = [option for option, value in (("--name", name), ("--site", site_url)) if not value]
    if missing:
        raise click.UsageError(
            f"missing {', '.join(missing)}: give them as options, or run the command in a "
            "terminal to be asked"
        )
    assert name and site_url
    if not feeds:
        feeds = _find_feeds(site_url, config, can_ask=can_ask)
    new = NewMember(
        handle=handle,
        name=name,
        site=site_url,
        feeds=tuple(dict.fromkeys(feeds)),
        avatar=avatar,
        links=_links(links),
        consent=cast(Consent, consent),  # click.Choice(CONSENTS)
        trusted=trusted,
        include_tags=include_tags,
        exclude_tags=exclude_tags,
        joined=joined.date() if joined else date.today(),
        bio=bio,
    )
    where = _where(site)
    try:
        path, member = check_member(new, **where)
    except MemberFileError as error:
        print_problems(error.problems)
        errors.print("Nothing was written.", soft_wrap=True)
        sys.exit(1)
    if check:
        [preview] = preview_members([member], config)
        _print_preview(preview)
        if not preview.ok:
            errors.print(
                f"Nothing was written: fix the feed URL, or add --no-check to write "
                f"{escape(relative(path))} anyway.",
                soft_wrap=True,
            )
            sys.exit(1)
    try:
        path, member = write_member(new, **where)
    except MemberFileError as error:  # the file appeared meanwhile
        print_problems(error.problems)
        sys.exit(1)
    console.print(
        f"[green]wrote[/green] {escape(relative(path))}. Commit it (or open a pull request); "
        f"`chorus fetch {member.handle}` brings the posts in.",
        soft_wrap=True,
    )


def _find_feeds(site_url: str, config: Config, *, can_ask: bool) -> tuple[str, ...]:
    """The feed the home page links to; asked for, or a usage error, when there is none."""
    found_error = None
    if web_url(site_url):
        found = discover_feeds(site_url, config)
        if found.feeds:
            first, others = found.feeds[0], found.feeds[1:]
            console.print(f"Found the feed {escape(first)} on {escape(site_url)}", soft_wrap=True)
            if others:
                console.print(
                    "  also linked there (add with --feed if they carry other posts): "
                    + ", ".join(escape(feed) for feed in others),
                    soft_wrap=True,
                )
            return (first,)
        found_error = found.error or "it links to no feed"
        errors.print(
            f"[yellow]no feed found[/yellow] on {escape(site_url)}: {escape(found_error)}",
            soft_wrap=True,
        )
    if can_ask:
        return (click.prompt("Feed URL"),)
    why = f"no feed found on {site_url} ({found_error})" if found_error else "no feed given"
    raise click.UsageError(f"{why}: give the member's feed with --feed URL")


def _links(pairs: Iterable[str]) -> tuple[tuple[str, str], ...]:
    links = []
    for pair in pairs:
        label, sep, url = pair.partition("=")
        if not sep or not label.strip() or not url.strip():
            raise click.BadParameter(f"{pair!r} is not LABEL=URL", param_hint="--link")
        links.append((label.strip(), url.strip()))
    return tuple(links)


# chorus members preview ----------------------------------------------------------------------


@click.command("preview", short_help="Check member files and preview their first fetch.")
@click.argument("files", nargs=-1, type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--limit",
    default=LISTED,
    show_default=True,
    type=click.IntRange(min=0),
    help="Entries listed per feed.",
)
@click.pass_obj
def preview(site: Site, files: tuple[Path, ...], limit: int) -> None:
    """Validate member files (FILES, or every member file) and show what the first fetch
    of their feeds would bring: the posts, which would be published or wait as drafts,
    which the tag filters keep out, which are on the site already, and what the member's
    consent keeps of each. Nothing is written.

    Made for a check on pull requests that add or change member files (the site template's
    members.yml runs it on the changed files). Exits 1 if a file is invalid or a feed cannot
    be fetched or read.

    \b
    Example:
      chorus members preview content/members/ada.md
    """
    config = site.config
    registry = site.registry()
    problems: list[Problem] = []
    chosen: list[Member] = []
    if not files:
        problems += registry.problems
        chosen = list(registry.members.values())
    for path in files:
        member, found = read_member(
            path, content_dir=config.content_dir, local_feeds_dir=config.local_feeds_dir
        )
        problems += found
        # What the registry found of this file among the others (a feed another lists too).
        problems += [
            problem
            for problem in registry.problems
            if problem.path.resolve() == path.resolve() and problem not in found
        ]
        if member is None:
            continue
        for other in registry.members.values():
            if other.source and other.source.resolve() == path.resolve():
                continue
            if other.handle.casefold() == member.handle.casefold():
                problems.append(
                    Problem(path, "handle", f"{member.handle!r} is taken by {other.source}")
                )
            for feed in sorted(set(other.feeds) & set(member.feeds)):
                problems.append(Problem(path, "feeds", f"{feed} is already {other.handle}'s"))
        chosen.append(member)
    print_problems(problems)
    previews = preview_members(chosen, config) if chosen else []
    for shown in previews:
        _print_preview(shown, limit=limit)
    failed = sum(not shown.ok for shown in previews)
    if problems or failed:
        errors.print(
            f"{len(problems)} problem(s) in member files, {failed} member(s) with a feed "
            "that cannot be used (format: docs/members.md).",
            soft_wrap=True,
        )
        sys.exit(1)
    console.print(
        f"[green]✓[/green] {len(previews)} member(s) checked; every feed can be read.",
        soft_wrap=True,
    )


def _print_preview(shown: MemberPreview, *, limit: int = LISTED) -> None:
    member = shown.member
    review = "published at once (trusted)" if member.trusted else "drafts until approved"
    console.print(
        f"\n[bold]{escape(member.handle)}[/bold]: {escape(member.name)} <{escape(member.site)}>"
        f"\n  consent {member.consent}: {WHAT_CONSENT_KEEPS[member.consent]}; posts are "
        f"{review}",
        soft_wrap=True,
    )
    for feed in shown.feeds:
        if not feed.ok:
            console.print(
                f"  [red]✗ {escape(feed.url)}[/red]: {escape(feed.error or '')}", soft_wrap=True
            )
            continue
        console.print(
            f"  [green]✓[/green] {escape(feed.url)}: “{escape(feed.title or '')}”, "
            f"{len(feed.entries)} entr{'y' if len(feed.entries) == 1 else 'ies'}",
            soft_wrap=True,
        )
        if feed.moved_to:
            console.print(
                f"    [yellow]moved[/yellow] permanently to {escape(feed.moved_to)}: use that "
                "URL in the member file",
                soft_wrap=True,
            )
        if feed.warning:
            console.print(f"    [yellow]warning[/yellow] {escape(feed.warning)}", soft_wrap=True)
        # In the words of the fetch report (LeftOut.notes), so that the two always agree.
        for note in feed.left_out.notes():
            console.print(f"    [yellow]skipped[/yellow] {escape(note)}", soft_wrap=True)
        counts: dict[str, int] = {}
        for entry in feed.entries:
            counts[entry.outcome] = counts.get(entry.outcome, 0) + 1
        if counts:
            console.print(
                "    the first fetch: "
                + ", ".join(
                    f"{counts[what]} {label}" for what, label in OUTCOMES.items() if what in counts
                ),
                soft_wrap=True,
            )
        else:
            console.print("    [yellow]no entries yet[/yellow]", soft_wrap=True)
        for entry in feed.entries[:limit]:
            when = entry.published.date().isoformat() if entry.published else "undated   "
            kept = f"{entry.kept_chars} characters" if entry.kept_chars else "title and link"
            note = f" ({entry.why})" if entry.why else f" ({kept})"
            console.print(
                f"    {when}  {OUTCOMES[entry.outcome]:<12} {escape(entry.title)}{escape(note)}",
                soft_wrap=True,
            )
        if len(feed.entries) > limit:
            console.print(f"    ... and {len(feed.entries) - limit} more", soft_wrap=True)


# chorus members import -----------------------------------------------------------------------


@click.command("import", short_help="Write member files from another aggregator's feed list.")
@click.argument("source", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option(
    "--format",
    "kind",
    type=click.Choice(FORMATS),
    help="venus (Planet config.ini), rawdog (config), opml, pelican (PLANET_FEEDS in a "
    "settings file).  [default: guessed]",
)
@click.option(
    "--consent",
    type=click.Choice(CONSENTS),
    default="excerpt",
    show_default=True,
    help=CONSENT_HELP,
)
@click.option(
    "--trusted/--not-trusted",
    default=False,
    show_default=True,
    help="Publish the members' posts without review.",
)
@click.option(
    "--check/--no-check",
    default=True,
    show_default=True,
    help="Fetch every feed once: fill in missing names and home pages from the feeds, and "
    "leave out feeds that cannot be read.",
)
@click.option("--dry-run", is_flag=True, help="Show what would be written; write nothing.")
@click.pass_obj
def import_members(
    site: Site,
    source: Path,
    kind: str | None,
    consent: str,
    trusted: bool,
    check: bool,
    dry_run: bool,
) -> None:
    """Write one member file per person of another aggregator's feed list: a Planet Venus
    config.ini, a rawdog config, an OPML file, or the PLANET_FEEDS of a Pelican planet
    plugin's settings. Feeds with the same name become one member with several feeds.

    Every file is checked as `chorus members check` would; existing members and feeds are
    left alone. Review the files (consent above all: the default is excerpt), then commit
    them. Exits 1 if a feed could not be read or a file would be invalid; the others are
    written.

    \b
    Example:
      chorus members import ~/planet/config.ini --dry-run
      chorus members import ~/planet/config.ini --consent link
    """
    config = site.config
    registry = site.registry()
    try:
        kind, candidates, skipped = read_source(source, kind)
    except SourceError as error:
        raise click.ClickException(str(error)) from None
    failures = 0
    parsed = {}
    if check and candidates:
        read = read_feeds([c.feed for c in candidates], config)
        usable = []
        for candidate in candidates:
            feed, _ = read[candidate.feed]
            if isinstance(feed, str):
                failures += 1
                skipped.append(Skipped(f"{candidate.where}: {candidate.feed}", feed))
            else:
                parsed[candidate.feed] = feed
                usable.append(candidate)
        candidates = usable
    new_members, more = to_new_members(
        candidates,
        taken_handles=registry.members,
        taken_feeds=[feed for member in registry.members.values() for feed in member.feeds],
        feeds=parsed,
        consent=cast(Consent, consent),  # click.Choice(CONSENTS)
        trusted=trusted,
    )
    skipped += more
    where = _where(site)
    written = 0
    for new in new_members:
        try:
            if dry_run:
                path, _ = check_member(new, **where)
            else:
                path, _ = write_member(new, **where)
        except MemberFileError as error:
            failures += 1
            print_problems(error.problems)
            continue
        written += 1
        verb = "would write" if dry_run else "wrote"
        console.print(
            f"[green]{verb}[/green] {escape(relative(path))}: {escape(new.name)}, "
            f"{len(new.feeds)} feed(s)",
            soft_wrap=True,
        )
    for item in skipped:
        console.print(
            f"[yellow]skipped[/yellow] {escape(item.what)}: {escape(item.why)}", soft_wrap=True
        )
    console.print(
        f"{written} member file(s) {'would be ' if dry_run else ''}written from "
        f"{escape(str(source))} ({kind}); consent {consent}, "
        f"{'trusted' if trusted else 'not trusted'}. Review them, then commit.",
        soft_wrap=True,
    )
    if failures:
        sys.exit(1)


# Shared ---------------------------------------------------------------------------------------


def _where(site: Site) -> dict[str, Any]:
    """Where member files go and what they are checked against."""
    config = site.config
    return {
        "members_dir": config.members_dir,
        "content_dir": config.content_dir,
        "local_feeds_dir": config.local_feeds_dir,
        "registry": site.registry(),
    }


members.add_command(add)
members.add_command(preview)
members.add_command(import_members)
