"""Pelican's cache of read content, trusted only while what read it is unchanged.

With CACHE_CONTENT and LOAD_CONTENT_CACHE, Pelican keeps what its readers made of each file (in
``CACHE_PATH``) and hands it back for as long as the file itself is unchanged. What a reader
makes of a file follows from more than the file, though: Chorus's sanitizer, the settings
(CHORUS_EXCERPT_CHARS, MARKDOWN...), the plugins and the libraries. A cache kept across an
upgrade would go on publishing what the old sanitizer let through, and Pelican never notices.

So a build records, next to the cache, the fingerprint of all that (``build_fingerprint``);
the next build trusts the cache only under the same fingerprint, and otherwise removes it, so
that Pelican reads every file again and keeps what it read. The record is removed as a build
starts and written again once Pelican has saved its caches: a build killed while Pelican writes
them (in place) leaves no record, so nobody loads what it half wrote.
"""

from __future__ import annotations

import logging
import pickle
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from chorus.common.files import write_atomic
from chorus.site.render_cache import Unstable, build_fingerprint

log = logging.getLogger(__name__)

RECORD_NAME = "chorus/content-cache.fingerprint"  # under Pelican's CACHE_PATH
# The files Pelican keeps read content in: its readers' and its generators' caches (the layer
# CONTENT_CACHING_LAYER picks) for articles and pages, the only generators that cache.
PELICAN_CACHES = (
    "ArticlesGenerator-Readers",
    "PagesGenerator-Readers",
    "ArticlesGenerator",
    "PagesGenerator",
)


def open_content_cache(settings: dict[str, Any]) -> str | None:
    """As a build starts: remove Pelican's content cache unless it was kept under this build's
    fingerprint. Returns the fingerprint to record once the cache is saved (None: the cache is
    off for this build)."""
    if not (settings.get("CACHE_CONTENT") or settings.get("LOAD_CONTENT_CACHE")):
        return None
    unkept = _unpicklable_setting(settings)
    if unkept is not None:
        # Pelican keeps the settings with every post it caches, and would warn at every build
        # that it cannot save them.
        log.info(
            "Pelican's content cache is off: setting %s cannot be saved with it (a module, "
            "say; a helper of the settings file is best named in lower case)",
            unkept,
        )
        _turn_off(settings)
        return None
    cache = Path(settings["CACHE_PATH"])
    record = cache / RECORD_NAME
    try:
        # Whether this build loads the cache (`pelican --ignore-cache`) is not what it was
        # made from: leave it out, or the next build would distrust the cache this one made.
        fingerprint = build_fingerprint(
            {k: v for k, v in settings.items() if k != "LOAD_CONTENT_CACHE"}
        )
    except Unstable as reason:
        # Nothing would say what a cache of this build was made under: neither load nor save
        # one (a cache kept before stays with its record, for a build that can say).
        log.info("Pelican's content cache is off: %s", reason)
        _turn_off(settings)
        return None
    try:
        recorded = record.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        recorded = None
    try:
        # From here until this build records it, the cache is being written again.
        record.unlink(missing_ok=True)
        if recorded != fingerprint:
            for name in PELICAN_CACHES:
                (cache / name).unlink(missing_ok=True)
            if recorded is not None:
                log.info(
                    "Chorus, its settings or its plugins changed since the last build: "
                    "every post is read again"
                )
    except OSError as error:
        log.warning(
            "cannot clear Pelican's content cache in %s (%s): this build reads every post "
            "and keeps none; check that directory's permissions",
            cache,
            error,
        )
        _turn_off(settings)
        return None
    return fingerprint


def record_content_cache(settings: Mapping[str, Any], fingerprint: str | None) -> None:
    """Once Pelican has saved its content cache: record the fingerprint it was made under."""
    if fingerprint is None or not settings.get("CACHE_CONTENT"):
        return
    record = Path(settings["CACHE_PATH"]) / RECORD_NAME
    try:
        write_atomic(record, fingerprint)
    except OSError as error:
        log.warning("cannot write %s (%s); the next build reads every post", record, error)


def _turn_off(settings: dict[str, Any]) -> None:
    """No content cache for this build: none loaded, none saved."""
    settings["CACHE_CONTENT"] = settings["LOAD_CONTENT_CACHE"] = False


def _unpicklable_setting(settings: Mapping[str, Any]) -> str | None:
    """The name of a setting that pickle cannot save, if any."""
    try:
        pickle.dumps(settings)
    except Exception:  # pickle raises whatever the value's own code raises
        for name, value in settings.items():
            try:
                pickle.dumps(value)
            except Exception:
                return name
    return None
