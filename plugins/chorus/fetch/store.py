"""Curated posts as content files under ``content/community/<handle>/``, committed to git."""

from __future__ import annotations

import hashlib
import html
import json
import logging
import os
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any, TextIO

from chorus.common.files import write_atomic
from chorus.common.sanitize import excerpt_html
from chorus.common.urls import link_key
from chorus.fetch.entries import Enclosure, Entry, ParsedFeed
from chorus.members.consent import effective_consent, kept_body, narrower
from chorus.members.registry import Consent, Member

log = logging.getLogger(__name__)
INDEX_NAME = "chorus/community-index.json"  # under the cache directory
INDEX_FORMAT = 3  # of the index itself: raised when what a record holds changes
# Raised whenever what a post file holds changes (its metadata, the sanitizing policy), so that
# every post is rewritten once in the new form.
POST_FORMAT = 3
HEAD_BYTES = 8192  # our meta tags usually sit within this; a longer head is read on
MAX_HEAD_BYTES = 256 * 1024  # a head longer than this is not one we wrote
_META = re.compile(r'<meta\s+name="(?P<name>[a-z_]+)"\s+content="(?P<content>[^"]*)"\s*/?>')
_TITLE = re.compile(r"<title>(?P<title>.*?)</title>", re.DOTALL)
_STATUS = re.compile(r'(<meta\s+name="status"\s+content=")draft("\s*/?>)')
_CONSENT = re.compile(r'(<meta\s+name="chorus_consent"\s+content=")[^"]*("\s*/?>)')
_HASH = re.compile(r'(<meta\s+name="chorus_hash"\s+content=")(?P<hash>[^"]*)("\s*/?>)')
_URI_SCHEME = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*:\S")
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

    ``journal_file`` lists the post files a fetch run created, each line written before its
    file, until the run has saved its state: a run killed part-way leaves the list of posts
    it created, which the next run may still give to the member an uninterrupted run would
    have given them to (see ``Curator``). Each line names the fetch state the run began from
    (``begun_from``, a digest of the state file): a run that saved its state and was killed
    before it could forget its journal leaves lines naming an older state, which no later run
    takes for unfinished work.

    ``before_write`` is called with each post file's path before the file is written (new or
    updated), for what must follow every write even if the run is killed (its images).
    """

    def __init__(
        self,
        root: Path,
        category: str,
        *,
        index_file: Path | None = None,
        journal_file: Path | None = None,
        begun_from: str = "",
        before_write: Callable[[Path], None] | None = None,
    ) -> None:
        self.root = root
        self.category = category
        self.index_file = index_file
        self.journal_file = journal_file
        self._journal: TextIO | None = None
        self.begun_from = begun_from
        self.before_write = before_write
        self.by_entry: dict[tuple[str, str], StoredPost] = {}  # (handle, id): the post itself
        self.by_id: dict[str, StoredPost] = {}  # any member's post with this id
        self.by_link: dict[str, StoredPost] = {}  # any post with this full link
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
            self._remember(_stored_from_record(path, record), record[8])
        self._index_changed |= self._index.keys() != cached.keys()

    def save_index(self) -> None:
        """Record what the last scan and writes saw, for the next scan; a cache, so not durable."""
        if self.index_file is None or not self._index_changed:
            return
        document = {"format": INDEX_FORMAT, "root": str(self.root), "posts": self._index}
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
            if document["format"] == INDEX_FORMAT and document["root"] == str(self.root):
                return dict(document["posts"])
        except FileNotFoundError:
            pass
        except (OSError, ValueError, KeyError, TypeError) as error:
            log.info("ignoring the unreadable post index %s (%s)", self.index_file, error)
        return {}

    def find(
        self, handle: str, entry: Entry, *, by_link: bool = True
    ) -> tuple[StoredPost | None, bool]:
        """The post already written for this entry and whether it is the entry's own.

        Its own post is the one with the same member and id: the only post an entry may update.
        Otherwise the entry may duplicate a post: one with its id (the same post through
        another member's feed), or with its full link when one of the two has no id but that
        link (nothing else tells them apart). Entries with distinct ids of their own are
        distinct posts, whatever they link to: sponsor posts, linked-list posts, day pages.
        """
        # The forms of the id that earlier versions recorded count as the id (bare guids that
        # feedparser used to resolve against the feed's URL).
        ids = (entry.id, *entry.former_ids)
        for entry_id in ids:
            own = self.by_entry.get((handle, entry_id))
            if own is not None:
                return own, True
        for entry_id in ids:
            same_id = self.by_id.get(entry_id) if _names_one_post_anywhere(entry_id) else None
            if same_id is not None:
                return same_id, False
        if by_link:
            same_link = self.by_link.get(link_key(entry.link))
            if same_link is not None and (
                _named_by_link(entry.id, entry.link) or _named_by_link(same_link.id, same_link.link)
            ):
                return same_link, False
        return None, False

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
            self._note_in_journal(path, post)
            status = "published" if published else "draft"
            date = (post.date or now.replace(microsecond=0)).isoformat()
            outcome = "new"
        if self.before_write is not None:
            self.before_write(path)
        write_atomic(path, self.render(post, status=status, date=date, slug=path.stem))
        stored = StoredPost(path, post.handle, post.entry_id, post.link, post.hash, status, date)
        if existing is not None:
            self._forget(existing)  # its id may have changed: the old one names no post now
        self._remember(stored)
        self._record_in_index(stored)
        return outcome, stored

    def remove(self, stored: StoredPost) -> None:
        """Delete a post file and forget it (only ever one this run has just written)."""
        stored.path.unlink(missing_ok=True)
        self.by_entry.pop((stored.handle, stored.id), None)
        link = link_key(stored.link)
        if self.by_id.get(stored.id) == stored or self.by_link.get(link) == stored:
            # Another post may share the id or link: it takes the place of the one removed.
            self.by_id.pop(stored.id, None)
            self.by_link.pop(link, None)
            for other in self.by_entry.values():
                self.by_id.setdefault(other.id, other)
                self.by_link.setdefault(link_key(other.link), other)
        self._index.pop(_index_name(self.root, stored.path), None)
        self._index_changed = True

    def unfinished(self) -> list[tuple[StoredPost, str]]:
        """The posts an interrupted run created (still on disk, as scanned), with their feed."""
        found = []
        for record in self._journal_records():
            if record.get("from") != self.begun_from:
                continue  # a run that saved its state after it: finished
            stored = self._stored_at(record.get("path"))
            if stored is not None and stored.handle == record.get("handle"):
                found.append((stored, str(record.get("feed"))))
        return found

    def finish_journal(self, handles: Iterable[str], saved: str = "") -> None:
        """This run's posts are safely recorded in the state it ``saved`` (its digest): forget
        the journal of these members; the others' lines now go from that state."""
        if self._journal is not None:
            self._journal.close()
            self._journal = None
        if self.journal_file is None:
            return
        done = set(handles)
        kept = [
            {**record, "from": saved}
            for record in self._journal_records()
            if record.get("handle") not in done and record.get("from") == self.begun_from
        ]
        if kept:
            write_atomic(self.journal_file, "".join(json.dumps(r) + "\n" for r in kept))
        else:
            self.journal_file.unlink(missing_ok=True)

    def _note_in_journal(self, path: Path, post: Post) -> None:
        if self.journal_file is None:
            return
        if self._journal is None:
            self.journal_file.parent.mkdir(parents=True, exist_ok=True)
            self._journal = self.journal_file.open("a", encoding="utf-8")
        record = {"path": _index_name(self.root, path), "handle": post.handle}
        record |= {"feed": post.source.url, "from": self.begun_from}
        self._journal.write(json.dumps(record) + "\n")
        self._journal.flush()  # in the kernel's hands before the post file exists

    def _journal_records(self) -> list[dict[str, Any]]:
        if self.journal_file is None:
            return []
        try:
            lines = self.journal_file.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        records = []
        for line in lines:
            try:
                record = json.loads(line)
            except ValueError:
                continue  # the last line of a run killed while writing it
            if isinstance(record, dict):
                records.append(record)
        return records

    def _stored_at(self, name: Any) -> StoredPost | None:
        record = self._index.get(name) if isinstance(name, str) else None
        if record is None:
            return None
        stored = self.by_entry.get((record[2], record[3]))
        if stored is None or _index_name(self.root, stored.path) != name:
            return None
        return stored

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
        """A new file's path; never an existing file's, even when two ids' digests meet."""
        slug, key = slugify(post.title), digest(post.entry_id)
        for length in (8, 16, 64):
            path = self.root / post.handle / f"{slug}-{key[:length]}.html"
            if not path.exists():
                break
        return path

    def _forget(self, post: StoredPost) -> None:
        """Drop what the indexes hold of ``post`` (about to be remembered in a new form)."""
        if self.by_entry.get((post.handle, post.id)) == post:
            del self.by_entry[(post.handle, post.id)]
        if self.by_id.get(post.id) == post:
            del self.by_id[post.id]
        if self.by_link.get(link_key(post.link)) == post:
            del self.by_link[link_key(post.link)]

    def _remember(self, post: StoredPost, key: str | None = None) -> None:
        """Index ``post``; ``key``: its link's key, when the index already holds it."""
        self.by_entry[(post.handle, post.id)] = post
        self.by_id.setdefault(post.id, post)
        self.by_link.setdefault(link_key(post.link) if key is None else key, post)

    def _record_in_index(self, post: StoredPost) -> None:
        try:
            stat = post.path.stat()
        except OSError:
            return
        self._index[_index_name(self.root, post.path)] = _index_record(post, stat)
        self._index_changed = True


def _names_one_post_anywhere(entry_id: str) -> bool:
    """Whether an id names one post across feeds: a URI (``https://…``, ``tag:…``, ``urn:…``).
    A bare id (``42``, ``post-7``) is unique only within its own feed, so two members' feeds
    that both number their entries never make one member's post a duplicate of the other's."""
    return _URI_SCHEME.match(entry_id) is not None


def _named_by_link(entry_id: str, link: str) -> bool:
    """Whether an entry has nothing but its link to name it (no id, or its link as its id)."""
    return entry_id == link or link_key(entry_id) == link_key(link)


# An index record: [mtime_ns, size, handle, id, link, hash, status, date, link key]. The link's
# key is kept because working it out again for every post was half of a scan's time; a change
# to what ``link_key`` gives must raise INDEX_FORMAT.


def _index_record(post: StoredPost, stat: os.stat_result) -> list[Any]:
    return [
        stat.st_mtime_ns,
        stat.st_size,
        post.handle,
        post.id,
        post.link,
        post.hash,
        post.status,
        post.date,
        link_key(post.link),
    ]


def _stored_from_record(path: Path, record: list[Any]) -> StoredPost:
    _, _, handle, post_id, link, post_hash, status, date, _ = record
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
            # Long titles, ids and tag lists can push the head past HEAD_BYTES; a metadata tag
            # cut off there would read as missing (a published post as a draft, without date).
            while b"</head>" not in head and len(head) < MAX_HEAD_BYTES:
                more = handle.read(HEAD_BYTES)
                if not more:
                    break
                head += more
    except OSError as error:
        log.warning("%s: cannot read (%s)", path, error)
        return None
    # The body (most of the file) is not ours to read.
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


@dataclass(frozen=True)
class Narrowed:
    """What ``narrow_posts`` did with one member's post files."""

    rewritten: list[Path]  # the files that held more than the consent keeps, now rewritten
    narrowest: Consent | None  # the least any of their files held (None: no files)


def narrow_posts(root: Path, handle: str, consent: Consent, excerpt_chars: int) -> Narrowed:
    """Rewrite every post file of ``handle`` that holds more than ``consent`` keeps: an excerpt
    consent leaves the excerpt only, a link consent the metadata and the link.

    This is for the posts a feed no longer brings (or brings unchanged, as a 304): the ones it
    still lists are written afresh from the feed by the fetch itself.
    """
    rewritten: list[Path] = []
    narrowest: Consent | None = None
    for path in sorted((root / handle).glob("*.html")):
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            log.warning(
                "%s: cannot read (%s); its consent is applied at build time only", path, error
            )
            continue
        head, _, _ = text.partition("</head>")
        meta = {m["name"]: html.unescape(m["content"]) for m in _META.finditer(head)}
        if "chorus_id" not in meta or meta.get("member", handle) != handle:
            continue
        written = meta.get("chorus_consent")
        kept = effective_consent(consent, written) or consent
        narrowest = kept if narrowest is None else narrower(narrowest, kept)
        if kept == written:
            continue
        narrowed = _narrowed_file(text, kept, excerpt_chars)
        if narrowed is None:
            log.warning(
                "%s: not in the form chorus fetch writes; shown as consent %s allows, but the "
                "file still holds more: edit it by hand",
                path,
                kept,
            )
            continue
        write_atomic(path, narrowed)
        rewritten.append(path)
    return Narrowed(rewritten, narrowest)


def _narrowed_file(text: str, consent: Consent, excerpt_chars: int) -> str | None:
    """A post file's text holding no more than ``consent`` keeps, or None if it is not ours."""
    start, body_tag, rest = text.partition("\n<body>\n")
    body, end_tag, end = rest.rpartition("\n</body>\n")
    if not body_tag or not end_tag or _CONSENT.search(start) is None:
        return None
    head = _CONSENT.sub(lambda m: f"{m[1]}{consent}{m[2]}", start, count=1)
    # A hash no feed entry gives: the next time the feed lists the entry, the post is written
    # afresh from it (with the feed's own excerpt), whatever the consent is by then.
    head = _HASH.sub(
        lambda m: f"{m[1]}{digest('narrowed', m['hash'], consent)}{m[3]}", head, count=1
    )
    return f"{head}{body_tag}{kept_body(body, consent, excerpt_chars)}{end_tag}{end}"


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
