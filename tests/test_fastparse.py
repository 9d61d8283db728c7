"""The lxml fast path (chorus.fetch.fastparse) gives the same posts as feedparser, or stands aside.

Differential: every feed of the test corpus (tests/feeds/, tests/hostile/, the demo's sample feeds,
the benchmark's synthetic feeds) is parsed by ``parse_feed`` twice, once as it runs (the fast path
where it accepts the feed) and once with the fast path switched off (feedparser alone), and the
two ParsedFeeds, entries and all, must be equal: titles, links, ids, dates, authors, tags,
enclosures and the sanitized HTML.
"""

from __future__ import annotations

import functools
import importlib.util
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from chorus.fetch import fastparse
from chorus.fetch.entries import FeedError, ParsedFeed
from chorus.fetch.parse import parse_feed
from conftest import FEEDS

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = ROOT / "tests" / "hostile"
SAMPLES = ROOT / "content" / "sample-feeds"
NOW = datetime(2030, 1, 1, tzinfo=UTC)
URL = "https://example.org/blog/feed.xml"
XML_CORPUS = sorted(
    path
    for folder in (FEEDS, HOSTILE, SAMPLES)
    for path in folder.iterdir()
    if path.suffix in (".xml", ".rdf", ".atom")
)
# Feeds the fast path must accept: the common shapes. The rest may fall back.
MUST_ACCEPT = {
    "atom10-basic.xml",
    "rss20-basic.xml",
    "rss10-rdf-dublin-core.rdf",
    "atom10-xml-base-relative.xml",
    "mira-rss2.xml",
    "tomas-atom1.xml",
    "priya-rss1-rdf.xml",
}


@functools.cache
def _synthetic() -> Any:
    """bench/synthetic.py, which is not a package: the benchmark's feed generator."""
    spec = importlib.util.spec_from_file_location(
        "bench_synthetic", ROOT / "bench" / "synthetic.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


# Shapes of real feeds the fixtures do not cover: WordPress's RSS (its modules, a channel image,
# a post id in a namespace of its own, CDATA, a double-encoded title) and a Blogger-like Atom
# feed (xml:base, xhtml content, several links, an author with an e-mail address).
WORDPRESS = """<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"
 xmlns:content="http://purl.org/rss/1.0/modules/content/"
 xmlns:wfw="http://wellformedweb.org/CommentAPI/" xmlns:dc="http://purl.org/dc/elements/1.1/"
 xmlns:atom="http://www.w3.org/2005/Atom" xmlns:sy="http://purl.org/rss/1.0/modules/syndication/"
 xmlns:slash="http://purl.org/rss/1.0/modules/slash/">
<channel><title>Loom &#8211; notes</title>
<atom:link href="https://loom.example/feed/" rel="self" type="application/rss+xml" />
<link>https://loom.example</link><description>Weaving</description>
<lastBuildDate>Mon, 23 Nov 2026 09:12:44 +0000</lastBuildDate><language>en-GB</language>
<sy:updatePeriod>hourly</sy:updatePeriod><generator>https://wordpress.org/?v=6.7</generator>
<image><url>https://loom.example/icon.png</url><title>Loom</title>
<link>https://loom.example</link><width>32</width><height>32</height></image>
<item><title>CafÃ© drafts &amp; &lt;b&gt;warps&lt;/b&gt;</title>
<link>https://loom.example/2026/11/cafe/?a=1&amp;b=2</link>
<comments>https://loom.example/2026/11/cafe/#respond</comments>
<dc:creator><![CDATA[Rosa Lindqvist]]></dc:creator><pubDate>Sun, 22 Nov 2026 18:00:00 EST</pubDate>
<category><![CDATA[Weaving]]></category><category><![CDATA[weaving]]></category>
<guid isPermaLink="false">https://loom.example/?p=412</guid>
<description><![CDATA[<p>Short quoted version</p>]]></description>
<content:encoded><![CDATA[<p>The <a href="/draft">draft</a> and <img src="a.png"></p>]]>
</content:encoded>
<wfw:commentRss>https://loom.example/2026/11/cafe/feed/</wfw:commentRss>
<slash:comments>3</slash:comments>
<post-id xmlns="com-wordpress:feed-additions:1">412</post-id></item>
<item><title>Second</title><link>https://loom.example/2026/11/second/</link>
<guid>https://loom.example/2026/11/second/</guid><dc:date>2026-11-20T10:00:00+01:00</dc:date>
<enclosure url="https://loom.example/a.mp3" length="1234" type="Audio/MPEG" /></item>
</channel></rss>"""
BLOGGER = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://weft.example/blog/" xml:lang="en">
<id>tag:weft.example,2026:blog</id><title type="text">Weft &amp; warp</title>
<link rel="alternate" type="text/html" href="./"/><link rel="self" href="feed.atom"/>
<updated>2026-11-23T09:12:44Z</updated>
<author><name>Jun Park</name><email>jun@weft.example</email><uri>https://weft.example/</uri></author>
<entry><id>tag:weft.example,2026:post-7</id><title type="html">A &lt;em&gt;twill&lt;/em&gt;</title>
<link rel="alternate" type="text/html" href="2026/11/twill.html"/>
<link rel="replies" type="application/atom+xml" href="2026/11/twill/comments.atom"/>
<link rel="related" href="https://elsewhere.example/twill"/>
<published>2026-11-22T18:00:00-05:00</published><updated>2026-11-23T01:00:00+09:00</updated>
<category term="twill" scheme="https://weft.example/tags/" label="Twill"/>
<category term="" label="Only a label"/>
<summary type="text">Plain &lt;text&gt; summary</summary>
<content type="xhtml" xml:base="2026/11/"><div xmlns="http://www.w3.org/1999/xhtml">
<p>See <a href="twill.png" title="the &quot;twill&quot;">the picture</a> &amp; more.</p><br/>
</div></content></entry>
<entry><id>https://weft.example/blog/2026/11/plain.html</id><title>Plain</title>
<updated>2026-11-21T08:00:00Z</updated><author><email>jun@weft.example</email></author>
<content type="html">&lt;p&gt;Hello&lt;/p&gt;</content>
<contributor><name>Rosa</name></contributor></entry>
</feed>"""
# A podcast: the owner's name can become the feed's author, a second summary becomes content.
PODCAST = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd">
<channel><title>Shuttle Talk</title><link>https://shuttle.example/</link>
<itunes:summary>About weaving</itunes:summary><description>About weaving, longer</description>
<itunes:owner><itunes:name>Olu Bello</itunes:name><itunes:email>olu@shuttle.example</itunes:email>
</itunes:owner><itunes:author>Olu Bello</itunes:author><itunes:explicit>false</itunes:explicit>
<itunes:category text="Arts"><itunes:category text="Crafts"/></itunes:category>
<itunes:image href="https://shuttle.example/cover.jpg"/>
<item><title>Episode 3</title><link>https://shuttle.example/3</link><guid>ep-3</guid>
<description>&lt;p&gt;Warp &amp; weft&lt;/p&gt;</description>
<itunes:summary>Warp and weft</itunes:summary>
<itunes:author>Guest Host</itunes:author><itunes:keywords>warp, weft,,loom</itunes:keywords>
<itunes:duration>00:31:12</itunes:duration><pubDate>Tue, 03 Nov 2026 10:00:00 GMT</pubDate>
<enclosure url="https://shuttle.example/3.mp3" length="30000000" type="audio/mpeg"/></item>
<item><title>Episode 2</title><link>https://shuttle.example/2</link>
<itunes:summary>Only a summary</itunes:summary><description>then a description</description>
<pubDate>Tue, 27 Oct 2026 10:00:00 GMT</pubDate></item>
</channel></rss>"""
REAL_SHAPES = {"wordpress-rss2": WORDPRESS, "blogger-like-atom": BLOGGER, "podcast": PODCAST}


def corpus() -> list[Any]:
    params = [
        pytest.param(path.read_bytes(), "application/xml", id=path.name) for path in XML_CORPUS
    ]
    for name, text in REAL_SHAPES.items():
        params.append(pytest.param(text.encode(), "application/xml", id=name))
    synthetic = _synthetic()
    for member in (1, 2, 3, 4):
        body, content_type = synthetic.feed_document(member, rich=member > 2)
        params.append(pytest.param(body, content_type, id=f"bench-synthetic-{member}"))
    return params


def both_ways(body: bytes, content_type: str, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any]:
    """parse_feed's result (or FeedError message) with the fast path, then without it."""

    def run() -> ParsedFeed | str:
        try:
            return parse_feed(body, URL, {"Content-Type": content_type}, now=NOW)
        except FeedError as error:
            return f"FeedError: {error}"

    fast = run()
    with monkeypatch.context() as patch:
        patch.setattr(fastparse, "parse", lambda body, headers: None)
        slow = run()
    return fast, slow


@pytest.mark.parametrize(("body", "content_type"), corpus())
def test_fast_path_gives_what_feedparser_gives(
    body: bytes, content_type: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast, slow = both_ways(body, content_type, monkeypatch)
    assert fast == slow


def test_fast_path_accepts_the_common_feeds() -> None:
    accepted = {path.name for path in XML_CORPUS if accepts(path.read_bytes())}
    assert accepted >= MUST_ACCEPT
    for text in REAL_SHAPES.values():
        assert accepts(text.encode())
    synthetic = _synthetic()
    for member in (1, 2, 3, 4):
        body, content_type = synthetic.feed_document(member, rich=True)
        assert accepts(body, content_type)
    print(f"fast path accepts {len(accepted)} of {len(XML_CORPUS)} XML corpus feeds")


def accepts(body: bytes, content_type: str = "application/xml") -> bool:
    headers = {"content-type": content_type, "content-location": URL}
    return fastparse.parse(body, headers) is not None


ITEM = b"<item><title>T</title><link>https://example.org/a</link></item>"


def test_fast_path_refuses_a_dtd_and_entities() -> None:
    plain = b'<?xml version="1.0"?><rss version="2.0"><channel>' + ITEM + b"</channel></rss>"
    assert accepts(plain)
    with_entity = (
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY e "boom">]>'
        b'<rss version="2.0"><channel><item><title>&e;</title>'
        b"<link>https://example.org/a</link></item></channel></rss>"
    )
    assert not accepts(with_entity)
    assert not accepts((HOSTILE / "billion-laughs.xml").read_bytes())
    assert not accepts((HOSTILE / "xxe-file.xml").read_bytes())
    assert not accepts((HOSTILE / "xxe-parameter.xml").read_bytes())


def test_fast_path_refuses_what_is_not_well_formed() -> None:
    broken = b'<?xml version="1.0"?><rss version="2.0"><channel>' + ITEM + b"</channel>"
    assert not accepts(broken)
    assert not accepts(b"<rss version='2.0'><channel><item><title>&nbsp;</title></item>")
    assert not accepts((HOSTILE / "ill-formed.xml").read_bytes())


@pytest.mark.parametrize(
    "item",
    [
        # markup inside a text element: feedparser files it elsewhere
        b"<item><title>a <b>bold</b> move</title><link>https://example.org/a</link></item>",
        # an element feedparser gives a meaning to that the fast path does not map
        b"<item xmlns:media='http://search.yahoo.com/mrss/'><title>T</title>"
        b"<media:title>M</media:title><link>https://example.org/a</link></item>",
        # two titles: which one wins hangs on feedparser's bookkeeping
        b"<item><title>A</title><title>B</title><link>https://example.org/a</link></item>",
        # an unknown default namespace, which feedparser reads as plain RSS
        b"<item><x xmlns='https://example.org/ns'><title>T</title></x></item>",
    ],
)
def test_fast_path_refuses_what_it_does_not_map(item: bytes) -> None:
    assert not accepts(b'<rss version="2.0"><channel>' + item + b"</channel></rss>")
