"""What the theme shows of a community's life: posts per month, new members, a post's image.

Every date is measured from the newest post on the site, never from the clock, so that the same
repository builds the same pages on any day.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from PIL import Image, UnidentifiedImageError

MONTHS = 12
_MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


@dataclass(frozen=True)
class Activity:
    """Posts per month over the ``MONTHS`` months that end with the site's newest post."""

    months: tuple[tuple[date, int], ...]  # (first day of the month, posts), oldest first

    @property
    def total(self) -> int:
        return sum(count for _, count in self.months)

    @property
    def peak(self) -> int:
        return max((count for _, count in self.months), default=0)

    @property
    def label(self) -> str:
        """The chart in words, for screen readers: every month and its count."""
        first, last = self.months[0][0], self.months[-1][0]
        counts = ", ".join(f"{_MONTH_NAMES[m.month - 1]} {count}" for m, count in self.months)
        return (
            f"{self.total} post{'' if self.total == 1 else 's'} from "
            f"{_MONTH_NAMES[first.month - 1]} {first.year} to "
            f"{_MONTH_NAMES[last.month - 1]} {last.year}, by month: {counts}"
        )


def month_start(day: date) -> date:
    return day.replace(day=1)


def activity(dates: Iterable[date], newest: date, months: int = MONTHS) -> Activity:
    """Posts per month for the ``months`` months up to and including ``newest``'s month."""
    per_month = Counter(month_start(day) for day in dates)
    year, month = newest.year, newest.month
    starts = []
    for _ in range(months):
        starts.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
        if year < date.min.year:  # a post dated in year 1: no months before it to show
            break
    return Activity(tuple((start, per_month.get(start, 0)) for start in reversed(starts)))


def is_new(joined: date | None, first_post: date | None, newest: date, days: int) -> bool:
    """Whether a member counts as new: joined (or, with no ``joined`` date, first posted)
    within ``days`` days before the site's newest post."""
    since = joined or first_post
    return since is not None and 0 <= (newest - since).days <= days


@dataclass(frozen=True)
class LeadImage:
    """The first image of a post that the site serves itself, as a card shows it."""

    path: str  # relative to SITEURL
    alt: str
    width: int | None = None
    height: int | None = None


# A post's body is sanitized HTML: attributes double-quoted, quotes within escaped.
_IMG = re.compile(r"<img\b[^>]*>")
_ATTRIBUTE = re.compile(r'([a-z-]+)="([^"]*)"')
STATIC = "{static}/"


def lead_image(body: str, content_dir: Path) -> LeadImage | None:
    """The first image of ``body`` kept under content/ (``{static}/...``); remote images are
    not shown on cards (a third-party request) and images without alt text say nothing."""
    for tag in _IMG.findall(body or ""):
        attributes = dict(_ATTRIBUTE.findall(tag))
        src = html.unescape(attributes.get("src", ""))
        alt = html.unescape(attributes.get("alt", "")).strip()
        if not (src.startswith(STATIC) and alt):
            continue
        path = src.removeprefix(STATIC).lstrip("/")
        try:
            with Image.open(content_dir / path) as image:  # reads the header only
                width, height = image.size
        except (OSError, UnidentifiedImageError, ValueError):
            continue  # a missing or unreadable file: Pelican reports the broken link itself
        return LeadImage(path, alt, width, height)
    return None
