"""Pelican plugin: a search index of every published post (``CHORUS_SEARCH_INDEX``), read by the
theme's search page on any static host."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from markupsafe import Markup
from pelican import signals
from pelican.generators import Generator

from chorus.common.config import apply_defaults
from chorus.common.sanitize import plain_text
from chorus.site.search import SearchEntry, search_index

SUMMARY_CHARS = 240


class SearchIndexGenerator(Generator):
    """Writes the index after every article is known."""

    def generate_context(self) -> None:
        pass

    def generate_output(self, writer: Any) -> None:
        path = self.settings["CHORUS_SEARCH_INDEX"]
        if not path:
            return
        members = self.context.get("chorus_members") or {}
        entries = []
        for article in self.context.get("articles", []):
            member = members.get(getattr(article, "member", None))
            author = member.name if member else ", ".join(map(str, article.authors))
            entries.append(
                SearchEntry(
                    t=html.unescape(Markup(article.title).striptags()),
                    u=article.url,
                    a=author,
                    d=article.date.strftime("%Y-%m-%d"),
                    s=plain_text(getattr(article, "summary", "") or "")[:SUMMARY_CHARS],
                    g=[str(tag) for tag in getattr(article, "tags", [])],
                )
            )
        target = Path(self.output_path, path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(search_index(entries), encoding="utf-8")


def get_generators(pelican_object: Any) -> type[Generator]:
    return SearchIndexGenerator


def check_settings(pelican_object: Any) -> None:
    apply_defaults(pelican_object.settings)


def register() -> None:
    signals.initialized.connect(check_settings)
    signals.get_generators.connect(get_generators)
