"""Synthetic content, deterministic: the same arguments always give the same bytes.

Members, their entries (~2 KB of HTML each, or ~4 KB of richer HTML at scale) and their feeds,
RSS 2.0 and Atom 1.0 alternating.
"""

from __future__ import annotations

import email.utils
import html
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

ENTRIES_PER_FEED = 10
ENTRY_HTML_BYTES = 2000
SCALE_HTML_BYTES = 4000  # per entry of the scale run, before escaping in the feed
BASE_DATE = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)  # safely in the past: no "future" dates

WORDS = (
    "warp", "weft", "heddle", "shuttle", "loom", "pattern", "draft", "treadle", "shaft", "reed",
    "twill", "satin", "tabby", "selvedge", "bobbin", "yarn", "linen", "wool", "cotton", "silk",
    "tension", "beater", "harness", "jacquard", "card", "punch", "sequence", "thread", "colour",
    "weave", "drawdown", "tie-up", "lift", "plan", "repeat", "border", "motif", "overshot",
    "damask", "rosepath", "community", "member", "notebook", "release", "module", "parser",
    "feed", "build", "theme", "template", "plugin", "archive",
)  # fmt: skip
TAGS = (
    "weaving", "python", "pelican", "looms", "drafts", "tools", "history", "colour", "yarn",
    "release", "tutorial", "notes", "community", "jacquard", "software", "hardware", "events",
    "reading", "patterns", "teaching",
)  # fmt: skip


def handle_of(index: int) -> str:
    return f"m{index:04d}"


def site_of(index: int) -> str:
    return f"https://{handle_of(index)}.example/"


@dataclass(frozen=True)
class SyntheticEntry:
    id: str
    link: str
    title: str
    date: datetime
    tags: tuple[str, ...]
    html: str  # raw HTML as the member's blog would publish it, with relative URLs


def synthetic_entry(
    member: int,
    number: int,
    entries_per_member: int,
    html_bytes: int = ENTRY_HTML_BYTES,
    rich: bool = False,
    images_at: str | None = None,
) -> SyntheticEntry:
    """Entry ``number`` (0-based) of member ``member`` (1-based): ~``html_bytes`` of HTML with a
    relative link and an image, unique id/link. ``rich`` adds what real posts also carry (links
    to other sites, headings, lists, quotes, code) instead of paragraphs alone. The image is on
    the member's site, whose host does not resolve, unless ``images_at`` names the origin that
    serves it (the feed server's, so that it is fetched as a real blog's image is)."""
    rng = random.Random(f"{member}-{number}")
    handle = handle_of(member)
    serial = (member - 1) * entries_per_member + number
    parts = [
        f'<p>Following on from <a href="../{number + 1}/">the previous note</a>, here is what '
        f"happened on the loom this week.</p>",
        f'<p><img src="{images_at or ""}/images/{handle}-{number}.png" '
        f'alt="The {rng.choice(WORDS)} in progress" width="640" height="360"></p>',
    ]
    size = sum(map(len, parts))
    while size < html_bytes:
        block = rich_block(rng, len(parts)) if rich else plain_paragraph(rng)
        parts.append(block)
        size += len(block)
    title = f"{rng.choice(WORDS).capitalize()} and {rng.choice(WORDS)}: note {number} by {handle}"
    return SyntheticEntry(
        id=f"tag:{handle}.example,2025:post-{number}",
        link=f"{site_of(member)}posts/{number}/",
        title=title,
        date=BASE_DATE - timedelta(hours=13 * serial),
        tags=tuple(rng.sample(TAGS, 2)),
        html="\n".join(parts),
    )


def plain_paragraph(rng: random.Random) -> str:
    sentence = " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 20)))
    paragraph = f"<p>{sentence.capitalize()}. <em>{rng.choice(WORDS)}</em> and <strong>"
    return paragraph + f"{rng.choice(WORDS)}</strong> again, {' '.join(rng.sample(WORDS, 6))}.</p>"


RICH_BLOCKS = (0, 1, 0, 2, 1, 3, 0, 4, 1, 5)  # paragraph, linked paragraph, h2, list, quote, code


def rich_block(rng: random.Random, position: int) -> str:
    """One block of a realistic post, chosen by its position so that every post has them all."""

    def sentence(low: int = 8, high: int = 20) -> str:
        return " ".join(rng.choice(WORDS) for _ in range(rng.randint(low, high))).capitalize()

    word = rng.choice
    kind = RICH_BLOCKS[position % len(RICH_BLOCKS)]
    if kind == 1:
        url = f"https://{word(WORDS)}.example/{word(WORDS)}/{rng.randint(1, 999)}/"
        return (
            f'<p>{sentence()}, as <a href="{url}" title="{word(WORDS)}">{word(WORDS)} '
            f"{word(WORDS)}</a> explains. {sentence()}.</p>"
        )
    if kind == 2:
        return f"<h2>{sentence(2, 5)}</h2>"
    if kind == 3:
        return "<ul>" + "".join(f"<li>{sentence(3, 8)}</li>" for _ in range(3)) + "</ul>"
    if kind == 4:
        return f"<blockquote><p>{sentence()}.</p></blockquote>"
    if kind == 5:
        return (
            f"<pre><code>lift = [{rng.randint(1, 8)}, {rng.randint(1, 8)}]\n"
            f'if shaft &lt; 4 and tension &gt; 0:\n    weave("{word(WORDS)}")</code></pre>'
        )
    return plain_paragraph(rng)


def feed_document(
    member: int,
    entries: int = ENTRIES_PER_FEED,
    html_bytes: int = ENTRY_HTML_BYTES,
    rich: bool = False,
    *,
    atom: bool | None = None,
    extra: tuple[SyntheticEntry, ...] = (),
    images_at: str | None = None,
) -> tuple[bytes, str]:
    """The member's feed: RSS 2.0 for odd members, Atom 1.0 for even ones, unless ``atom``
    says which; ``extra`` entries come first (newer posts); (bytes, content type).
    ``images_at``: as for ``synthetic_entry``."""
    handle, site = handle_of(member), site_of(member)
    items = [
        *extra,
        *(
            synthetic_entry(member, number, entries, html_bytes, rich, images_at)
            for number in range(entries)
        ),
    ]
    esc = html.escape
    rss = bool(member % 2) if atom is None else not atom
    if rss:
        lines = [
            '<?xml version="1.0" encoding="utf-8"?>',
            '<rss version="2.0"><channel>',
            f"<title>{handle}'s notebook</title><link>{site}</link>",
            f"<description>Notes by {handle}</description>",
        ]
        for item in items:
            lines += [
                "<item>",
                f"<title>{esc(item.title)}</title><link>{item.link}</link>",
                f'<guid isPermaLink="false">{item.id}</guid>',
                f"<pubDate>{email.utils.format_datetime(item.date)}</pubDate>",
                *(f"<category>{tag}</category>" for tag in item.tags),
                f"<description>{esc(item.html)}</description>",
                "</item>",
            ]
        lines.append("</channel></rss>")
        kind = "application/rss+xml"
    else:
        lines = [
            '<?xml version="1.0" encoding="utf-8"?>',
            '<feed xmlns="http://www.w3.org/2005/Atom">',
            f"<title>{handle}'s notebook</title><id>tag:{handle}.example,2025:feed</id>",
            f'<link rel="alternate" href="{site}"/><updated>{items[0].date.isoformat()}</updated>',
            f"<author><name>{handle}</name></author>",
        ]
        for item in items:
            lines += [
                "<entry>",
                f'<title>{esc(item.title)}</title><link rel="alternate" href="{item.link}"/>',
                f"<id>{item.id}</id>",
                f"<published>{item.date.isoformat()}</published>",
                f"<updated>{item.date.isoformat()}</updated>",
                *(f'<category term="{tag}"/>' for tag in item.tags),
                f'<content type="html">{esc(item.html)}</content>',
                "</entry>",
            ]
        lines.append("</feed>")
        kind = "application/atom+xml"
    return ("\n".join(lines) + "\n").encode("utf-8"), kind
