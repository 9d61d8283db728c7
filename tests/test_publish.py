"""`chorus build --publish`: deployable output, byte-identical for the same commit."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from click.testing import CliRunner

from chorus.cli.main import main
from sites import REPO, write_site_settings

PAGEFIND_UNSTABLE = re.compile(
    r"pagefind/\d+/(filter/[\w.]+\.pf_filter|pagefind\.[\w.]+\.pf_meta|pagefind-entry\.json)"
)


def tree(root: Path) -> dict[str, str]:
    """Every file under ``root``, by relative path, with the sha256 of its bytes."""
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def demo_site(root: Path) -> Path:
    """The demo community in ``root``, with the repository's publishconf.py beside it."""
    shutil.copytree(REPO / "content", root / "content", ignore=shutil.ignore_patterns("community"))
    write_site_settings(root)
    shutil.copy(REPO / "publishconf.py", root / "publishconf.py")
    return root


def publish(root: Path, **environment: str) -> Path:
    env = {k: v for k, v in os.environ.items() if k != "CHORUS_SITEURL"}
    subprocess.run(
        [sys.executable, "-m", "chorus", "build", "--publish"],
        cwd=root,
        env={**env, **environment},
        check=True,
        capture_output=True,
    )
    return root / "output"


def test_two_builds_of_the_same_commit_are_byte_identical(tmp_path):
    """Two checkouts of one commit (the demo, fetched once) in different directories, built
    by different processes (hash seeds), time zones and file times: the same bytes."""
    first = demo_site(tmp_path / "one")
    fetched = CliRunner().invoke(
        main, ["--settings", str(first / "pelicanconf.py"), "fetch", "--no-progress"]
    )
    assert fetched.exit_code == 0, fetched.output
    second = tmp_path / "elsewhere" / "two"
    shutil.copytree(first / "content", second / "content", copy_function=shutil.copyfile)
    write_site_settings(second)
    shutil.copy(REPO / "publishconf.py", second / "publishconf.py")
    later = time.time() + 86_400 * 3
    for path in (second / "content").rglob("*"):
        os.utime(path, (later, later))

    one = tree(publish(first, PYTHONHASHSEED="1", TZ="UTC"))
    two = tree(publish(second, PYTHONHASHSEED="2", TZ="Pacific/Auckland"))
    assert len(one) > 50
    for page in ("index.html", "feeds/all.atom.xml", "feeds/all.json", "blogroll.opml"):
        assert page in one, page
    different = sorted(path for path in one.keys() | two.keys() if one.get(path) != two.get(path))
    # Pagefind writes a filter's values in the order of a Rust HashMap, seeded anew every run:
    # its filter files (and the two files naming them by hash) differ; nothing else may.
    assert [path for path in different if not PAGEFIND_UNSTABLE.fullmatch(path)] == []
    posts = [path for path in one if re.fullmatch(r"posts/\d+/[^/]+/index\.html", path)]
    fragments = [path for path in one if re.match(r"pagefind/\d+/fragment/", path)]
    assert len(fragments) > len(posts) > 10  # every post's text, and the pages'


def test_publish_build_is_deployable(tmp_path):
    root = demo_site(tmp_path / "demo")
    result = CliRunner().invoke(
        main, ["--settings", str(root / "pelicanconf.py"), "fetch", "--no-progress"]
    )
    assert result.exit_code == 0, result.output
    drafts = CliRunner().invoke(main, ["--settings", str(root / "pelicanconf.py"), "approve"])
    assert "No drafts" not in drafts.output  # the demo has a member whose posts need review
    (root / "output").mkdir()
    (root / "output" / "old-page.html").write_text("from a build before")
    output = publish(root, CHORUS_SITEURL="https://loom.example")
    assert not (output / "old-page.html").exists()  # DELETE_OUTPUT_DIRECTORY
    assert not (output / "drafts").exists()  # drafts never deploy
    index = (output / "index.html").read_text()
    assert 'href="https://loom.example/' in index and 'href="/' not in index
    feed = (output / "feeds" / "all.atom.xml").read_text()
    assert "https://loom.example/posts/" in feed
    # `chorus build` (not --publish) still shows drafts, for editors.
    subprocess.run(
        [sys.executable, "-m", "chorus", "build"], cwd=root, check=True, capture_output=True
    )
    assert list((root / "output" / "drafts").glob("*.html"))


def test_make_publish_builds_with_publishconf():
    makefile = (REPO / "Makefile").read_text()
    recipe = makefile.split("\npublish:", 1)[1].split("\n\n", 1)[0]
    assert "$(CHORUS) build --publish" in recipe
    settings = (REPO / "publishconf.py").read_text()
    assert "DELETE_OUTPUT_DIRECTORY = True" in settings and 'DRAFT_SAVE_AS = ""' in settings
