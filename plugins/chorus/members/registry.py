"""The members registry: one Markdown file with YAML front matter per member."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import Literal

from chorus.common.frontmatter import Problem, read_front_matter
from chorus.common.sanitize import xml_forbidden, xml_safe
from chorus.common.urls import LOCAL_SCHEME, local_feed_path, web_url

Consent = Literal["link", "excerpt", "full"]
CONSENTS: tuple[Consent, ...] = ("link", "excerpt", "full")
KEYS = (
    "handle",
    "name",
    "site",
    "feeds",
    "avatar",
    "links",
    "consent",
    "trusted",
    "newsletter",
    "include_tags",
    "exclude_tags",
    "joined",
)
# A member file is a few lines of YAML and a short bio; the cap keeps a mistaken or hostile
# pull request (a pasted archive, a generated file) from costing the build time or memory.
MAX_MEMBER_FILE_BYTES = 64 * 1024
# A name is shown in every byline, card and feed entry: a line, not a paragraph.
MAX_NAME_CHARS = 120
# A bio is a paragraph or two. Markdown's cost grows with the square of some texts' length
# (a run of "[" takes half a second at this length, minutes at the file cap), and every
# build renders every bio.
MAX_BIO_CHARS = 2_000
HANDLE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
FEDIVERSE_HANDLE = re.compile(
    r"^@?(?P<user>[A-Za-z0-9_.-]+)@(?P<host>[A-Za-z0-9.-]+\.[A-Za-z]{2,})$"
)


@dataclass(frozen=True)
class Member:
    """One member of the community, as their file declares them."""

    handle: str
    name: str
    site: str
    feeds: tuple[str, ...]
    bio: str = ""
    avatar: str | None = None
    links: tuple[tuple[str, str], ...] = ()
    fediverse: str | None = None
    consent: Consent = "excerpt"
    trusted: bool = False
    newsletter: bool = True  # False: their posts stay on the site but out of the newsletter
    include_tags: frozenset[str] = frozenset()
    exclude_tags: frozenset[str] = frozenset()
    joined: date | None = None  # when they joined the community (newsletters welcome them)
    source: Path | None = None

    def accepts_tags(self, tags: Iterable[str]) -> bool:
        """Whether an entry with these tags passes the member's include/exclude filters."""
        folded = {tag.casefold() for tag in tags}
        if self.exclude_tags & folded:
            return False
        return not self.include_tags or bool(self.include_tags & folded)


@dataclass(frozen=True)
class Registry:
    """Every valid member by handle, and every problem found on the way."""

    members: dict[str, Member] = field(default_factory=dict)
    problems: tuple[Problem, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems


def load_registry(
    members_dir: Path, *, content_dir: Path, local_feeds_dir: Path | None = None
) -> Registry:
    """Read and check every ``*.md`` file in ``members_dir``, sorted by file name.

    A handle two files claim belongs to the file named after it (``zed.md`` for ``zed``), else
    to the first: a new file cannot take a member's handle by sorting before theirs. A feed two
    members list is fetched for neither until an editor says whose it is: otherwise the first
    in file order would be given the other's posts."""
    problems: list[Problem] = []
    claims: dict[str, list[Member]] = {}
    for path in sorted(members_dir.glob("*.md")) if members_dir.is_dir() else []:
        member, found = read_member(path, content_dir=content_dir, local_feeds_dir=local_feeds_dir)
        problems.extend(found)
        if member is not None:
            claims.setdefault(member.handle.casefold(), []).append(member)
    members: dict[str, Member] = {}
    for handle, claimants in claims.items():
        owner = next((m for m in claimants if _file_handle(m) == handle), claimants[0])
        members[owner.handle] = owner
        for other in claimants:
            if other is not owner:
                message = f"duplicate handle {other.handle!r}, already used by {owner.source.name}"
                problems.append(Problem(other.source, "handle", message))
    listed: dict[str, list[Member]] = {}
    for member in members.values():
        for url in member.feeds:
            listed.setdefault(url, []).append(member)
    for url, listers in listed.items():
        if len(listers) < 2:
            continue
        for member in listers:
            others = ", ".join(m.source.name for m in listers if m is not member)
            problems.append(
                Problem(
                    member.source,
                    "feeds",
                    f"{url} is also listed by {others}: a feed belongs to one member; it is "
                    "fetched for neither until one file lists it",
                )
            )
            members[member.handle] = replace(
                members[member.handle],
                feeds=tuple(f for f in members[member.handle].feeds if f != url),
            )
    return Registry(members, tuple(problems))


def _file_handle(member: Member) -> str:
    return member.source.stem.casefold() if member.source else ""


def read_member(
    path: Path, *, content_dir: Path, local_feeds_dir: Path | None = None
) -> tuple[Member | None, list[Problem]]:
    """Parse one member file; return the member (None if unusable) and its problems."""
    problems: list[Problem] = []

    def problem(key: str | None, message: str) -> None:
        problems.append(Problem(path, key, message))

    found = read_front_matter(
        path, KEYS, problem, doc="docs/members.md", max_bytes=MAX_MEMBER_FILE_BYTES
    )
    if found is None:
        return None, problems
    data, body = found

    handle = data.get("handle", path.stem)
    if not isinstance(handle, str) or not HANDLE.match(handle):
        problem(
            "handle",
            f"{handle!r} is not a handle: use lower-case letters, digits, '-' and "
            "'_', starting with a letter or digit",
        )

    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        problem("name", "required: the member's display name")
    elif (forbidden := xml_forbidden(name)) is not None:
        problem("name", f"holds the character U+{ord(forbidden):04X}, which no feed can carry")
    elif len(name.strip()) > MAX_NAME_CHARS:
        problem(
            "name", f"is {len(name.strip())} characters: a display name is at most {MAX_NAME_CHARS}"
        )

    site = data.get("site")
    if site is None:
        problem("site", "required: the member's home page URL")
    elif not (isinstance(site, str) and web_url(site) == site):
        problem("site", f"{site!r} is not an absolute http(s) URL")

    feeds = data.get("feeds")
    feeds = [feeds] if isinstance(feeds, str) else feeds
    if not feeds or not isinstance(feeds, list):
        problem("feeds", "required: a list of one or more feed URLs")
        feeds = []
    for feed in feeds:
        if isinstance(feed, str) and feed.startswith(LOCAL_SCHEME):
            try:
                if not local_feed_path(feed, local_feeds_dir).is_file():
                    problem("feeds", f"{feed!r}: no such file in {local_feeds_dir}")
            except ValueError as error:
                problem("feeds", f"{feed!r} refused: {error}")
        elif not (isinstance(feed, str) and web_url(feed) == feed):
            problem("feeds", f"{feed!r} is not an absolute http(s) feed URL")
    if len(set(feeds)) != len(feeds):
        problem("feeds", "the same feed is listed twice")

    avatar = data.get("avatar")
    if avatar is not None:
        if not isinstance(avatar, str) or not avatar.strip():
            problem("avatar", "must be an http(s) URL or a path under content/")
        elif "://" in avatar:
            if web_url(avatar) != avatar:
                problem("avatar", f"{avatar!r} is not an absolute http(s) URL")
        elif not _inside(content_dir, avatar):
            problem("avatar", f"{avatar!r}: no such file under {content_dir}")

    links: list[tuple[str, str]] = []
    fediverse = None
    raw_links = data.get("links") or {}
    if not isinstance(raw_links, dict):
        problem("links", "must be a mapping of label: URL")
        raw_links = {}
    for label, url in raw_links.items():
        if str(label).casefold() == "fediverse" and isinstance(url, str):
            found = FEDIVERSE_HANDLE.match(url.strip())
            if found:
                fediverse = f"@{found['user']}@{found['host']}"
                links.append(("fediverse", f"https://{found['host']}/@{found['user']}"))
                continue
        if not (isinstance(url, str) and web_url(url) == url):
            problem(
                f"links.{label}",
                f"{url!r} is not an absolute http(s) URL"
                + (" or a @user@host handle" if str(label) == "fediverse" else ""),
            )
        else:
            links.append((str(label), url))

    consent = data.get("consent", "excerpt")
    if consent not in CONSENTS:
        problem("consent", f"{consent!r} is not one of: link, excerpt, full")

    trusted = data.get("trusted", False)
    if not isinstance(trusted, bool):
        problem("trusted", f"{trusted!r} is not true or false")

    newsletter = data.get("newsletter", True)
    if not isinstance(newsletter, bool):
        problem("newsletter", f"{newsletter!r} is not true or false")

    tag_filters = {}
    for key in ("include_tags", "exclude_tags"):
        tags = data.get(key) or []
        tags = [tags] if isinstance(tags, str) else tags
        if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
            problem(key, "must be a list of tag names")
            tags = []
        tag_filters[key] = frozenset(tag.strip().casefold() for tag in tags)

    # What XML forbids (a stray form feed from a word processor) goes: a member's feeds show the
    # bio, and one such character would stop their writing.
    bio = xml_safe(body).strip()
    if len(bio) > MAX_BIO_CHARS:
        problem(
            "bio",
            f"is {len(bio):,} characters after the front matter: a bio is at most "
            f"{MAX_BIO_CHARS:,} (a paragraph or two)",
        )

    joined = data.get("joined")
    if isinstance(joined, datetime):
        joined = joined.date()
    elif isinstance(joined, str):
        try:
            joined = date.fromisoformat(joined.strip())
        except ValueError:
            problem("joined", f"{joined!r} is not a date: write it as YYYY-MM-DD")
    elif joined is not None and not isinstance(joined, date):
        problem("joined", f"{joined!r} is not a date: write it as YYYY-MM-DD")

    if problems:
        return None, problems
    return (
        Member(
            handle=handle,
            name=name.strip(),
            site=site,
            feeds=tuple(feeds),
            bio=bio,
            avatar=avatar,
            links=tuple(links),
            fediverse=fediverse,
            consent=consent,
            trusted=trusted,
            newsletter=newsletter,
            joined=joined,
            source=path,
            **tag_filters,
        ),
        problems,
    )


def _inside(root: Path, relative: str) -> bool:
    """Whether ``relative`` names an existing file under ``root`` without escaping it."""
    path = (root / relative).resolve()
    return path.is_relative_to(root.resolve()) and path.is_file()
