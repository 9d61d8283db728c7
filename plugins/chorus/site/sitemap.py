"""sitemap.xml and robots.txt: every page a reader should find, for search engines.

The sitemaps.org protocol: a ``urlset`` of absolute ``loc`` URLs, at most 50,000 a file (more
go into numbered files named by a sitemap index), each with the ``lastmod`` of its newest post.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from xml.etree import ElementTree

SITEMAP_NAMESPACE = "http://www.sitemaps.org/schemas/sitemap/0.9"
MAX_URLS = 50_000
# A page that asks not to be indexed (drafts, hidden pages, the feed-health page) says so in
# its <head>; the first few kilobytes of the page are enough to see it.
HEAD_BYTES = 16_384
_NOINDEX = re.compile(
    rb"""<meta\s+name=["']?robots["']?\s+content=["'][^"']*\bnoindex\b""", re.IGNORECASE
)


@dataclass(frozen=True)
class SitemapEntry:
    """One page: its path from the site's root, and when its content last changed."""

    path: str
    lastmod: datetime | None


def asks_not_to_be_indexed(head: bytes) -> bool:
    """Whether the start of a page carries ``<meta name="robots" content="...noindex...">``."""
    return _NOINDEX.search(head) is not None


def page_path(relative_file: str) -> str:
    """The URL path of an output file: ``posts/x/index.html`` is ``posts/x/``."""
    return re.sub(r"(?:^|(?<=/))index\.html$", "", relative_file)


def w3c_datetime(moment: datetime) -> str | None:
    """A W3C datetime in UTC, as sitemaps want it (naive times are taken as UTC); None for a
    time UTC cannot hold (the first hours of year 1, the last of 9999)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    # datetime's own strftime: Pelican's dates (SafeDatetime) format through a slow wrapper of
    # theirs, and a sitemap formats one for every page of the site.
    try:
        in_utc = moment.astimezone(UTC)
    except OverflowError:
        return None
    return datetime.strftime(in_utc, "%Y-%m-%dT%H:%M:%SZ")


def sitemap_files(site_url: str, entries: Iterable[SitemapEntry], name: str) -> dict[str, bytes]:
    """The sitemap files by name: ``name`` alone, or an index ``name`` of numbered parts."""
    ordered = sorted({entry.path: entry for entry in entries}.values(), key=lambda e: e.path)
    root = site_url.rstrip("/")
    if len(ordered) <= MAX_URLS:
        return {name: _urlset(root, ordered)}
    stem, _, extension = name.rpartition(".")
    files: dict[str, bytes] = {}
    index = ElementTree.Element("sitemapindex", xmlns=SITEMAP_NAMESPACE)
    for number, start in enumerate(range(0, len(ordered), MAX_URLS), start=1):
        part = ordered[start : start + MAX_URLS]
        part_name = f"{stem}-{number}.{extension}"
        files[part_name] = _urlset(root, part)
        sitemap = ElementTree.SubElement(index, "sitemap")
        ElementTree.SubElement(sitemap, "loc").text = f"{root}/{part_name}"
        newest = max((e.lastmod for e in part if e.lastmod), default=None)
        if newest and (lastmod := w3c_datetime(newest)):
            ElementTree.SubElement(sitemap, "lastmod").text = lastmod
    files[name] = _serialise(index)
    return files


def robots_txt(sitemap_url: str | None) -> str:
    """Every crawler may read every page; the sitemap says where they all are."""
    lines = ["User-agent: *", "Allow: /"]
    if sitemap_url:
        lines += ["", f"Sitemap: {sitemap_url}"]
    return "\n".join(lines) + "\n"


def _urlset(root: str, entries: list[SitemapEntry]) -> bytes:
    urlset = ElementTree.Element("urlset", xmlns=SITEMAP_NAMESPACE)
    for entry in entries:
        url = ElementTree.SubElement(urlset, "url")
        ElementTree.SubElement(url, "loc").text = f"{root}/{entry.path}"
        if entry.lastmod and (lastmod := w3c_datetime(entry.lastmod)):
            ElementTree.SubElement(url, "lastmod").text = lastmod
    return _serialise(urlset)


def _serialise(element: ElementTree.Element) -> bytes:
    ElementTree.indent(element, space="")
    return ElementTree.tostring(element, encoding="utf-8", xml_declaration=True) + b"\n"
