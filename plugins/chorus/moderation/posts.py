"""Taking curated posts down: find them, record them in the takedowns file, change their files.

Three ways, one record (``content/takedowns.yml``, chorus.members.takedowns):

- a post taken down (``chorus remove``, or a member leaving with ``--remove-posts``): its file
  is deleted and the record keeps its address, where the build leaves a "removed at the
  author's request" page;
- a draft rejected (``chorus reject``): its file is deleted, and it never was on the site;
- a member leaving with ``--keep-links``: their posts stay as link-only entries, their text
  no longer republished.

Whatever the feeds still list, no later fetch writes a recorded entry again.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from chorus.common.config import Config
from chorus.common.files import write_atomic
from chorus.common.urls import link_key, web_url
from chorus.fetch.store import CommunityStore, StoredPost, slugify
from chorus.members.takedowns import Kind, Takedown, record_takedowns

_BODY = re.compile(r"<body>.*</body>", re.DOTALL)
_CONSENT = re.compile(r'<meta name="chorus_consent" content="[a-z]*">')
_MEMBER = re.compile(r'<meta name="member" content="[^"]*">\n?')


class NoSuchPost(LookupError):
    """No curated post is at that path or address."""


@dataclass(frozen=True)
class Post:
    """A curated post file and the address Pelican gives it."""

    stored: StoredPost
    url: str  # relative to SITEURL, as ARTICLE_URL makes it


def site_posts(config: Config, settings: Mapping[str, Any]) -> list[Post]:
    """Every curated post on disk (drafts too), with its address on the site."""
    store = CommunityStore(config.community_dir, config.curated_category)
    store.scan()
    posts = sorted(store.by_entry.values(), key=lambda stored: str(stored.path))
    return [Post(stored, article_url(stored, config, settings)) for stored in posts]


def article_url(stored: StoredPost, config: Config, settings: Mapping[str, Any]) -> str:
    """The address Pelican gives a curated post: ARTICLE_URL filled in from its file."""
    when = datetime.fromisoformat(stored.date) if stored.date else datetime.min
    return str(settings.get("ARTICLE_URL", "{slug}.html")).format(
        slug=stored.path.stem,  # the file's slug, as chorus fetch writes it
        date=when,
        lang=settings.get("DEFAULT_LANG", "en"),
        category=slugify(config.curated_category),
        author=stored.handle,
    )


def find_post(posts: Iterable[Post], target: str, site_url: str = "") -> Post:
    """The post a person means: its file's path, its address here (relative or absolute) or
    its original's URL. NoSuchPost when none is."""
    posts = list(posts)
    path = Path(target)
    if target.endswith(".html") and path.exists():
        for post in posts:
            if post.stored.path.resolve() == path.resolve():
                return post
    ours = _path_on_site(target, site_url)
    for post in posts:
        if ours is not None and ours == post.url.strip("/"):
            return post
    if web_url(target):
        for post in posts:
            if link_key(post.stored.link) == link_key(target):
                return post
    raise NoSuchPost(
        f"no curated post is at {target}: give a post file (content/community/HANDLE/"
        "NAME.html), its address on this site, or its original URL"
    )


def _path_on_site(target: str, site_url: str) -> str | None:
    """``target`` as an address relative to SITEURL, when it can be one."""
    if "://" not in target:
        return target.strip("/")
    own = urlsplit(site_url) if site_url else None
    parts = urlsplit(target)
    if own is not None and own.hostname and parts.hostname == own.hostname:
        return parts.path.removeprefix(own.path.rstrip("/")).strip("/")
    # Without an absolute SITEURL, the address of a local build (http://127.0.0.1:8000/...).
    return parts.path.strip("/") if parts.hostname in ("127.0.0.1", "localhost") else None


def take_down(config: Config, posts: Iterable[Post], *, today: date) -> list[Takedown]:
    """Record the posts in the takedowns file, then delete their files; a draft (never on the
    site) is recorded as rejected. Returns what the file gained."""
    posts = list(posts)
    entries = [
        _entry(post, "rejected" if post.stored.status == "draft" else "removed", today)
        for post in posts
    ]
    # Recorded first: a run stopped between the two leaves the post out of the next fetch and
    # build, never a deleted file that a fetch writes again.
    added = record_takedowns(config.takedowns_file, entries)
    for post in posts:
        post.stored.path.unlink(missing_ok=True)
    return added


def _entry(post: Post, kind: Kind, today: date) -> Takedown:
    stored = post.stored
    return Takedown(
        member=stored.handle,
        id=stored.id,
        original_url=stored.link,
        kind=kind,
        date=today,
        url=post.url if kind == "removed" else None,
    )


def keep_as_link(paths: Iterable[Path]) -> list[Path]:
    """Rewrite a departed member's post files as link-only entries (title, date, their name
    and the link to the original: no text of theirs); return the ones changed.

    The files no longer name the member, who has no member page any more: the posts are
    credited by name (``authors``), and still found by the next fetch under their folder.
    """
    changed = []
    for path in paths:
        text = path.read_text(encoding="utf-8")
        linked = _BODY.sub("<body>\n</body>", text, count=1)
        linked = _CONSENT.sub('<meta name="chorus_consent" content="link">', linked, count=1)
        if "chorus_consent" not in linked:
            linked = linked.replace(
                "</head>", '<meta name="chorus_consent" content="link">\n</head>'
            )
        linked = _MEMBER.sub("", linked, count=1)
        if linked != text:
            write_atomic(path, linked)
            changed.append(path)
    return changed
