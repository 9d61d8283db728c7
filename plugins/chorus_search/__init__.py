"""Pelican plugin: Pagefind indexes the pages a build writes, for the theme's search page
(``CHORUS_SEARCH_BUNDLE``, the folder of the indexes in the output; ``chorus.site.search``).

Only published posts and pages are searched (their templates mark ``data-pagefind-body``), so
Pagefind reads those and nothing else, in indexes of ``CHORUS_SEARCH_POSTS_PER_INDEX`` posts
from the oldest. Each index is made as soon as its last page is written, while Pelican writes
the rest of the site (Pelican keeps one CPU busy, Pagefind the others). Sets
``chorus_search_indexes`` (how many there are) in the context, for the search page.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from pelican import signals
from pelican.contents import Article

from chorus.common.config import apply_defaults
from chorus.site.search import SearchIndexError, SiteIndexer, plan_indexes

log = logging.getLogger(__name__)
SEALS = "chorus/pagefind-indexes.json"  # under CACHE_PATH
# This build's indexes, from when every generator has read its content until the site is written
# (builds of one process, ``chorus serve``'s, come one after the other).
_indexer: SiteIndexer | None = None


def plan_search(generators: list[Any]) -> None:
    """The published posts and pages (and their translations), split into indexes."""
    global _indexer
    if _indexer is not None:  # the last build stopped half-way
        _indexer.abandon()
        _indexer = None
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
    generators[0].context["chorus_search_indexes"] = len(indexes)  # shared by every generator
    bundle = settings["CHORUS_SEARCH_BUNDLE"]
    if not bundle:
        return
    output = Path(generators[0].output_path)
    try:
        _indexer = SiteIndexer(output, bundle, Path(settings["CACHE_PATH"], SEALS), indexes)
    except SearchIndexError as error:
        # The site itself is built; the search page says its index could not be loaded.
        log.error("search: %s", error)
        return


def note_written(path: str, **kwargs: Any) -> None:
    """A page is written (Pelican's content_written): its index may be complete."""
    if _indexer is not None:
        _indexer.written(path)


def index_output(pelican_object: Any) -> None:
    """After every page is written (``finalized``): the indexes not made yet, and the wait."""
    global _indexer
    indexer, _indexer = _indexer, None
    if indexer is None:
        return
    bundle = pelican_object.settings["CHORUS_SEARCH_BUNDLE"]
    try:
        made = indexer.finish()
    except SearchIndexError as error:
        log.error("search: %s", error)
        return
    indexes = indexer.indexes
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
    signals.content_written.connect(note_written)
    signals.finalized.connect(index_output)
