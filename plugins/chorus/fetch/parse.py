"""Parse feed bytes (RSS, Atom, JSON Feed) into normalised, sanitized entries."""

from __future__ import annotations

import html
import io
import json
import re
import time
import zlib
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import feedparser

from chorus.common.sanitize import plain_text, sanitize_html
from chorus.common.urls import web_url
from chorus.fetch.entries import Entry, FeedError, ParsedFeed

MAX_TAGS = 20
MAX_TAG_LENGTH = 64
MAX_TITLE_LENGTH = 300
MAX_ID_LENGTH = 1000
# Clocks differ and feeds lie; a date further ahead than this is taken as "undated".
FUTURE_SLACK = timedelta(days=1)
_EMAIL = re.compile(r"(?:mailto:)?[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
JSON_FEED_VERSIONS = ("https://jsonfeed.org/version/1", "https://jsonfeed.org/version/1.1")


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
        return _parse_json_feed(body, url, max_entries=max_entries, now=now)
    return _parse_xml_feed(body, url, headers, max_entries=max_entries, now=now)


def parse_compressed_feed(
    compressed: bytes, url: str, headers: Mapping[str, str], **options: Any
) -> ParsedFeed:
    """``parse_feed`` of a body kept zlib-compressed while it waited for a parser."""
    return parse_feed(zlib.decompress(compressed), url, headers, **options)


def _looks_like_json(body: bytes, content_type: str) -> bool:
    if "json" in content_type.lower():
        return True
    return body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{"


def _parse_xml_feed(
    body: bytes, url: str, headers: dict[str, str], *, max_entries: int, now: datetime
) -> ParsedFeed:
    # A file-like object: given bytes or str, feedparser may treat them as a URL or a file
    # name and read it. Our sanitizer and URL handling run anyway, so feedparser's own passes
    # (two thirds of its parse time, shared/MEASURED.md) are switched off.
    parsed = feedparser.parse(
        io.BytesIO(body),
        response_headers={**headers, "content-location": url},
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
    entries, skipped = _normalise_all(
        _xml_entry(raw, url, feed_author, atom, now) for raw in parsed.entries[:max_entries]
    )
    return ParsedFeed(
        url=url,
        title=_title(feed.get("title", ""), _is_html(feed.get("title_detail"), atom))
        or site
        or url,
        site=site,
        entries=entries,
        warning=reason,
        skipped=skipped + max(0, len(parsed.entries) - max_entries),
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


def _xml_entry(
    raw: Any, feed_url: str, feed_author: str | None, atom: bool, now: datetime
) -> Entry | None:
    link = web_url(raw.get("link", ""), feed_url)
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
    return _entry(
        raw.get("id"),
        link,
        _title(raw.get("title", ""), _is_html(raw.get("title_detail"), atom)),
        published or updated,
        updated,
        author,
        tags,
        summary_html,
        content_html,
    )


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
    except (TypeError, ValueError):
        return None
    return _plausible(date, now)


def _plausible(date: datetime, now: datetime) -> datetime | None:
    return None if date > now + FUTURE_SLACK else date


def _parse_json_feed(body: bytes, url: str, *, max_entries: int, now: datetime) -> ParsedFeed:
    try:
        document = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise FeedError(f"not a readable JSON Feed: {error}") from None
    except RecursionError:
        raise FeedError("not a readable JSON Feed: nested too deeply") from None
    if not isinstance(document, dict) or not isinstance(document.get("items"), list):
        raise FeedError("not a JSON Feed: no 'items' list")
    version = document.get("version")
    warning = None if version in JSON_FEED_VERSIONS else f"unknown JSON Feed version {version!r}"
    site = web_url(_str(document.get("home_page_url")), url)
    feed_authors = _json_authors(document)
    items = [item for item in document["items"] if isinstance(item, dict)]
    entries, skipped = _normalise_all(
        _json_entry(item, url, feed_authors, now) for item in items[:max_entries]
    )
    return ParsedFeed(
        url=url,
        title=_title(_str(document.get("title")), html=False) or site or url,
        site=site,
        entries=entries,
        warning=warning,
        skipped=skipped + max(0, len(items) - max_entries),
        self_url=web_url(_str(document.get("feed_url")), url),
        author=_name(feed_authors[0]) if feed_authors else None,
    )


def _json_entry(
    item: dict[str, Any], feed_url: str, feed_authors: list[str], now: datetime
) -> Entry | None:
    link = web_url(_str(item.get("url")), feed_url) or web_url(
        _str(item.get("external_url")), feed_url
    )
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
    return _entry(
        _json_id(item.get("id")),
        link,
        _title(_str(item.get("title")), html=False),  # JSON Feed titles are plain text
        published or updated,
        updated,
        authors[0] if authors else None,
        [_str(t) for t in tags],
        _text_html(summary) if summary else "",
        content_html,
    )


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
    except ValueError:
        return None
    if date.tzinfo is None:
        date = date.replace(tzinfo=UTC)
    return _plausible(date.astimezone(UTC), now)


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
) -> Entry:
    """Build the normalised entry: every field is plain, bounded and safe from here on."""
    entry_id = _str(raw_id).strip()[:MAX_ID_LENGTH]
    if not entry_id:
        entry_id = link  # no id: the link is what names the post
    clean_tags: list[str] = []
    for tag in tags:
        text = plain_text(_str(tag))[:MAX_TAG_LENGTH].strip()
        if text and text.casefold() not in {t.casefold() for t in clean_tags}:
            clean_tags.append(text)
    return Entry(
        id=entry_id,
        link=link,
        title=title or link,
        published=published,
        updated=updated,
        author=_name(author),
        tags=tuple(clean_tags[:MAX_TAGS]),
        summary_html=summary_html,
        content_html=content_html,
    )


def _person(holder: Any) -> str | None:
    """The author's name from feedparser's "author", with any e-mail address taken out.

    Its author_detail is not used: it splits "ada@ada.example" into the name "ple"."""
    text = _EMAIL.sub(" ", _str(holder.get("author")))
    return _name(text.strip(" ()<>[],;\t\n")) if text else None


def _name(value: Any) -> str | None:
    """A person's name as plain text; an e-mail address is never a name we publish."""
    text = plain_text(_str(value))[:MAX_TITLE_LENGTH]
    if "@" in text and " " not in text:
        return None
    return text or None


def _normalise_all(candidates: Iterable[Entry | None]) -> tuple[tuple[Entry, ...], int]:
    entries: list[Entry] = []
    ids: set[str] = set()
    skipped = 0
    for entry in candidates:
        if entry is None or entry.id in ids:
            skipped += 1
            continue
        ids.add(entry.id)
        entries.append(entry)
    return tuple(entries), skipped


def _title(value: str, html: bool) -> str:
    """A title as plain text: HTML ones lose their markup, text ones keep every character."""
    text = plain_text(value) if html else " ".join(_str(value).split())
    return text[:MAX_TITLE_LENGTH].strip()


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
