"""Pelican's cache of read posts (on in the shipped settings): a build reads again only the posts
whose files changed, and every post once Chorus, its plugins or the settings change, since what
the reader makes of a post follows from them too; a cache half written by a killed build is
never loaded."""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import pytest

from chorus.site.content_cache import RECORD_NAME
from chorus.site.render_cache import build_fingerprint
from sites import forget_logged_messages

FEED = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Ada's notebook</title><link>https://ada.example/</link>
<item><title>Warp notes</title><link>https://ada.example/posts/warp/</link>
<guid>https://ada.example/posts/warp/</guid><pubDate>Mon, 02 Nov 2026 10:00:00 GMT</pubDate>
<description>&lt;p&gt;The loom at dawn.&lt;/p&gt;
&lt;p&gt;&lt;img src="https://ada.example/loom.jpg" alt="A floor loom"&gt;&lt;/p&gt;</description>
</item></channel></rss>"""
# A link the reader refuses, and says so as it reads the post: the sign that it read it.
REFUSED = '<meta name="chorus_external_url" content="javascript:alert(1)">\n'


def read_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if "is not an http(s) URL" in record.getMessage()
    ]


@pytest.fixture
def ada(site, cli):
    """Ada's one post, fetched, with a link only its reading notices; the remote image kept."""
    site.member("ada", name="Ada Lovelace", feeds=[site.local_feed("ada.xml", FEED)],
                consent="full", trusted=True)  # fmt: skip
    site.write_settings(CACHE_CONTENT=True, LOAD_CONTENT_CACHE=True, CHORUS_REMOTE_IMAGES="keep")
    cli("fetch")
    [post] = site.posts("ada")
    text = post.read_text(encoding="utf-8")
    post.write_text(text.replace("</title>\n", "</title>\n" + REFUSED, 1), encoding="utf-8")
    return post


def build(site, caplog) -> list[str]:
    """Build; the warnings that show which posts were read."""
    caplog.clear()
    forget_logged_messages()  # the same warning, from the same post, is the point
    with caplog.at_level(logging.WARNING):
        site.build()
    return read_warnings(caplog)


def test_a_post_is_read_again_only_when_its_file_changes(site, ada, caplog):
    assert len(build(site, caplog)) == 1
    page = f"posts/2026/{ada.stem}/"
    assert site.page(page).find("h1").get_text(strip=True) == "Warp notes"

    # A fresh checkout gives every file a new time and the same bytes: nothing is read again.
    later = ada.stat().st_mtime + 3600
    os.utime(ada, (later, later))
    assert build(site, caplog) == []
    assert site.page(page).find("h1").get_text(strip=True) == "Warp notes"

    ada.write_text(ada.read_text().replace("Warp notes", "Weft notes"), encoding="utf-8")
    assert len(build(site, caplog)) == 1
    assert site.page(page).find("h1").get_text(strip=True) == "Weft notes"


def test_a_changed_setting_that_reading_follows_reads_every_post_again(site, ada, caplog):
    page = f"posts/2026/{ada.stem}/"
    build(site, caplog)
    assert site.page(page).select(".post-content img[src='https://ada.example/loom.jpg']")

    site.write_settings(CHORUS_REMOTE_IMAGES="link")
    assert len(build(site, caplog)) == 1, "the post was not read again"
    content = site.page(page).select_one(".post-content")
    assert content.find("img") is None
    assert content.find("a", href="https://ada.example/loom.jpg") is not None

    assert build(site, caplog) == [], "the cache made under the new setting is used"


def test_a_cache_left_half_written_by_a_killed_build_is_not_loaded(site, ada, caplog):
    build(site, caplog)
    cache = site.root / "cache"
    readers = cache / "ArticlesGenerator-Readers"
    assert readers.is_file() and (cache / RECORD_NAME).is_file()
    # A build killed as Pelican began to rewrite its cache (in place), which an empty file
    # stops with EOFError at the next load; the record was gone already.
    readers.write_bytes(b"")
    (cache / RECORD_NAME).unlink()

    assert len(build(site, caplog)) == 1
    assert site.page(f"posts/2026/{ada.stem}/").find("h1").get_text(strip=True) == "Warp notes"
    assert build(site, caplog) == []


def test_the_fingerprint_follows_the_code_of_the_theme_and_plugins(tmp_path):
    theme = tmp_path / "theme"
    shutil.copytree(Path(__file__).parent.parent / "theme", theme)
    settings = {"THEME": str(theme), "PLUGINS": [], "CHORUS_EXCERPT_CHARS": 400}
    first = build_fingerprint(settings)
    assert build_fingerprint(settings) == first
    assert build_fingerprint({**settings, "CHORUS_EXCERPT_CHARS": 300}) != first
    template = theme / "templates" / "base.html"
    template.write_text(template.read_text() + "\n", encoding="utf-8")
    assert build_fingerprint(settings) != first


def test_a_setting_that_cannot_be_saved_turns_the_cache_off_without_a_warning(site, ada, caplog):
    # An upper-case helper in the settings file is a setting to Pelican, saved with every post.
    with site.settings_file.open("a", encoding="utf-8") as settings:
        settings.write("import json as _JSON_HELPER\n")
    caplog.clear()
    with caplog.at_level(logging.INFO):
        site.build()
    assert not [r for r in caplog.records if "Could not save cache" in r.getMessage()]
    assert any("_JSON_HELPER cannot be saved" in r.getMessage() for r in caplog.records)
    assert site.page(f"posts/2026/{ada.stem}/").find("h1").get_text(strip=True) == "Warp notes"


def test_a_setting_that_cannot_be_fingerprinted_keeps_no_cache(site, ada, caplog):
    # Pickle saves a Decimal; the fingerprint has no form for it, so nothing could say what a
    # cache made now was made under.
    with site.settings_file.open("a", encoding="utf-8") as settings:
        settings.write("import decimal\nLOOM_RATIO = decimal.Decimal('1.5')\n")
    caplog.clear()
    with caplog.at_level(logging.INFO):
        site.build()
    assert any("content cache is off" in r.getMessage() for r in caplog.records)
    cache = site.root / "cache"
    assert not (cache / RECORD_NAME).exists()
    assert not (cache / "ArticlesGenerator-Readers").exists()
    assert site.page(f"posts/2026/{ada.stem}/").find("h1").get_text(strip=True) == "Warp notes"
    assert len(build(site, caplog)) == 1, "every build reads the post"
