"""A site readers and search engines can find their way in: sitemap.xml, robots.txt, the logo and
favicon, and the full-text search index Pagefind writes after the build."""

from __future__ import annotations

import gzip
import json
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from lxml import etree
from pelican.utils import SafeDatetime

from chorus.common.config import ConfigError
from chorus.site.search import SiteIndexer, plan_indexes
from chorus.site.sitemap import (
    MAX_URLS,
    SITEMAP_NAMESPACE,
    SitemapEntry,
    sitemap_files,
    w3c_datetime,
)

SITE_URL = "https://loom.example"
NS = {"s": SITEMAP_NAMESPACE}
# Past the 240 characters the old index kept of each post, and past the 400 of an excerpt.
LONG_START = "Warp and weft, row after row. " * 20
FEED = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>{name}'s notebook</title><link>https://{handle}.example/</link>
<item><title>{title}</title><link>https://{handle}.example/posts/one/</link>
<guid>https://{handle}.example/posts/one/</guid><pubDate>Mon, 02 Nov 2026 10:00:00 GMT</pubDate>
<category>looms</category>
<description>&lt;p&gt;{start}&lt;/p&gt;&lt;p&gt;Only the body says {word}.&lt;/p&gt;</description>
</item></channel></rss>"""


@pytest.fixture
def findable(site, cli):
    """Members of every consent, a draft, a hidden page, built with an absolute SITEURL."""
    for handle, name, consent, trusted, word in [
        ("ada", "Ada Lovelace", "full", True, "zanzibarite"),
        ("lin", "Lin Link", "link", True, "quodlibetic"),
        ("dee", "Dee Draft", "full", False, "draftmarker"),
    ]:
        feed = site.local_feed(
            f"{handle}.xml",
            FEED.format(
                handle=handle, name=name, title=f"{name} on looms", start=LONG_START, word=word
            ),
        )
        site.member(handle, name=name, feeds=[feed], consent=consent, trusted=trusted)
    (site.content / "pages" / "hidden.md").write_text(
        "Title: Hidden notes\nStatus: hidden\n\nNot for readers.\n", encoding="utf-8"
    )
    (site.content / "pages" / "about.md").write_text(
        "Title: About\n\nWho we are.\n", encoding="utf-8"
    )
    site.write_settings(SITEURL=SITE_URL, RELATIVE_URLS=False)
    cli("fetch")
    site.build()
    return site


def post_url(site, handle):
    [path] = site.posts(handle)
    return f"posts/2026/{path.stem}/"


def indexed(output: Path) -> dict[str, dict]:
    """What Pagefind indexed, page by page: its fragments, as its browser code reads them."""
    pages = {}
    for fragment in (output / "pagefind").glob("*/fragment/*.pf_fragment"):
        data = gzip.decompress(fragment.read_bytes()).removeprefix(b"pagefind_dcd")
        page = json.loads(data)
        pages[page["url"]] = page
    return pages


def test_sitemap_lists_every_page_a_reader_should_find(findable):
    tree = etree.parse(str(findable.output / "sitemap.xml"))
    root = tree.getroot()
    assert root.tag == f"{{{SITEMAP_NAMESPACE}}}urlset"
    locs = [url.findtext("s:loc", namespaces=NS) for url in root.findall("s:url", NS)]
    assert 0 < len(locs) <= MAX_URLS and len(set(locs)) == len(locs)
    assert all(loc.startswith(SITE_URL + "/") for loc in locs)
    listed = {loc.removeprefix(SITE_URL + "/") for loc in locs}
    for page in (post_url(findable, "ada"), post_url(findable, "lin"), "members/ada/", ""):
        assert page in listed, page
    assert "about/" in listed and "tag/looms.html" in listed and "members/" in listed
    assert post_url(findable, "dee") not in listed  # a draft
    assert not any("drafts/" in page or "hidden" in page for page in listed)
    assert "members/health/" not in listed and "404.html" not in listed  # noindex, an error
    for url in root.findall("s:url", NS):
        lastmod = url.findtext("s:lastmod", namespaces=NS)
        if lastmod is not None:
            assert datetime.strptime(lastmod, "%Y-%m-%dT%H:%M:%SZ")
    [ada] = [u for u in root.findall("s:url", NS) if "members/ada/" in u.findtext("s:loc", "", NS)]
    assert ada.findtext("s:lastmod", namespaces=NS) == "2026-11-02T10:00:00Z"  # her newest post


def test_robots_txt_allows_all_and_names_the_sitemap(findable):
    lines = (findable.output / "robots.txt").read_text().splitlines()
    assert lines[:2] == ["User-agent: *", "Allow: /"]
    assert f"Sitemap: {SITE_URL}/sitemap.xml" in lines


def test_a_sitemap_of_more_than_50000_pages_is_split_under_an_index():
    entries = [SitemapEntry(f"p/{n}/", datetime(2026, 1, 1, tzinfo=UTC)) for n in range(50_001)]
    files = sitemap_files(SITE_URL, entries, "sitemap.xml")
    assert sorted(files) == ["sitemap-1.xml", "sitemap-2.xml", "sitemap.xml"]
    index = etree.fromstring(files["sitemap.xml"])
    assert index.tag == f"{{{SITEMAP_NAMESPACE}}}sitemapindex"
    assert [loc.text for loc in index.iterfind("s:sitemap/s:loc", NS)] == [
        f"{SITE_URL}/sitemap-1.xml",
        f"{SITE_URL}/sitemap-2.xml",
    ]
    assert len(etree.fromstring(files["sitemap-1.xml"])) == MAX_URLS


def test_a_sitemap_gives_every_date_in_utc_as_pelicans_dates_are_and_naive_ones_as_utc():
    # Pelican's own dates (SafeDatetime), in a member's time zone, as its readers give them.
    eastern = SafeDatetime(2026, 11, 2, 1, 30, 5, tzinfo=timezone(timedelta(hours=-5)))
    assert w3c_datetime(eastern) == "2026-11-02T06:30:05Z"
    assert w3c_datetime(SafeDatetime(2026, 11, 2, 23, 59, 59)) == "2026-11-02T23:59:59Z"
    assert w3c_datetime(datetime(2026, 1, 1, tzinfo=UTC)) == "2026-01-01T00:00:00Z"


def test_search_indexes_the_words_of_a_post_body(findable):
    pages = indexed(findable.output)
    ada = pages[f"/{post_url(findable, 'ada')}"]
    assert "zanzibarite" in ada["content"]
    assert ada["filters"]["member"] == ["Ada Lovelace"]
    assert ada["filters"]["tag"] == ["looms"]
    assert ada["meta"]["title"] == "Ada Lovelace on looms"
    # Only the post is indexed: not the navigation or the footer around it.
    assert "Skip to content" not in ada["content"] and "Meet the community" not in ada["content"]


def test_search_indexes_only_what_a_page_shows(findable):
    pages = indexed(findable.output)
    lin = pages[f"/{post_url(findable, 'lin')}"]  # consent: link, so its text is not shown
    assert "quodlibetic" not in lin["content"] and "Warp and weft" not in lin["content"]
    assert lin["meta"]["title"] == "Lin Link on looms"
    assert not any("draftmarker" in page["content"] for page in pages.values())
    assert not any("Not for readers" in page["content"] for page in pages.values())
    assert "/about/" in pages


def test_posts_are_split_into_indexes_from_the_oldest():
    day = datetime(2026, 1, 1, tzinfo=UTC)
    posts = [(day.replace(day=n), f"posts/2026/{n}/index.html") for n in (5, 1, 4, 2, 3)]
    assert plan_indexes(posts, ["about/index.html"], 2) == [
        ["posts/2026/1/index.html", "posts/2026/2/index.html"],
        ["posts/2026/3/index.html", "posts/2026/4/index.html"],
        ["posts/2026/5/index.html", "about/index.html"],
    ]
    assert plan_indexes([], ["about/index.html"], 2) == [["about/index.html"]]
    assert plan_indexes([], [], 2) == []


def write_searchable_page(output: Path, path: str, words: str) -> None:
    page = output / path
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(
        f"<!doctype html><html lang='en'><head><title>{words}</title></head>"
        f"<body><main data-pagefind-body><h1>{words}</h1><p>{words}</p></main></body></html>",
        encoding="utf-8",
    )


def test_an_index_is_made_once_its_last_page_is_written_while_the_build_goes_on(tmp_path):
    output, seals = tmp_path / "output", tmp_path / "cache" / "seals.json"
    plan = [["old/1.html", "old/2.html"], ["new/1.html", "about.html"]]
    words = {"old/1.html": "oldest", "old/2.html": "older", "new/1.html": "newest"}
    words["about.html"] = "about"
    for path, word in words.items():
        write_searchable_page(output, path, word)
    indexer = SiteIndexer(output, "pagefind", seals, plan)
    indexer.written(str(output / "old/1.html"))
    indexer.written(f"{output}/old/./2.html")
    indexer.written("elsewhere/new/1.html")  # not a page of the output
    # about.html is never written: its index is made at the end all the same.
    indexer.written(str(output / "new/1.html"))
    first = output / "pagefind" / "0" / "pagefind-entry.json"
    deadline = time.monotonic() + 60
    while not first.is_file() and time.monotonic() < deadline:
        time.sleep(0.05)
    # The first index is made before the build says it is done, from its pages alone.
    assert first.is_file() and not (output / "pagefind" / "1").exists()
    assert indexer.finish() == [0, 1]
    found = {url: page["content"] for url, page in indexed(output).items()}
    assert set(found) == {"/old/1.html", "/old/2.html", "/new/1.html", "/about.html"}
    assert "newest" in found["/new/1.html"] and "oldest" in found["/old/1.html"]

    # The next build: nothing changed, so nothing is made again, written or not.
    again = SiteIndexer(output, "pagefind", seals, plan)
    again.written(str(output / "old/1.html"))
    assert again.finish() == []
    assert set(indexed(output)) == set(found)


def search_indexes(site) -> list[Path]:
    """The entry file of each Pagefind index in the output."""
    return sorted(site.output.glob("pagefind/*/pagefind-entry.json"))


def test_a_new_post_makes_only_the_newest_index_again(findable):
    for number in range(1, 5):
        findable.article(
            f"note-{number}.md",
            f"""
            Title: Note {number}
            Date: 2026-10-0{number} 10:00

            Note {number} of a series.
            """,
        )
    findable.write_settings(CHORUS_SEARCH_POSTS_PER_INDEX=2)
    findable.build()
    before = {path: path.stat().st_mtime_ns for path in search_indexes(findable)}
    assert len(before) >= 2
    newest = max(before, key=lambda path: int(path.parent.name))
    findable.article(
        "later.md",
        """
        Title: A later note
        Date: 2026-12-01 10:00

        Only this article says orthogonally.
        """,
    )
    findable.build()
    after = {path: path.stat().st_mtime_ns for path in search_indexes(findable)}
    changed = {path for path in after if before.get(path) != after[path]}
    # The newest index, and one after it when the new post needs one: the full ones are kept.
    following = newest.parent.with_name(str(int(newest.parent.name) + 1)) / newest.name
    assert changed and changed <= {newest, following}
    assert len(after) - len(changed) >= 2
    assert any("orthogonally" in page["content"] for page in indexed(findable.output).values())
    assert set(indexed(findable.output)) >= {"/about/", f"/{post_url(findable, 'ada')}"}

    findable.write_settings(CHORUS_SEARCH_POSTS_PER_INDEX=500)  # one index: the others go
    findable.build()
    assert [path.parent.name for path in search_indexes(findable)] == ["0"]


def test_theme_favicon_by_default_and_the_sites_logo_when_set(site):
    site.build()
    icon = site.page("index.html").find("link", rel="icon")
    assert icon["href"].endswith("theme/images/favicon.svg") and icon["href"] != "data:,"
    assert (site.output / "theme" / "images" / "favicon.svg").is_file()
    assert site.page("index.html").find("img", class_="site-logo") is None

    (site.content / "images").mkdir()
    (site.content / "images" / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (site.content / "images" / "icon.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    site.write_settings(CHORUS_LOGO="images/logo.png", CHORUS_FAVICON="images/icon.png")
    site.build()
    page = site.page("index.html")
    logo = page.find(class_="site-name").find("img", class_="site-logo")
    assert logo["src"].endswith("images/logo.png") and logo["alt"] == ""  # the name follows
    assert page.find("link", rel="icon")["href"].endswith("images/icon.png")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CHORUS_LOGO", "../outside.png"),
        ("CHORUS_FAVICON", "https://cdn.example/icon.png"),
        ("CHORUS_SEARCH_BUNDLE", "../pagefind"),
    ],
)
def test_bad_paths_are_refused_with_the_settings_name(site, name, value):
    site.write_settings(**{name: value})
    with pytest.raises(ConfigError, match=f"{name} must be"):
        site.build()


def test_a_build_that_writes_no_page_keeps_the_index_and_a_changed_page_is_indexed(findable):
    entry = findable.output / "pagefind" / "0" / "pagefind-entry.json"
    first = entry.stat().st_mtime_ns, entry.read_bytes()
    findable.build()
    assert (entry.stat().st_mtime_ns, entry.read_bytes()) == first
    findable.article(
        "late.md",
        """
        Title: A late note
        Date: 2026-11-30 10:00

        Only this article says xylographic.
        """,
    )
    findable.build()
    assert entry.stat().st_mtime_ns != first[0]
    assert any("xylographic" in page["content"] for page in indexed(findable.output).values())
