"""Feed entries normalised once at the boundary: nothing downstream sees parser dictionaries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from chorus.common.urls import web_url


@dataclass(frozen=True)
class Enclosure:
    """A file the entry carries (a podcast's audio, a video): http(s) URL, MIME type, size."""

    url: str
    type: str  # a MIME type such as "audio/mpeg"; "" when the feed gave none we can trust
    length: int | None = None  # in bytes, when the feed says so


@dataclass(frozen=True)
class Entry:
    """One feed entry: plain-text title, sanitized HTML, absolute http(s) link, aware UTC date.

    ``link`` is the member's own permalink for the entry (where credit goes, and what relative
    URLs in it resolve against); ``external_url`` the page elsewhere that a linked-list post is
    about, if any.
    """

    id: str
    link: str
    title: str
    published: datetime | None
    updated: datetime | None
    author: str | None
    tags: tuple[str, ...]
    summary_html: str
    content_html: str
    external_url: str | None = None
    enclosures: tuple[Enclosure, ...] = ()
    note: bool = False  # untitled in the feed (a micropost): its title is its opening words
    # Other forms of ``id`` that earlier versions of Chorus recorded in post files.
    former_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class LeftOut:
    """The entries of a feed that give no post, counted by why."""

    unlinked: int = 0  # no http(s) link to the post, so nothing to credit
    duplicates: int = 0  # the same id (or, with none, the same link) as an earlier entry
    over_cap: int = 0  # entries past the per-feed cap, the oldest ones
    cap: int = 0  # the per-feed cap, CHORUS_MAX_ENTRIES_PER_FEED
    # Entries that could not be read at all (reading them raised): one such entry costs
    # itself, never the feed. ``unreadable`` counts them; ``errors`` says why, for the first
    # few, each as "entry N (its id): ExceptionType: message".
    unreadable: int = 0
    errors: tuple[str, ...] = ()

    @property
    def total(self) -> int:
        return self.unlinked + self.duplicates + self.over_cap + self.unreadable

    def notes(self) -> tuple[str, ...]:
        """Why entries were left out, one note a reason: what ``chorus fetch`` and
        ``chorus members preview`` both say of the feed."""
        notes = []
        if self.unlinked:
            notes.append(
                f"{_entries(self.unlinked)} {'have' if self.unlinked != 1 else 'has'} no "
                "http(s) link to the post, so nothing to credit"
            )
        if self.over_cap:
            kept = f"the newest {self.cap:,}" if self.cap != 1 else "the newest"
            notes.append(
                f"{_entries(self.over_cap)} over the {self.cap:,}-entry cap, {kept} kept "
                "(CHORUS_MAX_ENTRIES_PER_FEED)"
            )
        if self.duplicates:
            duplicates = (
                f"{self.duplicates:,} duplicate entr{'ies' if self.duplicates != 1 else 'y'}"
            )
            notes.append(
                f"{duplicates} in the feed (the same id as an earlier entry, or with no id "
                "the same link)"
            )
        if self.unreadable:
            reasons = "; ".join(self.errors)
            more = self.unreadable - len(self.errors)
            if more > 0:
                reasons += f"; and {more:,} more"
            notes.append(
                f"{_entries(self.unreadable)} could not be read, so "
                f"{'they were' if self.unreadable != 1 else 'it was'} left out ({reasons})"
            )
        return tuple(notes)


def _entries(count: int) -> str:
    return f"{count:,} entr{'ies' if count != 1 else 'y'}"


@dataclass(frozen=True)
class ParsedFeed:
    """A parsed feed: its metadata, its usable entries, and what was wrong with it, if anything."""

    url: str
    title: str
    site: str | None
    entries: tuple[Entry, ...]
    warning: str | None = None
    left_out: LeftOut = LeftOut()  # entries that give no post, and why
    # What an Atom <source> element repeats of the original feed:
    id: str | None = None
    self_url: str | None = None  # the feed's own URL as it declares it (http(s) only)
    updated: datetime | None = None
    author: str | None = None
    rights: str | None = None

    @property
    def skipped(self) -> int:
        """How many entries of the feed give no post."""
        return self.left_out.total

    @property
    def public_url(self) -> str | None:
        """Where readers can subscribe: the URL we fetched, unless it was a local file."""
        return web_url(self.url) or self.self_url


class FeedError(Exception):
    """The bytes are not a feed we can read; the message says why."""
