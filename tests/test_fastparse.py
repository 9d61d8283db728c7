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


def corpus() -> list[Any]:
    params = [
        pytest.param(path.read_bytes(), "application/xml", id=path.name) for path in XML_CORPUS
    ]
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
        b"<item xmlns:itunes='http://www.itunes.com/DTDs/PodCast-1.0.dtd'><title>T</title>"
        b"<itunes:summary>s</itunes:summary><link>https://example.org/a</link></item>",
        # two titles: which one wins hangs on feedparser's bookkeeping
        b"<item><title>A</title><title>B</title><link>https://example.org/a</link></item>",
        # an unknown default namespace, which feedparser reads as plain RSS
        b"<item><x xmlns='https://example.org/ns'><title>T</title></x></item>",
    ],
)
def test_fast_path_refuses_what_it_does_not_map(item: bytes) -> None:
    assert not accepts(b'<rss version="2.0"><channel>' + item + b"</channel></rss>")
