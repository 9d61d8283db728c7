"""Credit data for templates: the member as readers see them, with their posts."""

from __future__ import annotations

import json
import logging
import mimetypes
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime
from html import escape
from typing import Any
from urllib.parse import urlsplit

import markdown

from chorus.common.sanitize import link_remote_images, sanitize_html
from chorus.common.urls import LOCAL_SCHEME, web_url
from chorus.fetch.faces import Face
from chorus.members.registry import Member

log = logging.getLogger(__name__)
_MIME_TYPE = re.compile(r"[a-z]+/[a-z0-9][a-z0-9.+-]{0,126}")
# What readers know a format by, where its MIME subtype says it less plainly.
_FORMAT_NAMES = {
    "audio/mpeg": "MP3",
    "audio/mp3": "MP3",
    "audio/x-m4a": "M4A",
    "audio/mp4": "M4A",
    "audio/aac": "AAC",
    "audio/ogg": "Ogg",
    "audio/opus": "Opus",
    "video/mp4": "MP4",
    "video/quicktime": "QuickTime",
    "video/webm": "WebM",
    "application/pdf": "PDF",
}
MAX_ATTACHMENTS = 5


@dataclass(frozen=True)
class Attachment:
    """A post's enclosure as pages and feeds show it: an http(s) URL, a MIME type, a size."""

    url: str
    type: str  # "" when the feed gave none we trust
    length: int | None = None

    @property
    def mime_type(self) -> str:
        """The type the feed gave, else one guessed from the file name (feeds require one)."""
        guessed = mimetypes.guess_type(urlsplit(self.url).path)[0]
        return self.type or guessed or "application/octet-stream"

    @property
    def kind(self) -> str:
        """ "audio" or "video" when a browser can play it in the page, else ""."""
        major = self.mime_type.split("/")[0]
        return major if major in ("audio", "video") else ""

    @property
    def label(self) -> str:
        """What a download link says of the file: "MP3 audio, 68.4 MB"."""
        mime = self.mime_type
        name = _FORMAT_NAMES.get(mime) or mime.split("/")[-1].removeprefix("x-").upper()
        text = f"{name} {self.kind}".strip() if self.kind else f"{name} file"
        return f"{text}, {_size(self.length)}" if self.length else text


def _size(length: int) -> str:
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if length >= scale:
            return f"{length / scale:.1f} {unit}"
    return f"{length} bytes"


def attachments(value: Any, source: str = "") -> list[Attachment]:
    """A post file's ``chorus_enclosures`` (JSON: [[url, type, length], ...]) as attachments;
    anything that is not an http(s) URL with a plausible type and size is dropped."""
    try:
        rows = json.loads(value) if isinstance(value, str) else value
    except ValueError:
        log.warning("%s: chorus_enclosures is not JSON; ignored", source)
        return []
    found: list[Attachment] = []
    for row in rows if isinstance(rows, list) else []:
        if not (isinstance(row, list) and len(row) == 3 and isinstance(row[0], str)):
            continue
        url, kind, length = row
        href = web_url(url)
        if href != url:
            log.warning("%s: enclosure %r is not an http(s) URL; dropped", source, url)
            continue
        kind = kind if isinstance(kind, str) and _MIME_TYPE.fullmatch(kind) else ""
        size = length if isinstance(length, int) and not isinstance(length, bool) else None
        found.append(Attachment(href, kind, size if size and size > 0 else None))
    return found[:MAX_ATTACHMENTS]


@dataclass
class MemberView:
    """A member as the templates show them: URLs resolved, bio rendered.

    Their posts are kept apart (``chorus_member_articles``): every page shows members, few show
    their posts, and a page is only rendered again when something it shows has changed.
    """

    member: Member
    url: str
    save_as: str
    bio: str
    face: Face | None = None  # the picture that shows them (chorus.fetch.avatars)
    atom_feed: str | None = None  # our feed of their posts, relative to SITEURL
    rss_feed: str | None = None
    file_url: str | None = None  # their member file in the site's repository, to change it
    found_feeds: list[str] = field(default_factory=list)  # feeds their posts name as their own

    def __getattr__(self, name: str) -> Any:
        # handle, name, site, consent, trusted, links, fediverse come straight from the member.
        if name.startswith("_") or name == "member":
            raise AttributeError(name)
        return getattr(self.member, name)

    @property
    def avatar(self) -> str | None:
        """An absolute URL, or a path relative to SITEURL for avatars kept under content/."""
        return self.member.avatar

    def photo_url(self, base: str, size: int = 256) -> str | None:
        """The face's absolute URL, for JSON-LD, feeds and cards (``base``: the site's URL)."""
        if self.face is None:
            return None
        source = self.face.src(size)
        return source if "://" in source else f"{base}/{source}"

    @property
    def feeds(self) -> list[str]:
        """Their public feed URLs: the http(s) ones of their file, then any their posts name
        (a feed read from a local file is known to readers by the URL it declares)."""
        declared = [url for url in self.member.feeds if not url.startswith(LOCAL_SCHEME)]
        return declared + [url for url in self.found_feeds if url not in declared]


def member_views(
    members: dict[str, Member],
    patterns: dict[str, str | None],
    remote_images: str = "link",
    faces: dict[str, Face] | None = None,
) -> dict[str, MemberView]:
    """One view per member, in handle order; ``patterns`` hold "{handle}" or "{file}", the name
    of the member file (None: not made); ``remote_images`` is the ``CHORUS_REMOTE_IMAGES``
    policy for images in bios; ``faces`` the picture of each (``chorus.fetch.faces.faces``)."""

    def expand(name: str, handle: str) -> str | None:
        pattern = patterns.get(name)
        if not pattern:
            return None
        source = members[handle].source
        return pattern.format(handle=handle, file=source.name if source else f"{handle}.md")

    return {
        handle: MemberView(
            member=member,
            url=expand("url", handle) or "",
            save_as=expand("save_as", handle) or "",
            bio=_shown_bio(member, remote_images),
            face=(faces or {}).get(handle),
            atom_feed=expand("atom_feed", handle),
            rss_feed=expand("rss_feed", handle),
            file_url=expand("file_url", handle),
        )
        for handle, member in members.items()
    }


def by_activity(views: dict[str, MemberView], articles: dict[str, list[Any]]) -> list[MemberView]:
    """Most recently active first; members who have not posted yet last, by name.
    ``articles``: each member's posts, newest first."""
    active = [view for view in views.values() if articles.get(view.handle)]
    quiet = [view for view in views.values() if not articles.get(view.handle)]
    active.sort(key=lambda view: articles[view.handle][0].date, reverse=True)
    quiet.sort(key=lambda view: view.name.casefold())
    return active + quiet


def render_bio(text: str, remote_images: str = "link") -> str:
    """A member's Markdown bio as sanitized HTML; images on other sites become links to them
    unless ``remote_images`` is "keep" (the policy posts follow)."""
    if not text:
        return ""
    bio = sanitize_html(markdown.markdown(text, output_format="html"))
    return link_remote_images(bio) if remote_images == "link" else bio


def _shown_bio(member: Member, remote_images: str) -> str:
    """``render_bio``, or the bio as plain paragraphs when Markdown cannot render it (Python-
    Markdown recurses once per level of a nested list, and gives up a few hundred levels
    down): one member's bio must not stop the build."""
    try:
        return render_bio(member.bio, remote_images)
    except Exception as error:
        log.warning(
            "%s: the bio is shown as plain text (Markdown could not render it: %s)",
            member.source or member.handle,
            type(error).__name__,
        )
        paragraphs = (part.strip() for part in member.bio.split("\n\n"))
        return "".join(f"<p>{escape(part)}</p>" for part in paragraphs if part)


def credit_html(
    author: str,
    author_url: str | None,
    original_url: str,
    source: str,
    *,
    writer: str | None = None,
    about: str | None = None,
) -> str:
    """The line that opens a curated post in our feeds: who wrote it and where, as links.

    ``writer``: the post's own author when not the member ("By Jane Doe, in Macworld");
    ``about``: the page elsewhere that a linked-list post is about."""
    who = escape(author)
    if author_url:
        who = f'<a href="{escape(author_url)}">{who}</a>'
    if writer:
        who = f"{escape(writer)}, in {who}"
    text = (
        f'<p class="chorus-credit">By {who}, originally published at '
        f'<a href="{escape(original_url)}">{escape(source)}</a>.'
    )
    if about:
        text += f' About: <a href="{escape(about)}">{escape(_host(about))}</a>.'
    return text + "</p>"


def _host(url: str) -> str:
    return (urlsplit(url).hostname or url).removeprefix("www.")


def blog_posting(
    *,
    url: str,
    headline: str,
    published: datetime,
    modified: datetime | None,
    author: str,
    author_url: str | None,
    same_as: list[str],
    based_on: str | None,
    image: str | None = None,
    writer: str | None = None,
) -> str:
    """schema.org BlogPosting as JSON-LD, safe to place inside a <script> element.

    ``writer``: the post's own author when not the member, who is then its publisher."""
    person: dict[str, Any] = {"@type": "Person", "name": author}
    if author_url:
        person["url"] = author_url
    if same_as:
        person["sameAs"] = same_as
    if image:
        person["image"] = image
    document: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "BlogPosting",
        "headline": headline,
        "url": url,
        "mainEntityOfPage": url,
        "datePublished": published.isoformat(),
        "author": person,
    }
    if writer:
        document["author"] = {"@type": "Person", "name": writer}
        document["publisher"] = person
    if modified:
        document["dateModified"] = modified.isoformat()
    if based_on:
        document["isBasedOn"] = based_on
    # "</script>" inside a string would end the element: escape every "<", ">" and "&".
    text = json.dumps(document, ensure_ascii=False, sort_keys=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def opml(title: str, owner_url: str, outlines: list[tuple[str, str, str | None]]) -> str:
    """An OPML 2.0 blogroll: one outline per (name, feed URL, site URL)."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    if owner_url:
        ET.SubElement(head, "ownerId").text = owner_url
    body = ET.SubElement(root, "body")
    for name, feed_url, site_url in outlines:
        attributes = {"type": "rss", "text": name, "title": name, "xmlUrl": feed_url}
        if site_url:
            attributes["htmlUrl"] = site_url
        ET.SubElement(body, "outline", attributes)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, "unicode") + "\n"
