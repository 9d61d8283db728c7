"""Real blogs reach the site intact (issue 19): feeds shaped like real ones (tests/feeds/ says
which blog each is shaped like), fetched over HTTP, built, and read as readers and machines do.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import feedparser
import jsonschema
import mf2py
import pytest
from bs4 import BeautifulSoup

from chorus.fetch.entries import Entry
from chorus.fetch.store import CommunityStore, StoredPost, read_stored
from conftest import FEEDS

SITE = "https://loom.example"
SCHEMA = json.loads((Path(__file__).parent / "schemas" / "jsonfeed-1.1.json").read_text())
# handle -> (name, site, fixture)
MEMBERS = {
    "macworld": ("Macworld", "https://www.macworld.com/", "rss20-macworld-group-blog.xml"),
    "gruber": (
        "John Gruber",
        "https://daringfireball.net/",
        "atom10-daring-fireball-linked-list.xml",
    ),
    "atp": ("ATP", "https://atp.fm/", "rss20-podcast-enclosures.xml"),
    "dave": ("Dave Winer", "http://scripting.com/", "rss20-scripting-news-microposts.xml"),
    "snell": (
        "Jason Snell",
        "https://sixcolors.com/",
        "jsonfeed11-url-external-url-attachments.json",
    ),
}
SNELL_TITLE = (
    "Jason\u2019s \u201cLinked\u201d post"  # from "Jason&#8217;s &ldquo;Linked&rdquo; post"
)


@pytest.fixture
def real(site, feed_server, cli):
    """The five members fetched over HTTP and the site built with absolute URLs."""
    for handle, (name, home, fixture) in MEMBERS.items():
        kind = "application/feed+json" if fixture.endswith(".json") else "application/xml"
        url = feed_server.add(
            f"/{handle}/feed", (FEEDS / fixture).read_bytes(), headers={"Content-Type": kind}
        )
        site.member(handle, name=name, site=home, feeds=[url], consent="full", trusted=True)
    cli("fetch", "--no-progress")
    site.write_settings(SITEURL=SITE, FEED_DOMAIN=SITE, RELATIVE_URLS=False)
    site.build()
    return site


def post(site, handle: str, title: str) -> tuple[Path, BeautifulSoup]:
    """The stored post file and built page of the member's post with this title."""
    for path in site.posts(handle):
        if f"<title>{title}</title>" in path.read_text(encoding="utf-8").replace("&#x27;", "'"):
            pages = list(site.output.glob(f"posts/*/{path.stem}/index.html"))
            assert pages, f"no page for {path}"
            return path, BeautifulSoup(pages[0].read_text(encoding="utf-8"), "html.parser")
    raise AssertionError(f"{handle} has no post titled {title!r}")


def h_entry(page: BeautifulSoup) -> dict:
    parsed = mf2py.parse(doc=str(page), url=f"{SITE}/")
    [entry] = [item for item in parsed["items"] if "h-entry" in item["type"]]
    return entry


def atom_entries(site) -> dict[str, dict]:
    feed = feedparser.parse((site.output / "feeds" / "all.atom.xml").read_bytes())
    return {entry.title: entry for entry in feed.entries}


def json_items(site) -> dict[str, dict]:
    document = json.loads((site.output / "feeds" / "all.json").read_text())
    jsonschema.validate(document, SCHEMA, format_checker=jsonschema.FormatChecker())
    return {item["title"]: item for item in document["items"]}


def test_a_group_blogs_writer_is_credited_everywhere(real):
    _, page = post(real, "macworld", "Jane's review")
    credit = page.find(class_="credit-author").get_text(" ", strip=True)
    assert credit == "By Jane Doe , in Macworld"
    assert page.find("meta", attrs={"name": "author"})["content"] == "Jane Doe"
    [script] = page.find_all("script", type="application/ld+json")
    data = json.loads(script.string)
    assert data["author"] == {"@type": "Person", "name": "Jane Doe"}
    assert data["publisher"]["name"] == "Macworld"
    [author] = h_entry(page)["properties"]["author"]
    assert author["properties"]["name"] == ["Jane Doe"]
    entry = atom_entries(real)["Jane's review"]
    assert entry.author == "Jane Doe"
    assert entry.source.author == "Macworld"
    assert "By Jane Doe, in" in entry.content[0].value
    assert json_items(real)["Jane's review"]["authors"] == [{"name": "Jane Doe"}]
    # The writer named with an e-mail address in the feed is credited by name only.
    _, roman = post(real, "macworld", "Roman's news")
    assert "By Roman Loyola , in Macworld" in roman.get_text(" ", strip=True)
    # A post by the publication itself is the member's, with no second name.
    _, desk = post(real, "macworld", "From the desk")
    assert desk.find(class_="credit-author").get_text(" ", strip=True) == "By Macworld"
    email = re.compile(r"[\w.+-]+@macworld\.example")
    for path in real.output.rglob("*"):
        if path.suffix in {".html", ".xml", ".json"}:
            assert not email.search(path.read_text(encoding="utf-8")), path


def test_the_newsletter_names_the_writer(real, cli):
    cli("newsletter", "new", "--date", "2026-11-09")
    cli("newsletter", "build")
    [issue] = (real.content / "newsletter").glob("*.md")
    text = issue.read_text(encoding="utf-8")
    assert re.search(
        r"title: Jane's review\n(?:.*\n)*?\s+author: Jane Doe\n\s+shared_by: macworld", text
    ), text


def test_a_linked_list_post_credits_the_members_permalink(real):
    stored, page = post(real, "gruber", "MacRumors: Something")
    permalink = "https://daringfireball.net/linked/2019/05/29/macrumors"
    assert read_stored(stored).link == permalink
    origin = page.find(class_="credit-origin")
    assert origin.find("a", class_="u-url")["href"] == permalink
    about = origin.find("a", class_="credit-about")
    assert about["href"] == "https://www.macrumors.com/2019/05/29/article/"
    assert "It is about www.macrumors.com" in origin.get_text(" ", strip=True)
    # Relative URLs in it resolve against the member's permalink, not the article elsewhere.
    content = page.find(class_="post-content")
    assert "https://daringfireball.net/linked/2019/05/29/chart.png" in str(content)
    assert "macrumors.com/2019/05/29/chart" not in str(content)
    item = json_items(real)["MacRumors: Something"]
    assert item["external_url"] == permalink
    assert 'About: <a href="https://www.macrumors.com/2019/05/29/article/">' in item["content_html"]


def test_json_feed_url_is_the_permalink_and_external_url_what_it_is_about(real):
    stored, page = post(real, "snell", SNELL_TITLE)
    assert read_stored(stored).link == "https://sixcolors.com/link/2019/05/linked/"
    about = page.find("a", class_="credit-about")
    assert about["href"] == "https://www.macworld.com/article/123/"
    # The title was entity-decoded once: no "&#8217;" in the heading, the <title> or the slug.
    assert page.find("h1").get_text() == SNELL_TITLE
    assert "&#" not in page.title.get_text() and "8217" not in stored.name
    # An item without url keeps its permalink from its id on the member's site.
    stored, _ = post(real, "snell", "No url")
    assert read_stored(stored).link == "https://sixcolors.com/post/2019/05/no-url/"


def test_enclosures_are_played_linked_and_syndicated(real):
    _, page = post(real, "atp", "330: Cheaper Than a Pizza")
    audio_url = "https://traffic.libsyn.com/atpfm/atp330.mp3"
    [audio] = page.find_all("audio")
    assert audio["src"] == audio_url and audio["preload"] == "none"
    download = page.find("a", class_="u-enclosure")
    assert download["href"] == audio_url
    assert download.get_text(" ", strip=True) == "Download (MP3 audio, 68.4 MB)"
    _, page = post(real, "gruber", "An Article of My Own")
    # Relative to the feed's URL (here the test server's).
    assert page.find("audio")["src"].endswith("/thetalkshow/ep1.mp3")
    assert page.find("video")["src"] == "https://cdn.example.net/ep1.mp4"  # typed by its name
    assert "javascript" not in str(page.find(class_="attachments"))
    # A podcast episode without a usable enclosure gets no media section.
    _, page = post(real, "atp", "329: No enclosure we can use")
    assert page.find(class_="attachments") is None

    atom = atom_entries(real)["330: Cheaper Than a Pizza"]
    [enclosure] = [link for link in atom.links if link.rel == "enclosure"]
    assert (enclosure.href, enclosure.type, enclosure.length) == (
        audio_url,
        "audio/mpeg",
        "68429317",
    )
    rss = feedparser.parse((real.output / "feeds" / "all.rss.xml").read_bytes())
    [item] = [e for e in rss.entries if e.title == "330: Cheaper Than a Pizza"]
    assert [e.href for e in item.enclosures] == [audio_url]
    episode = json_items(real)["Episode 1"]
    assert episode["attachments"] == [
        {
            "url": "https://sixcolors.com/podcast/1.m4a",
            "mime_type": "audio/x-m4a",
            "size_in_bytes": 1234,
        },
        {"url": "https://sixcolors.com/podcast/1.mp3", "mime_type": "audio/mpeg"},
    ]


def test_untitled_microposts_are_notes_titled_by_their_words(real):
    stored, page = post(
        real, "dave", "Where I come from, a feed is a promise: the posts stay where they…"
    )
    assert "Note" in page.find(class_="entry-kind").get_text()
    assert "p-name" not in page.find("h1")["class"]
    assert stored.name.startswith("where-i-come-from")
    _, page = post(real, "dave", "Untitled note")
    assert "scripting.com" not in page.find("h1").get_text()
    index = BeautifulSoup((real.output / "index.html").read_text(), "html.parser")
    titles = [h.get_text(strip=True) for h in index.select(".entry-title")]
    assert not any("://" in title for title in titles)


def test_bare_guids_are_kept_as_the_feed_gives_them(real):
    ids = {read_stored(path).id for path in real.posts("dave")}
    assert {"1559050401777", "1559050402888"} <= ids
    assert not any(i.startswith("http://127.0.0.1") for i in ids)


def test_an_embedded_player_leaves_a_link_and_links_never_nest(real):
    _, page = post(real, "macworld", "Jane's review")
    content = page.find(class_="post-content")
    video = content.find("a", href="https://www.youtube.com/watch?v=dQw4w9WgXcQ")
    assert video.get_text() == "Embedded video: The video review (youtube.com)"
    assert content.find("iframe") is None
    for link in page.find_all("a"):
        assert link.find("a") is None, link


def test_a_post_recorded_with_a_resolved_guid_is_found_not_new(tmp_path):
    """Post files written before hold ids like http://host/1559050401777: the same entry,
    now with the id the feed gives, updates that file (even if its link changed)."""
    store = CommunityStore(tmp_path, "Community")
    old = StoredPost(
        tmp_path / "dave" / "x.html", "dave", "http://host/1", "https://a/", "h", "published", ""
    )
    store._remember(old)
    entry = Entry(
        id="1",
        link="https://b/",
        title="t",
        published=None,
        updated=None,
        author=None,
        tags=(),
        summary_html="",
        content_html="",
        former_ids=("http://host/1",),
    )
    assert store.find("dave", entry) == (old, True)
