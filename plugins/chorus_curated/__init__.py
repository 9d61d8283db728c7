"""Pelican plugin: curated posts sanitized again as they are read, and shown with no more than
their member's consent today allows; canonical URLs by consent; a slug of its own for every tag
and category.

The fetcher sanitized each post when it wrote it, but a file may since have been edited by hand
or written under an older policy; the build applies the current policy to what it publishes.
Likewise a member may have narrowed their consent since their posts were fetched: once the
posts are read, each curated post's ``chorus_consent`` becomes the consent in effect (the
member file's, never more than the post file's own) and its content and summary what that
consent keeps. Everything that shows a post (its page, every feed, the search index, the
newsletter, JSON-LD, Open Graph, canonical URLs and microformats) reads the post from there.

Context key: ``chorus_registry`` (the members registry, read once per build; the
chorus_members plugin uses it when it is there).
"""

from __future__ import annotations

import functools
import html
import logging
import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pelican import signals
from pelican.readers import HTMLReader
from pelican.urlwrappers import URLWrapper
from pelican.utils import slugify

from chorus.common.config import Config, apply_defaults
from chorus.common.sanitize import (
    excerpt_html,
    link_remote_images,
    plain_text,
    sanitize_html,
    xml_safe,
)
from chorus.common.urls import web_url
from chorus.members.consent import effective_consent, kept_body
from chorus.members.registry import Registry, load_registry
from chorus.site.content_cache import open_content_cache, record_content_cache
from chorus.site.credit import attachments
from chorus.site.posts import ARTICLE_LISTS, every_post
from chorus.site.slugs import usable_slug

log = logging.getLogger(__name__)
_content_fingerprint: str | None = None  # of the build under way (see check_settings)


# The exact shape chorus.fetch.store writes. Files that still have it are read with one regular
# expression instead of Pelican's HTMLParser (the larger part of reading 2,000 posts); anything
# else, a hand-edited file say, goes through Pelican's own reader.
_STORE_FORMAT = re.compile(
    r"\A<html>\n<head>\n<title>(?P<title>[^<]*)</title>\n"
    r'(?P<meta>(?:<meta name="[a-z_]+" content="[^"]*">\n)*)'
    r"</head>\n<body>\n(?P<body>.*)\n</body>\n</html>\n?\Z",
    re.DOTALL,
)
_META = re.compile(r'<meta name="(?P<name>[a-z_]+)" content="(?P<content>[^"]*)">')


class CuratedHTMLReader(HTMLReader):
    """Pelican's HTML reader, plus the sanitizer for files under the community directory."""

    def __init__(self, settings: dict[str, Any]) -> None:
        super().__init__(settings)
        community = Path(settings["PATH"], settings["CHORUS_COMMUNITY_DIR"])
        # As a prefix of the absolute paths Pelican reads from (resolving each one, symbolic
        # links and all, cost more than the rest of reading a post).
        self.community = os.path.join(os.path.abspath(community), "")
        self.summary_chars = settings["CHORUS_EXCERPT_CHARS"]
        self.remote_images = settings["CHORUS_REMOTE_IMAGES"]

    def read(self, filename: str) -> tuple[str, dict[str, Any]]:
        if not os.path.abspath(filename).startswith(self.community):
            return super().read(filename)
        with open(filename, encoding="utf-8-sig") as handle:
            # What XML forbids (control characters in a title, say) would stop every feed
            # that shows the post: gone before anything reads the file.
            text = xml_safe(handle.read())
        match = _STORE_FORMAT.match(text)
        if match is None:
            content, metadata = self._read_html(filename, text)
        else:
            content = match["body"]
            metadata = {"title": self.process_metadata("title", match["title"])}
            for meta in _META.finditer(match["meta"]):
                name, value = meta["name"], html.unescape(meta["content"])
                metadata[name] = self.process_metadata(name, value)
        for key in PELICAN_ONLY_KEYS & metadata.keys():
            # chorus fetch writes none of them: a hand-edited one would let a post choose a
            # template that does not exist (stopping the build) or another page's file name.
            log.warning("%s: %s is not a curated post's to set; ignored", filename, key)
            del metadata[key]
        for key in ("date", "modified"):
            if key in metadata:
                metadata[key] = _in_utc(metadata[key])
                _check_year(filename, key, metadata[key])
        # Pelican prints titles as HTML; ours are plain text, so escape them once here.
        title = plain_text(metadata.get("title", ""))
        if len(title) > MAX_TITLE_CHARS:
            log.warning("%s: the title is cut to %d characters", filename, MAX_TITLE_CHARS)
            title = title[:MAX_TITLE_CHARS]
        metadata["title"] = html.escape(title, quote=False)
        tags = metadata.get("tags")
        if isinstance(tags, list) and len(tags) > MAX_TAGS:
            log.warning(
                "%s: %d tags, of which the first %d are kept", filename, len(tags), MAX_TAGS
            )
            metadata["tags"] = tags[:MAX_TAGS]
        for key in (
            "chorus_original_url",
            "chorus_feed_url",
            "chorus_site_url",
            "chorus_external_url",
        ):
            if key in metadata and web_url(metadata[key]) != metadata[key]:
                log.warning(
                    "%s: %s %r is not an http(s) URL; dropped", filename, key, metadata[key]
                )
                del metadata[key]
        if "chorus_enclosures" in metadata:
            metadata["chorus_enclosures"] = attachments(metadata["chorus_enclosures"], filename)
        content = sanitize_html(content)
        if self.remote_images == "link":
            content = link_remote_images(content)
        if "summary" in metadata:
            # Not one chorus fetch writes: a hand-edited file's, shown as HTML (timelines,
            # feeds), so held to the same policy as the body.
            metadata["summary"] = sanitize_html(str(metadata["summary"]))
        elif content:
            # A short plain-text summary for timelines, far cheaper than Pelican's own.
            metadata["summary"] = excerpt_html(content, self.summary_chars)
        return content, metadata

    def _read_html(self, filename: str, text: str) -> tuple[str, dict[str, Any]]:
        """What Pelican's HTMLReader.read makes of ``text``, the contents of ``filename``."""
        parser = self._HTMLParser(self.settings, filename)
        parser.feed(text)
        parser.close()
        metadata = {k: self.process_metadata(k, v) for k, v in parser.metadata.items()}
        return parser.body, metadata


def _in_utc(moment: Any) -> Any:
    """A post's time (``chorus fetch`` writes them in UTC) with Python's own UTC zone.

    Pelican's date parser gives such a time dateutil's ``tzlocal()`` on a machine whose clock is
    set to UTC and ``tzutc()`` elsewhere: a machine's setting should not reach a page, and
    every comparison of two of them (sorting 10,000 posts, many times a build) asks each its
    offset in Python code, where UTC's is a constant."""
    if isinstance(moment, datetime) and moment.utcoffset() == timedelta(0):
        return moment.replace(tzinfo=UTC)
    return moment


PELICAN_ONLY_KEYS = frozenset({"template", "save_as", "url"})
# More than chorus fetch ever writes (300 characters, 20 tags), for files edited by hand; what
# is longer would cost every page that lists the post (a million-character title is slugified,
# a hundred thousand tags each get a page).
MAX_TITLE_CHARS = 1_000
MAX_TAGS = 100
# Years a post can be dated in: chorus fetch keeps feeds' dates between its own run and years
# before; a hand-edited file at the edge of what dates can hold would stop the build where its
# date is shifted (a sitemap's UTC, a year of activity before it).
POST_YEARS = range(1000, 9000)


def _check_year(filename: str, key: str, moment: Any) -> None:
    if isinstance(moment, datetime) and moment.year not in POST_YEARS:
        # Said here: Pelican names the file it could not read, but not why (unless DEBUG).
        reason = (
            f"{filename}: {key} {moment.isoformat()} is not a post's date (years "
            f"{POST_YEARS.start} to {POST_YEARS.stop - 1}); the post is left out"
        )
        log.error(reason)
        raise ValueError(reason)


def use_curated_reader(readers: Any) -> None:
    for extension in CuratedHTMLReader.file_extensions:
        readers.reader_classes[extension] = CuratedHTMLReader


def finish_curated_posts(generator: Any) -> None:
    """Once every post is read: the consent in effect on each curated post, then canonical URLs
    (which follow it)."""
    apply_current_consent(generator)
    set_canonical_urls(generator)


def apply_current_consent(generator: Any) -> None:
    """Each curated post with no more than its member's consent allows today.

    Done on the posts as read, never in the reader: Pelican's content cache keeps what readers
    return, and must not keep a post narrowed for a consent the member may widen again.
    """
    registry = members_registry(generator)
    community = os.path.join(
        os.path.abspath(
            Path(generator.settings["PATH"], generator.settings["CHORUS_COMMUNITY_DIR"])
        ),
        "",
    )
    excerpt_chars = generator.settings["CHORUS_EXCERPT_CHARS"]
    for article in every_post(generator):
        if not os.path.abspath(article.source_path).startswith(community):
            continue  # an article of the site's own, whatever it says of a member
        member = registry.members.get(getattr(article, "member", None))
        written = getattr(article, "chorus_consent", None)
        consent = effective_consent(member.consent if member else None, written)
        if consent is None or consent == written:
            continue  # as the post file has it: the fetch wrote it for this consent
        article.chorus_consent = article.metadata["chorus_consent"] = consent
        if consent == "full":
            continue  # a file that said nothing of its consent, of a member who allows all
        article._content = kept_body(article._content or "", consent, excerpt_chars)
        summary = article._content  # the excerpt itself, or nothing
        article._summary = article.metadata["summary"] = summary
        if "description" in article.metadata:
            description = kept_body(article.metadata["description"], consent, excerpt_chars)
            article.description = article.metadata["description"] = plain_text(description)


def members_registry(generator: Any) -> Registry:
    """This build's members registry, read once and shared through the context."""
    registry = generator.context.get("chorus_registry")
    if registry is None:
        config = Config.from_settings(generator.settings)
        registry = load_registry(
            config.members_dir,
            content_dir=config.content_dir,
            local_feeds_dir=config.local_feeds_dir,
        )
        generator.context["chorus_registry"] = registry
    return registry


def set_canonical_urls(generator: Any) -> None:
    """Full copies are canonical to the original; everything else to its own page."""
    site_url = generator.settings.get("SITEURL", "")
    for article in [*generator.articles, *generator.drafts, *generator.translations]:
        original = getattr(article, "chorus_original_url", None)
        if original and getattr(article, "chorus_consent", None) == "full":
            article.chorus_canonical_url = original
        else:
            article.chorus_canonical_url = f"{site_url}/{article.url}"


def give_terms_slugs(sender: Any, metadata: dict[str, Any]) -> None:
    """A usable slug for every tag, category and author of a post, as it is read."""
    for key in ("tags", "category", "authors", "author"):
        value = metadata.get(key)
        for term in value if isinstance(value, list) else [value]:
            if isinstance(term, URLWrapper):
                term.slug = usable_slug(type(term).__name__.lower(), term.name, _slug(term))


def _slug(term: URLWrapper) -> str:
    """The slug Pelican gives ``term`` (URLWrapper.slug, without its warning when empty)."""
    settings = term.settings
    substitutions = settings.get(
        f"{type(term).__name__.upper()}_REGEX_SUBSTITUTIONS",
        settings.get("SLUG_REGEX_SUBSTITUTIONS", []),
    )
    return _slugify(
        term.name,
        tuple(tuple(pair) for pair in substitutions),
        settings.get("SLUGIFY_PRESERVE_CASE", False),
        settings.get("SLUGIFY_USE_UNICODE", False),
    )


@functools.lru_cache(maxsize=4096)
def _slugify(name: str, substitutions: tuple[Any, ...], preserve_case: bool, unicode: bool) -> str:
    """Pelican's slugify, once per term: every post names a few of the site's few terms, and
    slugifying them again for each post costs half a second on 2,000 posts."""
    return slugify(name, regex_subs=substitutions, preserve_case=preserve_case, use_unicode=unicode)


# How a post file refers to a file of the site's content (an image kept by chorus.fetch.media).
_STATIC_LINK = re.compile(r"\{static\}/?([^\"'\s<>?#]+)")


def publish_shown_images(static_generator: Any) -> None:
    """Post images kept in the repository (CHORUS_IMAGES_DIR) reach the site only while a
    page it publishes shows them: the image of a post whose member narrowed their consent,
    left, or had it taken down stays in the repository (a wider consent may show it again),
    not on the site. A file a post links to that the repository does not hold is left out,
    with a warning naming it."""
    context = static_generator.context
    settings = static_generator.settings
    folder = Config.from_settings(settings).images_dir
    try:
        prefix: str | None = folder.relative_to(Path(settings["PATH"]).resolve()).as_posix() + "/"
    except ValueError:
        prefix = None  # images kept outside the content: not Pelican's static files
    shown = {
        match[1]
        for name in (*ARTICLE_LISTS, "pages", "hidden_pages", "draft_pages")
        for content in context.get(name) or ()
        for match in _STATIC_LINK.finditer(content._content or "")
    }
    published = []
    for static in static_generator.staticfiles:
        path = static.get_relative_source_path().replace(os.sep, "/")
        if prefix is not None and path.startswith(prefix) and path not in shown:
            context["static_content"].pop(path, None)
            continue
        if not os.path.exists(static.source_path):
            # Pelican lists every file a post links to, there or not; copying one that is
            # gone would stop the build (STATIC_CHECK_IF_MODIFIED reads its time).
            log.warning("%s: a post links to it, but it is not in the repository", path)
            continue
        published.append(static)
    static_generator.staticfiles[:] = published  # the list the context holds, too


def check_settings(pelican_object: Any) -> None:
    global _content_fingerprint
    apply_defaults(pelican_object.settings)
    # What this plugin's reader makes of a post follows from its code and the settings:
    # Pelican's cache of read posts holds only while they are unchanged (see content_cache).
    _content_fingerprint = open_content_cache(pelican_object.settings)


def record_read_posts(generators: list[Any]) -> None:
    """Once every generator has read its files (and Pelican saved what it read)."""
    if generators:
        record_content_cache(generators[0].settings, _content_fingerprint)


def register() -> None:
    signals.initialized.connect(check_settings)
    signals.all_generators_finalized.connect(record_read_posts)
    signals.readers_init.connect(use_curated_reader)
    signals.article_generator_context.connect(give_terms_slugs)
    signals.page_generator_context.connect(give_terms_slugs)
    signals.article_generator_finalized.connect(finish_curated_posts)
    signals.static_generator_finalized.connect(publish_shown_images)
