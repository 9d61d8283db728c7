"""Parse feed bytes (RSS, Atom, JSON Feed) into normalised, sanitized entries."""

from __future__ import annotations

import hashlib
import html
import io
import json
import logging
import re
import time
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import fields, is_dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urljoin, urlsplit

import feedparser

from chorus.common.sanitize import plain_text, sanitize_html, xml_safe
from chorus.common.urls import web_url
from chorus.fetch import fastparse
from chorus.fetch.entries import Enclosure, Entry, FeedError, LeftOut, ParsedFeed

MAX_TAGS = 20
MAX_TAG_LENGTH = 64
MAX_TITLE_LENGTH = 300
MAX_ID_LENGTH = 1000
MAX_ENCLOSURES = 5
NOTE_TITLE_CHARS = 70  # an untitled micropost is titled by its opening words, up to this
UNTITLED = "Untitled note"  # ... or this, when it has no words either
# Clocks differ and feeds lie; a date further ahead than this is taken as "undated".
FUTURE_SLACK = timedelta(days=1)
_EMAIL = re.compile(r"(?:mailto:)?[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
JSON_FEED_VERSIONS = ("https://jsonfeed.org/version/1", "https://jsonfeed.org/version/1.1")
_MIME_TYPE = re.compile(r"[a-z]+/[a-z0-9][a-z0-9.+-]{0,126}")
# What feedparser may have taken for a relative URL and resolved: a guid such as "1559050401777".
_BARE_ID = re.compile(r"[\w.~-]{1,200}")
# The id of an entry that has neither an id nor a link of its own: a digest of what it says.
# No URI scheme, so that it names a post within its own feed only, never another member's.
CONTENT_ID_PREFIX = "chorus-entry-"
MAX_ENTRY_ERRORS = 3  # how many unreadable entries the fetch report names, with why
# A JSON string's "\ud800" escape is a lone surrogate once decoded (a pair becomes one character).
_SURROGATE = re.compile("[\ud800-\udfff]")
# A character reference XML forbids: to a surrogate, or past U+10FFFF (see _feedparser_safe).
_CHARREF = re.compile(rb"&#(?:[xX]([0-9a-fA-F]+)|([0-9]+));")
_Item = TypeVar("_Item")
log = logging.getLogger(__name__)


def parse_feed(
    body: bytes,
    url: str,
    headers: Mapping[str, str] | None = None,
    *,
    max_entries: int = 100,
    now: datetime | None = None,
) -> ParsedFeed:
    """Parse one feed document fetched from ``url``; raise FeedError if it is not a feed."""
    headers = {key.lower(): value for key, value in (headers or {}).items()}
    now = now or datetime.now(UTC)
    if _looks_like_json(body, headers.get("content-type", "")):
        feed = _parse_json_feed(body, url, max_entries=max_entries, now=now)
    else:
        feed = _parse_xml_feed(body, url, headers, max_entries=max_entries, now=now)
    # Every text that reaches a post file, and from there the site's feeds, must be one an XML
    # document can hold: a feed's ESC or BEL (raw, or as an entity the sanitizer or the
    # decoding of a title turned into the character) would make the feed writer fail.
    return _xml_safe_fields(feed)


def _xml_safe_fields(value: _Item) -> _Item:
    """``value`` with the characters XML 1.0 forbids taken out of every string it holds."""
    if isinstance(value, str):
        return xml_safe(value)  # type: ignore[return-value]
    if isinstance(value, tuple):
        return tuple(_xml_safe_fields(item) for item in value)  # type: ignore[return-value]
    if is_dataclass(value) and not isinstance(value, type):
        changes = {f.name: _xml_safe_fields(getattr(value, f.name)) for f in fields(value)}
        return replace(value, **changes)
    return value


def parse_compressed_feed(
    compressed: bytes, url: str, headers: Mapping[str, str], **options: Any
) -> ParsedFeed:
    """``parse_feed`` of a body kept zlib-compressed while it waited for a parser."""
    return parse_feed(zlib.decompress(compressed), url, headers, **options)


def _feedparser_safe(body: bytes) -> bytes:
    """``body`` with the character references that would crash feedparser made U+FFFD.

    A document that is not well-formed XML goes to feedparser's loose parser, which turns
    ``&#xD800;`` (a lone surrogate) or ``&#x110000;`` into a character with ``chr()`` and
    encodes it as UTF-8: that raises out of ``feedparser.parse``, and every entry of the feed
    is lost. XML forbids such references, so no document the fast path reads holds one (lxml
    refuses it); here they become U+FFFD, as an HTML parser makes them. Only ASCII-compatible
    encodings are covered, which is what feeds are in practice."""
    if b"&#" not in body:
        return body

    def safe(match: re.Match[bytes]) -> bytes:
        hexadecimal, decimal = match.groups()
        digits = hexadecimal or decimal
        if len(digits.lstrip(b"0")) > 8:  # past U+10FFFF whatever it says (and int() limits)
            return b"&#xFFFD;"
        code = int(digits, 16) if hexadecimal else int(digits)
        return b"&#xFFFD;" if 0xD800 <= code <= 0xDFFF or code > 0x10FFFF else match[0]

    return _CHARREF.sub(safe, body)


def _without_surrogates(document: Any) -> Any:
    """``document`` (parsed JSON) with every lone surrogate taken out of its strings.

    JSON can carry what no Unicode text can: ``"\\ud800"`` decodes to a lone surrogate, which
    UTF-8 cannot encode, so the sanitizer (nh3), the URL handling and the post writer would
    all raise on it. This is where text is first taken from a JSON Feed, so it is cleaned
    here, once, for every field. Taken out, not replaced: the fields that never raised on one
    (an id, a title) always had it taken out by xml_safe, so their posts keep their ids.
    (XML cannot carry one: see _feedparser_safe.) Iterative, as ``json.loads`` accepts
    nesting deeper than a recursive walk would."""
    if isinstance(document, str):
        return _SURROGATE.sub("", document)
    pending = [document] if isinstance(document, dict | list) else []
    while pending:
        node = pending.pop()
        pairs = list(node.items()) if isinstance(node, dict) else list(enumerate(node))
        for key, value in pairs:
            if isinstance(value, str):
                if _SURROGATE.search(value):
                    node[key] = _SURROGATE.sub("", value)
            elif isinstance(value, dict | list):
                pending.append(value)
        if isinstance(node, dict) and any(_SURROGATE.search(key) for key in node):
            # Keys too: an unknown key is never read, but one of ours may be spelled so.
            cleaned = {_SURROGATE.sub("", key): value for key, value in node.items()}
            node.clear()
            node.update(cleaned)
    return document


def _looks_like_json(body: bytes, content_type: str) -> bool:
    if "json" in content_type.lower():
        return True
    return body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{"


def _parse_xml_feed(
    body: bytes, url: str, headers: dict[str, str], *, max_entries: int, now: datetime
) -> ParsedFeed:
    # Well-formed RSS and Atom take the fast path (fastparse.py), which gives what feedparser
    # gives; the rest goes to feedparser. A file-like object: given bytes or str, feedparser may
    # treat them as a URL or a file name and read it. Our sanitizer and URL handling run anyway,
    # so feedparser's own passes (two thirds of its parse time, shared/MEASURED.md) are off.
    response_headers = {**headers, "content-location": url}
    parsed = fastparse.parse(body, response_headers) or feedparser.parse(
        io.BytesIO(_feedparser_safe(body)),
        response_headers=response_headers,
        sanitize_html=False,
        resolve_relative_uris=False,
    )
    reason = str(parsed.get("bozo_exception") or "") if parsed.bozo else None
    if not parsed.entries and (parsed.bozo or not parsed.get("version")):
        raise FeedError(f"not a readable feed: {reason or 'no RSS, Atom or JSON Feed found'}")
    feed = parsed.feed
    site = web_url(feed.get("link", ""), url)
    feed_author = _person(feed)
    atom = parsed.get("version", "").startswith("atom")
    context = _FeedContext(url, _hosts(site, url), body)
    numbered = list(enumerate(parsed.entries, 1))
    kept = _newest(numbered, max_entries, lambda item: _xml_date(item[1], now))
    entries, left_out = _normalise_all(
        kept,
        lambda raw: _xml_entry(raw, context, feed_author, atom, now),
        lambda raw: _xml_id(raw, context)[0] or _str(raw.get("link")),  # as the feed says
        url=url,
        over_cap=len(parsed.entries) - len(kept),
        cap=max_entries,
    )
    return ParsedFeed(
        url=url,
        title=_title(feed.get("title", ""), _is_html(feed.get("title_detail"), atom))
        or site
        or url,
        site=site,
        entries=entries,
        warning=reason,
        left_out=left_out,
        id=_str(feed.get("id")).strip()[:MAX_ID_LENGTH] or None,
        self_url=next(
            (
                web_url(link.get("href", ""), url)
                for link in feed.get("links", [])
                if link.get("rel") == "self"
            ),
            None,
        ),
        updated=_struct_date(dict.get(feed, "updated_parsed"), now),
        author=_name(feed_author),
        rights=plain_text(_str(feed.get("rights")))[:MAX_TITLE_LENGTH] or None,
    )


class _FeedContext:
    """What every entry of one feed is read against: its URL, the member's hosts, its bytes."""

    def __init__(self, url: str, hosts: frozenset[str], body: bytes) -> None:
        self.url = url
        self.hosts = hosts
        self.body = body

    def is_own(self, link: str | None) -> bool:
        """Whether ``link`` is on the member's own site (the feed's site or the feed's host)."""
        return bool(link) and _host(link) in self.hosts


def _hosts(*urls: str | None) -> frozenset[str]:
    return frozenset(_host(url) for url in urls if url)


def _host(url: str) -> str:
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return ""
    return host.lower().removeprefix("www.")


def _xml_entry(
    raw: Any, feed: _FeedContext, feed_author: str | None, atom: bool, now: datetime
) -> Entry | None:
    feed_url = feed.url
    entry_id, former_ids = _xml_id(raw, feed)
    given = web_url(raw.get("link", ""), feed_url)
    link, external = _permalink(given, _other_links(raw, entry_id, feed_url), feed)
    if link is None:
        return None
    content = _best_content(raw.get("content") or [])
    summary = raw.get("summary_detail")
    # Relative URLs in a description mean "relative to the post" unless the feed set xml:base.
    content_html = _html_of(content, default_base=link, feed_url=feed_url)
    summary_html = _html_of(summary, default_base=link, feed_url=feed_url)
    # An entry without an author has the feed's (RFC 4287 section 4.1.2).
    author = _person(raw) or feed_author
    tags = [tag.get("term") or tag.get("label") or "" for tag in raw.get("tags", [])]
    published = _struct_date(raw.get("published_parsed") or raw.get("created_parsed"), now)
    # dict.get: feedparser's own lookup maps a missing "updated" to "published", with a warning.
    updated = _struct_date(dict.get(raw, "updated_parsed"), now)
    if not entry_id and link == feed_url:
        # No id, and no link but the feed's own URL (what <link href=""> resolves to): a
        # sponsor post, say. Several such entries are distinct posts, told apart by what
        # they say; the same entry in the next run gives the same id again.
        entry_id = _content_id(
            _str(raw.get("title")),
            _date_key(raw.get("published_parsed") or dict.get(raw, "updated_parsed")),
            *(_str(part.get("value")) for part in raw.get("content") or []),
            _str(raw.get("summary")),
        )
        # Earlier versions gave every such entry the feed's URL as its id (and one post).
        former_ids = (feed_url,)
    enclosures = [
        (item.get("href"), item.get("type"), item.get("length"))
        for item in raw.get("links", [])
        if item.get("rel") == "enclosure"
    ]
    return _entry(
        entry_id,
        link,
        _title(raw.get("title", ""), _is_html(raw.get("title_detail"), atom)),
        published or updated,
        updated,
        author,
        tags,
        summary_html,
        content_html,
        external_url=external,
        enclosures=_enclosures(enclosures, feed_url),
        former_ids=former_ids,
    )


def _xml_id(raw: Any, feed: _FeedContext) -> tuple[str, tuple[str, ...]]:
    """The entry's id as the feed gives it, and the form earlier versions recorded.

    feedparser resolves a guid against the feed's URL as if it were a relative URL, so a bare
    ``<guid>1559050401777</guid>`` becomes ``http://host/1559050401777``, an id that changes
    when the feed moves. The bare form is taken back when the feed's bytes hold it as a guid.
    """
    resolved = _str(raw.get("id")).strip()
    if "://" not in resolved:
        return resolved, ()
    bases = {feed.url, *(_str((raw.get(k) or {}).get("base")) for k in ("title_detail",
             "summary_detail"))}  # fmt: skip
    for base in filter(None, bases):
        directory = urljoin(base, ".")
        rest = resolved.removeprefix(directory)
        if rest == resolved or not _BARE_ID.fullmatch(rest) or urljoin(base, rest) != resolved:
            continue
        element = rb"<(?:\w+:)?(?:guid|id)\b[^>]*>\s*" + re.escape(rest.encode()) + rb"\s*</"
        if re.search(element, feed.body):
            return rest, (resolved,)
    return resolved, ()


def _other_links(raw: Any, entry_id: str, feed_url: str) -> list[str]:
    """Links of the entry that may be the member's own permalink when its <link> is not:
    Atom's related and alternate links (Daring Fireball's permalink is rel="related"), then
    a guid that is a URL."""
    links = [
        web_url(item.get("href", ""), feed_url)
        for item in raw.get("links", [])
        if item.get("rel") in ("related", "alternate")
    ]
    return [link for link in [*links, web_url(entry_id)] if link]


def _permalink(
    given: str | None, others: Iterable[str], feed: _FeedContext
) -> tuple[str | None, str | None]:
    """(the member's permalink, the page elsewhere the post is about) from the entry's link.

    A linked-list post's link points to the article it is about; its own permalink on the
    member's site is another of its links. When no link is on the member's site, the given one
    stays the permalink (a blog on a host of its own that its feed does not name)."""
    if given is None or feed.is_own(given):
        return given or next((link for link in others if feed.is_own(link)), None), None
    own = next((link for link in others if feed.is_own(link)), None)
    return (own, given) if own else (given, None)


def _enclosures(items: Iterable[tuple[Any, Any, Any]], base: str) -> tuple[Enclosure, ...]:
    """Enclosures with an http(s) URL, a MIME type that looks like one, a size if a number."""
    found: list[Enclosure] = []
    for url, kind, length in items:
        href = web_url(_str(url), base)
        if href is None or any(e.url == href for e in found):
            continue
        mime = _str(kind).strip().lower().split(";")[0]
        if isinstance(length, str):
            length = int(length.strip()) if length.strip().isdigit() else None
        elif isinstance(length, bool) or not isinstance(length, int | float):
            length = None
        size = int(length) if length and 0 < length < 2**53 else None
        found.append(Enclosure(href, mime if _MIME_TYPE.fullmatch(mime) else "", size))
    return tuple(found[:MAX_ENCLOSURES])


def _date_key(parsed: Any) -> str:
    """A date as its parsed fields (both parsers give those; the raw text only feedparser)."""
    return " ".join(str(field) for field in tuple(parsed)[:6]) if parsed else ""


def _content_id(*parts: str) -> str:
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()
    return CONTENT_ID_PREFIX + digest[:32]


def _newest(
    items: Sequence[_Item], cap: int, date: Callable[[_Item], datetime | None]
) -> list[_Item]:
    """The ``cap`` newest of ``items``, in feed order (most feeds list the newest first, some
    the oldest). Undated items count as older than dated ones; among equals, the earlier in the
    feed is kept."""
    if len(items) <= cap:
        return list(items)
    dates = [_date_or_none(date, item) for item in items]
    oldest = datetime.min.replace(tzinfo=UTC)
    ranked = sorted(range(len(items)), key=lambda i: (dates[i] or oldest, -i), reverse=True)
    return [items[i] for i in sorted(ranked[:cap])]


def _date_or_none(date: Callable[[_Item], datetime | None], item: _Item) -> datetime | None:
    """An item's date for ranking it; one that cannot be read ranks it as undated. The entry
    is not lost unreported: kept, reading it fails and reports it as unreadable; past the cap,
    it is counted with the entries over the cap."""
    try:
        return date(item)
    except Exception:
        return None


def _xml_date(raw: Any, now: datetime) -> datetime | None:
    parsed = raw.get("published_parsed") or raw.get("created_parsed")
    return _struct_date(parsed or dict.get(raw, "updated_parsed"), now)


def _best_content(contents: list[Any]) -> Any:
    for content in contents:
        if "html" in content.get("type", ""):
            return content
    return contents[0] if contents else None


def _html_of(detail: Any, *, default_base: str, feed_url: str) -> str:
    if not detail or not detail.get("value"):
        return ""
    value = detail["value"]
    if "html" not in detail.get("type", "text/html"):
        value = _text_html(value)
    base = detail.get("base") or feed_url
    return sanitize_html(value, default_base if base == feed_url else base)


def _struct_date(value: time.struct_time | None, now: datetime) -> datetime | None:
    if not value:
        return None
    try:
        date = datetime(*value[:6], tzinfo=UTC)
    except (TypeError, ValueError, OverflowError):  # year 0 or 10000, after the offset
        return None
    return _plausible(date, now)


def _plausible(date: datetime, now: datetime) -> datetime | None:
    return None if date > now + FUTURE_SLACK else date


def _parse_json_feed(body: bytes, url: str, *, max_entries: int, now: datetime) -> ParsedFeed:
    try:
        document = _without_surrogates(json.loads(body.decode("utf-8-sig")))
    except ValueError as error:  # undecodable, not JSON, or an integer of 4,300+ digits
        raise FeedError(f"not a readable JSON Feed: {error}") from None
    except RecursionError:
        raise FeedError("not a readable JSON Feed: nested too deeply") from None
    if isinstance(document, dict) and isinstance(document.get("rss"), dict):
        # Scripting News and other OPML-era blogs publish their RSS as JSON too; it has no
        # specification to read it by, and the same blog always has the RSS itself.
        raise FeedError(
            "an RSS-in-JSON document, not a JSON Feed: use the blog's RSS feed instead "
            "(the same posts, usually at the same address ending in .xml)"
        )
    if not isinstance(document, dict) or not isinstance(document.get("items"), list):
        raise FeedError("not a JSON Feed: no 'items' list")
    version = document.get("version")
    warning = None if version in JSON_FEED_VERSIONS else f"unknown JSON Feed version {version!r}"
    site = web_url(_str(document.get("home_page_url")), url)
    feed_authors = _json_authors(document)
    items = [item for item in document["items"] if isinstance(item, dict)]
    context = _FeedContext(url, _hosts(site, url), body)
    numbered = list(enumerate(items, 1))
    kept = _newest(
        numbered,
        max_entries,
        lambda i: _iso_date(i[1].get("date_published") or i[1].get("date_modified"), now),
    )
    entries, left_out = _normalise_all(
        kept,
        lambda item: _json_entry(item, context, feed_authors, now),
        lambda item: _json_id(item.get("id")) or _str(item.get("url")),
        url=url,
        over_cap=len(items) - len(kept),
        cap=max_entries,
    )
    return ParsedFeed(
        url=url,
        title=_json_title(document.get("title")) or site or url,
        site=site,
        entries=entries,
        warning=warning,
        left_out=left_out,
        self_url=web_url(_str(document.get("feed_url")), url),
        author=_name(feed_authors[0]) if feed_authors else None,
    )


def _json_entry(
    item: dict[str, Any], feed: _FeedContext, feed_authors: list[str], now: datetime
) -> Entry | None:
    feed_url = feed.url
    own = web_url(_str(item.get("url")), feed_url)
    external = web_url(_str(item.get("external_url")), feed_url)
    entry_id = _json_id(item.get("id"))
    if own is None:
        # "url" is optional: an id or external_url on the member's site is the permalink;
        # else the external page is all there is to link to.
        own = next((u for u in (web_url(entry_id), external) if feed.is_own(u)), None)
    link = own or external
    if link is None:
        return None
    if _str(item.get("content_html")):
        content_html = sanitize_html(_str(item["content_html"]), link)
    elif _str(item.get("content_text")):
        content_html = _text_html(_str(item["content_text"]))
    else:
        content_html = ""
    summary = _str(item.get("summary"))
    published = _iso_date(item.get("date_published"), now)
    updated = _iso_date(item.get("date_modified"), now)
    authors = _json_authors(item) or feed_authors
    tags = item.get("tags") if isinstance(item.get("tags"), list) else []
    attachments = item.get("attachments") if isinstance(item.get("attachments"), list) else []
    return _entry(
        entry_id,
        link,
        _json_title(item.get("title")),
        published or updated,
        updated,
        authors[0] if authors else None,
        [_str(t) for t in tags],
        _text_html(summary) if summary else "",
        content_html,
        external_url=external if external != link else None,
        enclosures=_enclosures(
            (
                (a.get("url"), a.get("mime_type"), a.get("size_in_bytes"))
                for a in attachments
                if isinstance(a, dict)
            ),
            link,
        ),
    )


def _json_title(value: Any) -> str:
    """JSON Feed titles are plain text, yet publishers escape them as HTML ("I&#039;m"), as
    RSS titles are: entities are decoded once, and what is then markup stays characters."""
    return _title(html.unescape(_str(value)), html=False)


def _json_authors(holder: dict[str, Any]) -> list[str]:
    authors = holder.get("authors")
    if not isinstance(authors, list):
        authors = [holder["author"]] if isinstance(holder.get("author"), dict) else []
    return [_str(a.get("name")) for a in authors if isinstance(a, dict) and _str(a.get("name"))]


def _iso_date(value: Any, now: datetime) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        date = datetime.fromisoformat(value.strip().upper())  # RFC 3339 allows "t" and "z"
        if date.tzinfo is None:
            date = date.replace(tzinfo=UTC)
        date = date.astimezone(UTC)
    except (ValueError, OverflowError):  # OverflowError: 0001-01-01T00:00:00+05:00 in UTC
        return None
    return _plausible(date, now)


def _entry(
    raw_id: Any,
    link: str,
    title: str,
    published: datetime | None,
    updated: datetime | None,
    author: Any,
    tags: Iterable[str],
    summary_html: str,
    content_html: str,
    *,
    external_url: str | None = None,
    enclosures: tuple[Enclosure, ...] = (),
    former_ids: tuple[str, ...] = (),
) -> Entry:
    """Build the normalised entry: every field is plain, bounded and safe from here on."""
    entry_id = xml_safe(_str(raw_id)).strip()[:MAX_ID_LENGTH]
    if not entry_id:
        entry_id = link  # no id: the link is what names the post
    clean_tags: list[str] = []
    for tag in tags:
        text = xml_safe(plain_text(_str(tag)))[:MAX_TAG_LENGTH].strip()
        if text and text.casefold() not in {t.casefold() for t in clean_tags}:
            clean_tags.append(text)
    return Entry(
        id=entry_id,
        link=link,
        title=title or _opening_words(content_html or summary_html),
        published=published,
        updated=updated,
        author=_name(author),
        tags=tuple(clean_tags[:MAX_TAGS]),
        summary_html=summary_html,
        content_html=content_html,
        external_url=external_url,
        enclosures=enclosures,
        note=not title,
        former_ids=tuple(i[:MAX_ID_LENGTH] for i in former_ids if i[:MAX_ID_LENGTH] != entry_id),
    )


def _opening_words(fragment: str) -> str:
    """A title for an untitled entry: the opening words of its text, never a URL."""
    words = [word for word in xml_safe(plain_text(fragment)).split() if "://" not in word]
    text = " ".join(words)
    if len(text) <= NOTE_TITLE_CHARS:
        return text or UNTITLED
    cut = text[: NOTE_TITLE_CHARS - 1].rsplit(" ", 1)[0] or text[: NOTE_TITLE_CHARS - 1]
    return cut.rstrip(" ,.;:-\u2014\u2013") + "\u2026"


def _person(holder: Any) -> str | None:
    """The author's name from feedparser's "author", with any e-mail address taken out.

    Its author_detail is not used: it splits "ada@ada.example" into the name "ple"."""
    text = _EMAIL.sub(" ", _str(holder.get("author")))
    return _name(text.strip(" ()<>[],;\t\n")) if text else None


def _name(value: Any) -> str | None:
    """A person's name as plain text; an e-mail address is never a name we publish."""
    text = xml_safe(plain_text(_str(value)))[:MAX_TITLE_LENGTH].strip()
    if "@" in text and " " not in text:
        return None
    return text or None


def _normalise_all(
    items: Iterable[tuple[int, _Item]],
    read: Callable[[_Item], Entry | None],
    label: Callable[[_Item], str],
    *,
    url: str,
    over_cap: int,
    cap: int,
) -> tuple[tuple[Entry, ...], LeftOut]:
    """The usable entries of ``items`` (each with its place in the feed) as ``read`` makes
    them, and the others counted by why they give no post.

    One entry that cannot be read (``read`` raises: a value no check foresaw, a bug) costs
    that entry alone: it is left out, counted as unreadable, and the fetch report says which
    and why; the traceback goes to the log. Every other entry of the feed still gives its post.
    """
    entries: list[Entry] = []
    ids: set[str] = set()
    unlinked = duplicates = unreadable = 0
    errors: list[str] = []
    for place, item in items:
        try:
            entry = read(item)
        except Exception as error:
            unreadable += 1
            log.info("%s: entry %d left out, unreadable", url, place, exc_info=True)
            if len(errors) < MAX_ENTRY_ERRORS:
                errors.append(_unreadable(place, item, label, error))
            continue
        if entry is None:
            unlinked += 1
        elif entry.id in ids:
            duplicates += 1
        else:
            ids.add(entry.id)
            entries.append(entry)
    left_out = LeftOut(
        unlinked, duplicates, over_cap, cap if over_cap else 0, unreadable, tuple(errors)
    )
    return tuple(entries), left_out


def _unreadable(place: int, item: Any, label: Callable[[Any], str], error: Exception) -> str:
    """Why an entry was left out, for the fetch report: "entry 2 (its id): Error: message".

    Square brackets become parentheses: the report is printed as console markup, and the id
    and the message come from the feed."""

    def clean(text: str, length: int) -> str:
        return " ".join(_SURROGATE.sub("", text).split())[:length]

    try:
        name = clean(label(item), 100)
    except Exception:
        name = ""
    try:
        message = clean(f"{type(error).__name__}: {error}", 200)
    except Exception:  # an exception whose message cannot be made is still named
        message = type(error).__name__
    text = f"entry {place}{f' ({name})' if name else ''}: {message}"
    return text.translate(str.maketrans("[]", "()"))


def _title(value: str, html: bool) -> str:
    """A title as plain text: HTML ones lose their markup, text ones keep every character
    that XML allows."""
    text = plain_text(value) if html else _str(value)
    return " ".join(xml_safe(text).split())[:MAX_TITLE_LENGTH].strip()


def _is_html(detail: Any, atom: bool) -> bool:
    """Whether a title is HTML. Only Atom says so reliably (type="text"); feedparser guesses
    for RSS, where titles are escaped HTML in practice, so they are taken as HTML."""
    return not atom or "html" in (detail or {}).get("type", "text/html")


def _json_id(value: Any) -> str:
    # JSON Feed: "if the id is presented as a number, a reader must coerce it to a string".
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return _str(value)


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _text_html(text: str) -> str:
    """Plain text as HTML paragraphs (blank lines separate them)."""
    return "<p>" + html.escape(text, quote=False).replace("\n\n", "</p><p>") + "</p>"
