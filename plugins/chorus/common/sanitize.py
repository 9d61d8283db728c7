"""Allow-list sanitizing of everything a feed sends that reaches a page, a feed or an email."""

from __future__ import annotations

import html
import re
from functools import lru_cache
from itertools import islice
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
    cleaned = _tidy(_cleaner(base).clean(_bound_depth(_plain_formatting(fragment)))).strip()
    # Added here rather than by nh3, whose order of added attributes varies from run to run;
    # the input's own loading/decoding attributes were not allowed through, so none repeat.
    return cleaned.replace("<img ", '<img loading="lazy" decoding="async" ')


# Formatting tags left open are reopened by the HTML parser in every paragraph that follows,
# one copy of each unless three alike are open (the standard's "Noah's Ark" limit): with
# attributes that differ, thousands of them multiply a fragment a hundredfold (190 KB of
# `<p><b lang="...">x</p>` gave 37 MB). Past this many, their attributes go (only lang and
# dir would have been kept: class and style never are), so that the limit holds.
MAX_FORMATTING_WITH_ATTRIBUTES = 50
_FORMATTING_WITH_ATTRIBUTES = re.compile(
    r"<(b|big|code|em|font|i|nobr|s|small|strike|strong|tt|u)(?=[\s/])[^>]*>", re.IGNORECASE
)


def _plain_formatting(fragment: str) -> str:
    found = _FORMATTING_WITH_ATTRIBUTES.finditer(fragment)
    if next(islice(found, MAX_FORMATTING_WITH_ATTRIBUTES, None), None) is None:
        return fragment
    return _FORMATTING_WITH_ATTRIBUTES.sub(r"<\1>", fragment)


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
        if _EMPTY_BLOCK.search(part):
            part = _drop_empty_blocks(part)
        parts[index] = _BLANK_LINES.sub("\n\n", part)
    return "".join(parts)


_EMPTIABLE = frozenset({"p", "div", "span", "li", "figure", "blockquote"})
# A tag of nh3's output; everything between two of them is text ("<" in text is "&lt;").
_OUTPUT_TAG = re.compile(r"<(/?)([a-z][a-z0-9]*)" + _ATTRIBUTES + r"\s*/?>")
_ONLY_SPACE = re.compile(r"\s*")


def _drop_empty_blocks(part: str) -> str:
    """``part`` without the blocks _EMPTY_BLOCK matches, nor those left empty once they go.

    A block may hold only blocks that were emptied: removing one layer per regex pass costs
    one pass over the text per level of nesting, quadratic for hostile input. This reaches
    the same fixed point in one pass, with a stack of the open blocks of _EMPTY_BLOCK's kinds:
    each with where it starts in the output and whether it holds more than whitespace, bare
    <br>s and blocks already dropped."""
    out: list[str] = []
    blocks: list[list] = []  # [name, index of its start tag in out, empty so far]
    at = 0
    for tag in _OUTPUT_TAG.finditer(part):
        if at < tag.start():
            text = part[at : tag.start()]
            out.append(text)
            if blocks and not _ONLY_SPACE.fullmatch(text):
                blocks[-1][2] = False
        at = tag.end()
        whole = tag[0]
        if tag[1] and blocks and blocks[-1][0] == tag[2]:
            _, start, empty = blocks.pop()
            if empty:
                del out[start:]
                continue
        elif not tag[1] and tag[2] in _EMPTIABLE and _EMPTY_START.fullmatch(whole):
            blocks.append([tag[2], len(out), True])
            out.append(whole)
            continue
        # Any other tag is content of the block that holds it but a bare <br>. nh3's output is
        # a serialized tree, so a closing tag that is not the innermost open block's closes an
        # element of another kind, or one opened before this part (a <pre> ended the last).
        out.append(whole)
        if blocks and whole != "<br>":
            blocks[-1][2] = False
    out.append(part[at:])
    return "".join(out)


_EMPTY_START = re.compile(r"<(?:p|div|span|li|figure|blockquote)" + _ATTRIBUTES + r">")


# Nesting deeper than this is no post's: browsers and html5ever accept any depth, but html5ever
# (nh3's parser) checks the open elements up to a scope boundary at most tags, so N nested
# elements cost N^2 (64,000 nested <div>s: 7 s; a 5 MB feed holds ~450,000). Start tags that
# would open an element deeper are dropped, with their end tags; their text stays. Dropping
# markup before nh3 cannot let anything through: nh3 still cleans whatever is left.
MAX_DEPTH = 256
# A comment (html5ever's ends: "-->", "--!>", the abrupt "<!-->" and "<!--->", or the end of
# the input), else a tag. A tag is cut at its first ">", even one inside a quoted value: that
# can only end it too early, making text of the rest, never hide a tag html5ever sees.
_RAW_TAG = re.compile(r"<!--(?:-?>|.*?(?:--!?>|\Z))|<(/?)([A-Za-z][^\s/>]*)([^>]*)>", re.DOTALL)


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Enough of html5ever's tree building (the HTML standard's "in body" rules) to know how deep
# an element would open. Where it is not exact it errs deep: it may keep open what html5ever
# closes, never close what html5ever keeps open, so hostile markup cannot hide its depth.
_VOID = _names(
    "area base basefont bgsound br col embed frame hr image img input keygen link meta param "
    "source track wbr"
)
_FORMATTING = _names("a b big code em font i nobr s small strike strong tt u")
_HEADINGS = _names("h1 h2 h3 h4 h5 h6")
_CLOSES_P = _HEADINGS | _names(
    "address article aside blockquote center details dialog dir div dl fieldset figcaption "
    "figure footer header hgroup main menu nav ol p search section summary ul pre listing form "
    "plaintext xmp table li dd dt"
)
_SPECIAL = _CLOSES_P | _names(
    "applet area base basefont bgsound body br button caption col colgroup embed frame "
    "frameset head hr html iframe img input keygen link marquee meta noembed noframes noscript "
    "object param script select source style tbody td template textarea tfoot th thead title "
    "tr track wbr"
)
_MARKERS = _names("applet caption marquee object td template th")
_SCOPE = _names("applet caption html marquee object table td template th")
# The sets whose innermost open element the rules ask for, by name.
_KINDS = {
    "scope": _SCOPE,
    "button": _SCOPE | {"button"},
    "list": _SCOPE | {"ol", "ul"},
    "table": frozenset({"html", "table", "template"}),
    "special": _SPECIAL,
    "li-stop": _SPECIAL - {"address", "div", "p", "li"},
    "dd-stop": _SPECIAL - {"address", "div", "p", "dd", "dt"},
    "heading": _HEADINGS,
    "marker": _MARKERS,
    "foreign": frozenset({"svg", "math"}),
    # Where HTML is parsed as HTML again inside <svg> and <math>.
    "html-again": _names("foreignobject desc title mi mo mn ms mtext annotation-xml"),
}
# What ends <svg> or <math> when it opens in it, as browsers do (and <font> with these).
_BREAKS_OUT = _HEADINGS | _names(
    "b big blockquote body br center code dd div dl dt em embed head hr i img li listing menu "
    "meta nobr ol p pre ruby s small span strong strike sub sup table tt u ul var"
)
_FONT_BREAKS_OUT = re.compile(r"\b(?:color|face|size)\s*=", re.IGNORECASE)
_KINDS_OF = {
    name: tuple(kind for kind, names in _KINDS.items() if name in names)
    for names in _KINDS.values()
    for name in names
}
_TABLE_PARTS = _names("caption colgroup select table tbody td template tfoot th thead tr")


class _Depth:
    """The open elements html5ever would have, as far as their depth goes (see _bound_depth).

    Every lookup is O(1): for each tag name and each kind of _KINDS, the positions in the
    stack of the open elements of it, innermost last. Formatting elements closed by another
    element's end stay in html5ever's list of active formatting elements, which reopens them
    at the next text: they count as open ("pending") until their own end tag."""

    def __init__(self) -> None:
        self.stack: list[str | None] = []  # None: a formatting element moved out of it
        self.live = 0
        self.at: dict[str, list[int]] = {}
        self.pending: list[dict[str, int]] = [{}]  # one level per marker open
        self.pending_count = 0

    @property
    def depth(self) -> int:
        return self.live + self.pending_count

    def innermost(self, name: str) -> int:
        at = self.at.get(name)
        return at[-1] if at else -1

    def in_scope(self, name: str, kind: str, barrier: str | None = None) -> int:
        """Where the innermost ``name`` is if no element of ``kind`` is inside it, else -1."""
        index = self.innermost(name)
        stop = self.at.get(kind)
        inner = stop[-1] if stop else -1
        if barrier and stop and inner == index:  # the element itself is no barrier to itself
            inner = stop[-2] if len(stop) > 1 else -1
        return index if index >= 0 and inner < index else -1

    def push(self, name: str) -> None:
        index = len(self.stack)
        self.stack.append(name)
        self.live += 1
        self.at.setdefault(name, []).append(index)
        for kind in _KINDS_OF.get(name, ()):
            self.at.setdefault(kind, []).append(index)
        if name in _MARKERS:
            self.pending.append({})

    def pop_to(self, index: int, keep_last: bool = False) -> None:
        """Close the elements from ``index`` in; formatting ones stay pending, but the one at
        ``index`` if ``keep_last`` (closed by its own end tag)."""
        while len(self.stack) > index:
            name = self.stack.pop()
            if name is None:
                continue
            self.live -= 1
            self.at[name].pop()
            for kind in _KINDS_OF.get(name, ()):
                self.at[kind].pop()
            if name in _MARKERS:
                self.pending_count -= sum(self.pending.pop().values())
            elif name in _FORMATTING and not (keep_last and len(self.stack) == index):
                self.add_pending(name)

    def add_pending(self, name: str) -> None:
        level = self.pending[-1]
        level[name] = level.get(name, 0) + 1
        self.pending_count += 1

    def foreign(self) -> int:
        """Where the <svg> or <math> whose content the next tag is in begins, or -1."""
        index = self.innermost("foreign")
        return index if index > self.innermost("html-again") else -1

    def start(self, name: str, attributes: str) -> bool:
        """Open ``name``; whether it closes itself (an "<x/>" in <svg> or <math>)."""
        root = self.foreign()
        if root >= 0:
            if name in _BREAKS_OUT or (name == "font" and _FONT_BREAKS_OUT.search(attributes)):
                self.pop_to(root)
            elif attributes.endswith("/"):
                return True
            else:  # no rule of HTML's applies inside: it nests
                self.push(name)
                return False
        if name in _VOID:
            return True
        if name in _CLOSES_P:
            if name == "li" or name == "dd" or name == "dt":
                kind = "li-stop" if name == "li" else "dd-stop"
                same = ("li",) if name == "li" else ("dd", "dt")
                index = max(self.innermost(other) for other in same)
                stop = self.at.get(kind)
                if index >= 0 and not (stop and stop[-1] > index):
                    self.pop_to(index)
            index = self.in_scope("p", "button")
            if index >= 0:
                self.pop_to(index)
            if name in _HEADINGS and self.stack and self.stack[-1] in _HEADINGS:
                self.pop_to(len(self.stack) - 1)
        elif name == "a" and (self.innermost("a") >= 0 or self.pending[-1].get("a")):
            self.end("a")
        elif name == "button":
            index = self.in_scope("button", "scope", "self")
            if index >= 0:
                self.pop_to(index)
        elif name in _TABLE_PARTS and name != "table" and name != "template":
            same = ("td", "th") if name in ("td", "th") else (name,)
            if name == "tr":
                same = ("tr",)
            elif name in ("tbody", "thead", "tfoot"):
                same = ("tbody", "thead", "tfoot")
            index = max(self.in_scope(other, "table", "self") for other in same)
            if index >= 0:
                self.pop_to(index)
        elif name in ("option", "optgroup") and self.stack and self.stack[-1] == "option":
            self.pop_to(len(self.stack) - 1)
        self.push(name)
        return False

    def end(self, name: str) -> None:
        root = self.foreign()
        if root >= 0:
            index = self.innermost(name)
            if index >= root:
                self.pop_to(index)
            return  # one closing what is outside is left open: deeper, never shallower
        if name in _FORMATTING:
            index = self.innermost(name)
            if index < 0:
                level = self.pending[-1]
                if level.get(name):
                    level[name] -= 1
                    self.pending_count -= 1
            elif self.in_scope(name, "scope") >= 0:
                if self.innermost("special") > index:
                    # The adoption agency: the element leaves the stack, what it held stays
                    # open with a copy of it inside, which stays listed when that closes.
                    self.stack[index] = None
                    self.live -= 1
                    self.at[name].pop()
                    self.add_pending(name)
                else:
                    self.pop_to(index, keep_last=True)
            return
        if name == "p":
            index = self.in_scope("p", "button")
        elif name == "li":
            index = self.in_scope("li", "list", "self")
        elif name in _HEADINGS:
            index = self.in_scope("heading", "scope")
            index = self.innermost("heading") if index >= 0 else -1
        elif name in _TABLE_PARTS:
            index = self.in_scope(name, "table", "self")
        elif name in _SPECIAL:
            index = self.in_scope(name, "scope", "self")
        else:  # any other end tag: the innermost such element, unless a special one is inside
            index = self.innermost(name)
            if index >= 0 and self.innermost("special") > index:
                index = -1
        if index >= 0:
            self.pop_to(index)


def _bound_depth(fragment: str) -> str:
    """``fragment`` without the start tags that would open an element deeper than MAX_DEPTH,
    nor their end tags; unchanged, the same object, when it has none."""
    if fragment.count("<") <= MAX_DEPTH // 4:
        return fragment  # too few tags: html5ever adds at most 3 elements per tag
    model = _Depth()
    dropped: dict[str, int] = {}
    cuts: list[tuple[int, int]] = []
    for tag in _RAW_TAG.finditer(fragment):
        if tag[2] is None:
            continue  # a comment
        name = tag[2].lower()
        if tag[1]:
            if dropped.get(name):
                dropped[name] -= 1
                cuts.append(tag.span())
            else:
                model.end(name)
        elif model.depth < MAX_DEPTH or (name in _VOID and model.foreign() < 0):
            model.start(name, tag[3])  # (in <svg> or <math>, an <img> or <source> can nest)
        elif not (tag[3].endswith("/") and model.foreign() >= 0):
            dropped[name] = dropped.get(name, 0) + 1
            cuts.append(tag.span())
    if not cuts:
        return fragment
    pieces, at = [], 0
    for start, end in cuts:
        pieces.append(fragment[at:start])
        at = end
    pieces.append(fragment[at:])
    return "".join(pieces)


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
        fragment = _TEXT_ONLY.clean(_bound_depth(_BLOCK_END.sub(" ", fragment)))
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
