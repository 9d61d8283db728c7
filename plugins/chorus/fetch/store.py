"""Curated posts as content files under ``content/community/<handle>/``, committed to git."""

from __future__ import annotations

import hashlib
import html
import json
import logging
import os
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from chorus.common.files import write_atomic
from chorus.common.sanitize import excerpt_html
from chorus.common.urls import normalise_link
from chorus.fetch.entries import Enclosure, Entry, ParsedFeed
from chorus.members.registry import Consent, Member

log = logging.getLogger(__name__)
INDEX_NAME = "chorus/community-index.json"  # under the cache directory
# Raised whenever what a post file holds changes (its metadata, the sanitizing policy), so that
# every post is rewritten once in the new form.
POST_FORMAT = 3
HEAD_BYTES = 8192  # our meta tags all sit in the head, well within this
_META = re.compile(r'<meta\s+name="(?P<name>[a-z_]+)"\s+content="(?P<content>[^"]*)"\s*/?>')
_TITLE = re.compile(r"<title>(?P<title>.*?)</title>", re.DOTALL)
_STATUS = re.compile(r'(<meta\s+name="status"\s+content=")draft("\s*/?>)')
_SLUG_JUNK = re.compile(r"[^a-z0-9]+")
# Letters that Unicode does not decompose into ASCII ones.
_TRANSLITERATE = str.maketrans(
    {
        "ß": "ss",
        "æ": "ae",
        "Æ": "AE",
        "ø": "o",
        "Ø": "O",
        "œ": "oe",
        "Œ": "OE",
        "ł": "l",
        "Ł": "L",
        "đ": "d",
        "Đ": "D",
        "þ": "th",
    }
)


@dataclass(frozen=True)
class StoredPost:
    """What the store knows of a post file already written."""

    path: Path
    handle: str
    id: str
    link: str
    hash: str
    status: str
    date: str


@dataclass(frozen=True)
class Post:
    """A post ready to be written: the entry as the member's consent allows it."""

    handle: str
    author: str
    entry_id: str
    link: str
    title: str
    date: datetime | None
    tags: tuple[str, ...]
    body_html: str
    consent: Consent
    source: ParsedFeed  # the feed it came from (its entries are not used here)
    writer: str | None = None  # the entry's own author, when not the member (group blogs)
    external_url: str | None = None  # what a linked-list post is about
    enclosures: tuple[Enclosure, ...] = ()
    note: bool = False  # untitled in the feed: titled by its opening words

    @cached_property
    def hash(self) -> str:
        """Changes exactly when what we would publish changes."""
        date = self.date.isoformat() if self.date else ""
        # Fields added since are hashed only when set, so that the posts they do not concern
        # keep their hash and are not all rewritten.
        added = [f"{name}={value}" for name, value in self.added_meta() if value]
        return digest(
            str(POST_FORMAT),
            self.title,
            self.link,
            date,
            ",".join(self.tags),
            self.body_html,
            self.consent,
            self.author,
            *added,
        )

    def added_meta(self) -> list[tuple[str, str | None]]:
        """The metadata of the fields added since POST_FORMAT 3, as the post file holds it."""
        enclosures = [[e.url, e.type, e.length] for e in self.enclosures]
        return [
            ("chorus_author", self.writer),
            ("chorus_external_url", self.external_url),
            ("chorus_enclosures", json.dumps(enclosures) if enclosures else None),
            ("chorus_note", "yes" if self.note else None),
        ]


def make_post(member: Member, entry: Entry, feed: ParsedFeed, *, excerpt_chars: int) -> Post:
    """Apply the member's consent: link keeps nothing of the text, excerpt a bounded excerpt."""
    if member.consent == "full":
        body = entry.content_html or entry.summary_html
    elif member.consent == "excerpt":
        body = excerpt_html(entry.summary_html or entry.content_html, excerpt_chars)
    else:
        body = ""
    return Post(
        handle=member.handle,
        author=member.name,
        entry_id=entry.id,
        link=entry.link,
        title=entry.title,
        date=entry.published,
        tags=entry.tags,
        body_html=body,
        consent=member.consent,
        source=feed,
        writer=entry.author if entry.author and not same_person(entry.author, member) else None,
        external_url=entry.external_url,
        enclosures=entry.enclosures,
        note=entry.note,
    )


def same_person(name: str, member: Member) -> bool:
    """Whether a feed's author name is the member ("ADA LOVELACE", "ada-lovelace", a handle)."""
    key = _person_key(name)
    return key in (_person_key(member.name), _person_key(member.handle))


def _person_key(name: str) -> str:
    return "".join(ch for ch in name.casefold() if ch.isalnum())


class CommunityStore:
    """Reads and writes the curated post files of one site.

    ``index_file`` (a cache, never committed) remembers what each post file held when last read,
    with its size and mtime, so that a scan of a large site reads only the files changed since.
    """

    def __init__(self, root: Path, category: str, *, index_file: Path | None = None) -> None:
        self.root = root
        self.category = category
        self.index_file = index_file
        self.by_id: dict[str, StoredPost] = {}
        self.by_link: dict[str, StoredPost] = {}
        self._index: dict[str, list[Any]] = {}  # file name under root -> _IndexRecord fields
        self._index_changed = False

    def scan(self) -> None:
        """Index every post already written, by id and by normalised link."""
        cached = self._load_index()
        for name, path, stat in _post_files(self.root):
            record = cached.get(name)
            if record is None or record[:2] != [stat.st_mtime_ns, stat.st_size]:
                post = read_stored(path)
                if post is None:
                    log.warning("%s: not a Chorus post file (no chorus_id); left alone", path)
                    continue
                record = _index_record(post, stat)
                self._index_changed = True
            self._index[name] = record
            self._remember(_stored_from_record(path, record), record[_LINK_KEY])
        self._index_changed |= self._index.keys() != cached.keys()

    def save_index(self) -> None:
        """Record what the last scan and writes saw, for the next scan; a cache, so not durable."""
        if self.index_file is None or not self._index_changed:
            return
        document = {"format": POST_FORMAT, "root": str(self.root), "posts": self._index}
        try:
            write_atomic(self.index_file, json.dumps(document, separators=(",", ":")))
        except OSError as error:
            log.warning(
                "cannot write the post index %s (%s); the next scan reads every post",
                self.index_file,
                error,
            )
        self._index_changed = False

    def _load_index(self) -> dict[str, list[Any]]:
        if self.index_file is None:
            return {}
        try:
            document = json.loads(self.index_file.read_text(encoding="utf-8"))
            if document["format"] == POST_FORMAT and document["root"] == str(self.root):
                return dict(document["posts"])
        except FileNotFoundError:
            pass
        except (OSError, ValueError, KeyError, TypeError) as error:
            log.info("ignoring the unreadable post index %s (%s)", self.index_file, error)
        return {}

    def find(self, entry: Entry) -> StoredPost | None:
        """The post already written with this entry's id (or a form of it that earlier
        versions recorded) or link, by any member."""
        for entry_id in (entry.id, *entry.former_ids):
            if entry_id in self.by_id:
                return self.by_id[entry_id]
        return self.by_link.get(normalise_link(entry.link))

    def write(
        self, post: Post, existing: StoredPost | None, *, published: bool, now: datetime
    ) -> tuple[str, StoredPost]:
        """Write or update the post; return ("new" | "updated" | "unchanged", stored post)."""
        # A post found by an older form of its id is rewritten once with the id as the feed
        # gives it, so that it is still found when the feed moves.
        if existing is not None and existing.hash == post.hash and existing.id == post.entry_id:
            return "unchanged", existing
        if existing is not None:
            # An editor's approval and the first-seen date of an undated entry survive updates.
            path, status = existing.path, existing.status
            date = post.date.isoformat() if post.date else existing.date
            outcome = "updated"
        else:
            path = self._new_path(post)
            status = "published" if published else "draft"
            date = (post.date or now.replace(microsecond=0)).isoformat()
            outcome = "new"
        write_atomic(path, self.render(post, status=status, date=date, slug=path.stem))
        stored = StoredPost(path, post.handle, post.entry_id, post.link, post.hash, status, date)
        self._remember(stored)
        self._record_in_index(stored)
        return outcome, stored

    def remove(self, stored: StoredPost) -> None:
        """Delete a post file and forget it (only ever one this run has just written)."""
        stored.path.unlink(missing_ok=True)
        if self.by_id.get(stored.id) == stored:
            del self.by_id[stored.id]
        link = normalise_link(stored.link)
        if self.by_link.get(link) == stored:
            del self.by_link[link]
        self._index.pop(_index_name(self.root, stored.path), None)
        self._index_changed = True

    def render(self, post: Post, *, status: str, date: str, slug: str) -> str:
        """The post file: Pelican HTML content with our metadata in <meta> tags."""
        meta = [
            ("chorus_id", post.entry_id),
            ("chorus_original_url", post.link),
            ("member", post.handle),
            ("status", status),
            ("date", date),
            ("slug", slug),
            ("tags", ", ".join(tag.replace(",", " ") for tag in post.tags)),
            ("category", self.category),
            ("authors", post.author.replace(",", " ")),
            ("chorus_consent", post.consent),
            # The original feed, for credit and for Atom's <source>; not part of the hash, so
            # a feed that only changes its <updated> does not rewrite every post.
            ("chorus_feed_title", post.source.title),
            ("chorus_feed_url", post.source.public_url),
            ("chorus_site_url", post.source.site),
            ("chorus_feed_id", post.source.id),
            (
                "chorus_feed_updated",
                post.source.updated.isoformat() if post.source.updated else None,
            ),
            ("chorus_feed_author", post.source.author),
            ("chorus_feed_rights", post.source.rights),
            *post.added_meta(),
            ("chorus_hash", post.hash),
        ]
        lines = ["<html>", "<head>", f"<title>{_attr(post.title)}</title>"]
        lines += [f'<meta name="{name}" content="{_attr(value)}">' for name, value in meta if value]
        lines += ["</head>", "<body>", post.body_html, "</body>", "</html>", ""]
        return "\n".join(lines)

    def _new_path(self, post: Post) -> Path:
        return self.root / post.handle / f"{slugify(post.title)}-{digest(post.entry_id)[:8]}.html"

    def _remember(self, post: StoredPost, normalised_link: str | None = None) -> None:
        self.by_id[post.id] = post
        self.by_link.setdefault(normalised_link or normalise_link(post.link), post)

    def _record_in_index(self, post: StoredPost) -> None:
        try:
            stat = post.path.stat()
        except OSError:
            return
        self._index[_index_name(self.root, post.path)] = _index_record(post, stat)
        self._index_changed = True


# An index record: [mtime_ns, size, handle, id, link, normalised link, hash, status, date].
_LINK_KEY = 5


def _index_record(post: StoredPost, stat: os.stat_result) -> list[Any]:
    return [
        stat.st_mtime_ns,
        stat.st_size,
        post.handle,
        post.id,
        post.link,
        normalise_link(post.link),
        post.hash,
        post.status,
        post.date,
    ]


def _stored_from_record(path: Path, record: list[Any]) -> StoredPost:
    _, _, handle, post_id, link, _, post_hash, status, date = record
    return StoredPost(path, handle, post_id, link, post_hash, status, date)


def _index_name(root: Path, path: Path) -> str:
    return f"{path.parent.name}/{path.name}" if path.parent.parent == root else str(path)


def _post_files(root: Path) -> Iterator[tuple[str, Path, os.stat_result]]:
    """Every ``<handle>/<name>.html`` under root, in a stable order, with its stat."""
    try:
        handles = sorted(entry.name for entry in os.scandir(root) if entry.is_dir())
    except FileNotFoundError:
        return
    for handle in handles:
        with os.scandir(root / handle) as entries:
            files = sorted(
                (entry for entry in entries if entry.name.endswith(".html") and entry.is_file()),
                key=lambda entry: entry.name,
            )
        for entry in files:
            yield f"{handle}/{entry.name}", Path(entry.path), entry.stat()


def read_stored(path: Path) -> StoredPost | None:
    """Read our metadata from the head of a post file, without parsing the whole document."""
    try:
        with path.open("rb") as handle:
            head = handle.read(HEAD_BYTES)
    except OSError as error:
        log.warning("%s: cannot read (%s)", path, error)
        return None
    # The body (most of the file) is not ours to read; a file without a head is searched whole.
    head = head.partition(b"</head>")[0].decode("utf-8", errors="replace")
    meta = {m["name"]: html.unescape(m["content"]) for m in _META.finditer(head)}
    if "chorus_id" not in meta:
        return None
    return StoredPost(
        path=path,
        handle=meta.get("member", path.parent.name),
        id=meta["chorus_id"],
        link=meta.get("chorus_original_url", ""),
        hash=meta.get("chorus_hash", ""),
        status=meta.get("status", "draft"),
        date=meta.get("date", ""),
    )


def read_title(path: Path) -> str:
    """A post file's title as plain text on one line, safe to print: no control characters."""
    try:
        with path.open("rb") as handle:
            head = handle.read(HEAD_BYTES).decode("utf-8", errors="replace")
    except OSError as error:
        log.warning("%s: cannot read (%s)", path, error)
        return ""
    found = _TITLE.search(head)
    title = html.unescape(found["title"]) if found else ""
    # Feed text: terminal escapes and direction overrides must not reach a terminal.
    return "".join(c for c in " ".join(title.split()) if unicodedata.category(c)[0] != "C")


def drafts(root: Path) -> Iterator[StoredPost]:
    """Every curated post still waiting for approval."""
    for path in sorted(root.glob("*/*.html")):
        post = read_stored(path)
        if post is not None and post.status == "draft":
            yield post


def approve(paths: Iterable[Path]) -> list[Path]:
    """Publish draft post files; return the ones changed."""
    changed = []
    for path in paths:
        text = path.read_text(encoding="utf-8")
        published, count = _STATUS.subn(r"\1published\2", text, count=1)
        if count:
            write_atomic(path, published)
            changed.append(path)
    return changed


def slugify(text: str, limit: int = 60) -> str:
    """An ASCII slug for file names; "post" when nothing usable remains."""
    text = text.translate(_TRANSLITERATE)
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = _SLUG_JUNK.sub("-", ascii_text.lower()).strip("-")
    return slug[:limit].rstrip("-") or "post"


def digest(*parts: str) -> str:
    """A stable hex digest of some strings."""
    return hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


def _attr(value: str) -> str:
    return html.escape(value, quote=True).replace("\n", " ")
