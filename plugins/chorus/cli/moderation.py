"""``chorus remove``, ``chorus reject`` and ``chorus members remove``: take posts down, turn
drafts away and let members leave, each recorded so that no fetch undoes it (a thin layer over
chorus.moderation)."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import click
from rich.markup import escape

from chorus.cli.common import Site, console, errors, interactive, pass_site, relative
from chorus.members.takedowns import Takedowns, TakedownsError, load_takedowns
from chorus.moderation.posts import (
    NoSuchPost,
    Post,
    find_post,
    keep_as_link,
    site_posts,
    take_down,
)

LEAVING_CHOICES = {
    "keep-links": "keep their posts as link-only entries: title, date and a link to the "
    "original, none of their text",
    "remove-posts": "take every post down: each address keeps a small page saying it was "
    "removed at the author's request",
}


def takedowns_of(site: Site) -> Takedowns:
    """The site's takedowns file, or a usage error naming it."""
    try:
        return load_takedowns(site.config.takedowns_file)
    except TakedownsError as error:
        raise click.ClickException(str(error)) from None


def _next_step(site: Site, message: str) -> None:
    content = relative(site.config.content_dir)
    console.print(
        f"Next: git add -A {escape(content)} && git commit -m {escape(repr(message))}",
        soft_wrap=True,
    )


def _take_down(site: Site, posts: list[Post], message: str) -> None:
    config = site.config
    try:
        take_down(config, posts, today=date.today())
    except TakedownsError as error:
        raise click.ClickException(str(error)) from None
    for post in posts:
        if post.stored.status == "draft":
            console.print(f"[red]rejected[/red] {escape(relative(post.stored.path))}")
        else:
            console.print(
                f"[red]removed[/red]  {escape(relative(post.stored.path))}; {escape(post.url)} "
                "now says it was removed at the author's request",
                soft_wrap=True,
            )
    if posts:
        console.print(
            f"Recorded in {escape(relative(config.takedowns_file))}: no fetch brings "
            f"{'them' if len(posts) != 1 else 'it'} back.",
            soft_wrap=True,
        )
        _next_step(site, message)


@click.command("remove")
@click.argument("posts", nargs=-1, required=True)
@pass_site
def remove(site: Site, posts: tuple[str, ...]) -> None:
    """Take curated posts down, for good: no later fetch brings them back.

    Each of POSTS is a post file, its address on this site or its original URL. The file is
    deleted, the post leaves every listing and feed, and its address keeps a small page that
    says it was removed at the author's request (noindex). Recorded in content/takedowns.yml.
    Then `chorus mentions send` tells the pages it linked to that it is gone.

    \b
    Example:
      chorus remove https://ada.example/2026/11/looms/
    """
    takedowns_of(site)  # a broken takedowns file stops us before anything is deleted
    known = site_posts(site.config, site.settings)
    chosen: list[Post] = []
    missing = 0
    for target in posts:
        try:
            post = find_post(known, target, site.config.site_url)
        except NoSuchPost as error:
            errors.print(f"[red]error[/red] {escape(str(error))}", soft_wrap=True)
            missing += 1
            continue
        if post not in chosen:
            chosen.append(post)
    _take_down(site, chosen, "Take down posts at their authors' request")
    if missing:
        sys.exit(1)


@click.command("reject")
@click.argument("targets", nargs=-1)
@click.option("--all", "reject_all", is_flag=True, help="Reject every draft.")
@pass_site
def reject(site: Site, targets: tuple[str, ...], reject_all: bool) -> None:
    """Turn drafts away for good: delete them and record them so no fetch writes them again.

    TARGETS are draft files or member handles (all of that member's drafts); --all rejects
    every draft. Recorded in content/takedowns.yml; `chorus approve` lists the drafts left.

    \b
    Example:
      chorus reject content/community/grace/some-post-1a2b3c4d.html
    """
    if not targets and not reject_all:
        raise click.UsageError("say which drafts: HANDLE or FILE ..., or --all")
    takedowns_of(site)
    waiting = [
        post for post in site_posts(site.config, site.settings) if post.stored.status == "draft"
    ]
    chosen = [
        post
        for post in waiting
        if reject_all or post.stored.handle in targets or _is_file(post, targets)
    ]
    unmatched = [
        target
        for target in targets
        if not any(post.stored.handle == target or _is_file(post, (target,)) for post in waiting)
    ]
    for target in unmatched:
        errors.print(
            f"[yellow]no draft matches {escape(target)}[/yellow] (published posts are taken "
            "down with chorus remove)",
            soft_wrap=True,
        )
    if not chosen:
        console.print("No draft rejected.")
    _take_down(site, chosen, "Reject drafts")
    if unmatched:
        sys.exit(1)


def _is_file(post: Post, targets: tuple[str, ...]) -> bool:
    return any(Path(target).resolve() == post.stored.path.resolve() for target in targets)


@click.command("remove")
@click.argument("handle")
@click.option(
    "--keep-links", "choice", flag_value="keep-links", help=LEAVING_CHOICES["keep-links"] + "."
)
@click.option(
    "--remove-posts",
    "choice",
    flag_value="remove-posts",
    help=LEAVING_CHOICES["remove-posts"] + ".",
)
@pass_site
def members_remove(site: Site, handle: str, choice: str | None) -> None:
    """A member leaves: remove their member file, and keep their posts as links or take them down.

    Asked which when neither --keep-links nor --remove-posts is given at a terminal; refused
    elsewhere (a script must say). Taken-down posts are recorded in content/takedowns.yml so
    that no fetch brings them back.

    \b
    Example:
      chorus members remove ada --keep-links
    """
    config = site.config
    registry = site.registry()
    member = registry.members.get(handle)
    member_file = member.source if member else config.members_dir / f"{handle}.md"
    if member_file is None or not member_file.is_file():
        raise click.UsageError(f"no member with handle {handle} (no {relative(member_file)})")
    takedowns_of(site)
    posts = [post for post in site_posts(config, site.settings) if post.stored.handle == handle]
    count = f"{len(posts)} post{'s' * (len(posts) != 1)}"
    if choice is None:
        options = "; ".join(f"--{name}: {what}" for name, what in LEAVING_CHOICES.items())
        if not interactive():
            raise click.UsageError(f"say what happens to {handle}'s {count}: {options}")
        console.print(f"{escape(handle)} has {count} on the site.", soft_wrap=True)
        for name, what in LEAVING_CHOICES.items():
            console.print(f"  [bold]{name}[/bold]: {escape(what)}", soft_wrap=True)
        choice = click.prompt(
            "What happens to their posts?", type=click.Choice(list(LEAVING_CHOICES))
        )
    member_file.unlink()
    console.print(f"[red]removed[/red]  {escape(relative(member_file))}", soft_wrap=True)
    if choice == "remove-posts":
        _take_down(site, posts, f"Remove {handle} and their posts, at their request")
        if not posts:
            _next_step(site, f"Remove {handle}, at their request")
        return
    changed = keep_as_link(post.stored.path for post in posts)
    for path in changed:
        console.print(f"[yellow]link only[/yellow] {escape(relative(path))}", soft_wrap=True)
    console.print(
        f"{len(posts)} post{'s' * (len(posts) != 1)} kept as links to the originals "
        f"({len(changed)} rewritten); none of {escape(handle)}'s text is republished.",
        soft_wrap=True,
    )
    _next_step(site, f"Remove {handle}, keeping their posts as links, at their request")
