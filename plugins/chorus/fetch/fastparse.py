"""A fast path for well-formed RSS 2.0, RSS 1.0 and Atom 1.0 feeds: feedparser's answer, sooner.

feedparser walks a feed through Python SAX callbacks, one per element and text run, which costs
about 50 ms of CPU on a 100 KB feed; lxml builds the same tree in C in about 1 ms. ``parse``
reads the tree into the very dictionaries ``feedparser.parse`` returns, for the keys that
``chorus.fetch.parse`` reads (titles and their types, links, ids, authors, tags, enclosures,
content and summaries with their xml:base, dates), so everything after it, sanitizing included,
runs unchanged. The small pieces of feedparser that decide a value (character-encoding
detection, date parsing, URI joining, its cp1252 and double-encoding repairs, its guess whether
an RSS title is HTML) are called, not copied, so both paths agree on them by construction.

It answers ``None``, and the caller falls back to feedparser, whenever it is not sure to give
the same result: a document that is not well-formed XML, that has a DOCTYPE or entity
declarations (never resolved, never fetched), an unknown root or version, an encoding feedparser
would warn about, markup inside a text element, an xhtml, base64 or out-of-line content, an
element feedparser gives a meaning that is not mapped here (iTunes, Media RSS, a <source>...),
or a repeated element whose order would decide the result. ``tests/test_fastparse.py`` checks,
for every feed of the test corpus that this accepts, that both paths give the same posts.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any
from xml.sax.saxutils import escape

from feedparser.api import StrictFeedParser
from feedparser.datetimes import _parse_date
from feedparser.encodings import convert_to_utf8
from feedparser.html import _cp1252
from feedparser.mixin import _FeedParserMixin
from feedparser.urls import _urljoin, make_safe_absolute_uri
from feedparser.util import FeedParserDict
from lxml import etree

ATOM = "http://www.w3.org/2005/Atom"
RSS1 = "http://purl.org/rss/1.0/"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
XML = "http://www.w3.org/XML/1998/namespace"
XHTML = "http://www.w3.org/1999/xhtml"
XHTML_TYPE = "application/xhtml+xml"
XLINK = "http://www.w3.org/1999/xlink"
FOREIGN = "?"  # marks the name of an element in an unknown default namespace
# feedparser's own table: namespace URI (lower case) to the prefix its handlers are named by.
_PREFIXES = {uri.lower(): prefix for uri, prefix in _FeedParserMixin.namespaces.items()}
_RSS_VERSIONS = {"0.91": "rss091u", "0.92": "rss092", "0.93": "rss093", "0.94": "rss094"}
_HTML_TYPES = {"text/html", "application/xhtml+xml"}
_TEXT_TYPES = {"text/plain", "text/html"}
_DECLARATION = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_QUERY_ENTITY = re.compile("&([A-Za-z0-9_]+);")
log = logging.getLogger(__name__)

# Elements this module reads, by feedparser's name for them ("prefix:local", lower case).
_TITLE = {"title", "dc:title"}
_AUTHOR = {"author", "dc:creator", "dc:author", "itunes:author"}
_CATEGORY = {"category", "dc:subject"}
# Summaries and their default types; feedparser files a description of the feed as "subtitle".
_SUMMARY = {
    "description": "text/html",
    "dc:description": "text/html",
    "summary": "text/plain",
    "itunes:summary": "text/plain",
}
_CONTENT = {"content:encoded": "text/html", "content": "text/plain"}
_RIGHTS = {"rights", "copyright", "dc:rights"}
_DATES = {
    "pubdate": "published_parsed",
    "published": "published_parsed",
    "issued": "published_parsed",
    "dcterms:issued": "published_parsed",
    "updated": "updated_parsed",
    "modified": "updated_parsed",
    "lastbuilddate": "updated_parsed",
    "dc:date": "updated_parsed",
    "dcterms:modified": "updated_parsed",
    "created": "created_parsed",
    "dcterms:created": "created_parsed",
}
# Elements feedparser has a handler for whose result chorus.fetch.parse never reads; text-only.
_IGNORED = {
    "language",
    "dc:language",
    "generator",
    "cloud",
    "webmaster",
    "dc:publisher",
    "subtitle",
    "tagline",
    "info",
    "expirationdate",
    "itunes:subtitle",
    "itunes:image",
    "itunes:link",
    "itunes:explicit",
    "itunes:block",
}
# The feed's own tags are not read (nor its publication date).
_IGNORED_IN_FEED = _IGNORED | {"pubdate", "published", "issued", "category", "itunes:keywords"}
_IGNORED_IN_ENTRY = _IGNORED | _RIGHTS
# What each skipped subtree may hold: feedparser files these under the image, the text input
# or the contributor, never under the feed or the entry.
_SKIPPED = {
    "image": {"title", "link", "url", "description", "width", "height"},
    "textinput": {"title", "link", "description", "name"},
    "contributor": {"name", "email", "uri", "url", "homepage"},
    "itunes:category": {"itunes:category"},  # the feed's, with its subcategories
}
_NAME_PARTS = {"name": "name", "email": "email", "itunes:name": "name", "itunes:email": "email"}
_HREF_PARTS = {"uri", "url", "homepage"}
# Keys of feedparser's dictionaries that chorus.fetch.parse reads: an element feedparser has
# no handler for is stored under its own name, and must not land on one of these.
_READ_KEYS = {
    "id",
    "link",
    "links",
    "title",
    "title_detail",
    "summary",
    "summary_detail",
    "content",
    "author",
    "tags",
    "rights",
    *_DATES.values(),
}


# feedparser's dictionaries, as plain dicts: none of the keys chorus.fetch.parse reads is one
# that FeedParserDict maps to another, so both answer its lookups alike (and dicts sooner).
Record = dict[str, Any]


class _Bookkeeping:
    """feedparser's own author and tag bookkeeping, run on one of our dictionaries: its rules
    (which author's name wins, how an address is split off, which tags are the same) are
    many and subtle, so they are its code, not a copy."""

    _save_author = _FeedParserMixin._save_author
    _sync_author_detail = _FeedParserMixin._sync_author_detail
    _add_tag = _FeedParserMixin._add_tag

    def __init__(self, holder: Record) -> None:
        self.holder = holder

    def _get_context(self) -> Record:
        return self.holder


class _Refused(Exception):
    """The document holds something this fast path does not map exactly as feedparser does."""


def parse(body: bytes, headers: Mapping[str, str]) -> FeedParserDict | None:
    """What ``feedparser.parse`` returns for ``body`` (with these lower-case response headers,
    ``content-location`` the feed's URL), for the keys chorus reads; None when not sure."""
    result: dict[str, Any] = {}
    data = convert_to_utf8(dict(headers), body, result)
    if result.get("bozo") or not result.get("encoding"):
        return None  # feedparser would warn (an encoding it overrode) or parse it loosely
    first_element = re.search(rb"<\w", data)
    if first_element is None or _DECLARATION.search(data, 0, first_element.start()):
        return None
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        collect_ids=False,
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError:
        return None
    if root.getroottree().docinfo.internalDTD is not None:
        return None
    url = headers.get("content-location", "")
    try:
        return _Reader(root, url).read()
    except _Refused:
        return None
    except Exception:
        # A bug of this fast path (a value in one entry it mishandles) must cost the speed, not
        # the feed: feedparser reads the document instead. Logged, so that it gets fixed; the
        # corpus test (tests/test_fastparse.py) fails on it for the feeds it knows.
        log.warning("%s: fast path failed, feedparser reads the feed", url, exc_info=True)
        return None


class _Reader:
    """One document's walk, keeping the state feedparser keeps: xml:base and where we are."""

    def __init__(self, root: Any, url: str) -> None:
        self.root = root
        self.base = url  # feedparser's starting base: the Content-Location, as given
        self.bases: list[str] = []
        self.version = ""
        self.feed: Record = {}
        self.entries: list[Record] = []
        self.seen: set[tuple[int, str]] = set()
        self.channel_seen = False
        # feedparser's hasContent: set by a content element, cleared at the end of an entry
        # only, so a feed-level one carries over into the first entry.
        self.has_content = False

    def read(self) -> FeedParserDict:
        root = self.root
        self.version = self._version()
        self._enter(root)
        if root.tag == f"{{{ATOM}}}feed":
            self._walk(root, self._feed_element)
        else:
            children = self._children(root)
            # RSS 2.0: one <channel> holds everything. RSS 1.0: the channel comes first, as its
            # title would otherwise be taken for an item's second one.
            if not children or self._key(children[0]) != "channel":
                raise _Refused
            if root.tag == "rss" and len(children) > 1:
                raise _Refused
            self._walk(root, self._rss_element)
        return FeedParserDict(  # parse.py reads result.bozo and result.entries
            bozo=False, version=self.version, feed=self.feed, entries=self.entries
        )

    def _version(self) -> str:
        """The version feedparser settles on: the first feed namespace the root declares,
        which an <rss> root then overrides by its version attribute."""
        root = self.root
        version = ""
        for prefix, uri in root.nsmap.items():
            lower = uri.lower()
            if (prefix, lower) == (None, "http://my.netscape.com/rdf/simple/0.9/"):
                version = version or "rss090"
            elif lower == RSS1:
                version = version or "rss10"
            elif lower == ATOM.lower():
                version = version or "atom10"
            known = _PREFIXES.get(lower)
            if prefix and known is None and prefix in _PREFIXES.values():
                raise _Refused  # a prefix feedparser would read as another namespace's
        if root.tag == "rss":
            if not version.startswith("rss"):
                given = root.get("version", "")
                version = _RSS_VERSIONS.get(given) or ("rss20" if given.startswith("2.") else "rss")
            return version
        if (root.tag, version) in ((f"{{{ATOM}}}feed", "atom10"), (f"{{{RDF}}}RDF", "rss10")):
            return version
        raise _Refused  # Atom 0.3, RSS 0.90, anything else

    # --- the walk ---------------------------------------------------------------------------

    def _walk(self, parent: Any, visit: Callable[[Any, str], None]) -> None:
        for child in self._children(parent):
            self._enter(child)
            visit(child, self._key(child))
            self._leave()

    @staticmethod
    def _children(parent: Any) -> list[Any]:
        children = list(parent)
        if any(not isinstance(child.tag, str) for child in children):
            raise _Refused  # an entity reference left in the tree
        return children

    def _enter(self, element: Any) -> None:
        """feedparser's xml:base tracking, quirks included (a base of "" is not restored)."""
        given = None
        for name in element.attrib:
            if name.endswith("}base") or name == "base":
                if name not in (f"{{{XML}}}base", "base"):
                    raise _Refused  # feedparser reads any namespace's "base" as xml:base
                given = element.get(f"{{{XML}}}base", element.get("base"))
        self.base = _next_base(self.base, given or self.base)
        self.bases.append(self.base)

    def _leave(self) -> None:
        self.bases.pop()
        if self.bases and self.bases[-1]:
            self.base = self.bases[-1]

    @staticmethod
    def _key(element: Any) -> str:
        return _key_of(element.tag, element.prefix)

    def _rss_element(self, element: Any, key: str) -> None:
        """A child of <rss> (the channel) or of RSS 1.0's <rdf:RDF> (the channel, the items,
        an image, a text input)."""
        if key == "channel":
            if self.channel_seen or any(
                not (name.startswith(f"{{{XML}}}") or name == f"{{{RDF}}}about")
                for name in element.attrib
            ):
                raise _Refused  # feedparser reads <channel href> and <channel lastmod>
            self.channel_seen = True
            self._walk(element, self._feed_element)
        elif key == "item":
            self._entry(element)
        elif key in ("image", "textinput"):
            self._skip(element, key)
        else:
            self._unread(element, key)  # outside the channel feedparser files nothing

    def _feed_element(self, element: Any, key: str) -> None:
        feed = self.feed
        if key in ("item", "entry"):
            self._entry(element)
        elif key in _TITLE:
            self._once(feed, "title")
            self._content(element, feed, "title", "text/plain")
        elif key == "link":
            self._link(element, feed, entry=False)
        elif key == "id":
            self._id(element, feed)
        elif key in _AUTHOR or key == "managingeditor":
            self._author(element, feed)
        elif key == "itunes:owner":
            self._owner(element, feed)
        elif key in _SUMMARY:
            self._summary(element, feed, key)
        elif key in _RIGHTS:
            self._once(feed, "rights")
            self._content(element, feed, "rights", "text/plain")
        elif key in _DATES and _DATES[key] == "updated_parsed":
            feed["updated_parsed"] = _parse_date(self._text(element))
        elif key in _SKIPPED:
            self._skip(element, key)
        elif key in _IGNORED_IN_FEED:
            self._text(element)
        else:
            self._unread(element, key)

    def _entry(self, element: Any) -> None:
        entry: Record = {}
        self.entries.append(entry)
        for name in element.attrib:
            if name != f"{{{RDF}}}about" and not name.startswith(f"{{{XML}}}"):
                raise _Refused  # feedparser reads <item href> and <item lastmod>
        about = element.get(f"{{{RDF}}}about")
        if about:
            entry["id"] = about
        self._walk(element, lambda child, key: self._entry_element(child, key, entry))
        self.has_content = False

    def _entry_element(self, element: Any, key: str, entry: Record) -> None:
        if key in _TITLE:
            self._once(entry, "title")
            self._content(element, entry, "title", "text/plain")
        elif key == "link":
            self._link(element, entry, entry=True)
        elif key in ("id", "guid"):
            self._once(entry, "guid")
            self._id(element, entry)
        elif key in _AUTHOR:
            self._author(element, entry)
        elif key in _CATEGORY:
            self._category(element, entry)
        elif key in _SUMMARY:
            self._summary(element, entry, key)
        elif key in _CONTENT:
            self.has_content = True
            self._content(element, entry, "content", _CONTENT[key])
            entry.setdefault("summary", entry["content"][-1]["value"])
        elif key == "itunes:keywords":
            if element.attrib:
                raise _Refused
            for term in self._text(element).split(","):
                if term.strip():
                    _Bookkeeping(entry)._add_tag(term.strip(), "http://www.itunes.com/", None)
        elif key == "itunes:category":
            attributes = self._attributes(element)
            _Bookkeeping(entry)._add_tag(attributes.get("text"), "http://www.itunes.com/", None)
            self._end_category(element, entry)
        elif key in _DATES:
            entry[_DATES[key]] = _parse_date(self._text(element))
        elif key == "enclosure":
            attributes = self._attributes(element)
            attributes = _with_href(attributes)
            attributes["rel"] = "enclosure"
            entry.setdefault("links", []).append(dict(attributes))
            self._text(element)
        elif key == "contributor":
            self._skip(element, key)
        elif key in _IGNORED_IN_ENTRY:
            self._text(element)
        else:
            self._unread(element, key)

    # --- what each element means, as feedparser's handlers say ---------------------------------

    def _content(self, element: Any, holder: Record, name: str, default_type: str) -> None:
        """A text construct (title, summary, content, rights) and its detail dictionary."""
        attributes = self._attributes(element)
        kind = _content_type(attributes.get("type", default_type))
        if "mode" in attributes or "src" in attributes:
            raise _Refused  # base64 and escaped modes, out-of-line content
        if kind == XHTML_TYPE:
            value = _repaired(self._xhtml(element))
        elif kind in _TEXT_TYPES:
            value = self._text(element)
            # RSS only: feedparser guesses whether a text construct is HTML
            rss = not self.version.startswith("atom")
            if rss and kind == "text/plain" and _FeedParserMixin.looks_like_html(value):
                kind = "text/html"
        else:
            raise _Refused  # other media types, which feedparser may decode as base64
        detail = {"type": kind, "base": self.base, "value": value}
        if name == "content":
            holder.setdefault("content", []).append(detail)
        else:
            holder[name] = value
            holder[f"{name}_detail"] = detail

    def _xhtml(self, element: Any) -> str:
        """Inline XHTML as feedparser writes it out again: tags in lower case without their
        prefix, attributes as normalised, text escaped, and in Atom 1.0 the wrapping <div>
        taken off when everything else is inside it."""
        pieces: list[str] = []
        self._markup_inside(element, pieces)
        if self.version == "atom10":
            pieces = _unwrapped(pieces)
        return "".join(pieces).strip()

    def _markup_inside(self, element: Any, pieces: list[str]) -> None:
        if element.text:
            pieces.append(escape(element.text))
        for child in self._children(element):
            self._enter(child)
            qname = etree.QName(child)
            tag = qname.localname.lower()
            if qname.namespace != XHTML or tag == "body" or XLINK in child.nsmap.values():
                raise _Refused  # SVG, MathML, others; feedparser ends content at </body>
            attributes = _FeedParserMixin.strattrs(list(self._attributes(child).items()))
            pieces.append(f"<{tag}{attributes}>")
            self._markup_inside(child, pieces)
            pieces.append(f"</{tag}>")
            self._leave()
            if child.tail:
                pieces.append(escape(child.tail))

    def _link(self, element: Any, holder: Record, *, entry: bool) -> None:
        attributes = self._attributes(element)
        attributes.setdefault("rel", "alternate")
        self_link = attributes["rel"] == "self"
        attributes.setdefault("type", "application/atom+xml" if self_link else "text/html")
        attributes = _with_href(attributes)
        links = holder.setdefault("links", [])
        if "href" in attributes:
            attributes["href"] = _urljoin(self.base or "", attributes["href"])
            links.append(dict(attributes))
            kind = _content_type(attributes["type"])
            if attributes["rel"] == "alternate" and kind in _HTML_TYPES:
                holder["link"] = attributes["href"]
            self._text(element)
            return
        links.append(dict(attributes))
        value = _repaired(_urljoin(self.base or "", self._raw_text(element).strip()))
        if entry:
            value = _QUERY_ENTITY.sub(r"&\g<1>", value.replace("&amp;", "&"))
            holder["link"] = value
            if value:
                links[-1]["href"] = value
        else:
            value = _QUERY_ENTITY.sub(r"&\g<1>", value)
            holder["link"] = value
            links[-1]["href"] = value

    def _id(self, element: Any, holder: Record) -> None:
        is_link = self._attributes(element).get("ispermalink", "true") == "true"
        value = self._raw_text(element).strip()
        if is_link and value:
            value = _urljoin(self.base or "", value)
        value = _repaired(value)
        holder["id"] = value
        holder.setdefault("guidislink", is_link and "link" not in holder)
        if is_link:
            holder.setdefault("link", value)

    def _summary(self, element: Any, holder: Record, key: str) -> None:
        """A description or summary; a second one, before any content, is taken as content."""
        if "summary" in holder and not self.has_content:
            self.has_content = True
            self._content(element, holder, "content", "text/plain")
        elif key in ("description", "dc:description") and holder is self.feed:
            self._content(element, holder, "subtitle", _SUMMARY[key])
        else:
            self._content(element, holder, "summary", _SUMMARY[key])

    def _author(self, element: Any, holder: Record) -> None:
        """An author, kept by feedparser's own bookkeeping (the last one decides)."""
        self._attributes(element)
        books = _Bookkeeping(holder)
        holder.setdefault("authors", []).append(FeedParserDict())
        for child in self._children(element):
            self._enter(child)
            key = self._key(child)
            if key in _NAME_PARTS:
                books._save_author(_NAME_PARTS[key], self._raw_text(child).strip())
            elif key in _HREF_PARTS:
                books._save_author("href", self._url(child))
            else:
                self._unread(child, key)
            self._leave()
        holder["author"] = _repaired(_direct_text(element).strip())
        books._sync_author_detail()

    def _owner(self, element: Any, holder: Record) -> None:
        """A podcast's <itunes:owner>: feedparser files its name and address as the
        publisher's, by the same bookkeeping as an author's, which can name the feed's author."""
        self._attributes(element)
        books = _Bookkeeping(holder)
        for child in self._children(element):
            self._enter(child)
            key = self._key(child)
            if key not in _NAME_PARTS:
                raise _Refused
            books._save_author(_NAME_PARTS[key], self._raw_text(child).strip(), "publisher")
            self._leave()
        books._sync_author_detail("publisher")

    def _url(self, element: Any) -> str:
        value = self._raw_text(element).strip()
        return _repaired(_urljoin(self.base or "", value) if value else value)

    def _category(self, element: Any, holder: Record) -> None:
        attributes = self._attributes(element)
        _Bookkeeping(holder)._add_tag(
            attributes.get("term"),
            attributes.get("scheme", attributes.get("domain")),
            attributes.get("label"),
        )
        self._end_category(element, holder)

    def _end_category(self, element: Any, holder: Record) -> None:
        """A category's text names the tag just added when that has no term, as in feedparser."""
        value = self._text(element)
        if not value:
            return
        tags = holder["tags"]
        if tags and not tags[-1]["term"]:
            tags[-1]["term"] = value
        else:
            _Bookkeeping(holder)._add_tag(value, None, None)

    def _skip(self, element: Any, key: str) -> None:
        """An image, text input or contributor: text-only children of the kinds it may hold."""
        self._attributes(element)
        for child in self._children(element):
            self._enter(child)
            if self._key(child) not in _SKIPPED[key]:
                raise _Refused
            self._text(child)
            self._leave()

    def _unread(self, element: Any, key: str) -> None:
        """An element chorus does not read: fine if feedparser has no handler that would file
        it, or anything inside it, where chorus reads."""
        method = key.removeprefix(FOREIGN).replace(":", "_")
        if hasattr(StrictFeedParser, f"_start_{method}") or hasattr(
            StrictFeedParser, f"_end_{method}"
        ):
            raise _Refused
        if method in _READ_KEYS:
            raise _Refused
        for child in self._children(element):
            self._enter(child)
            self._unread(child, self._key(child))
            self._leave()

    # --- text and attributes -----------------------------------------------------------------

    def _text(self, element: Any) -> str:
        """A text-only element's text as feedparser hands it on: stripped and repaired."""
        return _repaired(self._raw_text(element).strip())

    def _raw_text(self, element: Any) -> str:
        if len(element):
            raise _Refused  # markup inside a text element: feedparser files it elsewhere
        return element.text or ""

    @staticmethod
    def _attributes(element: Any) -> dict[str, str]:
        """Attributes by feedparser's names (lower case, "xml:" for the XML namespace), the
        values of rel and type in lower case, as feedparser normalises them."""
        attributes: dict[str, str] = {}
        for name, value in element.attrib.items():
            if name.startswith(f"{{{XML}}}"):
                key = "xml:" + name[len(XML) + 2 :].lower()
            elif name.startswith("{"):
                namespace, local = name[1:].split("}", 1)
                prefix = _PREFIXES.get(namespace.lower())
                if not prefix:
                    raise _Refused  # feedparser files it under its bare local name
                key = f"{prefix}:{local}".lower()
            else:
                key = name.lower()
            if key in attributes:
                raise _Refused
            attributes[key] = value.lower() if key in ("rel", "type") else value
        return attributes

    def _once(self, holder: Record, what: str) -> None:
        """Refuse a second element of a kind where feedparser's result would hang on the order."""
        if (id(holder), what) in self.seen:
            raise _Refused
        self.seen.add((id(holder), what))


def _direct_text(element: Any) -> str:
    return (element.text or "") + "".join(child.tail or "" for child in element)


def _repaired(text: str) -> str:
    """feedparser's last touches on every text: text that is UTF-8 read as Latin-1 is read again
    as UTF-8, and C1 controls become the cp1252 characters they stand for."""
    if text.isascii():
        return text
    with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
        text = text.encode("iso-8859-1").decode("utf-8")
    return text.translate(_cp1252)


def _unwrapped(pieces: list[str]) -> list[str]:
    """feedparser's removal of an enclosing <div>, only when all the rest is nested in it."""
    while len(pieces) > 1 and not pieces[-1].strip():
        del pieces[-1]
    while len(pieces) > 1 and not pieces[0].strip():
        del pieces[0]
    if (
        pieces
        and (pieces[0] == "<div>" or pieces[0].startswith("<div "))
        and pieces[-1] == "</div>"
    ):
        depth = 0
        for piece in pieces[:-1]:
            if piece.startswith("</"):
                depth -= 1
                if depth == 0:
                    return pieces
            elif piece.startswith("<") and not piece.endswith("/>"):
                depth += 1
        return pieces[1:-1]
    return pieces


def _content_type(kind: str) -> str:
    return _FeedParserMixin.map_content_type(kind)


def _with_href(attributes: dict[str, str]) -> dict[str, str]:
    href = attributes.get("url", attributes.get("uri", attributes.get("href")))
    if href:
        attributes.pop("url", None)
        attributes.pop("uri", None)
        attributes["href"] = href
    return attributes


@lru_cache(maxsize=1024)
def _key_of(tag: str, given_prefix: str | None) -> str:
    """feedparser's name for an element: its namespace's prefix in feedparser's table (or
    the document's own prefix), a colon, the local name in lower case."""
    qname = etree.QName(tag)
    namespace = (qname.namespace or "").lower()
    if "backend.userland.com/rss" in namespace:
        namespace = "http://backend.userland.com/rss"
    prefix = _PREFIXES.get(namespace)
    local = qname.localname.lower()
    if prefix is None:
        if not given_prefix:
            # An unknown default namespace (WordPress's <post-id xmlns="com-wordpress:...">):
            # feedparser goes by the local name alone, which is read here only as unread.
            return FOREIGN + local
        prefix = given_prefix
    return f"{prefix.lower()}:{local}" if prefix else local


@lru_cache(maxsize=256)
def _next_base(current: str, given: str) -> str:
    """The base of an element, from its parent's and its own xml:base (or the parent's again)."""
    if current:
        return make_safe_absolute_uri(current, given) or current
    return _urljoin(current, given)
