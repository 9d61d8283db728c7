"""The render cache: a rebuild keeps the pages whose inputs did not change, and writes exactly
what a build without the cache would."""

from __future__ import annotations

import json
import logging
import re
import runpy
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from chorus.files import WriteIfChanged
from chorus.render_cache import Fingerprinter, RenderOnce, Unstable
from sites import REPO, write_site_settings

PLUGINS = runpy.run_path(str(REPO / "pelicanconf.py"))["PLUGINS"]


def tree(root: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(root)): path.read_bytes() for path in root.rglob("*") if path.is_file()
    }


def manifest(site) -> dict[str, list[str]]:
    return json.loads((site.root / "cache" / "chorus" / "render-manifest.json").read_text())[
        "pages"
    ]


def build_without_cache(site, fresh: Path, **settings: Any) -> dict[str, bytes]:
    """The same site built afresh in ``fresh``, with the render cache off (and ``settings``)."""
    shutil.copytree(site.content, fresh / "content")
    overrides = {"CACHE_CONTENT": False, "CHORUS_RENDER_CACHE": False, **site.overrides}
    write_site_settings(fresh, **overrides, **settings)
    from pelican import Pelican
    from pelican.settings import read_settings

    settings = read_settings(str(fresh / "pelicanconf.py"))
    # Absolute URLs name the site, not its directory: build both at the same SITEURL.
    Pelican(settings).run()
    return tree(fresh / "output")


def kept_and_rendered(caplog) -> tuple[int, int]:
    [line] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("render cache")]
    rendered, kept = map(int, re.findall(r"\d+", line))
    return kept, rendered


def test_a_rebuild_writes_what_a_build_without_the_cache_writes(community, tmp_path, caplog):
    site = community
    assert len(manifest(site)) > 10, "the first build recorded its pages"

    # A new post by ada and an edited original article: the other posts' pages are kept.
    ada_post = site.posts("ada")[0]
    text = ada_post.read_text().replace('content="2026-', 'content="2027-')
    text = text.replace('name="chorus_id" content="', 'name="chorus_id" content="new-')
    text = text.replace('name="slug" content="', 'name="slug" content="new-')
    text = text.replace("<title>", "<title>Newer: ")
    ada_post.with_name("a-new-post-0000beef.html").write_text(text)
    article = site.content / "articles" / "original.md"
    article.write_text(article.read_text() + "\nOne more paragraph.\n")
    with caplog.at_level(logging.INFO, logger="chorus_render_cache"):
        site.build()
    assert tree(site.output) == build_without_cache(site, tmp_path / "one")
    kept, rendered = kept_and_rendered(caplog)
    assert kept >= 3 and rendered > 0
    assert "One more paragraph." in site.page("posts/2026/an-original-article/").text

    # A member's new name reaches every page that shows members.
    bob = site.members / "bob.md"
    bob.write_text(bob.read_text().replace("name: Bob Weaver", "name: Robert Weaver"))
    site.build()
    assert tree(site.output) == build_without_cache(site, tmp_path / "two")
    assert "Robert Weaver" in site.page("members/bob/").text


def test_timeline_entries_rendered_once_are_those_rendered_for_each_page(community, tmp_path):
    """The theme renders each timeline entry once per build (``render_once``) and hands it to the
    home, category and tag pages; with relative URLs those sit at other depths. Without the
    plugin that provides it, every page renders its own: the pages must not differ."""
    site = community
    every_time = build_without_cache(
        site, tmp_path / "fresh", PLUGINS=[p for p in PLUGINS if p != "chorus_render_cache"]
    )
    assert tree(site.output) == every_time
    tag_page = next(name for name in every_time if name.startswith("tag/"))
    assert b'href="../posts/' in every_time[tag_page], "tag pages link one level up"


def test_settings_and_templates_changes_render_every_page_again(community, tmp_path):
    site = community
    site.write_settings(SITENAME="Weavers of Tomorrow")
    site.build()
    assert tree(site.output) == build_without_cache(site, tmp_path / "fresh")
    index = site.page("index.html")
    assert "Weavers of Tomorrow" in index.title.text


def test_an_edited_output_file_is_rendered_again(community):
    site = community
    page = site.output / "members" / "ada" / "index.html"
    good = page.read_bytes()
    page.write_text("<p>vandalised</p>")
    site.build()
    assert page.read_bytes() == good


def test_unchanged_files_keep_their_modification_time(community):
    site = community
    page = site.output / "members" / "ada" / "index.html"
    feed = site.output / "feeds" / "all.atom.xml"
    before = (page.stat().st_mtime_ns, feed.stat().st_mtime_ns)
    site.build()
    assert (page.stat().st_mtime_ns, feed.stat().st_mtime_ns) == before


def test_write_if_changed_replaces_only_a_different_text(tmp_path):
    path = tmp_path / "page.html"
    path.write_text("same\n")
    stamp = path.stat().st_mtime_ns
    with WriteIfChanged(path) as handle:
        handle.write("same\n")
    assert path.stat().st_mtime_ns == stamp
    with WriteIfChanged(path) as handle:
        handle.write("different\n")
    assert path.read_text() == "different\n"
    with WriteIfChanged(tmp_path / "new.html") as handle:
        handle.write("new\n")
    assert (tmp_path / "new.html").read_text() == "new\n"


class Opaque:
    pass


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ({"a": 1, "b": [1, 2]}, {"a": 1, "b": [1, 3]}),
        (
            {"when": date(2026, 1, 1)},
            {"when": date(2026, 1, 2)},
        ),
        ({"tags": {"x", "y"}}, {"tags": {"x", "z"}}),
        ("text", "text "),
    ],
)
def test_fingerprints_tell_different_values_apart(one, other):
    fingerprints = Fingerprinter()
    assert fingerprints.digest(one) != fingerprints.digest(other)
    assert Fingerprinter().digest(one) == fingerprints.digest(one)  # stable across builds


def test_functions_are_told_apart_by_their_code_and_what_they_close_over():
    def make(suffix):
        return lambda text: text + suffix

    fingerprints = Fingerprinter()
    assert fingerprints.digest([make("!")]) != fingerprints.digest([make("?")])
    assert fingerprints.digest([make("!")]) == Fingerprinter().digest([make("!")])


def test_an_object_of_unknown_kind_cannot_be_fingerprinted():
    with pytest.raises(Unstable):
        Fingerprinter().digest({"thing": Opaque()})


def test_render_once_renders_each_object_and_variant_once():
    rendered = []

    def entry(article, level):
        rendered.append((article["title"], level))
        return f"<h{level}>{article['title']}</h{level}>"

    render_once = RenderOnce()
    first, second = {"title": "One"}, {"title": "One"}  # equal, yet two articles
    for siteurl in (".", ".", ".."):
        assert render_once(entry, first, 2, varies_with=siteurl) == "<h2>One</h2>"
    render_once(entry, second, 2, varies_with=".")
    render_once(entry, first, 3, varies_with=".")
    assert rendered == [("One", 2), ("One", 2), ("One", 2), ("One", 3)]
