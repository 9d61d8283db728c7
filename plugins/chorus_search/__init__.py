"""Pelican plugin: once the site is written, Pagefind indexes its pages for the theme's search page
(``CHORUS_SEARCH_BUNDLE``, the folder of the indexes in the output; ``chorus.site.search``).

Only published posts and pages are searched (their templates mark ``data-pagefind-body``), so
Pagefind reads those and nothing else, in indexes of ``CHORUS_SEARCH_POSTS_PER_INDEX`` posts
from the oldest. Sets ``chorus_search_indexes`` (how many there are) in the context, for the
search page.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from pelican import signals
from pelican.contents import Article

from chorus.common.config import apply_defaults
from chorus.site.search import SearchIndexError, index_site, plan_indexes

log = logging.getLogger(__name__)
SEALS = "chorus/pagefind-indexes.json"  # under CACHE_PATH
# The pages of each index, by output folder: planned once every generator has read its content,
# indexed once the site is written.
_planned: dict[str, list[list[str]]] = {}


def plan_search(generators: list[Any]) -> None:
    """The published posts and pages (and their translations), split into indexes."""
    if not generators:
        return
    settings = generators[0].settings
    posts, pages = [], []
    for generator in generators:
        for kind in ("articles", "pages", "translations"):
            for content in getattr(generator, kind, ()):
                # Pelican works save_as out from the settings at every read: once here.
                if content.status != "published" or not (save_as := content.save_as):
                    continue
                if isinstance(content, Article):
                    posts.append((content.date, save_as))
                else:
                    pages.append(save_as)
    indexes = plan_indexes(posts, pages, settings["CHORUS_SEARCH_POSTS_PER_INDEX"])
    _planned[generators[0].output_path] = indexes
    generators[0].context["chorus_search_indexes"] = len(indexes)  # shared by every generator


def index_output(pelican_object: Any) -> None:
    """After every page is written (``finalized``): the search indexes of the output."""
    bundle = pelican_object.settings["CHORUS_SEARCH_BUNDLE"]
    indexes = _planned.pop(pelican_object.output_path, None)
    if not bundle or indexes is None:
        return
    seals = Path(pelican_object.settings["CACHE_PATH"], SEALS)
    try:
        made = index_site(Path(pelican_object.output_path), bundle, seals, indexes)
    except SearchIndexError as error:
        # The site itself is built; the search page says its index could not be loaded.
        log.error("search: %s", error)
        return
    if not made:
        log.info("search: no page changed; Pagefind's %d indexes in %s/ kept", len(indexes), bundle)
        return
    pages = sum(len(indexes[number]) for number in made)
    log.info(
        "search: Pagefind indexed %d pages into %s/ (%d of %d indexes made again)",
        pages,
        bundle,
        len(made),
        len(indexes),
    )


def check_settings(pelican_object: Any) -> None:
    apply_defaults(pelican_object.settings)


def register() -> None:
    signals.initialized.connect(check_settings)
    signals.all_generators_finalized.connect(plan_search)
    signals.finalized.connect(index_output)
