"""Choose an issue's items from the site's published posts, and group them into sections."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo

from chorus.common.sanitize import plain_text
from chorus.common.urls import normalise_link
from chorus.members.registry import Member
from chorus.newsletter.issue import Item

EXCERPT_CHARS = 280  # a newsletter excerpt is a teaser: two or three lines in a mail client


@dataclass(frozen=True)
class Post:
    """A published post of the site, as the newsletter needs it (made by the CLI from Pelican's
    articles, or by tests directly)."""

    title: str  # plain text
    url: str  # relative to SITEURL
    date: datetime  # aware
    category: str | None = None
    tags: tuple[str, ...] = ()
    member: str | None = None  # the member's handle (curated posts, `Member:` articles)
    authors: tuple[str, ...] = ()  # the names Pelican has for it
    original_url: str | None = None  # curated posts: the original
    summary: str = ""  # plain text
    consent: str | None = None  # curated posts: link | excerpt | full


def in_period(post: Post, start: date, end: date, timezone: tzinfo) -> bool:
    """Whether the post was published on a day of the period, in the site's time zone."""
    return start <= post.date.astimezone(timezone).date() <= end


def collect(
    posts: Iterable[Post],
    *,
    start: date,
    end: date,
    timezone: tzinfo,
    members: Mapping[str, Member],
    sections: Sequence[tuple[str, str]] = (),
    exclude: Iterable[str] = (),
    excerpt_chars: int = EXCERPT_CHARS,
) -> list[Item]:
    """The period's posts as items, grouped by section and oldest first within a section.

    A post's section is the label of the first of ``sections`` (casefolded tag, label) that it
    is tagged with, else its category. Sections named in ``sections`` come first, in that
    order, then the others by name. The same post (by our URL or its original) appears once.
    Posts of members whose file says ``newsletter: false`` are left out.
    """
    excluded = [url.strip() for url in exclude if url.strip()]
    chosen: list[tuple[Post, Item]] = []
    seen: set[str] = set()
    for post in sorted(posts, key=lambda p: (p.date, p.url)):
        if not in_period(post, start, end, timezone) or is_excluded(post, excluded):
            continue
        member = members.get(post.member) if post.member else None
        if member is not None and not member.newsletter:
            continue  # on the site, but the member keeps their posts out of the newsletter
        keys = {post.url, *(normalise_link(u) for u in [post.original_url] if u)}
        if keys & seen:
            continue
        seen |= keys
        author, shared_by = credit(post, members)
        chosen.append(
            (
                post,
                Item(
                    section=section_of(post, sections),
                    title=post.title,
                    url=post.url,
                    author=author,
                    excerpt="" if post.consent == "link" else excerpt(post.summary, excerpt_chars),
                    original_url=post.original_url,
                    shared_by=shared_by,
                ),
            )
        )
    order = {label: index for index, (_, label) in enumerate(sections)}
    chosen.sort(
        key=lambda pair: (
            order.get(pair[1].section, len(order)),
            pair[1].section.casefold(),
            pair[0].date,
            pair[0].url,
        )
    )
    return [item for _, item in chosen]


def is_excluded(post: Post, exclude: Sequence[str]) -> bool:
    """Whether the editor left the post out, naming our page (relative or absolute) or the
    original."""
    ours = "/" + post.url.strip("/")
    original = normalise_link(post.original_url) if post.original_url else None
    for url in exclude:
        if ("/" + url.split("://", 1)[-1].strip("/")).endswith(ours) and ours != "/":
            return True
        if original and "://" in url and normalise_link(url) == original:
            return True
    return False


def section_of(post: Post, sections: Sequence[tuple[str, str]]) -> str:
    tags = {tag.casefold() for tag in post.tags}
    for tag, label in sections:
        if tag in tags:
            return label
    return post.category or "Posts"


def credit(post: Post, members: Mapping[str, Member]) -> tuple[str, str | None]:
    """(author, shared_by): who wrote the post, and the member who shared it if not them.

    A member's post is theirs unless its authors name someone else (a guest post on their
    blog, an article an editor published for them); then the writer is the author and the
    member shared it.
    """
    names = [name for name in post.authors if name.strip()]
    member = members.get(post.member) if post.member else None
    if member is None:
        return (" and ".join(names) or post.member or ""), None
    mine = member.name.casefold()
    if not names or any(name.casefold() == mine for name in names):
        return member.handle, None
    return " and ".join(names), member.handle


def excerpt(text: str, limit: int) -> str:
    """Plain text of at most ``limit`` characters, cut at a word, with an ellipsis if cut."""
    text = plain_text(text)
    if len(text) <= limit:
        return text
    room = text[: limit - 1]
    cut = room.rsplit(" ", 1)[0] if " " in room else room
    return cut.rstrip(" ,.;:-\u2014\u2013") + "\u2026"


def new_members(members: Mapping[str, Member], start: date, end: date) -> list[str]:
    """Handles of the members who joined in the period, by date then name."""
    joined = [m for m in members.values() if m.joined and start <= m.joined <= end]
    return [m.handle for m in sorted(joined, key=lambda m: (m.joined, m.name.casefold()))]


def default_summary(items: Sequence[Item], names: Mapping[str, str], limit: int = 130) -> str:
    """A preheader for an issue whose editor wrote none: how many posts, by whom, which."""
    if not items:
        return ""
    people = {names.get(item.author, item.author) for item in items if item.author}
    text = f"{len(items)} post{'s' * (len(items) != 1)}"
    if people:
        text += f" by {len(people)} {'people' if len(people) != 1 else 'person'}"
    titles = [f"\u201c{item.title}\u201d" for item in items]
    shown: list[str] = []
    for title in titles:
        if len(text) + len(", ".join([*shown, title])) + 12 > limit:
            break
        shown.append(title)
    if not shown:
        return text + "."
    more = " and more" if len(shown) < len(titles) else ""
    return f"{text}: {', '.join(shown)}{more}."
