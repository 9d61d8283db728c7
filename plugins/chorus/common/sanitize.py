"""Allow-list sanitizing of everything a feed sends that reaches a page, a feed or an email."""

from __future__ import annotations

import html
import re
from functools import lru_cache

import nh3

from chorus.common.urls import web_url

# What a blog post needs and nothing that can run, frame, submit or overlay.
TAGS = frozenset(
    {
        "a",
        "abbr",
        "b",
        "blockquote",
        "br",
        "caption",
        "cite",
        "code",
        "col",
        "colgroup",
        "dd",
        "del",
        "details",
        "dfn",
        "div",
        "dl",
        "dt",
        "em",
        "figcaption",
        "figure",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "i",
        "img",
        "ins",
        "kbd",
        "li",
        "mark",
        "ol",
        "p",
        "pre",
        "q",
        "s",
        "samp",
        "small",
        "span",
        "strong",
        "sub",
        "summary",
        "sup",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "time",
        "tr",
        "u",
        "ul",
        "var",
        "wbr",
    }
)
ATTRIBUTES = {
    "a": {"href", "title", "hreflang"},
    "img": {"src", "alt", "title", "width", "height"},
    "abbr": {"title"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "ol": {"start", "reversed"},
    "time": {"datetime"},
    "*": {"lang", "dir"},
}
# Their text is code or markup, never prose: drop it with the tag.
CONTENT_DROPPED = frozenset(
    {
        "script",
        "style",
        "template",
        "iframe",
        "object",
        "embed",
        "svg",
        "math",
        "noscript",
        "textarea",
        "select",
        "frame",
        "frameset",
        "noembed",
        "noframes",
    }
)
URL_SCHEMES = frozenset({"http", "https", "mailto"})
_SPACE = re.compile(r"\s+")
_TEXT_ONLY = nh3.Cleaner(tags=set(), clean_content_tags=set(CONTENT_DROPPED), attributes={})
_BLOCK_END = re.compile(
    r"<(?:br|hr|img|/(?:p|div|li|dt|dd|h[1-6]|tr|td|th|blockquote|pre|figcaption|caption|"
    r"section|article|header|footer|aside|ul|ol|dl|table))\b[^>]*>",
    re.IGNORECASE,
)


@lru_cache(maxsize=64)
def _cleaner(base_url: str | None) -> nh3.Cleaner:
    # A Cleaner is cheap to build (~5 us) but reusing one is ~1.5x faster than nh3.clean()
    # (shared/MEASURED.md); entries of one feed share a base, so a small cache fits.
    return nh3.Cleaner(
        tags=set(TAGS),
        clean_content_tags=set(CONTENT_DROPPED),
        attributes={tag: set(names) for tag, names in ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        url_relative=("rewrite_with_base", base_url) if base_url else "pass_through",
        link_rel="noopener noreferrer",
        strip_comments=True,
    )


def sanitize_html(fragment: str, base_url: str | None = None) -> str:
    """Clean an HTML fragment; relative URLs are made absolute against ``base_url`` if given."""
    if not fragment:
        return ""
    base = web_url(base_url) if base_url else None
    cleaned = _cleaner(base).clean(fragment).strip()
    # Added here rather than by nh3, whose order of added attributes varies from run to run;
    # the input's own loading/decoding attributes were not allowed through, so none repeat.
    return cleaned.replace("<img ", '<img loading="lazy" decoding="async" ')


def plain_text(fragment: str) -> str:
    """The text of an HTML fragment (or of plain text with entities), whitespace collapsed."""
    if not fragment:
        return ""
    if "<" in fragment:
        # Block boundaries and line breaks separate words; without a space they would glue.
        fragment = _TEXT_ONLY.clean(_BLOCK_END.sub(" ", fragment))
    text = html.unescape(fragment)
    return _SPACE.sub(" ", text).strip()


def excerpt_html(fragment: str, limit: int) -> str:
    """A plain-text excerpt of at most ``limit`` characters, cut at a word, as one paragraph."""
    text = plain_text(fragment)
    if len(text) > limit:
        # Cut at the last word that fits, keeping room for the ellipsis within the limit.
        room = text[:limit]
        cut = room.rsplit(" ", 1)[0] if " " in room[: limit - 1] else room[: limit - 1]
        text = cut[: limit - 1].rstrip(" ,.;:-") + "\u2026"
    return f"<p>{html.escape(text, quote=False)}</p>" if text else ""


_IMG = re.compile(r"<img\b[^>]*>")
_ATTRIBUTE = re.compile(r'([a-z-]+)="([^"]*)"')


def link_remote_images(fragment: str) -> str:
    """Replace images on other sites with links to them, so a page makes no third-party request.

    Works on sanitize_html's output, whose attributes are always double-quoted and escaped.
    """

    def to_link(match: re.Match[str]) -> str:
        attributes = dict(_ATTRIBUTE.findall(match.group()))
        src = attributes.get("src", "")
        if "://" not in src:
            return match.group()  # an image of our own site
        label = attributes.get("alt") or "an image"
        return f'<a class="remote-image" href="{src}">Image: {label}</a>'

    return _IMG.sub(to_link, fragment)


# What XML 1.0 forbids (section 2.2): C0 controls but tab and newlines, lone surrogates, and
# U+FFFE/U+FFFF. A feed serializer refuses them, or worse writes them into a broken document.
_XML_FORBIDDEN = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_safe(text: str) -> str:
    """``text`` without the characters XML 1.0 forbids."""
    return _XML_FORBIDDEN.sub("", text)


def xml_forbidden(text: str) -> str | None:
    """The first character of ``text`` that XML 1.0 forbids, or None."""
    found = _XML_FORBIDDEN.search(text)
    return found.group() if found else None
