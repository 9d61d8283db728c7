"""``content/takedowns.yml``: every post taken down and every draft rejected, one entry each.

The file is a YAML list an editor can read in a pull request::

    - member: ada
      id: https://ada.example/posts/looms/
      original_url: https://ada.example/posts/looms/
      url: posts/2026/ada-on-looms/
      date: 2026-12-02
      kind: removed

``kind`` is ``removed`` (the post was on the site; its address keeps a small page saying so)
or ``rejected`` (a draft an editor turned down; it never was on the site, so it has no ``url``).
An entry is matched by member and entry id, or by its original URL whoever's feed lists it.
The file is read in bounded time and memory: a size cap, safe YAML without aliases.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Literal

import yaml

from chorus.common.files import write_atomic
from chorus.common.frontmatter import load_yaml, read_capped_text
from chorus.common.urls import link_key, web_url
from chorus.members.registry import HANDLE

log = logging.getLogger(__name__)
Kind = Literal["removed", "rejected"]
KINDS: tuple[Kind, ...] = ("removed", "rejected")
KEYS = ("member", "id", "original_url", "url", "date", "kind")
# A few hundred bytes an entry: room for some ten thousand takedowns and rejections, and a cap
# on what a mistaken edit can cost every fetch and build.
MAX_TAKEDOWNS_BYTES = 4 * 1024 * 1024
HEADER = """\
# Posts taken down and drafts rejected: no `chorus fetch` brings them back, and each removed
# post's address keeps a small "removed at the author's request" page. Written by
# `chorus remove`, `chorus members remove --remove-posts` and `chorus reject`; see
# docs/members.md, "Leaving and takedowns". Deleting an entry lets the next fetch write it again.
"""


class TakedownsError(Exception):
    """The takedowns file cannot be used; the message names the file and what to fix."""


@dataclass(frozen=True)
class Takedown:
    """One post taken down, or one draft rejected."""

    member: str
    id: str  # the entry's id in the member's feed
    original_url: str
    kind: Kind
    date: date  # when it was taken down or rejected
    url: str | None = None  # our page, relative to SITEURL (removed posts only)

    def as_yaml(self) -> str:
        """The entry as the file holds it."""
        record = {"member": self.member, "id": self.id, "original_url": self.original_url}
        if self.url:
            record["url"] = self.url
        record |= {"date": self.date, "kind": self.kind}
        return yaml.safe_dump([record], sort_keys=False, allow_unicode=True, width=10_000)


@dataclass(frozen=True)
class Takedowns:
    """Every entry of the file, and the look-ups a fetch and a build make."""

    entries: tuple[Takedown, ...] = ()
    _by_entry: dict[tuple[str, str], Takedown] = field(default_factory=dict, repr=False)
    _by_link: dict[str, Takedown] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for entry in self.entries:
            self._by_entry.setdefault((entry.member, entry.id), entry)
            self._by_link.setdefault(link_key(entry.original_url), entry)

    def match(self, member: str, ids: Iterable[str], link: str) -> Takedown | None:
        """The entry that keeps this feed entry out: its member and id, or its link."""
        for entry_id in ids:
            found = self._by_entry.get((member, entry_id))
            if found is not None:
                return found
        return self._by_link.get(link_key(link)) if link else None

    @property
    def removed(self) -> list[Takedown]:
        """The posts taken down from the site, each with its address."""
        return [entry for entry in self.entries if entry.kind == "removed" and entry.url]

    @cached_property
    def withdrawn(self) -> frozenset[str]:
        """Our addresses and the originals of the removed posts (for lists made earlier,
        such as newsletter issues not yet sent)."""
        urls = set()
        for entry in self.entries:
            if entry.kind == "removed":
                urls.add(link_key(entry.original_url))
                if entry.url:
                    urls.add(entry.url.strip("/"))
        return frozenset(urls)

    def is_withdrawn(self, url: str, original_url: str | None) -> bool:
        """Whether a listed post (our address, its original) is one taken down."""
        return url.strip("/") in self.withdrawn or bool(
            original_url and link_key(original_url) in self.withdrawn
        )


def load_takedowns(path: Path) -> Takedowns:
    """Read the file (none yet: no takedowns); TakedownsError names the file and the entry."""
    try:
        text = read_capped_text(path, MAX_TAKEDOWNS_BYTES)
    except FileNotFoundError:
        return Takedowns()
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise TakedownsError(f"{path}: cannot read the takedowns file: {error}") from None
    try:
        data = load_yaml(text)
    except yaml.YAMLError as error:
        raise TakedownsError(f"{path}: not valid YAML: {error}") from None
    if data is None:
        return Takedowns()
    if not isinstance(data, list):
        raise TakedownsError(f"{path}: must be a list of entries (lines starting with '- ')")
    return Takedowns(tuple(_entry(path, number, raw) for number, raw in enumerate(data, 1)))


def _entry(path: Path, number: int, raw: object) -> Takedown:
    def bad(message: str) -> TakedownsError:
        return TakedownsError(f"{path}: entry {number}: {message}")

    if not isinstance(raw, dict):
        raise bad("must be a mapping of member, id, original_url, url, date and kind")
    unknown = sorted(str(key) for key in raw if key not in KEYS)
    if unknown:
        raise bad(f"unknown key {unknown[0]!r} (the keys are: {', '.join(KEYS)})")
    member, entry_id, original = raw.get("member"), raw.get("id"), raw.get("original_url")
    if not isinstance(member, str) or not HANDLE.match(member):
        raise bad(f"member {member!r} is not a member handle")
    if not isinstance(entry_id, str) or not entry_id:
        raise bad("id: required, the entry's id in the member's feed")
    if not isinstance(original, str) or web_url(original) is None:
        raise bad(f"original_url {original!r} is not an absolute http(s) URL")
    kind = raw.get("kind")
    if kind not in KINDS:
        raise bad(f"kind {kind!r} is not one of: {', '.join(KINDS)}")
    when = raw.get("date")
    if isinstance(when, str):
        try:
            when = date.fromisoformat(when)
        except ValueError:
            when = None
    if not isinstance(when, date):
        raise bad(f"date {raw.get('date')!r} is not a date: write it as YYYY-MM-DD")
    url = raw.get("url")
    if url is not None and (not isinstance(url, str) or "://" in url or ".." in url.split("/")):
        raise bad(f"url {url!r} is not an address on this site, relative to SITEURL")
    if kind == "removed" and not url:
        raise bad("url: required for a removed post (where its page was on this site)")
    return Takedown(member, entry_id, original, kind, when, url)


def record_takedowns(path: Path, entries: Iterable[Takedown]) -> list[Takedown]:
    """Append entries to the file (written atomically, the editor's lines kept as they are);
    return the ones added (an entry already there is not added twice)."""
    known = load_takedowns(path)  # a broken file is reported, never written over
    added = [entry for entry in entries if _is_news(known, entry)]
    if not added:
        return []
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = HEADER
    if text and not text.endswith("\n"):
        text += "\n"
    write_atomic(path, text + "".join(entry.as_yaml() for entry in added))
    log.info("%s: %d entries added", path, len(added))
    return added


def _is_news(known: Takedowns, entry: Takedown) -> bool:
    """Whether the file lacks this entry: not there at all, or there as a rejected draft only
    when it is now a post taken down (which needs its page)."""
    found = known.match(entry.member, [entry.id], entry.original_url)
    return found is None or (found.kind == "rejected" and entry.kind == "removed")
