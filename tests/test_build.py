"""Real Pelican builds of small sites in temporary directories, read back as a reader sees them."""

from __future__ import annotations

import html
import json
import logging
import runpy
import shutil
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

from bs4 import BeautifulSoup
from pelican import Pelican
from pelican.settings import read_settings

from conftest import LOCAL_AVATAR
from sites import REPO, write_site_settings


def post_page(site, handle):
    [path] = site.posts(handle)
    return site.page(f"posts/2026/{path.stem}")


def test_curated_post_credits_its_author(community):
    page = post_page(community, "ada")
    credit_links = [a for a in page.find_all("a") if "members/ada" in a.get("href", "")]
    assert credit_links and any("Ada Lovelace" in a.get_text() for a in credit_links)
    avatar = page.find("img", alt=lambda alt: alt and "Ada Lovelace" in alt)
    assert avatar is not None and LOCAL_AVATAR.search(avatar["src"])
    originals = [
        a for a in page.find_all("a") if a.get("href") == "https://ada.example/posts/looms/"
    ]
    assert originals, "no link to the original post"
    assert "originally published" in page.get_text(" ").lower()
    # Relative links in the feed were made absolute against the post's own URL.
    assert page.find("a", href="https://ada.example/posts/other/") is not None


def test_canonical_follows_consent(community):
    full = post_page(community, "ada").find("link", rel="canonical")["href"]
    excerpt = post_page(community, "bob").find("link", rel="canonical")["href"]
    assert full == "https://ada.example/posts/looms/"
    assert excerpt.endswith(f"posts/2026/{community.posts('bob')[0].stem}/")


def test_excerpt_and_link_pages_point_to_the_full_post(community):
    page = post_page(community, "bob")
    read_more = [
        a
        for a in page.find_all("a")
        if a.get("href") == "https://bob.example/posts/looms/"
        and "full post" in a.get_text().lower()
    ]
    assert read_more


def test_drafts_are_not_published_until_approved(community, cli):
    assert not (community.output / "posts" / "2026" / community.posts("cy")[0].stem).exists()
    cli("approve", "cy")
    community.build()
    page = post_page(community, "cy")
    assert "Cy on looms" in page.find("h1").get_text()


def test_timeline_mixes_original_and_curated_posts(community):
    index = community.page("index.html").get_text(" ")
    for title in ("An original article", "Ada on looms", "Bob on looms"):
        assert title in index
    tag = community.page("tag/looms.html").get_text(" ")
    assert "An original article" in tag and "Ada on looms" in tag


def test_member_page_shows_bio_links_and_all_their_posts(community):
    page = community.page("members/bob")
    assert page.find("h1").get_text(strip=True) == "Bob Weaver"
    assert page.find("em", string="weaves") is not None
    me = page.find("a", href="https://github.com/bob")
    assert me is not None and "me" in me.get("rel", [])
    text = page.get_text(" ")
    assert "Bob on looms" in text and "An original article" in text


def test_community_page_lists_every_member(community):
    page = community.page("members")
    hrefs = {a["href"] for a in page.find_all("a", href=True)}
    for handle in ("ada", "bob", "cy"):
        assert any(f"members/{handle}" in href for href in hrefs), handle


def test_hand_edited_post_is_sanitized_at_build_time(community):
    [path] = community.posts("ada")
    text = path.read_text()
    text = text.replace(
        "<title>Ada on looms</title>",
        "<title>Ada <b onmouseover=alert(1)>on</b> looms &lt;i&gt;</title>",
    )
    text = text.replace(
        "</body>",
        '<script>alert(2)</script><a href="javascript:alert(3)" '
        'onclick="x()">click</a><iframe src="https://evil.example"></iframe>'
        "</body>",
    )
    path.write_text(text)
    community.build()
    page = community.page(f"posts/2026/{path.stem}")
    assert not [s for s in page.find_all("script") if "alert" in s.get_text()]
    assert page.find("iframe") is None and page.find("b") is None
    assert not [tag for tag in page.find_all(True) if any(a.startswith("on") for a in tag.attrs)]
    assert not [a for a in page.find_all(href=True) if "javascript" in a["href"].lower()]
    # Markup becomes text in a title: the escaped "<i>" shows as the characters "<i>".
    assert page.find("h1").get_text(" ", strip=True) == "Ada on looms <i>"


def test_a_hand_written_summary_is_sanitized_wherever_it_shows(community):
    """chorus fetch writes no summary; one added by hand reaches the timelines and the feeds
    as HTML, so it is held to the same policy as the body."""
    [path] = community.posts("ada")
    poison = html.escape(
        '<script>alert(1)</script><img src=x onerror="alert(2)">'
        '<a href="javascript:alert(3)">Looms</a>, woven'
    )
    path.write_text(
        path.read_text().replace("</head>", f'<meta name="summary" content="{poison}">\n</head>')
    )
    community.build()
    lists = [
        str(path.relative_to(community.output))
        for folder in ("tag", "category")
        for path in (community.output / folder).rglob("*.html")
        if "woven" in path.read_text()
    ]
    assert lists, "no tag or category page shows the post"
    for name in ("index.html", *lists, "feeds/all.rss.xml"):
        text = (community.output / name).read_text()
        if name.endswith(".xml"):
            [text] = [
                html.unescape(d.text or "")
                for d in ElementTree.fromstring(text).iter("description")
                if "woven" in (d.text or "")
            ]
        shown = BeautifulSoup(text, "html.parser")
        assert "woven" in shown.get_text(), name
        assert not [s for s in shown.find_all("script") if "alert" in s.get_text()], name
        assert not [t for t in shown.find_all(True) if any(a.startswith("on") for a in t.attrs)]
        assert not [a for a in shown.find_all(href=True) if "javascript" in a["href"]], name


def test_demo_site_builds_without_warnings(tmp_path, caplog):
    """`make site` in miniature: fetch the shipped sample feeds, then build, warnings fatal."""
    root = tmp_path / "demo"
    shutil.copytree(REPO / "content", root / "content", ignore=shutil.ignore_patterns("community"))
    settings_file = write_site_settings(root)
    from click.testing import CliRunner

    from chorus.cli.main import main

    fetched = CliRunner().invoke(main, ["--settings", str(settings_file), "fetch"])
    assert fetched.exit_code == 0, fetched.output
    with caplog.at_level(logging.WARNING):
        Pelican(read_settings(str(settings_file))).run()
    problems = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert problems == []
    output = root / "output"
    pages = list(output.rglob("index.html"))
    assert len(pages) > 20
    from bs4 import BeautifulSoup

    for path in (output / "posts").rglob("*.html"):
        page = BeautifulSoup(path.read_text(), "html.parser")
        # The only scripts are our JSON-LD data blocks, which browsers never run.
        for script in page.find_all("script"):
            assert script.get("type") == "application/ld+json", path
            assert json.loads(script.string)["@type"] == "BlogPosting"
        assert not [t for t in page.find_all(True) if any(a.startswith("on") for a in t.attrs)]
        assert not [t for t in page.find_all(href=True) if "javascript" in t["href"].lower()]
    assert len(list((output / "members").iterdir())) >= 7


def test_build_needs_no_network(community, monkeypatch):
    import socket

    def no_network(*args, **kwargs):
        raise AssertionError("the build tried to open a network connection")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    community.build()
    assert (community.output / "index.html").is_file()


def test_the_plugins_load_no_http_client():
    """Only fetching and sending Webmentions use aiohttp; importing it costs every build about
    0.2 s, a twentieth of a 2,000-post build."""
    plugins = runpy.run_path(str(REPO / "pelicanconf.py"))["PLUGINS"]
    script = f"import sys; import {', '.join(plugins)}; print('aiohttp' in sys.modules)"
    found = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO / "plugins",
        capture_output=True,
        text=True,
        check=True,
    )
    assert found.stdout.strip() == "False"


def test_every_curated_file_round_trips_through_pelican(community):
    # The store's <meta> tags reach Pelican as the metadata the theme relies on.
    from pelican.readers import Readers

    pelican = Pelican(read_settings(str(community.settings_file)))  # loads the plugins
    readers = Readers(pelican.settings)
    for path in Path(community.community).rglob("*.html"):
        article = readers.read_file(
            str(community.content), str(path.relative_to(community.content))
        )
        assert article.metadata["member"] in {"ada", "bob", "cy"}
        assert article.metadata["chorus_original_url"].startswith("https://")
        assert article.metadata["date"].tzinfo is not None


def test_fast_reader_and_pelicans_reader_agree(community):
    """Files in the store's own format skip HTMLParser; a reformatted copy must read the same."""
    from pelican.readers import Readers

    pelican = Pelican(read_settings(str(community.settings_file)))
    readers = Readers(pelican.settings)
    for path in sorted(community.community.rglob("*.html")):
        relative = str(path.relative_to(community.content))
        fast = readers.read_file(str(community.content), relative)
        original = path.read_text()
        # Indentation takes the file off the fast path, through Pelican's HTMLReader.
        path.write_text(original.replace("\n<meta", "\n  <meta").replace("<head>\n", "<head>\n "))
        slow = readers.read_file(str(community.content), relative)
        path.write_text(original)
        assert fast.content == slow.content
        assert fast.metadata == slow.metadata
        assert bool(fast.content) == bool(fast.metadata.get("summary"))


def test_the_demo_shows_a_real_community_not_debris(tmp_path):
    """The demo as committed: no hostile sample content (it lives in tests/hostile/), and no
    post shows what sanitizing left behind (issue 17)."""
    from bs4 import BeautifulSoup

    root = tmp_path / "demo"
    shutil.copytree(REPO / "content", root / "content")
    Pelican(read_settings(str(write_site_settings(root)))).run()
    attacks = (b"javascript:", b"<script", b"&lt;script", b"onerror", b"<form", b"&lt;form")
    for feed in (REPO / "content" / "sample-feeds").glob("*-*.*"):
        assert not [a for a in attacks if a in feed.read_bytes().lower()], feed
    shown = 0
    for path in (root / "output" / "posts").rglob("index.html"):
        body = BeautifulSoup(path.read_text(), "html.parser").find(class_="e-content")
        if body is None:
            continue
        shown += 1
        assert not body.find_all("img", src=False), path
        assert not body.find_all("a", href=False), path
        assert not [p for p in body.find_all("p") if not p.get_text(strip=True) and not p.find()]
        assert '">' not in body.get_text(), path
        assert not body.find_all(["button", "form", "input"]), path
    assert shown > 10
    # Images of posts are served from the site itself.
    home = BeautifulSoup((root / "output" / "index.html").read_text(), "html.parser")
    assert all("://" not in img["src"] for img in home.find_all("img"))


def test_an_attached_image_goes_next_to_its_post_and_leaves_with_it(site, caplog):
    """Pelican's {attach}: nothing may fix a static file's place before the post that attaches
    it is written (the render cache named every static file's output as the build began)."""
    from PIL import Image

    pictures = site.content / "articles" / "pics"
    pictures.mkdir(parents=True)
    Image.new("RGB", (40, 30), (90, 60, 160)).save(pictures / "loom.png")
    article = site.content / "articles" / "attached.md"
    article.write_text(
        "Title: Attached\nDate: 2026-11-01\n\n![A loom]({attach}pics/loom.png)\n", "utf-8"
    )
    with caplog.at_level(logging.WARNING):
        site.build()
    assert not [r for r in caplog.records if "{attach}" in r.getMessage()]
    image = site.output / "posts" / "2026" / "attached" / "pics" / "loom.png"
    assert image.is_file()
    shown = site.page("posts/2026/attached/").find("img", alt="A loom")
    assert shown["src"].endswith("posts/2026/attached/pics/loom.png")

    article.unlink()
    site.build()
    assert not image.exists(), "the image outlived the post that attached it"


def test_a_file_a_post_links_to_that_is_gone_costs_only_that_file(site, caplog):
    """Pelican lists a linked file whether or not it is there, and with the output holding
    a copy (STATIC_CHECK_IF_MODIFIED) it read the missing file's time and stopped the build."""
    from PIL import Image

    picture = site.content / "images" / "gone.png"
    picture.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (40, 30), (90, 60, 160)).save(picture)
    (site.content / "articles" / "linked.md").write_text(
        "Title: Linked\nDate: 2026-11-01\n\n![A loom]({static}/images/gone.png)\n", "utf-8"
    )
    site.build()
    assert (site.output / "images" / "gone.png").is_file()

    picture.unlink()
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        site.build()
    assert any(
        "images/gone.png: a post links to it, but it is not in the repository" in r.getMessage()
        for r in caplog.records
    )
    assert site.page("posts/2026/linked/").find("h1").get_text(strip=True) == "Linked"
    assert not (site.output / "images" / "gone.png").exists()
