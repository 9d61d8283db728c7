"""Credit as consumers read it: microformats, JSON-LD, Open Graph, feeds, OPML, JSON Feed."""

from __future__ import annotations

import json
import re
from pathlib import Path
from xml.etree import ElementTree

import feedparser
import jsonschema
import mf2py
import pytest

from conftest import LOCAL_AVATAR

SITE = "https://loom.example"
SCHEMA = json.loads((Path(__file__).parent / "schemas" / "jsonfeed-1.1.json").read_text())


@pytest.fixture
def published(community):
    """The community site built as for deployment: absolute URLs."""
    community.write_settings(SITEURL=SITE, FEED_DOMAIN=SITE, RELATIVE_URLS=False)
    community.build()
    return community


def page_of(site, handle: str):
    [path] = site.posts(handle)
    return site.output / "posts" / "2026" / path.stem / "index.html"


def entry_of(site, handle: str) -> dict:
    path = page_of(site, handle)
    parsed = mf2py.parse(doc=path.read_text(), url=f"{SITE}/posts/2026/{path.parent.name}/")
    [entry] = [item for item in parsed["items"] if "h-entry" in item["type"]]
    return entry


def test_post_is_an_h_entry_by_the_member(published):
    entry = entry_of(published, "ada")
    [author] = entry["properties"]["author"]
    assert author["type"] == ["h-card"]
    assert author["properties"]["name"] == ["Ada Lovelace"]
    assert author["properties"]["url"] == ["https://ada.example/"]
    photo = author["properties"]["photo"][0]["value"]
    assert photo.startswith(f"{SITE}/") and LOCAL_AVATAR.fullmatch(photo.removeprefix(f"{SITE}/"))
    assert (published.output / photo.removeprefix(f"{SITE}/")).is_file()
    assert entry["properties"]["published"][0].startswith("2026-11-02")


@pytest.mark.parametrize(
    ("handle", "kind"),
    [("ada", "repost-of"), ("bob", "bookmark-of")],
    ids=["full-copy-reposts", "excerpt-bookmarks"],
)
def test_curated_copy_says_what_it_is(published, handle, kind):
    entry = entry_of(published, handle)
    other = {"repost-of", "bookmark-of"} - {kind}
    assert not other & set(entry["properties"])
    [cite] = entry["properties"][kind]
    assert cite["type"] == ["h-cite"]
    assert cite["properties"]["url"] == [f"https://{handle}.example/posts/looms/"]
    [author] = cite["properties"]["author"]
    assert author["properties"]["url"] == [f"https://{handle}.example/"]


def test_link_consent_bookmarks_too(published, cli):
    cli("approve", "cy")
    published.build()
    assert "bookmark-of" in entry_of(published, "cy")["properties"]


def head(site, handle: str):
    return published_page(site, handle).head


def published_page(site, handle: str):
    from bs4 import BeautifulSoup

    return BeautifulSoup(page_of(site, handle).read_text(), "html.parser")


def meta(soup, **attrs: str) -> str | None:
    tag = soup.find("meta", attrs=attrs)
    return tag["content"] if tag else None


def test_json_ld_names_the_author_and_the_original(published):
    page = published_page(published, "ada")
    [script] = page.find_all("script", type="application/ld+json")
    data = json.loads(script.string)
    assert data["@type"] == "BlogPosting"
    assert data["author"] == {
        "@type": "Person",
        "name": "Ada Lovelace",
        "url": "https://ada.example/",
        "sameAs": ["https://github.com/ada", "https://social.example/@ada"],
        "image": data["author"]["image"],
    }
    assert LOCAL_AVATAR.fullmatch(data["author"]["image"].removeprefix(f"{SITE}/"))
    assert data["isBasedOn"] == "https://ada.example/posts/looms/"
    assert data["url"].startswith(f"{SITE}/posts/2026/")


def test_open_graph_and_fediverse_creator(published):
    page = published_page(published, "bob")
    assert meta(page, property="og:type") == "article"
    assert meta(page, property="og:url") == page.find("link", rel="canonical")["href"]
    assert meta(page, property="article:author") == "https://bob.example/"
    assert meta(page, property="article:published_time").startswith("2026-11-02T10:00:00")
    assert meta(page, name="fediverse:creator") == "@bob@social.example"


def test_canonical_and_robots_follow_consent(published):
    full, excerpt = published_page(published, "ada"), published_page(published, "bob")
    assert full.find("link", rel="canonical")["href"] == "https://ada.example/posts/looms/"
    assert excerpt.find("link", rel="canonical")["href"].startswith(f"{SITE}/posts/2026/")
    assert meta(full, name="robots") is None  # noindex only when the site asks for it

    published.write_settings(CHORUS_NOINDEX_FULL_COPIES=True)
    published.build()
    assert "noindex" in meta(published_page(published, "ada"), name="robots")
    assert meta(published_page(published, "bob"), name="robots") is None


def test_member_page_is_an_h_card_with_rel_me(published):
    html = (published.output / "members" / "ada" / "index.html").read_text()
    parsed = mf2py.parse(doc=html, url=f"{SITE}/members/ada/")
    cards = [item for item in parsed["items"] if "h-card" in item["type"]]
    assert cards and cards[0]["properties"]["name"] == ["Ada Lovelace"]
    assert set(parsed["rels"]["me"]) == {"https://github.com/ada", "https://social.example/@ada"}
    feeds = {url for url, alt in parsed["rel-urls"].items() if "alternate" in alt["rels"]}
    assert f"{SITE}/members/ada/feed.atom.xml" in feeds


def test_community_page_orders_members_by_recent_activity(published):
    from bs4 import BeautifulSoup

    page = BeautifulSoup((published.output / "members" / "index.html").read_text(), "html.parser")
    order = [
        a["href"].split("/members/")[1].strip("/") for a in page.select("main a[href*='/members/']")
    ]
    order = list(dict.fromkeys(h for h in order if h and h != "health"))
    # Bob wrote the newest post (his original article, 3 November); Cy has only a draft.
    assert order == ["bob", "ada", "cy"]
    assert "2" in page.get_text()  # Bob's post count


def parse_feed(path: Path) -> feedparser.FeedParserDict:
    parsed = feedparser.parse(path.read_bytes())
    assert not parsed.bozo, (path, parsed.get("bozo_exception"))
    return parsed


def test_site_atom_feed_credits_authors_with_a_source(published):
    feed = parse_feed(published.output / "feeds" / "all.atom.xml")
    entry = next(e for e in feed.entries if e.title == "Ada on looms")
    assert entry.author_detail.name == "Ada Lovelace"
    assert entry.author_detail.href == "https://ada.example/"
    assert any(
        link.rel == "via" and link.href == "https://ada.example/posts/looms/"
        for link in entry.links
    )
    source = entry.source
    assert source.title == "Ada Lovelace's notebook"
    assert source.id == "https://ada.example/feed.xml"
    assert {(link.rel, link.href) for link in source.links} >= {
        ("self", "https://ada.example/feed.xml"),
        ("alternate", "https://ada.example/"),
    }
    assert source.author_detail.name == "Ada Lovelace"
    assert source.rights == "CC BY 4.0 Ada Lovelace"
    assert source.updated_parsed is not None
    assert "originally published at" in entry.content[0].value


def test_site_rss_feed_has_creator_and_source(published):
    text = (published.output / "feeds" / "all.rss.xml").read_text()
    feed = parse_feed(published.output / "feeds" / "all.rss.xml")
    entry = next(e for e in feed.entries if e.title == "Bob on looms")
    assert entry.author == "Bob Weaver"  # dc:creator
    root = ElementTree.fromstring(text)
    sources = {s.get("url"): s.text for s in root.iter("source")}
    assert sources["https://bob.example/feed.xml"] == "Bob Weaver's notebook"
    assert "https://bob.example/posts/looms/" in entry.description


def test_member_tag_and_category_feeds(published):
    published.write_settings(CHORUS_MEMBER_FEED_RSS="members/{handle}/feed.rss.xml")
    published.build()
    rss = parse_feed(published.output / "members" / "ada" / "feed.rss.xml")
    assert [e.author for e in rss.entries] == ["Ada Lovelace"]
    ada = parse_feed(published.output / "members" / "ada" / "feed.atom.xml")
    assert [e.title for e in ada.entries] == ["Ada on looms"]
    bob = parse_feed(published.output / "members" / "bob" / "feed.atom.xml")
    assert {e.title for e in bob.entries} == {"Bob on looms", "An original article"}
    tag = parse_feed(published.output / "feeds" / "tag" / "looms.atom.xml")
    assert {"Ada on looms", "An original article"} <= {e.title for e in tag.entries}
    category = parse_feed(published.output / "feeds" / "category" / "community.atom.xml")
    assert "Ada on looms" in {e.title for e in category.entries}


def test_json_feed_validates_and_credits(published):
    document = json.loads((published.output / "feeds" / "all.json").read_text())
    jsonschema.validate(document, SCHEMA, format_checker=jsonschema.FormatChecker())
    assert document["feed_url"] == f"{SITE}/feeds/all.json"
    items = {item["title"]: item for item in document["items"]}
    assert all(item["authors"] for item in document["items"])
    ada = items["Ada on looms"]
    assert ada["external_url"] == "https://ada.example/posts/looms/"
    [author] = ada["authors"]
    assert author["name"] == "Ada Lovelace" and author["url"] == "https://ada.example/"
    assert LOCAL_AVATAR.fullmatch(author["avatar"].removeprefix(f"{SITE}/"))
    assert "external_url" not in items["An original article"]


def test_no_feed_carries_an_email_address(published):
    email = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
    for path in [*published.output.rglob("*.xml"), *published.output.rglob("*.json")]:
        text = path.read_text()
        found = [m for m in email.findall(text) if not m.startswith(("ada@social", "bob@social"))]
        assert found == [], (path, found)


def test_every_feed_parses_cleanly(published):
    paths = [*published.output.rglob("*.atom.xml"), *published.output.rglob("*.rss.xml")]
    assert len(paths) >= 6
    for path in paths:
        entries = parse_feed(path).entries
        assert entries or path.parent.name == "cy", path  # Cy has only a draft


def test_opml_blogroll_lists_every_public_feed(published):
    root = ElementTree.fromstring((published.output / "blogroll.opml").read_text())
    outlines = {o.get("xmlUrl"): o for o in root.iter("outline")}
    # The fixture's feeds are local files, known by the self links their posts carry: Cy has
    # no published post yet, so no known public feed.
    assert set(outlines) == {f"https://{h}.example/feed.xml" for h in ("ada", "bob")}
    assert outlines["https://ada.example/feed.xml"].get("htmlUrl") == "https://ada.example/"
    blogroll = (published.output / "blogroll" / "index.html").read_text()
    assert "https://bob.example/feed.xml" in blogroll and "blogroll.opml" in blogroll
