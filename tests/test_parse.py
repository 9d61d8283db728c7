"""Feed parsing: a corpus of small self-describing feeds, plus direct tests of the edges.

Every file in tests/feeds/ carries its own expectations: an ``<!-- expect: {...} -->`` comment
(XML, HTML) or a top-level ``"_expect"`` object (JSON Feed allows ``_`` extension keys). The keys:

==================  ==============================================================================
url, headers        what to pass to ``parse_feed`` (default: https://example.org/feed and the
                    content type a web server would send for the file's extension)
now, max_entries    keyword arguments (default ``now``: 2030-01-01T00:00:00+00:00)
error               ``parse_feed`` raises FeedError whose message contains this (and
                    nothing else is checked)
xfail               a known bug: the reason; the test must fail (strict) until the bug is fixed
entries, skipped    counts (skipped: the entries that give no post, whatever the reason)
left_out            the notes the reports give about those entries (LeftOut.notes), in order
feed_title, site    ParsedFeed fields
warning             null: no warning; a string: the warning contains it
ids, titles, links, authors, tags, contents, summaries
                    one value per entry, compared exactly (tags as lists)
dates, updated      one ISO 8601 string or null per entry (published, updated)
external_urls       one value per entry: what a linked-list post is about (null: nothing)
enclosures          one list per entry of [url, type, length]
notes               one boolean per entry: untitled in the feed (titled by its opening words)
former_ids          one list per entry: older forms of the id that post files may hold
content_contains    strings that must occur in the entries' HTML (content and summary, joined)
content_excludes    strings that must not occur in the entries' titles and HTML (case-insensitive)
==================  ==============================================================================
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup

from chorus.common import sanitize
from chorus.fetch import fastparse
from chorus.fetch import parse as parse_module
from chorus.fetch.entries import Entry, FeedError, ParsedFeed
from chorus.fetch.parse import parse_feed
from conftest import FEEDS, FeedServer

DEFAULT_URL = "https://example.org/feed"
DEFAULT_NOW = datetime(2030, 1, 1, tzinfo=UTC)
CONTENT_TYPES = {".json": "application/feed+json", ".html": "text/html"}
_EXPECT_COMMENT = re.compile(rb"<!--\s*expect:\s*(\{.*?\})\s*-->", re.DOTALL)
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):")


def load_expectations(path: Path) -> dict[str, Any]:
    """The expectations a fixture file carries about itself."""
    body = path.read_bytes()
    if path.suffix == ".json":
        return json.loads(body.decode("utf-8-sig"))["_expect"]
    match = _EXPECT_COMMENT.search(body)
    assert match, f"{path.name}: no <!-- expect: {{...}} --> comment"
    # The JSON is ASCII (non-ASCII as \\u escapes), so any ASCII-compatible encoding reads it.
    return json.loads(match.group(1).decode("latin-1"))


def corpus() -> list[Any]:
    params = []
    for path in sorted(FEEDS.glob("*.*")):
        expect = load_expectations(path)
        marks = []
        if "xfail" in expect:
            marks.append(pytest.mark.xfail(reason=expect["xfail"], strict=True))
        params.append(pytest.param(path, expect, id=path.name, marks=marks))
    return params


def parse_fixture(path: Path, expect: dict[str, Any]) -> ParsedFeed:
    headers = expect.get(
        "headers", {"Content-Type": CONTENT_TYPES.get(path.suffix, "application/xml")}
    )
    now = datetime.fromisoformat(expect["now"]) if "now" in expect else DEFAULT_NOW
    options: dict[str, Any] = {"now": now}
    if "max_entries" in expect:
        options["max_entries"] = expect["max_entries"]
    return parse_feed(path.read_bytes(), expect.get("url", DEFAULT_URL), headers, **options)


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def assert_inert(fragment: str) -> None:
    """Nothing in ``fragment`` can run, load from a foreign scheme, or restyle the page."""
    soup = BeautifulSoup(fragment, "html.parser")
    for tag in soup.find_all(True):
        assert tag.name in sanitize.TAGS, f"<{tag.name}> in {fragment!r}"
        for name, value in tag.attrs.items():
            assert not name.lower().startswith("on"), f"{name}= in {fragment!r}"
            assert name.lower() not in {"style", "srcset", "formaction", "action"}, fragment
            if name.lower() in {"href", "src"}:
                assert url_scheme(value) in {None, "http", "https", "mailto"}, fragment


def url_scheme(url: str) -> str | None:
    """The scheme a browser would see: tabs and newlines removed, C0 and spaces trimmed."""
    url = re.sub(r"[\t\n\r]", "", url).lstrip("".join(map(chr, range(0x21))))
    match = _SCHEME.match(url)
    return match.group(1).lower() if match else None


def assert_well_formed_entry(entry: Entry) -> None:
    """What every entry promises, whatever the feed said (entries.Entry docstring)."""
    assert url_scheme(entry.link) in {"http", "https"}
    assert entry.id
    assert entry.title == entry.title.strip() and "\n" not in entry.title
    for date in (entry.published, entry.updated):
        assert date is None or date.utcoffset() == timedelta(0)
    assert isinstance(entry.tags, tuple)
    assert entry.author is None or entry.author == entry.author.strip() != ""
    assert_inert(entry.content_html)
    assert_inert(entry.summary_html)


@pytest.mark.parametrize(("path", "expect"), corpus())
def test_feed_corpus(path: Path, expect: dict[str, Any]) -> None:
    if "error" in expect:
        with pytest.raises(FeedError, match=re.escape(expect["error"])):
            parse_fixture(path, expect)
        return
    feed = parse_fixture(path, expect)
    entries = feed.entries
    for entry in entries:
        assert_well_formed_entry(entry)
    actual: dict[str, Any] = {
        "entries": len(entries),
        "skipped": feed.skipped,
        "left_out": list(feed.left_out.notes()),
        "feed_title": feed.title,
        "site": feed.site,
        "ids": [e.id for e in entries],
        "titles": [e.title for e in entries],
        "links": [e.link for e in entries],
        "authors": [e.author for e in entries],
        "tags": [list(e.tags) for e in entries],
        "dates": [iso(e.published) for e in entries],
        "updated": [iso(e.updated) for e in entries],
        "contents": [e.content_html for e in entries],
        "summaries": [e.summary_html for e in entries],
        "external_urls": [e.external_url for e in entries],
        "enclosures": [[[x.url, x.type, x.length] for x in e.enclosures] for e in entries],
        "notes": [e.note for e in entries],
        "former_ids": [list(e.former_ids) for e in entries],
    }
    for key, value in actual.items():
        if key in expect:
            assert value == expect[key], f"{key}: got {value!r}"
    if "warning" in expect:
        if expect["warning"] is None:
            assert feed.warning is None, f"warning: got {feed.warning!r}"
        else:
            assert expect["warning"] in (feed.warning or ""), f"warning: got {feed.warning!r}"
    html = "\n".join(e.content_html + "\n" + e.summary_html for e in entries)
    for needle in expect.get("content_contains", []):
        assert needle in html, f"content_contains: {needle!r} not in {html!r}"
    # Titles are plain text (checked by "titles" above); only the HTML fields can carry markup.
    for needle in expect.get("content_excludes", []):
        assert needle.lower() not in html.lower(), f"content_excludes: {needle!r} in {html!r}"


# The formats DESIGN.md promises to read, as the prefixes of the corpus file names.
FORMATS = ("rss090", "rss091", "rss092", "rss10", "rss20", "atom03", "atom10", "jsonfeed10",
           "jsonfeed11")  # fmt: skip


def test_corpus_covers_every_format() -> None:
    """The corpus keeps at least one fixture per format we promise to read."""
    prefixes = {path.name.split("-")[0] for path in FEEDS.glob("*.*")}
    assert set(FORMATS) <= prefixes


# Direct tests -----------------------------------------------------------------------------


RSS = """<?xml version="1.0"?>
<rss version="2.0"><channel><title>T</title><link>https://example.org/</link>
<item><title>One</title><link>https://example.org/1</link></item>
<item><title>Two</title><link>https://example.org/2</link></item>
</channel></rss>
"""
JSON_FEED = {
    "version": "https://jsonfeed.org/version/1.1",
    "title": "J",
    "items": [{"id": "1", "url": "https://example.org/j1", "title": "Jay"}],
}


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"   \n\t ", id="whitespace"),
        pytest.param(
            b"<!DOCTYPE html><html><head><title>Blog</title></head><body><p>hi</body></html>",
            id="html-page",
        ),
        pytest.param(
            b'<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml">'
            b"<body><p>well-formed XHTML</p></body></html>",
            id="xhtml-page",
        ),
        pytest.param(b"\x00\x01\x02<rss ver", id="truncated-garbage"),
        pytest.param(b'<?xml version="1.0"?><rss version="2.0"><chan', id="truncated-before-items"),
        pytest.param(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", id="png"),
        pytest.param(b"Just some text.", id="plain-text"),
        pytest.param(
            b'{"version": "https://jsonfeed.org/version/1.1", "title": "x"}',
            id="json-without-items",
        ),
        pytest.param(b'{"items": {"id": "1"}}', id="json-items-not-a-list"),
        pytest.param(b'{"items": [', id="truncated-json"),
        pytest.param(b"{\xff\xfe}", id="json-not-utf8"),
        pytest.param(b"\xef\xbb\xbf   {", id="bom-then-brace"),
    ],
)
def test_non_feed_input_raises_feed_error(body: bytes) -> None:
    with pytest.raises(FeedError) as raised:
        parse_feed(body, DEFAULT_URL, {})
    assert str(raised.value)  # the message says why


def test_json_array_at_top_level_is_not_a_feed() -> None:
    with pytest.raises(FeedError, match="items"):
        parse_feed(b'[{"items": []}]', DEFAULT_URL, {"Content-Type": "application/json"})


def test_deeply_nested_json_is_a_feed_error_not_a_crash() -> None:
    with pytest.raises(FeedError):
        parse_feed(b'{"items": ' + b"[" * 100_000, DEFAULT_URL, {})


def test_truncated_feed_keeps_complete_items_and_warns() -> None:
    """feedparser's way: a broken feed still yields what it could read, with the reason."""
    body = RSS.encode()[: RSS.index("<item><title>Two")] + b"<item><title>Tw"
    feed = parse_feed(body, DEFAULT_URL, {"Content-Type": "application/rss+xml"})
    assert [e.title for e in feed.entries][:1] == ["One"]
    assert feed.warning


@pytest.mark.parametrize("path", [b"/etc/passwd", b"file:///etc/passwd", b"/etc/hostname"])
def test_body_that_looks_like_a_file_name_is_not_read(path: bytes) -> None:
    with pytest.raises(FeedError) as raised:
        parse_feed(path, DEFAULT_URL, {})
    message = str(raised.value)
    assert "root:" not in message and "/bin/" not in message
    passwd = Path("/etc/passwd")
    if passwd.exists():
        first_line = passwd.read_text(errors="replace").splitlines()[0]
        assert first_line not in message


def test_local_file_feed_path_is_not_opened(tmp_path: Path) -> None:
    """A body naming a real feed file must not be parsed as that file's contents."""
    feed_file = tmp_path / "feed.xml"
    feed_file.write_text(RSS, encoding="utf-8")
    with pytest.raises(FeedError):
        parse_feed(str(feed_file).encode(), DEFAULT_URL, {})


def test_body_that_is_a_url_is_not_fetched(feed_server: FeedServer) -> None:
    url = feed_server.add("/feed.xml", RSS, headers={"Content-Type": "application/rss+xml"})
    with pytest.raises(FeedError):
        parse_feed(url.encode(), DEFAULT_URL, {})
    assert feed_server.hits("/feed.xml") == []


@pytest.mark.parametrize(
    "content_type",
    ["application/feed+json", "application/json; charset=utf-8", "Application/JSON"],
)
def test_json_branch_chosen_from_content_type(content_type: str) -> None:
    body = b"\n  " + json.dumps(JSON_FEED).encode()
    feed = parse_feed(body, DEFAULT_URL, {"Content-Type": content_type})
    assert [e.title for e in feed.entries] == ["Jay"]


def test_json_content_type_wins_over_xml_body() -> None:
    """A server that says JSON is believed: the XML body is then not a readable JSON Feed."""
    with pytest.raises(FeedError, match="JSON"):
        parse_feed(RSS.encode(), DEFAULT_URL, {"content-type": "application/json"})


@pytest.mark.parametrize("prefix", [b"", b"\xef\xbb\xbf", b"\r\n\t  ", b"\xef\xbb\xbf\n"])
@pytest.mark.parametrize(
    "content_type", [None, "text/plain", "text/xml", "application/octet-stream"]
)
def test_json_branch_chosen_from_leading_brace(prefix: bytes, content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else None
    feed = parse_feed(prefix + json.dumps(JSON_FEED).encode(), DEFAULT_URL, headers)
    assert [e.link for e in feed.entries] == ["https://example.org/j1"]
    assert feed.warning is None


def test_xml_branch_when_neither_content_type_nor_brace_says_json() -> None:
    feed = parse_feed(RSS.encode(), DEFAULT_URL, {"Content-Type": "text/plain"})
    assert [e.title for e in feed.entries] == ["One", "Two"]


def test_header_names_are_case_insensitive() -> None:
    body = b"\n" + json.dumps(JSON_FEED).encode()
    for name in ("CONTENT-TYPE", "content-type", "Content-Type"):
        assert parse_feed(body, DEFAULT_URL, {name: "application/feed+json"}).entries


def test_max_entries_counts_dropped_entries_as_skipped() -> None:
    feed = parse_feed(RSS.encode(), DEFAULT_URL, {}, max_entries=1)
    assert [e.title for e in feed.entries] == ["One"]
    assert feed.skipped == 1


def test_feed_title_falls_back_to_site_then_url() -> None:
    untitled = RSS.replace("<title>T</title>", "")
    assert parse_feed(untitled.encode(), DEFAULT_URL, {}).title == "https://example.org/"
    bare = untitled.replace("<link>https://example.org/</link>", "", 1)
    assert parse_feed(bare.encode(), DEFAULT_URL, {}).title == DEFAULT_URL


def test_entry_title_tags_and_id_are_bounded() -> None:
    item = {
        "id": "x" * 5000,
        "url": "https://example.org/long",
        "title": "word " * 200,
        "tags": ["t" * 500, *(f"tag{n}" for n in range(30))],
    }
    body = json.dumps({**JSON_FEED, "items": [item]}).encode()
    (entry,) = parse_feed(body, DEFAULT_URL, {}).entries
    assert len(entry.title) <= 300
    assert len(entry.id) <= 1000
    assert len(entry.tags) <= 20
    assert all(len(tag) <= 64 for tag in entry.tags)


def test_default_now_is_the_wall_clock() -> None:
    """Without ``now``, a date a week ahead of the real clock is undated, a past one kept."""
    ahead = (datetime.now(UTC) + timedelta(days=7)).isoformat()
    items = [
        {"id": "1", "url": "https://example.org/1", "date_published": ahead},
        {"id": "2", "url": "https://example.org/2", "date_published": "2020-01-01T00:00:00Z"},
    ]
    feed = parse_feed(json.dumps({**JSON_FEED, "items": items}).encode(), DEFAULT_URL, {})
    assert [iso(e.published) for e in feed.entries] == [None, "2020-01-01T00:00:00+00:00"]


def test_entries_are_frozen() -> None:
    (entry, _) = parse_feed(RSS.encode(), DEFAULT_URL, {}).entries
    with pytest.raises(AttributeError):
        entry.title = "changed"  # type: ignore[misc]


def test_entries_without_id_or_link_are_named_by_what_they_say() -> None:
    path = FEEDS / "atom10-sponsors-without-ids-or-links.xml"
    expect = load_expectations(path)
    ids = [entry.id for entry in parse_fixture(path, expect).entries]
    assert len(set(ids)) == 3
    # Bare (no URI scheme): such an id names a post within its own feed, never another's.
    assert all(re.fullmatch(r"chorus-entry-[0-9a-f]{32}", entry_id) for entry_id in ids)
    assert [entry.id for entry in parse_fixture(path, expect).entries] == ids  # stable
    edited = path.read_bytes().replace(b"Sponsor: Globex", b"Sponsor: Globez")
    again = parse_feed(edited, expect["url"], {"Content-Type": "application/atom+xml"})
    assert [entry.id for entry in again.entries][:2] == ids[:2] and again.entries[2].id != ids[2]


# One bad entry costs that entry, never the feed -------------------------------------------


def three_entry_json(middle: dict[str, Any]) -> bytes:
    """A JSON Feed whose first and last entries are fine, with ``middle`` between them."""
    items = [
        {"id": "a", "url": "https://example.org/a", "title": "A", "content_html": "<p>a</p>",
         "date_published": "2020-01-01T00:00:00Z"},
        {"id": "b", "url": "https://example.org/b", "title": "B", "content_html": "<p>b</p>",
         "date_published": "2020-01-02T00:00:00Z", **middle},
        {"id": "c", "url": "https://example.org/c", "title": "C", "content_html": "<p>c</p>",
         "date_published": "2020-01-03T00:00:00Z"},
    ]  # fmt: skip
    # ensure_ascii (the default) writes a lone surrogate as the escape "\ud800", as JSON may.
    return json.dumps({**JSON_FEED, "items": items}).encode()


def html_of(entry: Entry) -> str:
    """An entry's HTML: its content, or (an RSS <description>) its summary."""
    return entry.content_html or entry.summary_html


def assert_first_and_last_intact(feed: ParsedFeed) -> None:
    by_id = {entry.id: entry for entry in feed.entries}
    for name, day in (("a", 1), ("c", 3)):
        entry = by_id[name]
        assert (entry.link, entry.title) == (f"https://example.org/{name}", name.upper())
        assert html_of(entry) == f"<p>{name}</p>"
        assert entry.published == datetime(2020, 1, day, tzinfo=UTC)
    for entry in feed.entries:
        assert_well_formed_entry(entry)
        for text in (entry.id, entry.link, entry.title, entry.content_html, entry.summary_html):
            text.encode("utf-8")  # no lone surrogate: each can be written out


# Each of these once raised out of the parser, and every entry of the feed was lost with it.
POISONS = {
    "date-year-1-ahead-of-utc": {"date_published": "0001-01-01T00:00:00+05:00"},
    "date-year-9999-behind-utc": {"date_published": "9999-12-31T23:59:59-05:00"},
    "modified-year-1-ahead-of-utc": {"date_modified": "0001-01-01T00:00:00+14:00"},
    "surrogate-in-content-html": {"content_html": "<p>x\ud800y</p>"},
    "surrogate-in-content-text": {"content_html": None, "content_text": "x\udfffy"},
    "surrogate-in-url": {"url": "https://example.org/b\ud800"},
    "surrogate-in-title-summary-author-tags": {
        "title": "B\ud800",
        "summary": "s\ud800",
        "authors": [{"name": "Bo\ud800b"}],
        "tags": ["t\ud800"],
    },
    "surrogate-in-id": {"id": "b\udc00"},
    "surrogate-in-attachment": {
        "attachments": [{"url": "https://example.org/\ud800.mp3", "mime_type": "audio/\ud800"}]
    },
}


@pytest.mark.parametrize("middle", list(POISONS.values()), ids=list(POISONS))
def test_json_feed_entry_with_a_poisoned_value_costs_nothing_else(middle: dict[str, Any]) -> None:
    """The poisoned value is read as nothing (an impossible date: undated) or without the lone
    surrogate; the entry gives its post, and the other two are as they were."""
    feed = parse_feed(three_entry_json(middle), DEFAULT_URL, {})
    assert len(feed.entries) == 3 and feed.skipped == 0
    assert_first_and_last_intact(feed)
    middle_entry = feed.entries[1]
    # The id as before (xml_safe always took a surrogate out of an id): the post keeps it.
    assert (middle_entry.id, middle_entry.link, middle_entry.title) == (
        "b",
        "https://example.org/b",
        "B",
    )
    if "authors" in middle:
        assert (middle_entry.author, middle_entry.tags) == ("Bob", ("t",))
        assert middle_entry.summary_html == "<p>s</p>"
    if "content_text" in middle:
        assert middle_entry.content_html == "<p>xy</p>"
    if "attachments" in middle:
        assert [(e.url, e.type) for e in middle_entry.enclosures] == [
            ("https://example.org/.mp3", "")
        ]
    if any(key.startswith("date") for key in middle):
        assert (middle_entry.published, middle_entry.updated) == (
            None if "date_published" in middle else datetime(2020, 1, 2, tzinfo=UTC),
            None,
        )
    if middle.get("content_html"):
        assert middle_entry.content_html == "<p>xy</p>"


def test_json_feed_surrogates_in_the_feeds_own_fields_are_taken_out() -> None:
    document = {**JSON_FEED, "title": "J\ud800", "home_page_url": "https://example.org/\udbff"}
    feed = parse_feed(json.dumps(document).encode(), DEFAULT_URL, {})
    assert feed.title == "J"
    assert feed.site == "https://example.org/"


def test_json_feed_surrogate_pair_escapes_stay_one_character() -> None:
    body = three_entry_json({"title": "smile \ud83d\ude00"})
    assert b"\\ud83d\\ude00" in body
    assert parse_feed(body, DEFAULT_URL, {}).entries[1].title == "smile \U0001f600"


def test_json_feed_integer_too_long_to_convert_is_a_feed_error() -> None:
    body = b'{"items": [{"id": ' + b"9" * 5000 + b', "url": "https://example.org/1"}]}'
    with pytest.raises(FeedError, match="JSON Feed"):
        parse_feed(body, DEFAULT_URL, {})


RSS_ONE_BAD_OF_THREE = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>T</title><link>https://example.org/</link>
<item><title>A</title><link>https://example.org/a</link><guid>a</guid>
<description>&lt;p&gt;a&lt;/p&gt;</description>
<pubDate>Wed, 01 Jan 2020 00:00:00 GMT</pubDate></item>
<item><title>B</title><link>https://example.org/b</link><guid>b</guid>
<description>&lt;p&gt;POISON&lt;/p&gt;</description><pubDate>{date}</pubDate></item>
<item><title>C</title><link>https://example.org/c</link><guid>c</guid>
<description>&lt;p&gt;c&lt;/p&gt;</description>
<pubDate>Fri, 03 Jan 2020 00:00:00 GMT</pubDate></item>
</channel></rss>{tail}
"""
ATOM_ONE_BAD_OF_THREE = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>T</title><id>urn:t</id>
<link href="https://example.org/"/><updated>2020-01-03T00:00:00Z</updated>
<entry><title>A</title><id>a</id><link href="https://example.org/a"/>
<content type="html">&lt;p&gt;a&lt;/p&gt;</content><published>2020-01-01T00:00:00Z</published>
<updated>2020-01-01T00:00:00Z</updated></entry>
<entry><title>B</title><id>b</id><link href="https://example.org/b"/>
<content type="html">&lt;p&gt;POISON&lt;/p&gt;</content><published>{date}</published>
<updated>{date}</updated></entry>
<entry><title>C</title><id>c</id><link href="https://example.org/c"/>
<content type="html">&lt;p&gt;c&lt;/p&gt;</content><published>2020-01-03T00:00:00Z</published>
<updated>2020-01-03T00:00:00Z</updated></entry>
</feed>{tail}
"""
XML_FEEDS = {"rss": RSS_ONE_BAD_OF_THREE, "atom": ATOM_ONE_BAD_OF_THREE}
# Dates at the edges of what a datetime holds, which an offset takes past them.
EDGE_DATES = {
    "rss": ["Fri, 31 Dec 9999 23:59:59 -0500", "Mon, 01 Jan 0001 00:00:00 +0500",
            "9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+05:00"],
    "atom": ["9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+05:00",
             "9999-12-31T23:59:59+14:00", "0001-01-01T00:00:00-12:00"],
}  # fmt: skip


def xml_feed(kind: str, date: str, *, well_formed: bool = True) -> bytes:
    # A stray "<" after the root makes the document one for feedparser's loose parser.
    return XML_FEEDS[kind].format(date=date, tail="" if well_formed else "<").encode()


def parse_xml(body: bytes, *, fast: bool, monkeypatch: pytest.MonkeyPatch) -> ParsedFeed:
    """parse_feed of an XML body, on the fast path or (fast=False) with feedparser."""
    with monkeypatch.context() as patch:
        if not fast:
            patch.setattr(fastparse, "parse", lambda body, headers: None)
        return parse_feed(body, DEFAULT_URL, {"Content-Type": "application/xml"})


@pytest.mark.parametrize("fast", [True, False], ids=["fast-path", "feedparser"])
@pytest.mark.parametrize(
    ("kind", "date"), [(kind, date) for kind, dates in EDGE_DATES.items() for date in dates]
)
def test_xml_entry_dated_at_the_edge_of_time_does_not_fail_the_feed(
    kind: str, date: str, fast: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = xml_feed(kind, date)
    assert (fastparse.parse(body, {"content-type": "application/xml"}) is not None) is True
    feed = parse_xml(body, fast=fast, monkeypatch=monkeypatch)
    assert [e.id for e in feed.entries] == ["a", "b", "c"] and feed.skipped == 0
    assert [e.title for e in feed.entries] == ["A", "B", "C"]
    assert feed.entries[1].published is None or feed.entries[1].published.year < 9999


@pytest.mark.parametrize("reference", ["&#xD800;", "&#xdfff;", "&#55296;", "&#x110000;",
                                       "&#99999999999999999999;"])  # fmt: skip
def test_xml_character_reference_to_a_surrogate_does_not_fail_the_feed(reference: str) -> None:
    """XML forbids such a reference, so the document goes to feedparser's loose parser, whose
    chr() of it once raised out of feedparser and lost the whole feed."""
    template = RSS_ONE_BAD_OF_THREE.replace("<title>B</title>", f"<title>B{reference}</title>")
    template = template.replace("POISON", f"x{reference}y")
    body = template.format(date="Thu, 02 Jan 2020 00:00:00 GMT", tail="").encode()
    feed = parse_feed(body, DEFAULT_URL, {"Content-Type": "application/xml"})
    assert [e.id for e in feed.entries] == ["a", "b", "c"]
    assert feed.entries[1].title == "B\ufffd"
    assert html_of(feed.entries[1]) == "<p>x\ufffdy</p>"
    assert_first_and_last_intact(feed)


def break_on_poison(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make reading an entry whose HTML says POISON raise, as an unforeseen bug would."""
    sanitize_html = parse_module.sanitize_html

    def failing(fragment: str, base: str | None = None) -> str:
        if "POISON" in fragment:
            raise RuntimeError("boom [/x] in the sanitizer")
        return sanitize_html(fragment, base)

    monkeypatch.setattr(parse_module, "sanitize_html", failing)


def assert_middle_left_out(feed: ParsedFeed, label: str = "b") -> None:
    assert [e.id for e in feed.entries] == ["a", "c"]
    assert_first_and_last_intact(feed)
    assert feed.skipped == 1
    assert feed.left_out.unreadable == 1
    # What the fetch report (and chorus members preview) print under "skipped": which entry,
    # and why; its brackets made parentheses, as the report is printed as console markup.
    assert feed.left_out.notes() == (
        "1 entry could not be read, so it was left out "
        f"(entry 2 ({label}): RuntimeError: boom (/x) in the sanitizer)",
    )


def test_json_feed_entry_that_fails_to_read_is_left_out_with_the_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    break_on_poison(monkeypatch)
    body = three_entry_json({"content_html": "<p>POISON</p>"})
    assert_middle_left_out(parse_feed(body, DEFAULT_URL, {}))


@pytest.mark.parametrize("fast", [True, False], ids=["fast-path", "feedparser"])
@pytest.mark.parametrize("kind", ["rss", "atom"])
def test_xml_entry_that_fails_to_read_is_left_out_with_the_reason(
    kind: str, fast: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    break_on_poison(monkeypatch)
    body = xml_feed(kind, "2020-01-02T00:00:00Z" if kind == "atom" else "Thu, 02 Jan 2020")
    assert_middle_left_out(parse_xml(body, fast=fast, monkeypatch=monkeypatch))


def test_xml_entry_fails_to_read_in_a_feed_for_the_loose_parser(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    break_on_poison(monkeypatch)
    body = xml_feed("rss", "Thu, 02 Jan 2020 00:00:00 GMT", well_formed=False)
    assert fastparse.parse(body, {"content-type": "application/xml"}) is None
    feed = parse_feed(body, DEFAULT_URL, {"Content-Type": "application/xml"})
    assert feed.warning  # feedparser's bozo reason, as for any feed it reads loosely
    assert_middle_left_out(feed)


def test_unreadable_entries_are_counted_and_the_first_few_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    break_on_poison(monkeypatch)
    items = [
        {"id": str(n), "url": f"https://example.org/{n}", "content_html": "POISON"}
        for n in range(1, 6)
    ]
    feed = parse_feed(json.dumps({**JSON_FEED, "items": items}).encode(), DEFAULT_URL, {})
    assert feed.entries == () and feed.skipped == 5
    (note,) = feed.left_out.notes()
    assert note.startswith("5 entries could not be read, so they were left out (entry 1 (1): ")
    assert "entry 3 (3)" in note and "entry 4" not in note and note.endswith("; and 2 more)")


def test_entry_whose_date_fails_to_read_under_the_cap_is_left_out_not_the_feed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Ranking entries for the per-feed cap reads their dates first: that cannot fail the
    feed either."""
    iso_date = parse_module._iso_date

    def failing(value: Any, now: datetime) -> datetime | None:
        if value == "2020-01-02T00:00:00Z":
            raise RuntimeError("bad date")
        return iso_date(value, now)

    monkeypatch.setattr(parse_module, "_iso_date", failing)
    feed = parse_feed(three_entry_json({}), DEFAULT_URL, {}, max_entries=2)
    assert [e.id for e in feed.entries] == ["a", "c"]
    assert (feed.left_out.unreadable, feed.left_out.over_cap) == (0, 1)  # b ranked undated


def test_fast_path_bug_falls_back_to_feedparser(monkeypatch: pytest.MonkeyPatch) -> None:
    """An exception inside the fast path costs its speed only: feedparser reads the feed."""

    def failing(text: str) -> Any:
        raise RuntimeError("fast path bug")

    monkeypatch.setattr(fastparse, "_parse_date", failing)
    body = xml_feed("atom", "2020-01-02T00:00:00Z")
    assert fastparse.parse(body, {"content-type": "application/xml"}) is None
    feed = parse_feed(body, DEFAULT_URL, {"Content-Type": "application/xml"})
    assert [e.id for e in feed.entries] == ["a", "b", "c"]
