"""Pelican plugin: credit that machines read. Atom and RSS entries name the original author and
feed (Atom ``<source>``, RSS ``<source url>`` and ``dc:creator``); a JSON Feed 1.1 for the site;
schema.org JSON-LD and the robots policy on every article.

Its writer is the site's (Pelican takes one writer only): besides the credited feeds, it leaves
files alone that a build would write unchanged, and cuts lists of posts into pages numbered from
the oldest (``chorus.site.pagination``; ``CHORUS_FIXED_PAGES``), which a new post leaves as they
are.

Reads the ``chorus_members`` context key (set by the chorus_members plugin) when it is there.
"""

from __future__ import annotations

import html
import io
import json
import logging
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from feedgenerator import Atom1Feed, Enclosure, Rss201rev2Feed
from feedgenerator.django.utils.feedgenerator import rfc3339_date
from feedgenerator.django.utils.xmlutils import SimplerXMLGenerator
from markupsafe import Markup
from pelican import signals
from pelican.generators import Generator
from pelican.writers import FileOverwriteFailedError, Writer

from chorus.common.config import apply_defaults
from chorus.common.files import WriteIfChanged
from chorus.common.sanitize import xml_forbidden
from chorus.site.credit import blog_posting, credit_html
from chorus.site.pagination import FIRST_PAGE_ONLY, paginate

log = logging.getLogger(__name__)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class _CreditedFeed:
    """A feed whose <updated> (Atom) or <lastBuildDate> (RSS) comes from what it holds, and in
    which an entry that cannot be written as XML is left out, not the whole feed.

    feedgenerator dates a feed without dated entries (a member with no published post yet)
    with the clock, so two builds of one commit would differ; such a feed takes the date of
    the site's newest post instead (``chorus_updated``), or the epoch on a site with none.
    """

    items: list[dict[str, Any]]
    feed: dict[str, Any]
    item_element: str  # "entry" or "item"
    left_out = 0  # entries left out of this feed
    item_attributes: Any  # feedgenerator's, as the feed classes below mix this in
    add_item_elements: Any

    def write_items(self, handler: Any) -> None:
        """Each entry written apart first: one that fails (feedgenerator refuses control
        characters in text, and writes them unchecked into attributes) costs only itself."""
        for item in self.items:
            buffer = io.StringIO()
            part = SimplerXMLGenerator(buffer, "utf-8", short_empty_elements=True)
            try:
                part.startElement(self.item_element, self.item_attributes(item))
                self.add_item_elements(part, item)
                part.endElement(self.item_element)
                forbidden = xml_forbidden(buffer.getvalue())
                if forbidden is not None:
                    raise ValueError(f"it holds {forbidden!r}, which XML 1.0 forbids")
            except ValueError as error:
                self.left_out += 1
                log.warning(
                    "%s: left out of the feed %s (%s)",
                    item.get("chorus_source_path"),
                    self.feed["feed_url"],
                    error,
                )
                continue
            # The entry as it is: ignorableWhitespace is the generator's way to write raw text.
            handler.ignorableWhitespace(buffer.getvalue())

    def latest_post_date(self) -> datetime:
        dates = [
            item[key] for item in self.items for key in ("updateddate", "pubdate") if item.get(key)
        ]
        return max(dates) if dates else self.feed.get("chorus_updated") or EPOCH


class CreditedAtomFeed(_CreditedFeed, Atom1Feed):
    """Atom 1.0 whose entries carry a link to the original and an RFC 4287 ``<source>``."""

    item_element = "entry"

    def add_item_elements(self, handler: Any, item: dict[str, Any]) -> None:
        super().add_item_elements(handler, item)
        if item.get("chorus_original"):
            handler.addQuickElement("link", "", {"rel": "via", "href": item["chorus_original"]})
        source = item.get("chorus_source")
        if not source:
            return
        handler.startElement("source", {})
        if source.get("id"):
            handler.addQuickElement("id", source["id"])
        handler.addQuickElement("title", source["title"])
        if source.get("updated"):
            handler.addQuickElement("updated", rfc3339_date(source["updated"]))
        if source.get("self"):
            handler.addQuickElement("link", "", {"rel": "self", "href": source["self"]})
        if source.get("alternate"):
            handler.addQuickElement("link", "", {"rel": "alternate", "href": source["alternate"]})
        handler.startElement("author", {})
        handler.addQuickElement("name", source["author"])
        if source.get("author_uri"):
            handler.addQuickElement("uri", source["author_uri"])
        handler.endElement("author")
        if source.get("rights"):
            handler.addQuickElement("rights", source["rights"])
        handler.endElement("source")


class CreditedRssFeed(_CreditedFeed, Rss201rev2Feed):
    """RSS 2.0 whose items name their author (``dc:creator``) and their ``<source url>``."""

    item_element = "item"

    def rss_attributes(self) -> dict[str, str]:
        return {**super().rss_attributes(), "xmlns:dc": "http://purl.org/dc/elements/1.1/"}

    def add_item_elements(self, handler: Any, item: dict[str, Any]) -> None:
        super().add_item_elements(handler, item)
        source = item.get("chorus_source")
        if source and source.get("self"):
            handler.addQuickElement("source", source["title"], {"url": source["self"]})


class CreditWriter(Writer):
    """Pelican's writer, with feeds whose entries credit the people who wrote them, and files
    left untouched when a build would write them unchanged."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.members: dict[str, Any] = {}
        self._newest_of: Any = None
        self.newest_post: datetime | None = None

    def _open_w(self, filename: str, encoding: str, override: bool = False) -> Any:
        """A file only replaced if its text changes (``WriteIfChanged``): most pages of a
        rebuild are the same as last time, and rewriting them costs more than comparing."""
        if filename in self._written_files or filename in self._overridden_files:
            # A second write of one file: Pelican's rules (skip, overwrite or refuse).
            return super()._open_w(filename, encoding, override)
        # The bookkeeping Pelican's own _open_w does for a first write.
        if override:
            self._overridden_files.add(filename)
        self._written_files.add(filename)
        return WriteIfChanged(filename, encoding)

    def write_file(
        self, name: str, template: Any, context: dict[str, Any], *args: Any, **kwargs: Any
    ) -> Any:
        """Pelican's, except that a post or page that cannot be rendered or written is left
        out with a warning that names its file, and the build goes on; and that lists of posts
        are paginated from the oldest (``write_fixed_pages``)."""
        content = kwargs.get("article") or kwargs.get("page")
        if content is None:
            if not args and self.write_fixed_pages(name, template, context, **kwargs):
                return None
            return super().write_file(name, template, context, *args, **kwargs)
        try:
            return super().write_file(name, template, context, *args, **kwargs)
        except FileOverwriteFailedError:
            raise  # two posts for one file: the settings' problem, not this post's
        except Exception as error:
            log.warning(
                "%s: left out, its page %s cannot be written (%s: %s)",
                content.source_path,
                name,
                type(error).__name__,
                error,
            )
            return None

    def write_fixed_pages(
        self,
        name: str,
        template: Any,
        context: dict[str, Any],
        paginated: dict[str, Any] | None = None,
        template_name: str | None = None,
        url: str | None = None,
        **kwargs: Any,
    ) -> bool:
        """Write a paginated list (the home page, a tag's, a category's) as pages numbered from
        the oldest, the newest posts at the list's own URL; False if it is not one to write so
        (Pelican's own pagination then writes it, or CHORUS_FIXED_PAGES is off).

        Each page gets what Pelican gives its pages but ``articles_paginator``
        (``articles_page``, ``articles_previous_page`` and ``articles_next_page``, and the same
        for ``dates``), as ``chorus.site.pagination`` describes them; ``paginated={}`` then
        makes each a single page for Pelican's writer."""
        settings = self.settings
        paginated_templates = settings.get("PAGINATED_TEMPLATES") or {}
        if not name or not settings.get("CHORUS_FIXED_PAGES") or not template_name:
            return False
        if template_name not in paginated_templates:
            return False
        if paginated is None:  # as Pelican's writer picks them
            paginated = {key: kwargs[key] for key in ("articles", "dates") if key in kwargs}
        if not paginated:
            return False
        per_page = paginated_templates[template_name] or settings.get("DEFAULT_PAGINATION")
        url = name if url is None else url
        lists = {
            key: paginate(
                items,
                per_page or None,
                self._page_place(name, url, 1),
                lambda number: self._page_place(name, url, max(number, 2), number),
            )
            for key, items in paginated.items()
        }
        count = len(next(iter(lists.values())))
        for position in range(count):
            page_kwargs = dict(kwargs)
            for key, pages in lists.items():
                page = pages[position]
                page_kwargs |= {
                    f"{key}_page": page,
                    f"{key}_previous_page": page.newer,
                    f"{key}_next_page": page.older,
                }
            if not page.first:
                page_kwargs |= dict.fromkeys(FIRST_PAGE_ONLY)
            super().write_file(
                page.save_as,
                template,
                context,
                paginated={},
                template_name=template_name,
                url=page.url,
                **page_kwargs,
            )
        return True

    def _page_place(
        self, name: str, url: str, rule_page: int, number: int | None = None
    ) -> tuple[str, str]:
        """The URL and file of page ``number`` (``rule_page`` unless given) of the list at
        ``name`` and ``url``, from Pelican's PAGINATION_PATTERNS: the last rule whose first
        page is at most ``rule_page`` (the numbered pages take the rules of page 2 and over,
        so page 1, the oldest, does not land on the list's own URL)."""
        rules = [rule for rule in self.settings["PAGINATION_PATTERNS"] if 0 < rule[0] <= rule_page]
        if not rules:
            return url, name
        _, url_pattern, save_as_pattern = rules[-1]
        stem, extension = os.path.splitext(name)
        directory, file_name = os.path.split(name)
        values = {
            "save_as": name,
            "url": url,
            "name": stem,
            "base_name": directory if file_name in ("index.htm", "index.html") else stem,
            "extension": extension,
            "number": rule_page if number is None else number,
        }
        # Pelican drops one leading slash (its Page._from_settings), for the index's pages.
        return tuple(  # type: ignore[return-value]
            text[1:] if text.startswith("/") else text
            for text in (url_pattern.format(**values), save_as_pattern.format(**values))
        )

    def write_feed(
        self,
        elements: Any,
        context: dict[str, Any],
        path: str | None = None,
        url: str | None = None,
        feed_type: str = "atom",
        override_output: bool = False,
        feed_title: str | None = None,
    ) -> Any:
        self.members = context.get("chorus_members") or {}
        articles = context.get("articles") or ()
        if self._newest_of is not articles:
            # Once per build, not once per feed: a site has hundreds of feeds.
            self._newest_of = articles
            self.newest_post = max((article.date for article in articles), default=None)

        def write() -> Any:
            return super(CreditWriter, self).write_feed(
                elements, context, path, url, feed_type, override_output, feed_title
            )

        def write_to_keep() -> bool:
            # A feed that left a post out is not kept: the next build says so again.
            return not getattr(write(), "left_out", 0)

        # The chorus_render_cache plugin, when it is on: a feed whose entries, and all else it
        # is made from, are unchanged since the last build is not made again.
        cache = context.get("chorus_render_cache")
        if cache is None or not path:
            return write()
        shown = list(elements[: self.settings.get("FEED_MAX_ITEMS") or len(elements)])
        inputs = {
            "entries": shown,
            "url": url,
            "type": feed_type,
            "title": feed_title,
            "members": self.members,
            # The feed's date, when no entry has one (_CreditedFeed).
            "newest": None if any(getattr(e, "date", None) for e in shown) else self.newest_post,
        }
        cache.write(path, inputs, write_to_keep)
        return None

    def _create_new_feed(self, feed_type: str, feed_title: str | None, context: Any) -> Any:
        # As Pelican's own, but with the credited feed classes and the site's language.
        title = f"{context['SITENAME']} - {feed_title}" if feed_title else context["SITENAME"]
        feed_class = CreditedRssFeed if feed_type == "rss" else CreditedAtomFeed
        return feed_class(
            title=Markup(title).striptags(),
            link=self.site_url + "/",
            feed_url=self.feed_url,
            feed_guid=self.feed_url,  # each feed its own id (feedgenerator uses the site link)
            description=context.get("SITESUBTITLE", ""),
            subtitle=context.get("SITESUBTITLE", None),
            language=context.get("DEFAULT_LANG"),
            chorus_updated=self.newest_post,
        )

    def _add_item_to_the_feed(self, feed: Any, item: Any) -> None:
        before = len(feed.items)
        try:
            self._add_credited_item(feed, item)
        except Exception as error:  # one post's failure costs that post only, not the feed
            del feed.items[before:]
            feed.left_out += 1
            log.warning(
                "%s: left out of the feed %s (%s: %s)",
                getattr(item, "source_path", item),
                self.feed_url,
                type(error).__name__,
                error,
            )

    def _add_credited_item(self, feed: Any, item: Any) -> None:
        super()._add_item_to_the_feed(feed, item)
        entry = feed.items[-1]
        entry["chorus_source_path"] = getattr(item, "source_path", None)
        if isinstance(feed, Rss201rev2Feed):
            # RSS readers take titles as HTML; ours are text, so "<b>" must stay characters.
            entry["title"] = html.escape(entry["title"], quote=False)
            # Pelican's ids are tag: URIs, which an RSS reader must not take for a link.
            entry["unique_id_is_permalink"] = False
        member = self.members.get(getattr(item, "member", None))
        if member is not None:
            entry["author_name"] = member.name
            entry["author_link"] = member.site
        # Podcast audio and other files: RSS allows one per item, Atom any number.
        files = getattr(item, "chorus_enclosures", None) or []
        entry["enclosures"] = [
            Enclosure(file.url, str(file.length or 0), file.mime_type) for file in files
        ][: 1 if isinstance(feed, Rss201rev2Feed) else None]
        original = getattr(item, "chorus_original_url", None)
        if not original:
            return
        source_title = getattr(item, "chorus_feed_title", None) or original
        writer = getattr(item, "chorus_author", None)
        credit = credit_html(
            entry["author_name"] or "",
            entry["author_link"],
            original,
            source_title,
            writer=writer,
            about=getattr(item, "chorus_external_url", None),
        )
        member_name = entry["author_name"]
        if writer:
            # The feed's author of the entry is who wrote it; the member is in <source>.
            entry["author_name"], entry["author_link"] = writer, None
        if isinstance(feed, Rss201rev2Feed):
            entry["description"] = credit + (entry["description"] or "")
        else:
            entry["content"] = credit + (entry["content"] or "")
        entry["chorus_original"] = original
        entry["chorus_source"] = {
            "id": getattr(item, "chorus_feed_id", None)
            or getattr(item, "chorus_feed_url", None)
            or getattr(item, "chorus_site_url", None),
            "title": html.unescape(source_title),
            "updated": _date(item, "chorus_feed_updated") or item.date,
            "self": getattr(item, "chorus_feed_url", None),
            "alternate": getattr(item, "chorus_site_url", None),
            "author": getattr(item, "chorus_feed_author", None) or member_name or "",
            "author_uri": member.site if member is not None else None,
            "rights": getattr(item, "chorus_feed_rights", None),
        }


def _date(item: Any, name: str) -> datetime | None:
    value = getattr(item, name, None)
    try:
        return datetime.fromisoformat(value) if value else None
    except ValueError:
        return None


class JsonFeedGenerator(Generator):
    """Writes the site's JSON Feed 1.1 (``CHORUS_JSON_FEED``)."""

    def generate_context(self) -> None:
        pass

    def generate_output(self, writer: Any) -> None:
        path = self.settings["CHORUS_JSON_FEED"]
        if not path:
            return
        base = (self.settings.get("FEED_DOMAIN") or self.settings.get("SITEURL") or "").rstrip("/")
        members = self.context.get("chorus_members") or {}
        articles = self.context.get("articles", [])[: self.settings.get("FEED_MAX_ITEMS")]
        feed = {
            "version": "https://jsonfeed.org/version/1.1",
            "title": Markup(self.settings["SITENAME"]).striptags(),
            "home_page_url": f"{base}/",
            "feed_url": f"{base}/{path}",
            "language": self.settings.get("DEFAULT_LANG", "en"),
            "items": [],
        }
        for article in articles:
            try:
                feed["items"].append(_json_item(article, members, base))
            except Exception as error:  # one post's failure costs that post only, not the feed
                log.warning(
                    "%s: left out of the feed %s (%s: %s)",
                    article.source_path,
                    path,
                    type(error).__name__,
                    error,
                )
        if self.settings.get("SITESUBTITLE"):
            feed["description"] = Markup(self.settings["SITESUBTITLE"]).striptags()
        target = Path(self.output_path, path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(feed, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def _json_item(article: Any, members: dict[str, Any], base: str) -> dict[str, Any]:
    url = f"{base}/{article.url}"
    member = members.get(getattr(article, "member", None))
    if member is not None:
        author = {"name": member.name, "url": member.site}
        photo = member.photo_url(base)
        if photo:
            author["avatar"] = photo
        authors = [author]
    else:
        authors = [{"name": str(a)} for a in getattr(article, "authors", [])]
    writer = getattr(article, "chorus_author", None)
    member_credit = authors[0] if authors else {"name": ""}
    if writer:
        authors = [{"name": writer}]
    content = article.get_content(base)
    original = getattr(article, "chorus_original_url", None)
    item: dict[str, Any] = {
        "id": url,
        "url": url,
        "title": html.unescape(Markup(article.title).striptags()),
        "content_html": content,
        "date_published": article.date.isoformat(),
        "authors": authors,
    }
    if original:
        item["external_url"] = original
        source = getattr(article, "chorus_feed_title", None) or original
        credit = credit_html(
            member_credit["name"],
            member_credit.get("url"),
            original,
            source,
            writer=writer,
            about=getattr(article, "chorus_external_url", None),
        )
        item["content_html"] = credit + content
    files = getattr(article, "chorus_enclosures", None) or []
    if files:
        item["attachments"] = [
            {"url": f.url, "mime_type": f.mime_type}
            | ({"size_in_bytes": f.length} if f.length else {})
            for f in files
        ]
    if getattr(article, "modified", None):
        item["date_modified"] = article.modified.isoformat()
    if getattr(article, "summary", None):
        item["summary"] = html.unescape(Markup(article.summary).striptags())
    if getattr(article, "tags", None):
        item["tags"] = [str(tag) for tag in article.tags]
    return item


def add_structured_data(generators: list[Any]) -> None:
    """JSON-LD for every article, and noindex on full copies when the site asks for it."""
    for generator in generators:
        if not hasattr(generator, "articles"):
            continue
        settings = generator.settings
        site_url = settings.get("SITEURL", "")
        members = generator.context.get("chorus_members") or {}
        for article in [*generator.articles, *generator.drafts]:
            member = members.get(getattr(article, "member", None))
            original = getattr(article, "chorus_original_url", None)
            if member is not None:
                author, author_url = member.name, member.site
                same_as = [url for _, url in member.links]
                image = member.photo_url(site_url)
            else:
                author = ", ".join(str(a) for a in getattr(article, "authors", []))
                author_url, same_as, image = None, [], None
            article.chorus_jsonld = blog_posting(
                url=f"{site_url}/{article.url}",
                headline=html.unescape(Markup(article.title).striptags()),
                published=article.date,
                modified=getattr(article, "modified", None),
                author=author,
                author_url=author_url,
                same_as=same_as,
                based_on=original,
                image=image,
                writer=getattr(article, "chorus_author", None),
            )
            full_copy = original and getattr(article, "chorus_consent", None) == "full"
            if full_copy and settings["CHORUS_NOINDEX_FULL_COPIES"]:
                article.chorus_robots = "noindex, follow"


def get_writer(pelican_object: Any) -> type[Writer]:
    return CreditWriter


def get_generators(pelican_object: Any) -> type[Generator]:
    return JsonFeedGenerator


def check_settings(pelican_object: Any) -> None:
    apply_defaults(pelican_object.settings)


def register() -> None:
    signals.initialized.connect(check_settings)
    signals.get_writer.connect(get_writer)
    signals.get_generators.connect(get_generators)
    signals.all_generators_finalized.connect(add_structured_data)
