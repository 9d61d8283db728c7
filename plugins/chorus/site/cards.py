"""Share cards: the picture a link to a page shows where it is shared (Open Graph, Twitter).

A card is a 1200x630 PNG with the page's title, the face and name of who wrote it, and the
site's name. Each is named by the hash of everything drawn on it (``card_name``) and kept in
the build's cache (``keep_card``), so that a rebuild draws only the cards of what changed.
Text is set in DejaVu Sans where it is installed, else in the font that ships with Pillow
(``ImageFont.load_default``), so that every machine can build the site; that font has no
accented letters, so text is then transliterated ("Tomás" as "Tomas", never "Tom□s").
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont
from unidecode import unidecode

WIDTH, HEIGHT = 1200, 630
CARD_STYLE = 1  # part of every card's name: a new look gets new names
MARGIN = 80
FACE_SIZE = 132
TOP, BOTTOM = (0x6E, 0x3A, 0x9E), (0x2E, 0x17, 0x47)  # the theme's accent, darkened downwards
INK = (0xFF, 0xFF, 0xFF)
SOFT_INK = (0xE6, 0xD8, 0xF5)
TITLE_SIZES = (76, 64, 54)  # the largest in which the title fits
TITLE_LINES = 4
ELLIPSIS = "…"
# More characters than a card can show: the title's lines at its smallest size, a name's one
# line. What is longer (an editor's title, a member's name: nothing caps them) is cut here
# first, so that a card's cost does not grow with its text.
CARD_TEXT_AT_MOST = 400
# Found by file name in the system's font folders (Pillow looks in XDG_DATA_DIRS/fonts).
DEJAVU, DEJAVU_BOLD = "DejaVuSans.ttf", "DejaVuSans-Bold.ttf"


@dataclass(frozen=True)
class CardText:
    """What a card says: the title, who wrote it (and a note under their name), the site."""

    title: str
    site_name: str
    name: str | None = None
    note: str | None = None


def card_name(text: CardText, face_digest: str | None) -> str:
    """The card's file name: a hash of what is drawn (``face_digest``: of the face's pixels)."""
    inputs = [CARD_STYLE, font_name(), text.title, text.site_name, text.name, text.note]
    inputs.append(face_digest)
    return hashlib.sha256(json.dumps(inputs).encode("utf-8")).hexdigest()[:24] + ".png"


def draw_cards(
    cache_dir: Path,
    site_name: str,
    name: str | None,
    note: str | None,
    face: Image.Image | None,
    titles: list[tuple[str, str]],
) -> list[tuple[str, str]]:
    """Draw the cards ``titles`` ((card name, title) pairs) that share one base into
    ``cache_dir``; a worker process's job. Returns the cards that failed, with why: one card's
    failure costs that card only."""
    base = CardBase(site_name, name, note, face)
    failed = []
    for card, title in titles:
        try:
            keep_card(cache_dir, card, functools.partial(base.card, title))
        except Exception as error:  # reported by name; the other cards are drawn
            failed.append((card, f"{type(error).__name__}: {error}"))
    return failed


def keep_card(cache_dir: Path, name: str, draw: Callable[[], bytes]) -> None:
    """Card ``name`` in ``cache_dir``: drawn (``draw``) unless an earlier build drew it."""
    kept = cache_dir / name
    if kept.is_file():
        return
    kept.parent.mkdir(parents=True, exist_ok=True)
    temporary = kept.with_name(f".{name}.tmp")
    temporary.write_bytes(draw())
    temporary.replace(kept)


def copy_card(card: Path, target: Path) -> None:
    """``card`` (a file in the cache) at ``target``, unless ``target`` holds it already.

    ``target`` is a hard link to the cached card where both are on one file system (a
    first build names 2,000 cards by a few stand-ins: linking writes no bytes), else a copy
    that keeps the card's time of writing. Either way, size and time tell it from another
    card (a stand-in the output held under this name) without reading either. A target is
    removed and linked again, never written into, so the cached card cannot change."""
    try:
        if _signature(target) == _signature(card):
            return
        target.unlink()
    except FileNotFoundError:
        target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(card, target)
    except OSError:  # another file system, or one without hard links
        shutil.copy2(card, target)


def _signature(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


def draw_card(text: CardText, face: Image.Image | None = None) -> bytes:
    """The card as PNG bytes."""
    return CardBase(text.site_name, text.name, text.note, face).card(text.title)


class CardBase:
    """Everything on a card but its title: drawn once for all the cards of one member, which
    then cost only their title and the PNG encoding (a first build draws many)."""

    def __init__(
        self, site_name: str, name: str | None, note: str | None, face: Image.Image | None
    ) -> None:
        image = _background().copy()
        draw = ImageDraw.Draw(image)
        site = _fit(site_name, _font(34), WIDTH - 2 * MARGIN)
        draw.text((MARGIN, 64), site, SOFT_INK, _font(34))
        self.bottom_band = HEIGHT - MARGIN - FACE_SIZE
        left = MARGIN
        if face is not None:
            image.paste(_round(face, FACE_SIZE), (MARGIN, self.bottom_band), _circle(FACE_SIZE))
            left += FACE_SIZE + 32
        if name:
            width = WIDTH - MARGIN - left
            name_top = self.bottom_band + (18 if note else 44)
            draw.text((left, name_top), _fit(name, _font(44), width), INK, _font(44))
            if note:
                draw.text((left, name_top + 60), _fit(note, _font(32), width), SOFT_INK, _font(32))
        self.image = image
        # One palette of 256 colours for all the cards on this base, taken from the base with
        # a title on it: mapping a card to a palette it is given costs a fifth of finding one,
        # and a palette image is a third of the bytes.
        sample = self._titled("Card title Ag").reduce(4)  # the colours, at a sixteenth the cost
        self.palette = sample.quantize(256, method=Image.Quantize.FASTOCTREE)

    def card(self, title: str) -> bytes:
        """The card with ``title`` on it, as PNG bytes."""
        picture = self._titled(title).quantize(palette=self.palette, dither=Image.Dither.NONE)
        buffer = io.BytesIO()
        picture.save(buffer, "PNG", compress_level=3)
        return buffer.getvalue()

    def _titled(self, title: str) -> Image.Image:
        image = self.image.copy()
        draw = ImageDraw.Draw(image)
        title_top = 150
        size, lines = _title_lines(title, WIDTH - 2 * MARGIN, self.bottom_band - title_top - 30)
        font = _font(size, bold=True)
        for number, line in enumerate(lines):
            draw.text((MARGIN, title_top + number * round(size * 1.18)), line, INK, font)
        return image


@cache
def _font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    """DejaVu Sans where it is installed (Debian's fonts-dejavu-core; GitHub's runners have
    it): it has the accented letters of most European names. Else the font that ships with
    Pillow, which has only unaccented Latin letters."""
    try:
        return ImageFont.truetype(DEJAVU_BOLD if bold else DEJAVU, size)
    except OSError:
        return ImageFont.load_default(size=size)  # type: ignore[return-value]  # with a size


@cache
def _has_dejavu() -> bool:
    try:
        ImageFont.truetype(DEJAVU, 12)
    except OSError:
        return False
    return True


def _settable(text: str) -> str:
    """``text`` in letters the card's font has."""
    return text if text.isascii() or _has_dejavu() else unidecode(text)


def font_name() -> str:
    """The font cards are set in, as part of their names: the same inputs set in another
    font are another card."""
    family, style = _font(64, bold=True).getname()
    return f"{family} {style}"


@cache
def _background() -> Image.Image:
    column = Image.new("RGB", (1, HEIGHT))
    for y in range(HEIGHT):
        share = y / (HEIGHT - 1)
        column.putpixel(
            (0, y), tuple(round(a + (b - a) * share) for a, b in zip(TOP, BOTTOM, strict=True))
        )
    return column.resize((WIDTH, HEIGHT))


def _title_lines(title: str, width: int, height: int) -> tuple[int, list[str]]:
    """The largest of ``TITLE_SIZES`` in which the title fits the box whole, else the
    smallest with the title cut after ``TITLE_LINES`` lines."""
    for size in TITLE_SIZES:
        lines = _wrap(title, _font(size, bold=True), width)
        fits = len(lines) * round(size * 1.18) <= height and len(lines) <= TITLE_LINES
        if fits:
            return size, lines
    size = TITLE_SIZES[-1]
    most = max(1, min(TITLE_LINES, height // round(size * 1.18)))
    font = _font(size, bold=True)
    lines = _wrap(title, font, width)
    if len(lines) > most:
        lines = [*lines[: most - 1], _fit(lines[most - 1] + " " + ELLIPSIS * 2, font, width)]
    return size, lines


def _wrap(text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """Words in lines at most ``width`` pixels wide; a word too long for one is cut."""
    text = _settable(text[:CARD_TEXT_AT_MOST])
    lines: list[str] = []
    line = ""
    for word in text.split():
        candidate = f"{line} {word}".strip()
        if font.getlength(candidate) <= width:
            line = candidate
            continue
        if line:
            lines.append(line)
        line = word if font.getlength(word) <= width else _fit(word, font, width)
    if line:
        lines.append(line)
    return lines or [""]


def _fit(text: str, font: ImageFont.FreeTypeFont, width: int) -> str:
    """``text``, cut with an ellipsis if it is wider than ``width`` pixels."""
    text = " ".join(_settable(text[:CARD_TEXT_AT_MOST]).split())
    ellipsis = _settable(ELLIPSIS)
    if font.getlength(text) <= width:
        return text
    # The longest start of the text that fits with the ellipsis, found by halving: measuring
    # one character less each time costs the square of the text's length.
    fits, over = 0, len(text)
    while over - fits > 1:
        middle = (fits + over) // 2
        if font.getlength(text[:middle] + ellipsis) <= width:
            fits = middle
        else:
            over = middle
    return text[:fits].rstrip(" " + ellipsis) + ellipsis


def _round(face: Image.Image, size: int) -> Image.Image:
    side = min(face.size)
    left, top = (face.width - side) // 2, (face.height - side) // 2
    square = face.crop((left, top, left + side, top + side))
    return square.convert("RGB").resize((size, size), Image.Resampling.LANCZOS)


@cache
def _circle(size: int) -> Image.Image:
    # Drawn four times larger and scaled down: a smooth edge.
    mask = Image.new("L", (size * 4, size * 4), 0)
    ImageDraw.Draw(mask).ellipse((0, 0, size * 4 - 1, size * 4 - 1), fill=255)
    return mask.resize((size, size), Image.Resampling.LANCZOS)
