"""New members: write a valid member file, find a site's feeds, and preview a first fetch.

Everything here goes through the real core: member files are checked by
``chorus.members.registry.read_member``, feeds are fetched by ``chorus.fetch.http.fetch_all``
(timeouts, size and redirect caps) and read by ``chorus.fetch.parse.parse_feed``, and consent is
applied by ``chorus.fetch.store.make_post``. A preview writes nothing: no post, no fetch state.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Literal

import yaml
from bs4 import BeautifulSoup

from chorus.common.config import Config
from chorus.common.files import write_atomic
from chorus.common.sanitize import plain_text
from chorus.common.urls import web_url
from chorus.fetch.entries import FeedError, LeftOut, ParsedFeed
from chorus.fetch.http import Response, fetch_all
from chorus.fetch.parse import parse_feed
from chorus.fetch.store import CommunityStore, link_key, make_post
from chorus.members.registry import HANDLE, Consent, Member, Problem, Registry, read_member

FEED_TYPES = frozenset(
    {
        "application/rss+xml",
        "application/atom+xml",
        "application/feed+json",
        "application/json",
        "application/rdf+xml",
        "application/xml",
        "text/xml",
    }
)


class MemberFileError(Exception):
    """A member file was not written; ``problems`` say why, each with its field."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(str(problem) for problem in self.problems))


@dataclass(frozen=True)
class NewMember:
    """What a new member file says, before it is written."""

    handle: str
    name: str
    site: str
    feeds: tuple[str, ...]
    avatar: str | None = None
    links: tuple[tuple[str, str], ...] = ()
    consent: Consent = "excerpt"
    trusted: bool = False
    include_tags: tuple[str, ...] = ()
    exclude_tags: tuple[str, ...] = ()
    joined: date | None = None
    bio: str = ""


class _Dumper(yaml.SafeDumper):
    """Indents list items under their key, as docs/members.md writes them."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def member_text(new: NewMember) -> str:
    """The member file: YAML front matter in the documented key order, then the bio."""
    data: dict[str, object] = {"name": new.name, "site": new.site, "feeds": list(new.feeds)}
    if new.avatar:
        data["avatar"] = new.avatar
    if new.links:
        data["links"] = dict(new.links)
    data["consent"] = new.consent
    data["trusted"] = new.trusted
    if new.include_tags:
        data["include_tags"] = list(new.include_tags)
    if new.exclude_tags:
        data["exclude_tags"] = list(new.exclude_tags)
    if new.joined:
        data["joined"] = new.joined
    front = yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1000)
    bio = new.bio.strip()
    return f"---\n{front}---\n{bio}\n" if bio else f"---\n{front}---\n"


def write_member(
    new: NewMember,
    *,
    members_dir: Path,
    content_dir: Path,
    local_feeds_dir: Path | None = None,
    registry: Registry | None = None,
) -> tuple[Path, Member]:
    """Check a new member file as ``chorus members check`` would, then write it.

    Raises MemberFileError, with nothing written, if the file would be invalid, if the file or
    the handle exists already, or if another member already lists one of its feeds.
    """
    path, member = check_member(
        new,
        members_dir=members_dir,
        content_dir=content_dir,
        local_feeds_dir=local_feeds_dir,
        registry=registry,
    )
    write_atomic(path, member_text(new))
    return path, member


def check_member(
    new: NewMember,
    *,
    members_dir: Path,
    content_dir: Path,
    local_feeds_dir: Path | None = None,
    registry: Registry | None = None,
) -> tuple[Path, Member]:
    """The path a new member file would have and the member it would declare, or
    MemberFileError with every problem; writes nothing."""
    path = members_dir / f"{new.handle}.md"
    problems: list[Problem] = []
    if not HANDLE.match(new.handle):
        problems.append(
            Problem(
                path,
                "handle",
                f"{new.handle!r} is not a handle: use lower-case letters, digits, '-' and "
                "'_', starting with a letter or digit",
            )
        )
        raise MemberFileError(problems)
    if path.exists():
        problems.append(Problem(path, None, "exists already: edit it, or choose another handle"))
    for member in (registry.members if registry else {}).values():
        if member.handle.casefold() == new.handle.casefold() and member.source != path:
            problems.append(Problem(path, "handle", f"{new.handle!r} is taken by {member.source}"))
        for feed in set(member.feeds) & set(new.feeds):
            problems.append(Problem(path, "feeds", f"{feed} is already {member.handle}'s feed"))
    text = member_text(new)
    with tempfile.TemporaryDirectory() as scratch:
        draft = Path(scratch) / path.name
        draft.write_text(text, encoding="utf-8")
        member, found = read_member(draft, content_dir=content_dir, local_feeds_dir=local_feeds_dir)
    problems += [Problem(path, problem.field, problem.message) for problem in found]
    if problems or member is None:
        raise MemberFileError(problems)
    return path, replace(member, source=path)


# Feed discovery -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Discovery:
    """What a site's address led to: its feeds, or why none were found."""

    url: str
    feeds: tuple[str, ...] = ()
    error: str | None = None


def discover_feeds(url: str, config: Config) -> Discovery:
    """Fetch ``url``; if it is a feed, that is the feed, else the feeds its page links to."""
    [response] = _fetch([url], config)
    if response.outcome != "ok":
        return Discovery(url, error=response.error or response.outcome)
    try:
        parse_feed(response.body, url, dict(response.headers), max_entries=1)
        return Discovery(url, (url,))
    except FeedError:
        pass
    page = BeautifulSoup(response.body, "html.parser")
    base_tag = page.find("base", href=True)
    base = web_url(str(base_tag["href"]), url) if base_tag else url
    found: list[str] = []
    for link in page.find_all("link", href=True):
        rel = {value.casefold() for value in link.get("rel") or []}
        kind = str(link.get("type", "")).split(";")[0].strip().casefold()
        feed = web_url(str(link["href"]), base or url)
        if "alternate" in rel and kind in FEED_TYPES and feed and feed not in found:
            found.append(feed)
    if not found:
        return Discovery(url, error="the page links to no RSS, Atom or JSON feed")
    return Discovery(url, tuple(found))


# Preview -------------------------------------------------------------------------------------

Outcome = Literal["publish", "draft", "filtered", "duplicate", "on the site"]


@dataclass(frozen=True)
class EntryPreview:
    """What the first fetch would do with one entry."""

    title: str
    link: str
    published: datetime | None
    outcome: Outcome
    kept_chars: int  # characters of text the member's consent keeps (0 for link)
    why: str = ""  # for filtered and duplicate entries


@dataclass(frozen=True)
class FeedPreview:
    """One feed as the first fetch would read it."""

    url: str
    error: str | None = None
    title: str | None = None
    site: str | None = None
    warning: str | None = None
    left_out: LeftOut = field(default_factory=LeftOut)  # entries that give no post, and why
    moved_to: str | None = None
    entries: tuple[EntryPreview, ...] = ()

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class MemberPreview:
    """A member and their feeds, as the first fetch would see them."""

    member: Member
    feeds: tuple[FeedPreview, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return all(feed.ok for feed in self.feeds)

    def count(self, outcome: Outcome) -> int:
        return sum(entry.outcome == outcome for feed in self.feeds for entry in feed.entries)


def preview_members(
    members: Iterable[Member], config: Config, *, now: datetime | None = None
) -> list[MemberPreview]:
    """Fetch every feed of ``members`` once and say what a first fetch would bring."""
    members = list(members)
    read = read_feeds(sorted({url for member in members for url in member.feeds}), config, now=now)
    store = CommunityStore(config.community_dir, config.curated_category)
    if config.community_dir.is_dir():
        store.scan()
    return [
        MemberPreview(
            member,
            tuple(_preview_feed(member, url, *read[url], store, config) for url in member.feeds),
        )
        for member in members
    ]


def _preview_feed(
    member: Member,
    url: str,
    feed: ParsedFeed | str,
    response: Response,
    store: CommunityStore,
    config: Config,
) -> FeedPreview:
    if isinstance(feed, str):
        return FeedPreview(url, error=feed, moved_to=response.moved_to)
    entries = []
    seen: set[str] = set()
    # As the fetch does: entries of one feed that share a link are told apart by their ids only.
    links = Counter(link_key(entry.link) for entry in feed.entries)
    for entry in feed.entries:
        folded = {tag.casefold() for tag in entry.tags}
        post = make_post(member, entry, feed, excerpt_chars=config.excerpt_chars)
        kept = len(plain_text(post.body_html))
        outcome: Outcome = "publish" if member.trusted else "draft"
        why = ""
        existing, own = store.find(member.handle, entry, by_link=links[link_key(entry.link)] == 1)
        if not member.accepts_tags(entry.tags):
            outcome, why = "filtered", "the member's include_tags/exclude_tags"
        elif folded & config.exclude_tags or (
            config.include_tags and not folded & config.include_tags
        ):
            outcome, why = "filtered", "the site's CHORUS_INCLUDE_TAGS/CHORUS_EXCLUDE_TAGS"
        elif entry.id in seen:
            outcome, why = "duplicate", "listed twice in the member's feeds"
        elif existing is not None and not own:
            outcome, why = "duplicate", f"already on the site from {existing.handle}"
        elif existing is not None:
            outcome, why = "on the site", str(existing.path.name)
        seen.add(entry.id)
        entries.append(EntryPreview(entry.title, entry.link, entry.published, outcome, kept, why))
    return FeedPreview(
        url,
        title=feed.title,
        site=feed.site,
        warning=feed.warning,
        left_out=feed.left_out,
        moved_to=response.moved_to,
        entries=tuple(entries),
    )


def read_feeds(
    urls: Sequence[str], config: Config, *, now: datetime | None = None
) -> dict[str, tuple[ParsedFeed | str, Response]]:
    """Fetch and parse each feed once: by URL, the parsed feed (or why it is unusable) and the
    response (for its permanent redirect, if any)."""
    now = now or datetime.now(UTC)
    read: dict[str, tuple[ParsedFeed | str, Response]] = {}
    for response in _fetch(urls, config):
        if response.outcome != "ok":
            read[response.url] = (response.error or "no answer", response)
            continue
        try:
            feed: ParsedFeed | str = parse_feed(
                response.body,
                response.url,
                dict(response.headers),
                max_entries=config.max_entries_per_feed,
                now=now,
            )
        except FeedError as error:
            feed = str(error)
        read[response.url] = (feed, replace(response, body=b""))
    return read


def _fetch(urls: Sequence[str], config: Config) -> list[Response]:
    """Fetch each URL once, unconditionally, through the fetcher's limits."""
    responses: dict[str, Response] = {}

    async def keep(response: Response) -> None:
        responses[response.url] = response

    asyncio.run(fetch_all([(url, None) for url in urls], config, keep))
    return [responses[url] for url in urls]
