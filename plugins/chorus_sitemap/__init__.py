"""Pelican plugin: ``sitemap.xml`` of every page a reader should find, and ``robots.txt``.

Ours rather than pelican-sitemap (the maintained plugin): it sees curated posts, which are
Pelican articles, but it dates every page that is not one article with the time of the build
(so no two builds are byte-identical, which ``make publish`` promises), dates member pages and
newsletter issues that way too, and knows nothing of pages that ask not to be indexed (the
feed-health page, noindex full copies). Here a page's lastmod is its newest post, and a page
whose ``<head>`` says noindex is left out. The XML itself is ``chorus.site.sitemap``.
"""

from __future__ import annotations

import logging
import os
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from pelican import signals

from chorus.common.config import apply_defaults
from chorus.common.files import paths_under
from chorus.common.urls import web_url
from chorus.site.sitemap import (
    HEAD_BYTES,
    SitemapEntry,
    asks_not_to_be_indexed,
    page_path,
    robots_txt,
    sitemap_files,
)

log = logging.getLogger(__name__)
_pages: dict[str, datetime | None] = {}  # the build under way: output file -> lastmod


def note_page(path: str, context: dict[str, Any] | None = None, **kwargs: Any) -> None:
    """A page the build wrote (``content_written``), with the date of its newest content."""
    if path.endswith(".html"):
        _pages[path] = _newest(context or {})


def write_files(pelican_object: Any) -> None:
    """Once everything is written (``finalized``): the sitemap and robots.txt."""
    settings = pelican_object.settings
    output = Path(pelican_object.output_path)
    pages = dict(_pages)
    _pages.clear()
    # Local builds have a relative SITEURL; FEED_DOMAIN then names where the site is served.
    site_url = web_url(settings.get("SITEURL") or "") or web_url(settings.get("FEED_DOMAIN") or "")
    sitemap_name = settings["CHORUS_SITEMAP"]
    sitemap_url = None
    if sitemap_name and site_url:
        entries = []
        under_output = paths_under(output)
        for path, lastmod in pages.items():
            relative = under_output(path)
            if relative is None or relative == "404.html":
                continue
            relative = relative.replace(os.sep, "/")
            if _is_noindex(path):
                continue
            entries.append(SitemapEntry(page_path(relative), lastmod))
        for name, data in sitemap_files(site_url, entries, sitemap_name).items():
            target = output / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        sitemap_url = f"{site_url.rstrip('/')}/{sitemap_name}"
        log.info("sitemap: %d pages in %s", len(entries), sitemap_name)
    elif sitemap_name:
        log.info("sitemap: none written, as SITEURL (or FEED_DOMAIN) is not an absolute URL")
    if settings["CHORUS_ROBOTS_TXT"]:
        (output / settings["CHORUS_ROBOTS_TXT"]).write_text(robots_txt(sitemap_url), "utf-8")


def _is_noindex(page: str) -> bool:
    try:
        with open(page, "rb") as handle:
            return asks_not_to_be_indexed(handle.read(HEAD_BYTES))
    except OSError:
        return True  # gone since it was written: nothing to list


def _newest(context: dict[str, Any]) -> datetime | None:
    """When a page's content last changed: its post's, or the newest of the posts it lists."""
    for key in ("article", "page", "issue"):
        item = context.get(key)
        if item is not None:
            return _moment(getattr(item, "modified", None) or getattr(item, "date", None))
    listed = context.get("articles_page")
    posts = (
        listed.object_list
        if listed is not None
        else context.get("member_articles") or context.get("dates") or context.get("articles")
    )
    moments = [_moment(getattr(post, "modified", None) or post.date) for post in posts or ()]
    return max((m for m in moments if m), default=None)


def _moment(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime.combine(value, time())
    return None


def reset(pelican_object: Any) -> None:
    """A new build (autoreload runs many in one process): nothing noted yet."""
    apply_defaults(pelican_object.settings)
    _pages.clear()


def register() -> None:
    signals.initialized.connect(reset)
    signals.content_written.connect(note_page)
    signals.finalized.connect(write_files)
