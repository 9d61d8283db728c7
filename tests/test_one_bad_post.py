"""One bad post, bio or tag costs itself only: the rest of the site is built, and what is built
holds nothing a reader (a browser, a feed reader) would refuse or fetch from elsewhere."""

from __future__ import annotations

import logging
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urljoin

from lxml import etree

CONTROL = "\x1b[31m\x07"  # ESC and BEL: what a terminal-coloured title brings


def feeds(output: Path) -> list[Path]:
    return sorted([*output.rglob("*.atom.xml"), *output.rglob("*.rss.xml")])


def strict_build(site) -> subprocess.CompletedProcess[str]:
    """``chorus build --strict`` in a process of its own (it makes warnings fatal for good)."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "chorus",
            "--settings",
            str(site.settings_file),
            "build",
            "--strict",
        ],
        cwd=site.root,
        capture_output=True,
        text=True,
        check=False,
    )


def titles(feed: Path) -> list[str]:
    """Entry titles, read by a strict XML parser (one that refuses what XML forbids)."""
    root = etree.parse(str(feed), etree.XMLParser(recover=False)).getroot()
    return [
        element.text or ""
        for element in root.iter("{http://www.w3.org/2005/Atom}title", "title")
        if element.getparent().tag in ("{http://www.w3.org/2005/Atom}entry", "item")
    ]


def test_a_curated_title_with_control_characters_is_cleaned_at_build_time(community):
    site = community
    [path] = site.posts("ada")
    path.write_text(path.read_text().replace("<title>Ada on", f"<title>Ada{CONTROL} on"))
    site.build()
    atom = site.output / "feeds" / "all.atom.xml"
    assert "Ada[31m on looms" in titles(atom)
    assert "Ada[31m on looms" in titles(site.output / "feeds" / "all.rss.xml")
    for feed in feeds(site.output):
        titles(feed)  # every feed is well-formed XML
    page = site.page(f"posts/2026/{path.stem}")
    assert "\x1b" not in page.find("h1").get_text()
    # A file Pelican's own reader reads (not in the shape `chorus fetch` writes) too.
    text = path.read_text().replace("<head>\n", "<head>\n<!-- edited by hand -->\n")
    path.write_text(text.replace("</title>", f"{CONTROL}</title>"))
    site.build()
    assert "Ada[31m on looms[31m" in titles(atom)


def test_a_post_no_feed_can_hold_is_left_out_of_the_feeds_and_named(community, caplog):
    site = community
    bad = site.article(
        "bad.md",
        f"""
        Title: Colours{CONTROL} in a title
        Date: 2026-11-04 09:00
        Tags: looms

        An original article, with control characters Markdown keeps.
        """,
    )
    with caplog.at_level(logging.WARNING):
        site.build()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(str(bad) in message and "feeds/all.atom.xml" in message for message in warnings)
    for feed in feeds(site.output):
        assert not [title for title in titles(feed) if "Colours" in title], feed
    assert {"Ada on looms", "An original article"} <= set(
        titles(site.output / "feeds" / "all.atom.xml")
    )
    assert "Colours" in site.page("posts/2026/colours31m-in-a-title").find("h1").get_text()
    result = strict_build(site)
    assert result.returncode != 0, result.stdout


def test_a_post_whose_page_cannot_be_written_is_left_out_and_named(community, caplog):
    """A hand-edited slug too long for a file name: that post has no page, the rest does."""
    site = community
    [path] = site.posts("bob")
    slug = "very-" * 60 + "long"
    text = path.read_text()
    start = text.index('<meta name="slug" content="') + len('<meta name="slug" content="')
    path.write_text(text[:start] + slug + text[text.index('"', start) :])
    for page in (site.output / "posts").rglob("index.html"):
        page.unlink()
    with caplog.at_level(logging.WARNING):
        site.build()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(str(path) in message and "left out" in message for message in warnings)
    assert site.page(f"posts/2026/{site.posts('ada')[0].stem}").find("h1")
    assert site.page("posts/2026/an-original-article").find("h1")
    assert (site.output / "index.html").is_file()


def test_a_bio_shows_remote_images_as_links(community):
    site = community
    bio = "Ada ![a tracking pixel](https://elsewhere.example/track.png) *weaves*."
    member = site.members / "ada.md"
    text = member.read_text()
    member.write_text(text[: text.rindex("---\n") + 4] + bio + "\n")
    site.build()
    page = site.page("members/ada")
    assert not [img for img in page.find_all("img") if "elsewhere" in img.get("src", "")]
    link = page.find("a", href="https://elsewhere.example/track.png")
    assert link is not None and "a tracking pixel" in link.get_text()
    site.write_settings(CHORUS_REMOTE_IMAGES="keep")
    site.build()
    assert site.page("members/ada").find("img", src="https://elsewhere.example/track.png")


def test_a_bio_markdown_cannot_render_shows_as_text_and_the_site_is_built(community, caplog):
    """A list nested hundreds deep makes Python-Markdown give up (a RecursionError); a form
    feed pasted from a word processor would stop every feed that carries the bio."""
    site = community
    nested = "  - " * 495  # within the length a bio may have
    for handle, bio in (("ada", f"Ada weaves.\n\n{nested}"), ("bob", "Bob\x0c weaves.")):
        member = site.members / f"{handle}.md"
        text = member.read_text()
        member.write_text(text[: text.rindex("---\n") + 4] + bio + "\n")
    with caplog.at_level(logging.WARNING):
        site.build()
    assert "ada.md: the bio is shown as plain text" in caplog.text
    page = site.page("members/ada")
    shown = page.find(class_="member-bio")
    assert "Ada weaves." in shown.get_text() and shown.get_text().count("-") == 495
    assert "Bob weaves." in site.page("members/bob").get_text()
    assert site.page("members/cy").find("h1") is not None
    for feed in feeds(site.output):
        titles(feed)  # every feed is well-formed XML


HOSTILE_TERMS = ['">', "<!>", "-->", "<->", "'\"", "***"]


def test_every_tag_and_category_has_a_page_of_its_own(community, caplog):
    """Terms that slugify to nothing or to "-" each get a slug of their own, and working
    links; a strict build (no "invalid slug" warning) still passes."""
    site = community
    tags = ", ".join(term.replace('"', "&quot;").replace(">", "&gt;") for term in HOSTILE_TERMS)
    for handle, category in (("ada", "&quot;&gt;"), ("bob", "&lt;-&gt;")):
        [path] = site.posts(handle)
        text = path.read_text()
        text = text.replace("</head>", f'<meta name="tags" content="{tags}">\n</head>')
        text = text.replace("</head>", f'<meta name="category" content="{category}">\n</head>')
        path.write_text(text)
    with caplog.at_level(logging.WARNING):
        site.build()
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    tag_pages = sorted(p.name for p in (site.output / "tag").iterdir())
    assert ".html" not in tag_pages and "-.html" not in tag_pages
    # Six hostile tags and "looms": seven pages, one per tag.
    assert len(tag_pages) == len(HOSTILE_TERMS) + 1, tag_pages
    category_pages = sorted(p.name for p in (site.output / "category").iterdir())
    assert len(category_pages) == 3, category_pages  # two hostile, and the original's
    # Every link to a tag or category page, from a post, leads to one that names it.
    [path] = site.posts("ada")
    page_url = f"posts/2026/{path.stem}/"
    page = site.page(page_url)
    shown = set()
    for link in page.select('a[href*="tag/"], a[href*="category/"]'):
        target = site.output / urljoin(page_url, link["href"])
        assert target.is_file(), link["href"]
        shown.add(link.get_text(strip=True))
    assert set(HOSTILE_TERMS) | {'">'} <= {text.lstrip("#") for text in shown}
    assert strict_build(site).returncode == 0


def test_a_post_dated_at_the_edge_of_time_is_left_out_and_named(community, caplog):
    """Hand-edited dates UTC cannot hold, or with no year before them: that post is left out,
    named; the rest of the site, its sitemap and its activity charts are built."""
    site = community
    site.write_settings(SITEURL="https://loom.example", RELATIVE_URLS=False)
    [ada] = site.posts("ada")
    text = ada.read_text()
    edges = {"first": "0001-01-01T00:00:00+05:00", "last": "9999-12-31T23:59:59-05:00"}
    edited = {}
    for name, moment in edges.items():
        path = ada.with_name(f"{name}-of-time-0000{len(edited)}.html")
        path.write_text(
            re.sub(
                r'<meta name="date" content="[^"]*">',
                f'<meta name="date" content="{moment}">',
                text,
            )
            .replace('name="chorus_id" content="', f'name="chorus_id" content="{name}-')
            .replace("<title>", f"<title>{name} ")
        )
        edited[name] = path
    with caplog.at_level(logging.ERROR):
        site.build()
    for path in edited.values():
        assert path.name in caplog.text and "is not a post's date" in caplog.text
    assert (site.output / "sitemap.xml").is_file()
    assert site.page("members/ada").find("svg") is not None  # the activity chart
    assert site.page(f"posts/2026/{ada.stem}").find("h1") is not None


def test_a_hand_edited_post_with_endless_tags_or_title_costs_only_itself(community, caplog):
    """chorus fetch writes at most 20 tags and 300 characters of title; a file edited by hand
    is cut at 100 tags and 1,000 characters, named, instead of a page per tag or a slug of
    a million characters."""
    site = community
    [ada] = site.posts("ada")
    tags = ", ".join(f"tag{number}" for number in range(5_000))
    text = re.sub(r'<meta name="tags" content="[^"]*">\n?', "", ada.read_text())
    text = re.sub(r'<meta name="slug" content="[^"]*">\n?', "", text)
    text = text.replace("</head>", f'<meta name="tags" content="{tags}">\n</head>')
    ada.write_text(text.replace("<title>Ada on looms", "<title>" + "Looms " * 20_000))
    with caplog.at_level(logging.WARNING):
        site.build()
    assert f"{ada.name}: 5000 tags, of which the first 100 are kept" in caplog.text
    assert f"{ada.name}: the title is cut to 1000 characters" in caplog.text
    assert len(list((site.output / "tag").glob("tag[0-9]*.html"))) == 100
    assert "Looms Looms" in (site.output / "index.html").read_text()  # listed, if no page


def test_a_curated_post_cannot_choose_its_template_or_another_pages_file(community, caplog):
    site = community
    [ada] = site.posts("ada")
    extra = (
        '<meta name="template" content="no-such-template">\n'
        '<meta name="save_as" content="index.html">\n'
    )
    ada.write_text(ada.read_text().replace("</head>", extra + "</head>"))
    with caplog.at_level(logging.WARNING):
        site.build()
    assert f"{ada.name}: template is not a curated post's to set" in caplog.text
    assert f"{ada.name}: save_as is not a curated post's to set" in caplog.text
    assert site.page("index.html").find(class_="community-strip") is not None  # the home page still
    assert site.page(f"posts/2026/{ada.stem}").find("h1") is not None
