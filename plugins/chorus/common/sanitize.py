"""Allow-list sanitizing of everything a feed sends that reaches a page, a feed or an email."""

from __future__ import annotations

import html
import re
from functools import lru_cache
from urllib.parse import parse_qs, urlsplit

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
        # Controls and forms: once stripped, their labels ("Log in", "Subscribe") are debris.
        "form",
        "button",
        "textarea",
        "select",
        "datalist",
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
    """Clean an HTML fragment; relative URLs are made absolute against ``base_url`` if given.

    Embedded players (frames, objects) cannot be kept; each leaves a link to what it showed."""
    if not fragment:
        return ""
    base = web_url(base_url) if base_url else None
    if "<" in fragment:
        fragment = _EMBED.sub(lambda match: _embed_link(match, base), fragment)
    cleaned = _tidy(_cleaner(base).clean(fragment)).strip()
    # Added here rather than by nh3, whose order of added attributes varies from run to run;
    # the input's own loading/decoding attributes were not allowed through, so none repeat.
    return cleaned.replace("<img ", '<img loading="lazy" decoding="async" ')


# nh3's output is regular: attribute values are always double-quoted with their quotes escaped,
# so a tag is "<name" + ( name="value")* + ">" even when a value holds ">".
_ATTRIBUTES = r'(?:\s+[a-z][a-z0-9-]*="[^"]*")*'
_PRE = re.compile(r"(<pre\b" + _ATTRIBUTES + r">.*?</pre>)", re.DOTALL)
# An image whose src was refused shows nothing, not even its alt text, in most browsers; a link
# whose href was refused is only its text (links never nest in nh3's output). A value cannot
# hold 'src="' or 'href="': its quotes are escaped.
_IMAGE = re.compile(r"<img(" + _ATTRIBUTES + r")\s*/?>")
_LINK = re.compile(r"<a(" + _ATTRIBUTES + r")>(.*?)</a>", re.DOTALL)
# What broken attribute markup leaves after a tag: the quote and ">" that ended it, as text.
_STRAY_TAG_END = re.compile(
    r"(<(?!/?(?:code|kbd|samp|var)\b)/?[a-z][a-z0-9]*" + _ATTRIBUTES + r"\s*/?>)\s*[\"']&gt;"
)
# A block left with nothing in it (whitespace and line breaks only).
_EMPTY_BLOCK = re.compile(
    r"<(p|div|span|li|figure|blockquote)" + _ATTRIBUTES + r">(?:\s|<br>)*</\1>"
)
_BLANK_LINES = re.compile(r"\n\s*\n(?:\s*\n)+")


def _tidy(cleaned: str) -> str:
    """Remove what is meaningless once stripped: images without a source, links without a
    target (their text stays), a stray '">' of broken markup, blocks left empty. Text in
    <pre> is left as it is: code may well say '">'."""
    # Each pass only where what it removes can be: most posts have none of it.
    parts = _PRE.split(cleaned) if "<pre" in cleaned else [cleaned]
    for index in range(0, len(parts), 2):  # odd indexes are the <pre> blocks
        part = parts[index]
        if "<img" in part:
            part = _IMAGE.sub(lambda m: m[0] if ' src="' in m[1] else "", part)
        if "<a" in part:
            part = _LINK.sub(lambda m: m[0] if ' href="' in m[1] else m[2], part)
        if "&gt;" in part:
            part = _STRAY_TAG_END.sub(r"\1", part)
        emptied = 1
        while emptied:  # a block may hold only blocks that were emptied
            part, emptied = _EMPTY_BLOCK.subn("", part)
        parts[index] = _BLANK_LINES.sub("\n\n", part)
    return "".join(parts)


# A frame's or object's text is its fallback, never shown by browsers that show the frame; an
# unclosed frame runs to the end, as browsers read it.
_EMBED = re.compile(
    r"<(?P<tag>iframe|object)\b(?P<attrs>[^>]*)>.*?(?:</(?P=tag)\s*>|\Z)|<embed\b(?P<void>[^>]*)>",
    re.IGNORECASE | re.DOTALL,
)
_EMBED_ATTRIBUTE = re.compile(
    r"""\b(?P<name>src|data|title)\s*=\s*(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|(?P<bare>[^\s>]+))""",
    re.IGNORECASE,
)
_VIDEO_PLAYERS = {
    "youtube.com": "https://www.youtube.com/watch?v={id}",
    "youtube-nocookie.com": "https://www.youtube.com/watch?v={id}",
    "player.vimeo.com": "https://vimeo.com/{id}",
}


def _embed_link(match: re.Match[str], base: str | None) -> str:
    """What an embedded player showed, as a link: "Embedded video: <title> (youtube.com)"."""
    attributes: dict[str, str] = {}
    for found in _EMBED_ATTRIBUTE.finditer(match["attrs"] or match["void"] or ""):
        value = found["dq"] if found["dq"] is not None else found["sq"] or found["bare"] or ""
        attributes.setdefault(found["name"].lower(), html.unescape(value))
    url = web_url(attributes.get("src") or attributes.get("data") or "", base)
    if url is None:
        return ""
    url, video = _player_page(url)
    host = (urlsplit(url).hostname or "").removeprefix("www.")
    title = " ".join(attributes.get("title", "").split())[:200]
    what = "Embedded video" if video else "Embedded content"
    label = f"{what}: {title} ({host})" if title else f"{what} from {host}"
    return f'<p><a href="{html.escape(url)}">{html.escape(label)}</a></p>'


def _player_page(url: str) -> tuple[str, bool]:
    """The page of a known video player's embed URL (YouTube, Vimeo), and whether it is one."""
    parts = urlsplit(url)
    host = (parts.hostname or "").removeprefix("www.")
    segments = [segment for segment in parts.path.split("/") if segment]
    pattern = _VIDEO_PLAYERS.get(host)
    if pattern and len(segments) == 2 and segments[0] in ("embed", "video"):
        return pattern.format(id=segments[1]), True
    if host in _VIDEO_PLAYERS and segments == ["watch"] and parse_qs(parts.query).get("v"):
        return url, True
    return url, False


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


_IMG_OR_LINK = re.compile(r"<img\b[^>]*>|<a\b[^>]*>|</a>")
_ATTRIBUTE = re.compile(r'([a-z-]+)="([^"]*)"')


def link_remote_images(fragment: str) -> str:
    """Replace images on other sites with links to them, so a page makes no third-party request.

    An image that is itself inside a link becomes its text only: a link never holds a link.
    Works on sanitize_html's output, whose attributes are always double-quoted and escaped.
    """
    in_link = False

    def to_link(match: re.Match[str]) -> str:
        nonlocal in_link
        tag = match.group()
        if not tag.startswith("<img"):
            in_link = tag.startswith("<a")
            return tag
        attributes = dict(_ATTRIBUTE.findall(tag))
        src = attributes.get("src", "")
        if "://" not in src:
            return tag  # an image of our own site
        label = attributes.get("alt") or "an image"
        if in_link:
            return f'<span class="remote-image">Image: {label}</span>'
        return f'<a class="remote-image" href="{src}">Image: {label}</a>'

    return _IMG_OR_LINK.sub(to_link, fragment)


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
