"""The static search index: every post's words, in one small JSON file read by the browser."""

from __future__ import annotations

import json
from dataclasses import dataclass


@dataclass(frozen=True)
class SearchEntry:
    """One post as the search page shows and matches it. Short keys keep the file small."""

    t: str  # title, plain text
    u: str  # URL relative to the site root
    a: str  # author (member) name
    d: str  # date, YYYY-MM-DD
    s: str  # summary, plain text
    g: list[str]  # tags


def search_index(entries: list[SearchEntry]) -> str:
    """The index as compact JSON, newest first as given."""
    # vars(), not asdict(): the entries are flat, and asdict's deep copy costs a second per
    # 10,000 posts.
    return json.dumps([vars(entry) for entry in entries], ensure_ascii=False, separators=(",", ":"))
