"""An issue as templates show it: people resolved to names and pages, sections in order.

The same view feeds the issue page, the feed of issues and the email; URLs of our own pages
stay relative to SITEURL, and each template puts its own base in front of them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

import markdown

from chorus.common.sanitize import sanitize_html
from chorus.fetch.faces import Face
from chorus.members.registry import Member
from chorus.members.takedowns import Takedowns
from chorus.newsletter.collect import default_summary
from chorus.newsletter.issue import Issue, Item, period_label

_ANCHOR_JUNK = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class Person:
    """Someone the issue credits: a member (with their page) or a writer known by name only."""

    name: str
    handle: str | None = None
    url: str | None = None  # their member page, relative to SITEURL
    site: str | None = None  # their own home page
    avatar: str | None = None  # as in the member file: an absolute URL or a path under content/
    face: Face | None = None  # the picture pages show of them (chorus.fetch.faces)

    def photo_url(self, base: str, size: int = 64) -> str | None:
        """Their face's absolute URL (``base``: the site's), for email."""
        if self.face is None:
            return None
        source = self.face.src(size)
        return source if "://" in source else f"{base}/{source}"


@dataclass(frozen=True)
class Entry:
    """One item of an issue, ready to show."""

    title: str
    url: str  # our page, relative to SITEURL
    excerpt: str
    author: Person
    shared_by: Person | None
    original_url: str | None
    original_host: str | None


@dataclass(frozen=True)
class Section:
    name: str
    entries: tuple[Entry, ...]

    @property
    def anchor(self) -> str:
        """An id for the section's heading."""
        return "section-" + (_ANCHOR_JUNK.sub("-", self.name.casefold()).strip("-") or "posts")


@dataclass(frozen=True)
class Presented:
    """An issue with everything a template needs."""

    issue: Issue
    sections: tuple[Section, ...]
    contributors: tuple[Person, ...]
    new_members: tuple[Person, ...]
    intro_html: str
    period: str  # "16-22 November 2026" (with an en dash)

    @property
    def entry_count(self) -> int:
        return sum(len(section.entries) for section in self.sections)


def person(
    who: str,
    members: Mapping[str, Member],
    member_url: str,
    faces: Mapping[str, Face] | None = None,
) -> Person:
    """A handle becomes the member (name, page, site, face); anything else is a name."""
    member = members.get(who)
    if member is None:
        return Person(name=who)
    return Person(
        name=member.name,
        handle=member.handle,
        url=member_url.format(handle=member.handle),
        site=member.site,
        avatar=member.avatar,
        face=(faces or {}).get(member.handle),
    )


def present(
    issue: Issue,
    members: Mapping[str, Member],
    *,
    member_url: str = "members/{handle}/",
    base_url: str | None = None,
    takedowns: Takedowns | None = None,
    faces: Mapping[str, Face] | None = None,
) -> Presented:
    """The issue for templates; ``base_url`` makes the intro's relative links absolute;
    ``faces``: each member's picture, by handle.

    An issue not sent yet leaves out what changed since it was built: posts taken down, and
    posts of members who now keep theirs out of the newsletter.
    """
    if issue.status != "sent":
        issue = without_withheld(issue, members, takedowns or Takedowns())

    def who(name: str) -> Person:
        return person(name, members, member_url, faces)

    sections = tuple(
        Section(
            name,
            tuple(
                Entry(
                    title=item.title,
                    url=item.url,
                    excerpt=item.excerpt if _may_quote(item, members) else "",
                    author=who(item.author),
                    shared_by=who(item.shared_by) if item.shared_by else None,
                    original_url=item.original_url,
                    original_host=_host(item.original_url),
                )
                for item in items
            ),
        )
        for name, items in issue.sections()
    )
    return Presented(
        issue=issue,
        sections=sections,
        contributors=tuple(who(name) for name in issue.contributors()),
        new_members=tuple(who(handle) for handle in issue.new_members),
        intro_html=render_intro(issue.intro, base_url),
        period=period_label(issue.period_start, issue.period_end),
    )


def _may_quote(item: Item, members: Mapping[str, Member]) -> bool:
    """Whether the issue may show an excerpt of the item: not when it is a curated post whose
    member allows links only today, whatever they allowed when the issue was built (the member
    file is the truth: an issue not yet sent, and the site's page of every issue, follow it)."""
    if not item.original_url:
        return True  # an article of the site's own
    member = members.get(item.shared_by or "") or members.get(item.author)
    return member is None or member.consent != "link"


def without_withheld(issue: Issue, members: Mapping[str, Member], takedowns: Takedowns) -> Issue:
    """The issue without the items taken down or kept out of the newsletter by their member."""

    def withheld(item: Item) -> bool:
        people = [members.get(who) for who in (item.author, item.shared_by) if who]
        return takedowns.is_withdrawn(item.url, item.original_url) or any(
            member is not None and not member.newsletter for member in people
        )

    items = tuple(item for item in issue.items if not withheld(item))
    if len(items) == len(issue.items):
        return issue
    summary = issue.summary
    if any(item.title in summary for item in issue.items if item not in items):
        # The preheader named a post withheld since: offered anew from what is left.
        names = {handle: member.name for handle, member in members.items()}
        summary = default_summary(items, names)
    return replace(issue, items=items, summary=summary)


def render_intro(text: str, base_url: str | None = None) -> str:
    """The editor's Markdown intro as sanitized HTML, links made absolute against ``base_url``."""
    if not text.strip():
        return ""
    return sanitize_html(markdown.markdown(text, output_format="html"), base_url)


def _host(url: str | None) -> str | None:
    if not url:
        return None
    host = urlsplit(url).hostname or ""
    return host.removeprefix("www.") or None
