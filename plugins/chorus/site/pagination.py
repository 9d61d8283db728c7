"""Lists of posts cut into pages numbered from the oldest, so that a full page never changes.

Pelican numbers a list's pages from the newest: page 1 shows the newest posts, page 2 the next
ones, and so on. A new post then shifts every post of the list one place down, onto the next
page, and every page of the list changes: after one new post, a site of 10,000 posts renders
again the 2,000 pages of its home, its category and the new post's tags.

Here the pages are numbered from the oldest. Page 1 holds the oldest ``per_page`` posts, page 2
the next ones, and so on; these numbered pages are always full, and once written never change
(their posts stay theirs). The listing's own URL (``index.html``, ``tag/x.html``) shows
everything newer than the newest numbered page: between ``per_page`` and ``2 * per_page - 1``
posts, the newest first. A new post changes that first page only, and once every
``per_page`` posts a new numbered page takes the oldest of them; only then does the newest
numbered page before it change as well (its link to newer posts points at the new page).

What a numbered page shows may depend only on its own posts and its neighbours' numbers and
URLs: its ``count`` is None (the total of the listing changes with every post), and no page has
Pelican's ``articles_paginator`` (its ``count`` and ``num_pages`` change likewise).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

# What is new on the site (the members by their latest post, the newest members): the theme
# shows these on a list's first page only, and the numbered pages are given none, so that a
# new post, which reorders the members, leaves those pages as they are.
FIRST_PAGE_ONLY = ("chorus_members_by_activity", "chorus_new_members")


@dataclass(frozen=True)
class PageLink:
    """A neighbouring page, as a link to it: its number and URL (relative to SITEURL)."""

    number: int
    url: str


@dataclass(frozen=True)
class ListPage:
    """One page of a list of posts: ``object_list`` (newest first), numbered from the oldest.

    ``first`` is the page at the listing's own URL, with the newest posts; its ``number`` is
    the highest. ``newer`` and ``older`` link to the neighbouring pages (None at either end).
    ``count`` is the number of posts in the whole listing, on the first page only.
    """

    number: int
    url: str
    save_as: str
    object_list: Sequence[Any]
    first: bool
    newer: PageLink | None
    older: PageLink | None
    count: int | None

    # Pelican's names for the same questions ("previous" is newer, "next" is older).
    def has_previous(self) -> bool:
        return self.newer is not None

    def has_next(self) -> bool:
        return self.older is not None

    def has_other_pages(self) -> bool:
        return self.newer is not None or self.older is not None


def cut(count: int, per_page: int | None) -> list[tuple[int, int]]:
    """The pages of a list of ``count`` items (newest first) as ``(start, stop)`` slices of it,
    the first page's first, then the numbered pages from the newest (page ``len - 1``) down to
    page 1, the oldest ``per_page`` items."""
    if not per_page or count < 2 * per_page:
        return [(0, count)]
    numbered = count // per_page - 1
    first = count - numbered * per_page
    return [(0, first)] + [
        (first + k * per_page, first + (k + 1) * per_page) for k in range(numbered)
    ]


def paginate(
    items: Sequence[Any],
    per_page: int | None,
    listing: tuple[str, str],
    numbered: Callable[[int], tuple[str, str]],
) -> list[ListPage]:
    """The pages of ``items`` (newest first), the first page first: at ``listing`` (its URL and
    file), the numbered page ``n`` at ``numbered(n)`` (its URL and file)."""
    slices = cut(len(items), per_page)
    total = len(slices)
    # Page number, URL and file of each page, in the order of ``slices``: the first page is
    # number ``total``, then ``total - 1`` down to 1.
    places = [(total, *listing)] + [(n, *numbered(n)) for n in range(total - 1, 0, -1)]
    links = [PageLink(number, url) for number, url, _ in places]
    pages = []
    for position, ((start, stop), (number, url, save_as)) in enumerate(
        zip(slices, places, strict=True)
    ):
        pages.append(
            ListPage(
                number=number,
                url=url,
                save_as=save_as,
                object_list=items[start:stop],
                first=position == 0,
                newer=links[position - 1] if position > 0 else None,
                older=links[position + 1] if position + 1 < total else None,
                count=len(items) if position == 0 else None,
            )
        )
    return pages
