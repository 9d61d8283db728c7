"""Pelican plugin: once the site is written, Pagefind indexes its pages for the theme's search page
(``CHORUS_SEARCH_BUNDLE``, the folder of the index in the output; ``chorus.site.search``)."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

from pelican import signals

from chorus.common.config import apply_defaults
from chorus.site.search import SearchIndexError, index_site

log = logging.getLogger(__name__)


def index_output(pelican_object: Any) -> None:
    """After every page is written (``finalized``): the search index of the output."""
    bundle = pelican_object.settings["CHORUS_SEARCH_BUNDLE"]
    if not bundle:
        return
    try:
        seal = Path(pelican_object.settings["CACHE_PATH"], "chorus", "pagefind-pages.sha256")
        summary = index_site(Path(pelican_object.output_path), bundle, seal)
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
    signals.finalized.connect(index_output)
