"""Credit data for templates: the member as readers see them, with their posts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import markdown

from chorus.members import Member
from chorus.sanitize import sanitize_html
from chorus.urls import LOCAL_SCHEME


@dataclass
class MemberView:
    """A member as the templates show them: URLs resolved, bio rendered, posts attached."""

    member: Member
    url: str
    save_as: str
    bio: str
    articles: list[Any] = field(default_factory=list)

    def __getattr__(self, name: str) -> Any:
        # handle, name, site, consent, trusted, links, fediverse come straight from the member.
        if name.startswith("_") or name == "member":
            raise AttributeError(name)
        return getattr(self.member, name)

    @property
    def avatar(self) -> str | None:
        """An absolute URL, or a path relative to SITEURL for avatars kept under content/."""
        return self.member.avatar

    @property
    def feeds(self) -> list[str]:
        """The public feed URLs (demo files read from disk are nobody's business)."""
        return [url for url in self.member.feeds if not url.startswith(LOCAL_SCHEME)]

    @property
    def latest(self) -> datetime | None:
        return self.articles[0].date if self.articles else None


def member_views(
    members: dict[str, Member], url_pattern: str, save_as_pattern: str
) -> dict[str, MemberView]:
    """One view per member, in handle order."""
    return {
        handle: MemberView(
            member=member,
            url=url_pattern.format(handle=handle),
            save_as=save_as_pattern.format(handle=handle),
            bio=render_bio(member.bio),
        )
        for handle, member in members.items()
    }


def by_activity(views: dict[str, MemberView]) -> list[MemberView]:
    """Most recently active first; members who have not posted yet last, by name."""
    active = sorted((v for v in views.values() if v.articles), key=lambda v: v.latest, reverse=True)
    quiet = sorted((v for v in views.values() if not v.articles), key=lambda v: v.name.casefold())
    return active + quiet


def render_bio(text: str) -> str:
    """A member's Markdown bio as sanitized HTML."""
    return sanitize_html(markdown.markdown(text, output_format="html")) if text else ""
