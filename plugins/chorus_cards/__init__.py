"""Pelican plugin: a share card (Open Graph / Twitter image) for every post, page and member
page, and one for the site, drawn by ``chorus.site.cards`` and kept by content in the cache.

The newest ``CHORUS_SHARE_CARD_POSTS`` posts get a card with their own title; older posts
share their author's card (face, name, site), so that a build without a cache (a fresh CI
runner) draws a few dozen cards, not one per post of the archive.

Sets ``chorus_card`` and ``chorus_card_alt`` on every article and page; context keys
``chorus_member_cards`` (handle -> card), ``chorus_site_card`` and ``chorus_share_base`` (the
site's absolute URL, which ``og:image`` needs even when pages link relatively). Reads
``chorus_members`` (set by the chorus_members plugin) when it is there.
"""

from __future__ import annotations

import functools
import html
import logging
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from markupsafe import Markup
from pelican import signals
from pelican.generators import Generator

from chorus.common.config import ConfigError, apply_defaults
from chorus.common.urls import web_url
from chorus.fetch.faces import Face, face_fingerprint, face_pixels
from chorus.site.cards import CardBase, CardText, card_name, copy_card, keep_card

log = logging.getLogger(__name__)
CARDS_DIR = "images/cards"  # in the output, under SITEURL
CACHE_DIR = "chorus/cards"  # under CACHE_PATH


class CardsGenerator(Generator):
    """Puts the build's cards (drawn into the cache by ``make_cards``) into the output."""

    def generate_context(self) -> None:
        self.cache = Path(self.settings["CACHE_PATH"]) / CACHE_DIR
        self.site_name = _text(self.settings.get("SITENAME") or "")
        self.fingerprints: dict[str, str] = {}  # handle -> of their face
        self.names: set[str] = set()
        # Cards no build has drawn yet, by what they share but their title.
        self.pending: dict[tuple[Any, ...], dict[str, str]] = {}

    def card(self, text: CardText, handle: str | None = None, face: Face | None = None) -> str:
        """The card's path under SITEURL; ``draw_pending`` draws it if no build drew it."""
        digest = None
        if handle is not None and face is not None:
            if handle not in self.fingerprints:
                self.fingerprints[handle] = face_fingerprint(face, handle)
            digest = self.fingerprints[handle]
        name = card_name(text, digest)
        if name not in self.names:
            self.names.add(name)
            if not (self.cache / name).is_file():
                base = (text.site_name, text.name, text.note, handle, face)
                self.pending.setdefault(base, {})[name] = text.title
        return f"{CARDS_DIR}/{name}"

    def draw_pending(self) -> None:
        """Draw the new cards into the cache, one base (a member's face and name) at a time."""
        for (site_name, name, note, handle, face), titles in self.pending.items():
            pixels = face_pixels(face, handle) if handle is not None and face is not None else None
            base = CardBase(site_name, name, note, pixels)
            for card, title in titles.items():
                keep_card(self.cache, card, functools.partial(base.card, title))
        self.pending.clear()

    def generate_output(self, writer: Any) -> None:
        for name in sorted(self.names):
            target = Path(self.output_path, CARDS_DIR, name)
            copy_card(self.cache, name, target)
            # Written output, as pages are: a rebuild removes the cards no page names any more.
            signals.content_written.send(str(target), context=self.context)


def make_cards(generators: list[Any]) -> None:
    """A card for every article, page and member, once every generator has read its content."""
    cards = next((g for g in generators if isinstance(g, CardsGenerator)), None)
    if cards is None:
        return
    settings = cards.settings
    context = cards.context
    members = context.get("chorus_members") or {}
    site = cards.site_name
    member_cards = {
        handle: cards.card(
            CardText(view.name, site, view.name, _host(view.site)), handle, view.face
        )
        for handle, view in members.items()
    }
    subtitle = _text(settings.get("SITESUBTITLE") or "")
    site_card = cards.card(CardText(subtitle or site, site))
    articles = [a for g in generators for a in getattr(g, "articles", ())]
    newest = sorted(articles, key=lambda article: article.date, reverse=True)
    own_cards = {id(article) for article in newest[: settings["CHORUS_SHARE_CARD_POSTS"]]}
    for generator in generators:
        posts = [
            *getattr(generator, "articles", ()),
            *getattr(generator, "drafts", ()),
            *getattr(generator, "translations", ()),
        ]
        pages = [
            *getattr(generator, "pages", ()),
            *getattr(generator, "hidden_pages", ()),
            *getattr(generator, "draft_pages", ()),
        ]
        for content, is_post in [*((p, True) for p in posts), *((p, False) for p in pages)]:
            if is_post and id(content) not in own_cards:
                # An older post shares its author's card (their face, name and site).
                member = members.get(getattr(content, "member", None))
                content.chorus_card = member_cards[member.handle] if member else site_card
                content.chorus_card_alt = f"{member.name} on {site}" if member else site
                continue
            try:
                _card_for(content, members, cards, site)
            except Exception as error:  # one card's failure costs that card, not the build
                log.warning(
                    "%s: no share card (%s: %s)", content.source_path, type(error).__name__, error
                )
    context["chorus_member_cards"] = member_cards
    context["chorus_site_card"] = site_card
    cards.draw_pending()
    base = web_url(str(settings.get("SITEURL") or "")) or web_url(
        str(settings.get("FEED_DOMAIN") or "")
    )
    context["chorus_share_base"] = (base or "").rstrip("/")


def _card_for(content: Any, members: dict[str, Any], cards: CardsGenerator, site: str) -> None:
    title = _text(content.title)
    member = members.get(getattr(content, "member", None))
    writer = getattr(content, "chorus_author", None)
    if member is not None:
        name = writer or member.name
        note = (
            f"in {member.name}" if writer else _host(getattr(content, "chorus_original_url", None))
        )
        path = cards.card(CardText(title, site, name, note), member.handle, member.face)
    else:
        authors = [str(author) for author in getattr(content, "authors", ()) if str(author)]
        name = ", ".join(authors) if authors and content.__class__.__name__ != "Page" else None
        path = cards.card(CardText(title, site, name))
    content.chorus_card = path
    content.chorus_card_alt = f"{title}, by {name}, on {site}" if name else f"{title}, on {site}"


def _text(value: str) -> str:
    """A title or a name as plain text (entities resolved, tags gone)."""
    return " ".join(html.unescape(Markup(str(value)).striptags()).split())


def _host(url: str | None) -> str | None:
    if not url:
        return None
    host = urlsplit(url).hostname or ""
    return host.removeprefix("www.") or None


def get_generators(pelican_object: Any) -> type[Generator]:
    return CardsGenerator


def check_settings(pelican_object: Any) -> None:
    apply_defaults(pelican_object.settings)
    newest = pelican_object.settings["CHORUS_SHARE_CARD_POSTS"]
    if isinstance(newest, bool) or not isinstance(newest, int) or newest < 0:
        raise ConfigError(
            f"CHORUS_SHARE_CARD_POSTS must be a whole number of posts (0 or more), not {newest!r}"
        )


def register() -> None:
    signals.initialized.connect(check_settings)
    signals.get_generators.connect(get_generators)
    signals.all_generators_finalized.connect(make_cards)
