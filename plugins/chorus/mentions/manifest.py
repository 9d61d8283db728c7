"""The build's record of which pages link where: what `chorus mentions send` works from.

The chorus_mentions plugin writes it once the pages are written (``<CACHE_PATH>/chorus/
mentions.json``): each published page's absolute URL, the external URLs it links to, and a hash
of its content. Nothing here touches the network, so the build does not load an HTTP client.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urlsplit

from chorus.common.files import write_atomic
from chorus.common.urls import web_url

MANIFEST_NAME = Path("chorus") / "mentions.json"


class ManifestError(Exception):
    """The manifest is missing or unreadable; the message says what to do."""


@dataclass(frozen=True)
class Page:
    """One published page: where it lives, what it links to, and a hash of its content."""

    url: str
    targets: tuple[str, ...]
    hash: str


def manifest_path(settings: Mapping[str, Any]) -> Path:
    """``<CACHE_PATH>/chorus/mentions.json``; a relative CACHE_PATH is taken from the current
    directory, as Pelican does."""
    return (Path(settings.get("CACHE_PATH") or "cache") / MANIFEST_NAME).resolve()


def content_hash(content: str) -> str:
    """The hash that says a page changed."""
    return hashlib.sha256(content.encode("utf-8", "surrogatepass")).hexdigest()


def external_links(content: str, site_url: str) -> list[str]:
    """Absolute http(s) link targets in ``content`` that are not on the site's own host,
    in document order, each once."""
    if "<" not in content:
        return []
    from bs4 import BeautifulSoup, SoupStrainer

    own = (urlsplit(site_url).hostname or "").lower()
    links: dict[str, None] = {}
    soup = BeautifulSoup(content, "html.parser", parse_only=SoupStrainer("a"))
    for anchor in soup.find_all("a", href=True):
        url = web_url(str(anchor["href"]))  # None for relative, mailto:, javascript: and such
        if url and (urlsplit(url).hostname or "").lower() != own:
            links.setdefault(mention_target(url), None)
    return list(links)


def mention_target(url: str) -> str:
    """The page a link mentions: ``page#section`` and ``page`` are one target, told once
    (receivers fetch the page, and a fragment never reaches their server)."""
    return urldefrag(url).url


def make_page(url: str, content: str, site_url: str, original: str | None = None) -> Page:
    """The manifest entry for one page; a curated post also mentions its original post."""
    targets = dict.fromkeys(external_links(content, site_url))
    if original and (original := web_url(original)):
        targets.setdefault(mention_target(original), None)
    targets.pop(url, None)
    return Page(url=url, targets=tuple(sorted(targets)), hash=content_hash(content))


def write_manifest(path: Path, site_url: str, pages: Iterable[Page]) -> None:
    """Write the manifest deterministically (pages sorted by URL)."""
    document = {
        "siteurl": site_url,
        "pages": [asdict(page) for page in sorted(pages, key=lambda page: page.url)],
    }
    text = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    try:
        if path.read_text(encoding="utf-8") == text:
            return
    except OSError:
        pass
    write_atomic(path, text)


def load_manifest(path: Path) -> tuple[str | None, list[Page]]:
    """The site URL and pages of a manifest; raises ManifestError when it is missing or bad."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ManifestError(
            f"no manifest at {path}: run `chorus build --publish` first (the manifest is written "
            "by the chorus_mentions plugin when SITEURL is an absolute URL)"
        ) from None
    except (OSError, ValueError) as error:
        raise ManifestError(
            f"cannot read the manifest {path} ({error}); run `chorus build --publish` again"
        ) from None
    try:
        pages = []
        for entry in document["pages"]:
            url, targets, digest = entry["url"], entry["targets"], entry["hash"]
            if web_url(url) != url or not isinstance(digest, str):
                raise ValueError(f"page {url!r} is not an absolute http(s) URL with a hash")
            bad = [target for target in targets if web_url(target) != target]
            if bad or isinstance(targets, str):
                raise ValueError(f"page {url}: target {bad[:1] or targets!r} is not an http(s) URL")
            pages.append(Page(url, tuple(targets), digest))
        site_url = document.get("siteurl")
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise ManifestError(
            f"{path} is not a Chorus mentions manifest ({error}); "
            "run `chorus build --publish` again"
        ) from None
    return (site_url if isinstance(site_url, str) else None), pages
