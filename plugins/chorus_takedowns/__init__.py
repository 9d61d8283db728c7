"""Pelican plugin: posts taken down leave the site, and their addresses keep a small page.

Reads ``CHORUS_TAKEDOWNS_FILE`` (``content/takedowns.yml``, chorus.moderation). A curated post
it lists as removed is dropped from the articles before Pelican builds its tags, categories and
listings, so it leaves every page and feed (even when its file is still there); each removed
post's address gets ``takedown.html``: "removed at the author's request", a link to the
original, ``noindex``. A static host cannot answer 410 Gone; this page is the next best thing,
and since it is no article, `chorus mentions send` tells the post's targets that it is gone.
"""

from __future__ import annotations

import logging
from typing import Any

from pelican import signals
from pelican.generators import Generator

from chorus.common.config import Config, apply_defaults
from chorus.members.takedowns import Takedowns, TakedownsError, load_takedowns
from chorus.site.posts import ARTICLE_LISTS

log = logging.getLogger(__name__)
CONTEXT_KEY = "chorus_takedowns"


def _load(settings: dict[str, Any]) -> Takedowns:
    path = Config.from_settings(settings).takedowns_file
    try:
        return load_takedowns(path)
    except TakedownsError as error:
        # Building without it would put back on the site what was taken down.
        raise RuntimeError(f"{error}; fix it before building (docs/members.md)") from None


def drop_removed_posts(generator: Any) -> None:
    """Take the removed posts out of the articles before any listing is made of them."""
    takedowns = _load(generator.settings)
    generator.context[CONTEXT_KEY] = takedowns
    if not takedowns.removed:
        return
    for name in ARTICLE_LISTS:
        kept = []
        for article in getattr(generator, name):
            if _taken_down(article, takedowns):
                log.warning(
                    "%s: taken down in %s; left out of the site (delete the file)",
                    article.source_path,
                    generator.settings.get("CHORUS_TAKEDOWNS_FILE"),
                )
                continue
            kept.append(article)
        setattr(generator, name, kept)


def _taken_down(article: Any, takedowns: Takedowns) -> bool:
    member, original = getattr(article, "member", None), getattr(article, "chorus_original_url", "")
    ids = [article.chorus_id] if getattr(article, "chorus_id", None) else []
    found = takedowns.match(member, ids, original) if member and original else None
    return found is not None and found.kind == "removed"


class TakedownPagesGenerator(Generator):
    """Writes the "removed at the author's request" page at each removed post's address."""

    def generate_output(self, writer: Any) -> None:
        takedowns = self.context.get(CONTEXT_KEY) or _load(self.settings)
        template = self.get_template("takedown")
        for entry in takedowns.removed:
            url = entry.url.lstrip("/")
            save_as = url + "index.html" if url.endswith("/") or not url else url
            writer.write_file(
                save_as,
                template,
                self.context,
                relative_urls=self.settings["RELATIVE_URLS"],
                override_output=True,
                url=url,
                takedown=entry,
            )


def get_generators(pelican_object: Any) -> type[Generator]:
    return TakedownPagesGenerator


def check_settings(pelican_object: Any) -> None:
    apply_defaults(pelican_object.settings)


def register() -> None:
    signals.initialized.connect(check_settings)
    signals.article_generator_pretaxonomy.connect(drop_removed_posts)
    signals.get_generators.connect(get_generators)
