"""Every feed the site writes keeps the rules the W3C feed validator enforces: for RSS 2.0 the
required channel elements, RFC 822 dates, a guid that is a link only when it says so; for Atom
(RFC 4287) the required feed and entry elements, RFC 3339 dates, an author for every entry;
and no relative URL anywhere."""

from __future__ import annotations

from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from lxml import etree

SITE = "https://loom.example"
ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def published(community):
    community.write_settings(
        SITEURL=SITE,
        FEED_DOMAIN=SITE,
        RELATIVE_URLS=False,
        CHORUS_MEMBER_FEED_RSS="members/{handle}/feed.rss.xml",
    )
    community.build()
    return community


def absolute(url: str | None) -> bool:
    parts = urlsplit(url or "")
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def rss_problems(root: etree._Element) -> list[str]:
    problems = []
    if root.tag != "rss" or root.get("version") != "2.0":
        problems.append("not RSS 2.0")
    [channel] = root.findall("channel")
    for name in ("title", "link", "description"):
        if channel.find(name) is None:
            problems.append(f"channel without <{name}>")
    for name in ("pubDate", "lastBuildDate"):
        for element in channel.findall(name):
            parsedate_to_datetime(element.text)  # raises on a date that is not RFC 822
    for item in channel.findall("item"):
        if item.find("title") is None and item.find("description") is None:
            problems.append("item without title or description")
        guid = item.find("guid")
        permalink = guid is not None and guid.get("isPermaLink", "true") == "true"
        if permalink and not absolute(guid.text):
            problems.append(f"guid {guid.text!r} is not a permalink but does not say so")
        if len(item.findall("enclosure")) > 1:
            problems.append("more than one enclosure")
        for element in item.findall("pubDate"):
            parsedate_to_datetime(element.text)
        for element in item.findall("link"):
            if not absolute(element.text):
                problems.append(f"relative link {element.text!r}")
        for element in item.findall("source"):
            if not absolute(element.get("url")):
                problems.append(f"relative source url {element.get('url')!r}")
    return problems


def atom_problems(root: etree._Element) -> list[str]:
    problems = []
    if root.tag != f"{ATOM}feed":
        return ["not an Atom feed"]
    for name in ("id", "title", "updated"):
        if len(root.findall(f"{ATOM}{name}")) != 1:
            problems.append(f"feed needs exactly one <{name}>")
    feed_author = root.find(f"{ATOM}author") is not None
    for element in root.iter(f"{ATOM}updated", f"{ATOM}published"):
        datetime.fromisoformat(element.text.replace("Z", "+00:00"))
    for element in root.iter(f"{ATOM}link"):
        if not absolute(element.get("href")):
            problems.append(f"relative link {element.get('href')!r}")
    for entry in root.findall(f"{ATOM}entry"):
        for name in ("id", "title", "updated"):
            if len(entry.findall(f"{ATOM}{name}")) != 1:
                problems.append(f"entry needs exactly one <{name}>")
        if not feed_author and entry.find(f"{ATOM}author") is None:
            problems.append(f"entry {entry.findtext(f'{ATOM}id')} has no author")
        for author in entry.iter(f"{ATOM}author"):
            if not (author.findtext(f"{ATOM}name") or "").strip():
                problems.append("author without a name")
        alternates = [
            link
            for link in entry.findall(f"{ATOM}link")
            if link.get("rel", "alternate") == "alternate"
        ]
        if entry.find(f"{ATOM}content") is None and not alternates:
            problems.append("entry without content or alternate link")
    return problems


def all_feeds(output: Path) -> list[Path]:
    return sorted(
        path for path in output.rglob("*.xml") if path.name.endswith((".atom.xml", ".rss.xml"))
    )


def test_every_feed_keeps_the_validators_rules(published):
    paths = all_feeds(published.output)
    kinds = {path.name.split(".")[-2] for path in paths}
    assert kinds == {"atom", "rss"} and len(paths) >= 8, paths
    for path in paths:
        root = etree.parse(str(path), etree.XMLParser(recover=False)).getroot()
        problems = rss_problems(root) if root.tag == "rss" else atom_problems(root)
        assert problems == [], (path, problems)


def test_rss_guids_that_are_not_links_say_so(published):
    root = etree.parse(str(published.output / "feeds" / "all.rss.xml")).getroot()
    guids = root.findall("channel/item/guid")
    assert guids and all(g.text.startswith("tag:") for g in guids)
    assert {g.get("isPermaLink") for g in guids} == {"false"}


def test_the_feed_of_issues_keeps_the_validators_rules(community, cli):
    from bs4 import BeautifulSoup

    from newsletter_helpers import make_issue, publish

    publish(community)
    make_issue(community, cli)
    community.build()
    path = community.output / "newsletter" / "feed.atom.xml"
    root = etree.parse(str(path), etree.XMLParser(recover=False)).getroot()
    assert atom_problems(root) == []
    [entry] = root.findall(f"{ATOM}entry")
    # Newsletter services send the entry's content as it is: every URL in it absolute.
    content = BeautifulSoup(entry.findtext(f"{ATOM}content"), "html.parser")
    urls = [tag.get("href") or tag.get("src") for tag in content.find_all(["a", "img"])]
    assert urls and all(absolute(url) for url in urls), urls
