"""Pelican plugin: once the site is written, Pagefind indexes its pages for the theme's search page
(``CHORUS_SEARCH_BUNDLE``, the folder of the index in the output; ``chorus.site.search``).

Only published posts and pages are searched (their templates mark ``data-pagefind-body``), so
Pagefind is pointed at those and nothing else."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

from pelican import signals

from chorus.common.config import apply_defaults
from chorus.site.search import SearchIndexError, index_site

log = logging.getLogger(__name__)
# The output paths of the pages a search finds, by output folder: noted once every generator
# has read its content, indexed once the site is written.
_searched: dict[str, list[str]] = {}


def note_searched_pages(generators: list[Any]) -> None:
    """The published posts and pages (and their translations), whose pages Pagefind indexes."""
    if generators:  # every generator writes into the same output folder
        _searched[generators[0].output_path] = [
            content.save_as
            for generator in generators
            for kind in ("articles", "pages", "translations")
            for content in getattr(generator, kind, ())
            if content.status == "published" and content.save_as
        ]


def index_output(pelican_object: Any) -> None:
    """After every page is written (``finalized``): the search index of the output."""
    bundle = pelican_object.settings["CHORUS_SEARCH_BUNDLE"]
    if not bundle:
        return
    try:
        seal = Path(pelican_object.settings["CACHE_PATH"], "chorus", "pagefind-pages.sha256")
        pages = _searched.pop(pelican_object.output_path, None)
        summary = index_site(Path(pelican_object.output_path), bundle, seal, pages)
    except SearchIndexError as error:
        # The site itself is built; the search page says its index could not be loaded.
        log.error("search: %s", error)
        return
    if summary is None:
        log.info("search: no page changed; Pagefind's index in %s/ kept", bundle)
        return
    pages = re.search(r"Indexed (\d+) pages?", summary)
    log.info("search: Pagefind indexed %s pages into %s/", pages[1] if pages else "the", bundle)


def check_settings(pelican_object: Any) -> None:
    apply_defaults(pelican_object.settings)


def register() -> None:
    signals.initialized.connect(check_settings)
    signals.all_generators_finalized.connect(note_searched_pages)
    signals.finalized.connect(index_output)
