"""Pelican plugin: a share card (Open Graph / Twitter image) for every post, page and member
page, and one for the site, drawn by ``chorus.site.cards`` and kept by content in the cache.

Every post gets a card with its own title. A build draws at most
``CHORUS_SHARE_CARDS_PER_BUILD`` cards of posts that have none yet, the newest first (so that
a build with no cache, a fresh CI runner, stays quick); a post whose card is not drawn yet
names its own card all the same, and the output holds its author's card (face, name, site)
under that name until a later build draws it (the deploy workflow keeps the cache, so each
build draws the next ones). So a page never changes when its card is drawn, and need not be
rendered or indexed again for it. Many cards are drawn in worker processes while Pelican
writes the pages.

Sets ``chorus_card`` and ``chorus_card_alt`` on every article and page; context keys
``chorus_member_cards`` (handle -> card), ``chorus_site_card`` and ``chorus_share_base`` (the
site's absolute URL, which ``og:image`` needs even when pages link relatively). Reads
``chorus_members`` (set by the chorus_members plugin) when it is there.
"""

from __future__ import annotations

import html
import logging
import os
from concurrent.futures import Future, ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from markupsafe import Markup
from pelican import signals
from pelican.generators import Generator

from chorus.common.config import ConfigError, apply_defaults
from chorus.common.urls import web_url
from chorus.fetch.faces import Face, face_fingerprint, face_pixels
from chorus.site.cards import CardText, card_name, copy_card, draw_cards

log = logging.getLogger(__name__)
CARDS_DIR = "images/cards"  # in the output, under SITEURL
CACHE_DIR = "chorus/cards"  # under CACHE_PATH
# Below this many new cards (a tenth of a second or so each dozen) worker processes cost more
# to start than they save; above it, cards go to the workers in jobs of CARDS_PER_JOB.
POOL_THRESHOLD = 24
CARDS_PER_JOB = 25


class CardsGenerator(Generator):
    """Puts the build's cards (drawn into the cache by ``make_cards``) into the output."""

    def generate_context(self) -> None:
        self.cache = Path(self.settings["CACHE_PATH"]) / CACHE_DIR
        self.site_name = _text(self.settings.get("SITENAME") or "")
        self.fingerprints: dict[str, str] = {}  # handle -> of their face
        self.names: set[str] = set()
        # Cards named but not drawn yet -> the card the output holds under their name meanwhile.
        self.stand_ins: dict[str, str] = {}
        # Cards no build has drawn yet, by what they share but their title.
        self.pending: dict[tuple[Any, ...], dict[str, str]] = {}
        self.budget: int | None = self.settings["CHORUS_SHARE_CARDS_PER_BUILD"]
        self.drawing: list[tuple[Future[list[tuple[str, str]]], tuple[Any, ...]]] = []

    def card(
        self,
        text: CardText,
        handle: str | None = None,
        face: Face | None = None,
        *,
        stand_in: str | None = None,
    ) -> str:
        """The card's path under SITEURL; ``start_drawing`` draws it if no build drew it.
        A card given a ``stand_in`` (a post's: the path of its author's card) counts against
        CHORUS_SHARE_CARDS_PER_BUILD; once this build has drawn as many, the output holds the
        stand-in under the card's name until a later build draws it."""
        digest = None
        if handle is not None and face is not None:
            if handle not in self.fingerprints:
                self.fingerprints[handle] = face_fingerprint(face, handle)
            digest = self.fingerprints[handle]
        name = card_name(text, digest)
        if name not in self.names and name not in self.stand_ins:
            if not (self.cache / name).is_file():
                if stand_in is not None and self.budget is not None:
                    if self.budget <= 0:
                        self.stand_ins[name] = stand_in.removeprefix(f"{CARDS_DIR}/")
                        return f"{CARDS_DIR}/{name}"
                    self.budget -= 1
                base = (text.site_name, text.name, text.note, handle, face)
                self.pending.setdefault(base, {})[name] = text.title
            self.names.add(name)
        return f"{CARDS_DIR}/{name}"

    def start_drawing(self) -> None:
        """Draw the new cards into the cache, one base (a member's face and name) per job: in
        worker processes when there are many (``finish_drawing`` waits for them), else here."""
        jobs = []
        for (site_name, name, note, handle, face), titles in self.pending.items():
            pixels = face_pixels(face, handle) if handle is not None and face is not None else None
            cards = list(titles.items())
            for start in range(0, len(cards), CARDS_PER_JOB):
                chunk = cards[start : start + CARDS_PER_JOB]
                jobs.append((self.cache, site_name, name, note, pixels, chunk))
        self.pending.clear()
        workers = min(os.cpu_count() or 1, len(jobs))
        if sum(len(job[-1]) for job in jobs) < POOL_THRESHOLD or workers < 2:
            for job in jobs:
                self._report(draw_cards(*job))
            return
        # "spawn": Pelican's autoreload (`chorus serve`) runs threads, unsafe to fork.
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"))
        self.drawing = [(pool.submit(draw_cards, *job), job) for job in jobs]
        pool.shutdown(wait=False)

    def finish_drawing(self) -> None:
        """Wait for the workers' cards; a job whose worker failed is drawn here instead."""
        for future, job in self.drawing:
            try:
                failed = future.result()
            except Exception as error:
                log.info("share cards: a worker failed (%s); drawing its cards here", error)
                failed = draw_cards(*job)
            self._report(failed)
        self.drawing = []

    def _report(self, failed: list[tuple[str, str]]) -> None:
        for card, why in failed:
            log.warning(
                "share card %s could not be drawn (%s); pages naming it show none", card, why
            )
            self.names.discard(card)

    def generate_output(self, writer: Any) -> None:
        self.finish_drawing()
        shown = {name: name for name in self.names}
        shown.update(
            (name, stand_in) for name, stand_in in self.stand_ins.items() if stand_in in self.names
        )
        for name, drawn in sorted(shown.items()):
            target = Path(self.output_path, CARDS_DIR, name)
            copy_card(self.cache / drawn, target)
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
    posts = [
        post
        for generator in generators
        for kind in ("articles", "drafts", "translations")
        for post in getattr(generator, kind, ())
    ]
    pages = [
        page
        for generator in generators
        for kind in ("pages", "hidden_pages", "draft_pages")
        for page in getattr(generator, kind, ())
    ]
    posts.sort(key=lambda post: post.date, reverse=True)  # the newest first, for the budget
    for content, is_post in [*((p, True) for p in posts), *((p, False) for p in pages)]:
        member = members.get(getattr(content, "member", None))
        author_card = member_cards[member.handle] if member else site_card
        try:
            _card_for(content, member, cards, site, stand_in=author_card if is_post else None)
        except Exception as error:  # one card's failure costs that card, not the build
            log.warning(
                "%s: no share card (%s: %s)", content.source_path, type(error).__name__, error
            )
            content.chorus_card = author_card
            content.chorus_card_alt = f"{member.name} on {site}" if member else site
    context["chorus_member_cards"] = member_cards
    context["chorus_site_card"] = site_card
    cards.start_drawing()
    base = web_url(str(settings.get("SITEURL") or "")) or web_url(
        str(settings.get("FEED_DOMAIN") or "")
    )
    context["chorus_share_base"] = (base or "").rstrip("/")


def _card_for(
    content: Any, member: Any, cards: CardsGenerator, site: str, *, stand_in: str | None
) -> None:
    """Give ``content`` its own card (by ``member`` when they wrote it)."""
    title = _text(content.title)
    writer = getattr(content, "chorus_author", None)
    if member is not None:
        name = writer or member.name
        note = (
            f"in {member.name}" if writer else _host(getattr(content, "chorus_original_url", None))
        )
        path = cards.card(
            CardText(title, site, name, note), member.handle, member.face, stand_in=stand_in
        )
    else:
        authors = [str(author) for author in getattr(content, "authors", ()) if str(author)]
        name = ", ".join(authors) if authors and content.__class__.__name__ != "Page" else None
        path = cards.card(CardText(title, site, name), stand_in=stand_in)
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
    per_build = pelican_object.settings["CHORUS_SHARE_CARDS_PER_BUILD"]
    if per_build is not None and (
        isinstance(per_build, bool) or not isinstance(per_build, int) or per_build < 0
    ):
        raise ConfigError(
            "CHORUS_SHARE_CARDS_PER_BUILD must be a whole number of cards (0 or more) or None, "
            f"not {per_build!r}"
        )


def register() -> None:
    signals.initialized.connect(check_settings)
    signals.get_generators.connect(get_generators)
    signals.all_generators_finalized.connect(make_cards)
