"""Feed entries normalised once at the boundary: nothing downstream sees parser dictionaries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from chorus.common.urls import web_url


@dataclass(frozen=True)
class Entry:
    """One feed entry: plain-text title, sanitized HTML, absolute http(s) link, aware UTC date."""

    id: str
    link: str
    title: str
    published: datetime | None
    updated: datetime | None
    author: str | None
    tags: tuple[str, ...]
    summary_html: str
    content_html: str


@dataclass(frozen=True)
class ParsedFeed:
    """A parsed feed: its metadata, its usable entries, and what was wrong with it, if anything."""

    url: str
    title: str
    site: str | None
    entries: tuple[Entry, ...]
    warning: str | None = None
    skipped: int = 0  # entries dropped as unusable (no link we can trust)
    # What an Atom <source> element repeats of the original feed:
    id: str | None = None
    self_url: str | None = None  # the feed's own URL as it declares it (http(s) only)
    updated: datetime | None = None
    author: str | None = None
    rights: str | None = None

    @property
    def public_url(self) -> str | None:
        """Where readers can subscribe: the URL we fetched, unless it was a local file."""
        return web_url(self.url) or self.self_url


class FeedError(Exception):
    """The bytes are not a feed we can read; the message says why."""
