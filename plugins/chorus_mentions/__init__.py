"""Pelican plugin: the manifest of published pages that `chorus mentions send` works from.

Writes ``<CACHE_PATH>/chorus/mentions.json`` once the pages are written: each published
article and page (translations included) with its absolute URL, the external links in its
content, the original post of a curated post, and a hash of its content. Nothing here touches
the network. The manifest is written only when SITEURL is an absolute http(s) URL (a
``publishconf.py`` build): a development build with relative URLs leaves the last published
manifest alone.

It works as a generator (as the sitemap plugin does) rather than on ``finalized``: that signal
carries only the Pelican object, which holds neither the articles nor the context.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from pelican import signals
from pelican.generators import Generator

from chorus.common.config import SendConfig, apply_defaults
from chorus.common.urls import web_url
from chorus.mentions.manifest import Page, make_page, manifest_path, write_manifest

log = logging.getLogger(__name__)


class MentionsManifestGenerator(Generator):
    """Runs after the articles and pages are written; writes the manifest."""

    def generate_output(self, writer: Any) -> None:
        site_url = str(self.settings.get("SITEURL") or "").rstrip("/")
        if web_url(site_url) is None:
            log.debug(
                "chorus_mentions: SITEURL %r is not absolute; manifest not written "
                "(build with publishconf.py to send Webmentions)",
                site_url,
            )
            return
        pages = {page.url: page for page in _pages(self.context, site_url)}
        path = manifest_path(self.settings)
        write_manifest(path, site_url, pages.values())
        log.debug("chorus_mentions: %d pages in %s", len(pages), path)


def _pages(context: dict[str, Any], site_url: str) -> Iterator[Page]:
    for item in _published(context):
        yield make_page(
            f"{site_url}/{item.url}",
            item.content,
            site_url,
            original=getattr(item, "chorus_original_url", None),
        )


def _published(context: dict[str, Any]) -> Iterator[Any]:
    """Published articles and pages and their translations; drafts and hidden ones are not."""
    for item in [*context.get("articles", ()), *context.get("pages", ())]:
        yield item
        yield from getattr(item, "translations", ())


def get_generators(pelican_object: Any) -> type[Generator]:
    return MentionsManifestGenerator


def check_settings(pelican_object: Any) -> None:
    """Fill in and validate the CHORUS_* settings (Webmention ones included) before the build."""
    apply_defaults(pelican_object.settings)
    SendConfig.from_settings(pelican_object.settings)


def register() -> None:
    signals.initialized.connect(check_settings)
    signals.get_generators.connect(get_generators)
