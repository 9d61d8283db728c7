"""Where Pelican's article generator keeps posts: every list a post of any status may be in."""

from __future__ import annotations

from typing import Any

# Published, hidden and draft posts, and their translations: a plugin that changes or drops
# posts must see them all, or a draft or a translation would escape it.
ARTICLE_LISTS = (
    "articles",
    "translations",
    "hidden_articles",
    "hidden_translations",
    "drafts",
    "drafts_translations",
)


def every_post(generator: Any) -> list[Any]:
    """Every post the article generator read, whatever its status."""
    return [post for name in ARTICLE_LISTS for post in getattr(generator, name)]
