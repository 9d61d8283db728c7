"""Other aggregators' lists of feeds, read into new members (``chorus members import``).

Four sources are understood: a Planet Venus ``config.ini`` (one ``[feed URL]`` section per
feed, with ``name``, ``link`` and ``face``), a rawdog ``config`` (``feed PERIOD URL`` lines,
with ``define_name`` and other arguments after the URL or on indented lines below it), an OPML
subscription list (``<outline xmlUrl=...>``), and a Pelican settings file of a planet plugin
such as pelican-planet (``PLANET_FEEDS = {"Name": "URL"}``). Reading never executes or
fetches anything: Python settings are read with ``ast.literal_eval``.
"""

from __future__ import annotations

import ast
import configparser
import re
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from chorus.common.urls import web_url
from chorus.fetch.entries import ParsedFeed
from chorus.fetch.store import slugify
from chorus.members.registry import HANDLE, Consent
from chorus.onboarding.newcomers import NewMember

FORMATS = ("venus", "rawdog", "opml", "pelican")
MAX_INCLUDES = 10
MAX_HANDLE = 40
_RAWDOG_FEED = re.compile(r"^feed\s+(?P<period>\S+)\s+(?P<url>\S+)(?P<args>.*)$")
# rawdog's per-feed template variables that carry what a member file wants.
_RAWDOG_NAME = ("define_name", "define_author", "name")
_RAWDOG_SITE = ("define_link", "define_url", "define_site", "define_home", "link")
_RAWDOG_FACE = ("define_face", "define_avatar", "face")


class SourceError(Exception):
    """The file cannot be read as the format asked for; the message says why."""


@dataclass(frozen=True)
class Candidate:
    """One feed of another aggregator's list, with what it says about its author."""

    feed: str
    name: str | None = None
    site: str | None = None
    avatar: str | None = None
    where: str = ""  # where in the source, for messages


@dataclass(frozen=True)
class Skipped:
    """An entry of the source that is not imported, and why."""

    what: str
    why: str


def detect_format(path: Path, text: str) -> str:
    """Guess the format from the file's name and content."""
    start = text.lstrip("\ufeff \t\r\n")[:500].casefold()
    if start.startswith("<") and "<opml" in start:
        return "opml"
    if path.suffix == ".py" or re.search(r"^PLANET_FEEDS\s*=", text, re.MULTILINE):
        return "pelican"
    if re.search(r"^\[\s*https?://", text, re.MULTILINE | re.IGNORECASE):
        return "venus"
    if re.search(r"^feed\s+\S+\s+\S+", text, re.MULTILINE):
        return "rawdog"
    raise SourceError(
        f"{path}: cannot tell its format; say it with --format ({', '.join(FORMATS)})"
    )


def read_source(path: Path, kind: str | None = None) -> tuple[str, list[Candidate], list[Skipped]]:
    """Read ``path`` as ``kind`` (guessed when None): the format, the feeds, what was skipped."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise SourceError(f"{path}: cannot read it: {error}") from None
    kind = kind or detect_format(path, text)
    readers = {
        "venus": read_venus,
        "rawdog": lambda text: read_rawdog(text, base=path.parent),
        "opml": read_opml,
        "pelican": read_pelican_planet,
    }
    if kind not in readers:
        raise SourceError(f"unknown format {kind!r}: use one of {', '.join(FORMATS)}")
    candidates, skipped = readers[kind](text)
    if not candidates and not skipped:
        raise SourceError(f"{path}: no feed found in it as a {kind} file")
    return kind, candidates, skipped


def read_venus(text: str) -> tuple[list[Candidate], list[Skipped]]:
    """Planet Venus (and Planet 2.0): every section named by an http(s) URL is a feed."""
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read_string(text)
    except configparser.Error as error:
        raise SourceError(f"not a readable Planet config: {error}") from None
    candidates: list[Candidate] = []
    skipped: list[Skipped] = []
    for section in parser.sections():
        feed = web_url(section.strip())
        if feed is None:
            continue  # [Planet], template sections, filters
        options = parser[section]
        face = options.get("face")
        avatar = _avatar(face)
        if face and not avatar:
            skipped.append(
                Skipped(
                    f"[{section}] face = {face}",
                    "an image of the old planet: copy it under content/images/ and set "
                    "`avatar` in the member file",
                )
            )
        candidates.append(
            Candidate(
                feed,
                name=_text(options.get("name")),
                site=web_url(options.get("link") or ""),
                avatar=avatar,
                where=f"[{section}]",
            )
        )
    return candidates, skipped


def read_rawdog(text: str, *, base: Path | None = None) -> tuple[list[Candidate], list[Skipped]]:
    """rawdog: ``feed PERIOD URL [key=value ...]``, then indented ``key value`` lines."""
    candidates: list[Candidate] = []
    skipped: list[Skipped] = []
    _read_rawdog(text, base, candidates, skipped, depth=0)
    return candidates, skipped


def _read_rawdog(
    text: str,
    base: Path | None,
    candidates: list[Candidate],
    skipped: list[Skipped],
    *,
    depth: int,
) -> None:
    feeds: list[tuple[str, dict[str, str], int]] = []

    def flush() -> None:  # the feeds read so far, in order, before an include's
        for url, arguments, number in feeds:
            feed = web_url(url)
            if feed is None:
                skipped.append(Skipped(f"line {number}: {url}", "not an http(s) feed URL"))
                continue
            candidates.append(
                Candidate(
                    feed,
                    name=_text(_first(arguments, _RAWDOG_NAME)),
                    site=web_url(_first(arguments, _RAWDOG_SITE) or ""),
                    avatar=_avatar(_first(arguments, _RAWDOG_FACE)),
                    where=f"line {number}",
                )
            )
        feeds.clear()

    current: dict[str, str] | None = None  # the arguments of the feed line above, if any
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line[0] in " \t":
            if current is not None:  # an argument of the feed above
                key, _, value = line.strip().partition(" ")
                if "=" in key and not value:
                    key, _, value = key.partition("=")
                current[key.strip()] = value.strip()
            continue
        current = None  # another directive (feeddefaults, maxage...) ends the feed's arguments
        found = _RAWDOG_FEED.match(line.strip())
        if found:
            current = dict(pair.split("=", 1) for pair in found["args"].split() if "=" in pair)
            feeds.append((found["url"], current, number))
        elif line.startswith("include ") and base is not None:
            if depth >= MAX_INCLUDES:
                raise SourceError(f"more than {MAX_INCLUDES} nested includes")
            included = (base / line.split(None, 1)[1].strip()).expanduser()
            try:
                inner = included.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as error:
                raise SourceError(f"line {number}: cannot read {included}: {error}") from None
            flush()
            _read_rawdog(inner, included.parent, candidates, skipped, depth=depth + 1)
    flush()


def read_opml(text: str) -> tuple[list[Candidate], list[Skipped]]:
    """OPML: every ``<outline>`` with an ``xmlUrl``, at any depth."""
    if re.search(r"<!(DOCTYPE|ENTITY)", text, re.IGNORECASE):
        # Entities are how XML bombs work; subscription lists never need them.
        raise SourceError("OPML with a DOCTYPE or ENTITY declaration is not read")
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError as error:
        raise SourceError(f"not readable OPML: {error}") from None
    candidates: list[Candidate] = []
    skipped: list[Skipped] = []
    for number, outline in enumerate(root.iter("outline"), start=1):
        attributes = {key.casefold(): value for key, value in outline.attrib.items()}
        url = attributes.get("xmlurl")
        if not url:
            continue  # a folder
        feed = web_url(url)
        if feed is None:
            skipped.append(Skipped(f"outline {number}: {url}", "not an http(s) feed URL"))
            continue
        candidates.append(
            Candidate(
                feed,
                name=_text(attributes.get("title") or attributes.get("text")),
                site=web_url(attributes.get("htmlurl") or ""),
                where=f"outline {number}",
            )
        )
    return candidates, skipped


def read_pelican_planet(text: str) -> tuple[list[Candidate], list[Skipped]]:
    """A Pelican settings file's ``PLANET_FEEDS``: a literal dict of name to feed URL."""
    try:
        tree = ast.parse(text)
    except SyntaxError as error:
        raise SourceError(f"not readable Python: {error}") from None
    value = None
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else []
        if isinstance(node, ast.AnnAssign):
            targets = [node.target]
        if any(isinstance(t, ast.Name) and t.id == "PLANET_FEEDS" for t in targets):
            value = node.value
    if value is None:
        raise SourceError("no PLANET_FEEDS = {...} in this settings file")
    try:
        feeds = ast.literal_eval(value)
    except ValueError:
        raise SourceError(
            "PLANET_FEEDS is computed, not written out: only a literal dict (or list of "
            "(name, url) pairs) can be read"
        ) from None
    pairs = feeds.items() if isinstance(feeds, dict) else feeds
    candidates: list[Candidate] = []
    skipped: list[Skipped] = []
    for pair in pairs:
        if not (isinstance(pair, tuple | list) and len(pair) == 2):
            raise SourceError("PLANET_FEEDS must map names to feed URLs")
        name, url = pair
        feed = web_url(url) if isinstance(url, str) else None
        if feed is None:
            skipped.append(Skipped(f"{name!r}: {url!r}", "not an http(s) feed URL"))
            continue
        candidates.append(Candidate(feed, name=_text(name), where=f"PLANET_FEEDS[{name!r}]"))
    return candidates, skipped


def to_new_members(
    candidates: Iterable[Candidate],
    *,
    taken_handles: Iterable[str] = (),
    taken_feeds: Iterable[str] = (),
    feeds: dict[str, ParsedFeed] | None = None,
    consent: Consent = "excerpt",
    trusted: bool = False,
) -> tuple[list[NewMember], list[Skipped]]:
    """Group candidates into members (feeds with the same name are one person's) and fill
    what the list does not say (name, site) from the parsed ``feeds`` when given, else from
    the feed URL. Feeds already on the site are skipped, and so are people whose home page
    neither the list nor their feed says when their feed is on a feed service's host
    (http://feeds.feedburner.com/ is nobody's site): the editor adds them by hand."""
    feeds = feeds or {}
    taken = {handle.casefold() for handle in taken_handles}
    known = set(taken_feeds)
    skipped: list[Skipped] = []
    groups: dict[str, list[Candidate]] = {}
    for candidate in candidates:
        if candidate.feed in known:
            skipped.append(Skipped(candidate.feed, "already a member's feed"))
            continue
        known.add(candidate.feed)
        parsed = feeds.get(candidate.feed)
        # One person's feeds share a name; a feed that names nobody is a member of its own.
        name = candidate.name or (parsed.author if parsed else None)
        groups.setdefault(name.casefold() if name else candidate.feed, []).append(candidate)
    members = []
    for group in groups.values():
        first = group[0]
        parsed = feeds.get(first.feed)
        name = first.name or (parsed.author if parsed else None) or _host(first.feed)
        site = next((c.site for c in group if c.site), None) or (
            parsed.site if parsed and parsed.site else _own_origin(first.feed)
        )
        if site is None:
            how = "its feed names none" if parsed else "run with --check to read it from the feed"
            skipped.append(
                Skipped(
                    f"{first.where}: {first.feed}",
                    f"no home page: the list gives none and {how}; add the member with "
                    f"`chorus members add --site URL --feed {first.feed}`",
                )
            )
            continue
        handle = _unique_handle(name, first.feed, taken)
        taken.add(handle)
        members.append(
            NewMember(
                handle=handle,
                name=name,
                site=site,
                feeds=tuple(c.feed for c in group),
                avatar=next((c.avatar for c in group if c.avatar), None),
                consent=consent,
                trusted=trusted,
            )
        )
    return members, skipped


def _unique_handle(name: str, feed: str, taken: set[str]) -> str:
    stem = slugify(name, MAX_HANDLE)
    if stem == "post" or not HANDLE.match(stem):  # slugify's "nothing usable left"
        stem = slugify(_host(feed), MAX_HANDLE)
    handle, number = stem, 2
    while handle.casefold() in taken:
        handle, number = f"{stem}-{number}", number + 1
    return handle


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "member").removeprefix("www.")


# Hosts that serve other people's feeds: their root is not the member's home page.
FEED_SERVICES = frozenset(
    {
        "feedproxy.google.com",
        "feedpress.me",
        "anchor.fm",
        "rss.art19.com",
        "rss.acast.com",
        "rss.libsyn.com",
        "rss.simplecast.com",
        "rss.app",
        "medium.com",
        "substack.com",
    }
)


def _own_origin(url: str) -> str | None:
    """The root of the feed's host, when that host is likely the member's own site."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if host.startswith(("feeds.", "feed.", "feeds2.")) or host in FEED_SERVICES:
        return None
    return f"{parts.scheme}://{parts.netloc}/"


def _avatar(value: str | None) -> str | None:
    return web_url(value) if value and "://" in value else None


def _text(value: object) -> str | None:
    text = " ".join(str(value).split()) if value is not None else ""
    return text or None


def _first(arguments: dict[str, str], keys: Iterable[str]) -> str | None:
    return next((arguments[key] for key in keys if arguments.get(key)), None)
