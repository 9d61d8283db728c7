"""URL checks shared by the members registry, the fetcher and the sanitizer."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache, wraps
from pathlib import Path
from typing import TypeVar
from urllib.parse import urljoin, urlsplit, urlunsplit

WEB_SCHEMES = frozenset({"http", "https"})
LOCAL_SCHEME = "local:"

# Browsers drop ASCII tab and newlines anywhere in a URL and trim C0 controls and spaces at its
# ends, so "java\tscript:" is a javascript: URL to them; we must read it the same way.
_STRIPPED_BY_BROWSERS = re.compile(r"[\t\n\r]")
_C0_AND_SPACE = "".join(map(chr, range(0x21)))
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# The same links are read again and again in one run (a post's link is looked up by each step
# of curating it, a feed's base for each of its entries): each is worked out once, the last
# _RECENT_URLS of them remembered, and only links of ordinary length, so that a feed's
# megabyte-long ones cannot fill the memory.
_RECENT_URLS = 1024
_CACHED_LENGTH = 2048
_Result = TypeVar("_Result")


def _remembered(function: Callable[..., _Result]) -> Callable[..., _Result]:
    """``function`` of strings (or None), with the results of its recent calls on strings of
    ordinary length remembered."""
    cached = lru_cache(maxsize=_RECENT_URLS)(function)

    @wraps(function)
    def call(*texts: str | None) -> _Result:
        if sum(len(text or "") for text in texts) > _CACHED_LENGTH:
            return function(*texts)
        return cached(*texts)

    return call


def web_url(url: str, base: str | None = None) -> str | None:
    """Return ``url`` made absolute against ``base`` if it is a usable http(s) URL, else None."""
    if not isinstance(url, str):  # a feed's JSON may give anything
        return None
    return _web_url(url, base)


@_remembered
def _web_url(url: str, base: str | None) -> str | None:
    url = _STRIPPED_BY_BROWSERS.sub("", url).strip(_C0_AND_SPACE)
    if not url or _CONTROL.search(url):
        return None
    url = url.replace(" ", "%20")
    if base:
        url = urljoin(base, url)
    try:
        parts = urlsplit(url)
        host = parts.hostname
        _ = parts.port  # raises ValueError on a malformed port
    except ValueError:
        return None
    if parts.scheme.lower() not in WEB_SCHEMES or not host:
        return None
    return urlunsplit(parts._replace(scheme=parts.scheme.lower()))


def normalise_link(url: str) -> str:
    """A comparison key for "the same post": case-folded host, no fragment, no tracking query."""
    parts = urlsplit(url)
    query = "&".join(
        pair for pair in parts.query.split("&") if pair and not pair.lower().startswith("utm_")
    )
    host = (parts.hostname or "").lower().removeprefix("www.")
    if ":" in host:
        host = f"[{host}]"  # an IPv6 address keeps its brackets
    if parts.port and parts.port not in (80, 443):
        host = f"{host}:{parts.port}"
    path = parts.path.rstrip("/") or "/"
    return urlunsplit(("https", host, path, query, ""))


@_remembered
def link_key(url: str) -> str:
    """Which links are one: ``normalise_link``, but a fragment names a post of its own (blogs
    that publish a day's posts on one page give each its #anchor). The post index keeps these
    keys: a change to what this gives must raise ``chorus.fetch.store.INDEX_FORMAT``."""
    fragment = url.partition("#")[2]
    return normalise_link(url) + (f"#{fragment}" if fragment else "")


def local_feed_path(url: str, local_dir: Path | None) -> Path:
    """Resolve a ``local:<path>`` feed inside ``local_dir``; refuse anything that leaves it."""
    if local_dir is None:
        raise ValueError("local feeds are not enabled on this site (CHORUS_LOCAL_FEEDS_DIR)")
    relative = url.removeprefix(LOCAL_SCHEME)
    if not relative or relative.startswith(("/", "\\")) or "\x00" in relative:
        raise ValueError(f"local feed path must be relative to {local_dir}")
    path = (local_dir / relative).resolve()
    if not path.is_relative_to(local_dir):
        raise ValueError(f"local feed path leaves {local_dir}")
    return path
