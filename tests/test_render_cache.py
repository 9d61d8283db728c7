"""The render cache: a rebuild keeps the pages whose inputs did not change, and writes exactly
what a build without the cache would."""

from __future__ import annotations

import json
import logging
import os
import re
import runpy
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from jinja2 import DictLoader, Environment

from chorus.common.files import Unchanged, WriteIfChanged
from chorus.site.render_cache import Fingerprinter, Unstable, template_inputs
from sites import REPO, write_site_settings

PLUGINS = runpy.run_path(str(REPO / "pelicanconf.py"))["PLUGINS"]


def tree(root: Path) -> dict[str, bytes]:
    """The pages and feeds the build wrote. Not Pagefind's search index: it is made afresh from
    them after every build, and names its filter files differently every run."""
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in root.rglob("*")
        if path.is_file() and path.relative_to(root).parts[0] != "pagefind"
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


def kept_and_rendered(caplog) -> tuple[int, int, int, int]:
    """Pages kept and rendered, then fragments kept and rendered, as the build logged them."""
    [line] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("render cache")]
    rendered, kept, fragments_rendered, fragments_kept = map(int, re.findall(r"\d+", line))
    return kept, rendered, fragments_kept, fragments_rendered


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
    kept, rendered, fragments_kept, fragments_rendered = kept_and_rendered(caplog)
    assert kept >= 3 and rendered > 0
    # The timeline entries of the posts that did not change are kept; the new post's is not.
    assert fragments_kept > 0 and fragments_rendered > 0
    assert "One more paragraph." in site.page("posts/2026/an-original-article/").text

    # A member's new name reaches every page that shows members.
    bob = site.members / "bob.md"
    bob.write_text(bob.read_text().replace("name: Bob Weaver", "name: Robert Weaver"))
    site.build()
    assert tree(site.output) == build_without_cache(site, tmp_path / "two")
    assert "Robert Weaver" in site.page("members/bob/").text


def test_a_build_that_keeps_every_page_keeps_their_timeline_entries_too(community, caplog):
    site = community
    with caplog.at_level(logging.INFO, logger="chorus_render_cache"):
        site.build()  # nothing changed: every page kept, no entry rendered
    kept, rendered, _, fragments_rendered = kept_and_rendered(caplog)
    assert rendered == fragments_rendered == 0 and kept > 0

    caplog.clear()
    ada_post = site.posts("ada")[0]
    text = ada_post.read_text().replace('name="chorus_id" content="', 'name="chorus_id" content="x')
    text = text.replace('name="slug" content="', 'name="slug" content="later-')
    text = text.replace("<title>", "<title>Later: ")
    ada_post.with_name("a-later-post-0000cafe.html").write_text(text)
    with caplog.at_level(logging.INFO, logger="chorus_render_cache"):
        site.build()
    _, _, fragments_kept, fragments_rendered = kept_and_rendered(caplog)
    # The lists that show the new post are rendered: their other entries are the last ones'.
    assert 0 < fragments_rendered < fragments_kept


def test_a_post_showing_a_kept_image_is_kept_as_any_other(community, tmp_path, caplog):
    """``chorus fetch`` keeps a post's images and links them with ``{static}``: such a page is
    kept like any other (all of a real blog's posts have images), and written as a build
    without the cache writes it, with the image there or gone."""
    from PIL import Image

    site = community
    image = site.content / "images" / "community" / "ab" / "loom.png"
    image.parent.mkdir(parents=True)
    Image.new("RGB", (64, 36), (90, 60, 160)).save(image)
    ada_post = site.posts("ada")[0]
    head, body = ada_post.read_text().split("</head>")
    shown = '<p><img src="{static}/images/community/ab/loom.png" alt="A loom"></p>'
    ada_post.write_text(f"{head}</head>{body.replace('</body>', shown + '</body>')}")
    with caplog.at_level(logging.INFO, logger="chorus_render_cache"):
        site.build()
        page = f"posts/2026/{ada_post.stem}/"
        img = site.page(page).find("img", alt="A loom")
        assert img["src"].endswith("images/community/ab/loom.png")
        caplog.clear()
        site.build()
    kept, rendered, _, _ = kept_and_rendered(caplog)
    assert rendered == 0 and kept > 0, "the page with the image was rendered again"
    assert tree(site.output) == build_without_cache(site, tmp_path / "kept")

    image.unlink()  # gone from the repository: whatever Pelican makes of the link, the same
    site.build()
    assert tree(site.output) == build_without_cache(site, tmp_path / "gone")


def test_timeline_entries_kept_as_fragments_are_those_each_page_would_render(community, tmp_path):
    """The theme renders each timeline entry with ``render_fragment``: once per build and kept
    between builds, for the home, category and tag pages (which relative URLs put at other
    depths). Without the plugin that provides it, every page includes its own."""
    site = community
    every_time = build_without_cache(
        site, tmp_path / "fresh", PLUGINS=[p for p in PLUGINS if p != "chorus_render_cache"]
    )
    assert tree(site.output) == every_time
    tag_page = next(name for name in every_time if name.startswith("tag/"))
    assert b'href="../posts/' in every_time[tag_page], "tag pages link one level up"


def test_an_edited_fragment_template_renders_the_pages_that_show_it_again(community, tmp_path):
    """A theme override outside the theme directory is not part of the build's fingerprint: the
    pages that render it as a fragment must notice its edit all the same."""
    site = community
    overrides = tmp_path / "overrides"
    overrides.mkdir()
    entry = overrides / "timeline_entry.html"
    theme_entry = (REPO / "theme" / "templates" / "timeline_entry.html").read_text()
    entry.write_text(theme_entry)
    site.write_settings(THEME_TEMPLATES_OVERRIDES=[str(overrides)])
    site.build()
    assert not site.page("index.html").select("article.flagged")
    entry.write_text(theme_entry.replace('class="entry h-entry', 'class="flagged entry h-entry'))
    site.build()
    assert site.page("index.html").select("article.flagged")
    assert tree(site.output) == build_without_cache(site, tmp_path / "fresh")


def test_a_fresh_checkout_keeps_what_the_restored_cache_holds(community, tmp_path, caplog):
    """In CI, each run checks the code out afresh (new modification times) and restores the
    cache directory: the theme and plugins are known by their contents, so the timeline entries
    are kept; an edit to the theme still renders everything again."""
    site = community
    theme = tmp_path / "theme"
    shutil.copytree(REPO / "theme", theme)
    site.write_settings(THEME=str(theme))
    site.build()
    shutil.rmtree(site.output)  # a fresh checkout has no output
    for path in theme.rglob("*"):
        os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    with caplog.at_level(logging.INFO, logger="chorus_render_cache"):
        site.build()
    _, _, fragments_kept, fragments_rendered = kept_and_rendered(caplog)
    assert fragments_kept > 0 and fragments_rendered == 0

    caplog.clear()
    style = theme / "static" / "css" / "style.css"
    style.write_text(style.read_text() + "\n/* edited */\n")
    with caplog.at_level(logging.INFO, logger="chorus_render_cache"):
        site.build()
    kept, _, fragments_kept, _ = kept_and_rendered(caplog)
    assert kept == fragments_kept == 0


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
    # A kept page is not compared with the file, unless more was written after it.
    with WriteIfChanged(path) as handle:
        handle.write(Unchanged("different\n"))
        handle.write("and more\n")
    assert path.read_text() == "different\nand more\n"


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


def test_a_page_reads_what_the_fragments_it_renders_read():
    templates = {
        "page.html": "{% for a in items %}"
        '{{ render_fragment("entry.html", article=a) }}'
        "{% endfor %}",
        "entry.html": "{{ article.title }} {{ SITEURL }}",
        "dynamic.html": "{{ render_fragment(name) }}",
    }
    environment = Environment(loader=DictLoader(templates))
    variables, sources = template_inputs(environment, "page.html")
    assert {"items", "SITEURL"} <= variables
    templates["entry.html"] = "{{ article.title }}!"
    assert template_inputs(Environment(loader=DictLoader(templates)), "page.html")[1] != sources
    assert template_inputs(environment, "dynamic.html") is None  # which fragment is unknown


def test_an_object_of_unknown_kind_cannot_be_fingerprinted():
    with pytest.raises(Unstable):
        Fingerprinter().digest({"thing": Opaque()})


def test_a_helper_the_settings_import_is_part_of_the_fingerprint(community, tmp_path):
    """A filter from a module beside pelicanconf.py, whose helper and module-level value
    change between two builds (each in a process of its own, as in CI, also with --publish):
    the pages that show it are rendered again."""
    import subprocess
    import sys

    site = community
    helpers = site.root / "sitehelpers.py"
    helpers.write_text(
        'SUFFIX = " (one)"\n\n\ndef decorate(text):\n    return text + SUFFIX\n\n\n'
        "def shout(text):\n    return decorate(text)\n"
    )
    overrides = tmp_path / "overrides"
    overrides.mkdir()
    entry = (REPO / "theme" / "templates" / "timeline_entry.html").read_text()
    marked = entry.replace(
        'class="entry h-entry', 'data-mark="{{ article.title|shout }}" class="entry h-entry'
    )
    assert marked != entry
    (overrides / "timeline_entry.html").write_text(marked)
    site.write_settings(THEME_TEMPLATES_OVERRIDES=[str(overrides)])
    settings = site.settings_file.read_text()
    site.settings_file.write_text(
        "import os, sys\nsys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))\n"
        + settings
        + "from sitehelpers import shout\nJINJA_FILTERS = {'shout': shout}\n"
    )
    shutil.copy(REPO / "publishconf.py", site.root / "publishconf.py")

    def build(*options: str) -> set[str]:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "chorus",
                "--settings",
                str(site.settings_file),
                "build",
                *options,
            ],
            cwd=site.root,
            check=True,
            capture_output=True,
        )
        return {a["data-mark"] for a in site.page("index.html").select("[data-mark]")}

    for options in ((), ("--publish",)):
        helpers.write_text(helpers.read_text().replace("(two)", "(one)"))
        assert all(mark.endswith("(one)") for mark in build(*options))
        helpers.write_text(helpers.read_text().replace("(one)", "(two)"))
        marks = build(*options)
        assert marks and all(mark.endswith("(two)") for mark in marks), options


def test_a_rebuild_removes_what_no_longer_exists(community, cli, tmp_path):
    """A deleted post, a removed member and an unpublished issue leave no page behind: the
    rebuilt tree is the tree of a clean build. Files no build wrote, and OUTPUT_RETENTION,
    stay."""
    from newsletter_helpers import make_issue, update_issue

    site = community
    issue = make_issue(site, cli)
    site.build()
    assert (site.output / "newsletter" / "1" / "index.html").is_file()
    [bob_post] = site.posts("bob")
    assert (site.output / "posts" / "2026" / bob_post.stem / "index.html").is_file()
    (site.output / "CNAME").write_text("loom.example\n")  # copied by hand, after a build
    bob_post.unlink()
    update_issue(issue, {"status": "draft"})
    (site.members / "cy.md").unlink()
    site.build()
    clean = build_without_cache(site, tmp_path / "clean")
    rebuilt = tree(site.output)
    assert rebuilt.pop("CNAME") == b"loom.example\n"
    assert rebuilt == clean
    assert not (site.output / "posts" / "2026" / bob_post.stem).exists()
    assert not (site.output / "members" / "cy").exists()
    assert not (site.output / "newsletter" / "1").exists()


def test_pelican_and_chorus_build_keep_each_others_pages(community):
    """The console scripts that start a build are not part of what it follows from: a build
    by `chorus build` (the Makefile's, the workflows') after one by `pelican` (what a user who
    knows Pelican runs) keeps every page, and the other way round."""
    import subprocess
    import sys

    scripts = Path(sys.executable).parent
    commands = {
        "pelican": [str(scripts / "pelican"), "-s", str(community.settings_file), "-v"],
        "chorus": [str(scripts / "chorus"), "-v", "-s", str(community.settings_file), "build"],
    }

    def rendered(command: str) -> int:
        done = subprocess.run(
            commands[command], cwd=community.root, capture_output=True, text=True, check=True
        )
        [found] = re.findall(r"render cache: (\d+) pages rendered", done.stdout + done.stderr)
        return int(found)

    rendered("pelican")
    assert rendered("chorus") == 0
    assert rendered("pelican") == 0
