"""`chorus init`: a new site from the packaged template, built for real with Pelican."""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from pelican import Pelican
from pelican.settings import read_settings

from chorus import __version__
from chorus.cli import init as cli_site
from chorus.cli.main import main
from chorus.onboarding.scaffold import (
    ScaffoldError,
    SiteAnswers,
    create_site,
    installed_requirement,
    requirement_for,
    template_files,
)

ANSWERS = [
    "--name",
    "The Knitting Circle",
    "--url",
    "https://knit.example",
    "--editor",
    "Ana Purl",
    "--contact",
    "editors@knit.example",
]


def init(*args: str, expect: int = 0, input: str | None = None) -> str:
    result = CliRunner().invoke(main, ["init", *args], input=input)
    assert result.exit_code == expect, result.output
    return result.output


def build(root: Path, settings: str = "pelicanconf.py") -> Path:
    Pelican(read_settings(str(root / settings))).run()
    return root / "output"


def test_the_template_ships_every_part_of_a_site():
    paths = {str(path) for path, _ in template_files()}
    assert {
        "pelicanconf.py",
        "publishconf.py",
        "Makefile",
        "requirements.txt",
        "README.md",
        ".gitignore",
        "content/members/example.md",
        "content/articles/welcome.md",
        "content/pages/about.md",
        ".github/workflows/fetch.yml",
        ".github/workflows/deploy.yml",
        ".github/workflows/newsletter.yml",
        ".github/workflows/members.yml",
    } <= paths
    assert not [path for path in paths if path.endswith(".jinja") or "dot-" in path]


def test_init_writes_a_site_that_builds_without_warnings(tmp_path, caplog, monkeypatch):
    root = tmp_path / "knit"
    output = init(str(root), *ANSWERS, "--description", "Purl, plain and patterns")
    assert "created" in output and "chorus fetch" in output
    settings = read_settings(str(root / "pelicanconf.py"))
    assert settings["SITENAME"] == "The Knitting Circle"
    assert settings["SITESUBTITLE"] == "Purl, plain and patterns"
    assert settings["AUTHOR"] == "Ana Purl"
    assert settings["CHORUS_NEWSLETTER_REPLY_TO"] == "editors@knit.example"
    # The installed theme and plugins, not this repository's paths.
    assert not settings.get("PLUGIN_PATHS")
    assert Path(settings["THEME"], "templates", "article.html").is_file()
    assert "editors@knit.example" in (root / "content/pages/about.md").read_text()

    monkeypatch.chdir(root)
    fetched = CliRunner().invoke(main, ["fetch", "--no-progress"])
    assert fetched.exit_code == 0, fetched.output
    assert len(list((root / "content/community/example").glob("*.html"))) == 2
    with caplog.at_level(logging.WARNING):
        out = build(root)
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    for page in (
        "index.html",
        "about/index.html",
        "members/index.html",
        "members/example/index.html",
        "blogroll/index.html",
        "search/index.html",
        "404.html",
        "feeds/all.atom.xml",
    ):
        assert (out / page).is_file(), page
    [welcome] = list((out / "posts").glob("*/welcome/index.html"))
    assert "Welcome to The Knitting Circle" in welcome.read_text()
    curated = (out / "members/example/index.html").read_text()
    assert "Why I write in public" in curated and "Example Member" in curated


def test_the_new_sites_publish_build_has_absolute_urls_and_no_drafts(tmp_path, monkeypatch):
    root = tmp_path / "knit"
    init(str(root), *ANSWERS)
    example = root / "content/members/example.md"
    example.write_text(example.read_text().replace("trusted: true", "trusted: false"))
    monkeypatch.chdir(root)
    assert CliRunner().invoke(main, ["fetch", "--no-progress"]).exit_code == 0
    assert "2 drafts waiting" in CliRunner().invoke(main, ["approve"]).output
    (root / "output").mkdir()
    (root / "output/stale.html").write_text("from an earlier build")
    monkeypatch.setenv("CHORUS_SITEURL", "")  # an empty variable does not blank SITEURL
    out = build(root, "publishconf.py")
    assert not (out / "drafts").exists()
    assert not (out / "stale.html").exists()  # DELETE_OUTPUT_DIRECTORY
    assert 'href="https://knit.example/about/"' in (out / "index.html").read_text()
    monkeypatch.setenv("CHORUS_SITEURL", "https://preview.knit.example")
    out = build(root, "publishconf.py")
    assert "https://preview.knit.example/about/" in (out / "index.html").read_text()


def test_init_refuses_a_directory_that_is_not_empty(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    output = init(str(tmp_path), *ANSWERS, expect=2)
    assert "is not empty" in output and "--force" in output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
    init(str(tmp_path), *ANSWERS, "--force")
    assert (tmp_path / "notes.txt").read_text() == "mine"
    assert (tmp_path / "pelicanconf.py").is_file()


def test_init_without_a_terminal_names_the_missing_options(tmp_path):
    output = init(str(tmp_path / "site"), "--name", "Knit", expect=2)
    assert "missing --url, --editor, --contact" in output
    assert not (tmp_path / "site").exists()


def test_init_asks_for_what_is_missing_and_asks_again_after_a_bad_answer(tmp_path, monkeypatch):
    monkeypatch.setattr(cli_site, "interactive", lambda: True)
    answers = "The Knitting Circle\nnot a url\nhttps://knit.example/\nAna Purl\nhttps://knit.example/contact\n"
    output = init(str(tmp_path / "site"), input=answers)
    assert "is not the site's address" in output
    settings = read_settings(str(tmp_path / "site/pelicanconf.py"))
    assert settings["SITENAME"] == "The Knitting Circle"
    # A contact URL is not a reply-to address.
    assert "CHORUS_NEWSLETTER_REPLY_TO" not in settings
    assert "https://knit.example" in (tmp_path / "site/publishconf.py").read_text()


def test_no_input_never_asks(tmp_path, monkeypatch):
    monkeypatch.setattr(cli_site, "interactive", lambda: True)
    output = init(str(tmp_path / "site"), "--no-input", expect=2)
    assert "missing --name, --url, --editor, --contact" in output


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("url", "ftp://knit.example", "is not the site's address"),
        ("url", "https://knit.example/?page=1", "is not the site's address"),
        ("contact", "the editors", "is not a contact"),
        ("name", "Two\nlines", "must fit on one line"),
        ("editor", "  ", "is empty"),
    ],
)
def test_bad_answers_are_refused_with_the_reason(tmp_path, field, value, message):
    answers = {"name": "Knit", "url": "https://knit.example", "editor": "Ana", "contact": "a@b.c"}
    answers[field] = value
    with pytest.raises(ScaffoldError, match=message):
        create_site(tmp_path / "site", SiteAnswers(**answers))
    assert not (tmp_path / "site").exists()


def test_values_are_written_as_python_literals(tmp_path):
    name = 'Quotes "and" \\ backslashes, and ünïcode'
    answers = SiteAnswers(name=name, url="https://q.example/", editor="Zoë", contact="z@q.example")
    create_site(tmp_path, answers, today=date(2026, 3, 4))
    settings = read_settings(str(tmp_path / "pelicanconf.py"))
    assert settings["SITENAME"] == name
    assert answers.url == "https://q.example"  # SITEURL has no trailing slash
    assert "Date: 2026-03-04" in (tmp_path / "content/articles/welcome.md").read_text()
    assert "joined: 2026-03-04" in (tmp_path / "content/members/example.md").read_text()


def test_requirement_line_says_how_ci_installs_chorus(tmp_path):
    spec = "pelican-chorus @ git+https://git.example/chorus.git@v0.1.0"
    output = init(str(tmp_path), *ANSWERS, "--requirement", spec)
    lines = (tmp_path / "requirements.txt").read_text().splitlines()
    assert spec in lines
    assert not any("this machine only" in line for line in lines)
    assert "note" not in output


COMMIT = "9f1c2d3e4b5a69788796a5b4c3d2e1f00f1e2d3c"


@pytest.mark.parametrize(
    ("direct_url", "line", "local"),
    [
        (None, "pelican-chorus==1.2.0", False),  # from an index: no direct_url.json
        (
            {
                "url": "https://git.example/loom/chorus.git",
                "vcs_info": {"vcs": "git", "commit_id": COMMIT, "requested_revision": "main"},
            },
            f"pelican-chorus @ git+https://git.example/loom/chorus.git@{COMMIT}",
            False,
        ),
        (
            {
                "url": "https://git.example/mono.git",
                "vcs_info": {"vcs": "git", "commit_id": COMMIT},
                "subdirectory": "chorus",
            },
            f"pelican-chorus @ git+https://git.example/mono.git@{COMMIT}#subdirectory=chorus",
            False,
        ),
        (
            {
                "url": "https://files.example/pelican_chorus-1.2.0-py3-none-any.whl",
                "archive_info": {"hashes": {"sha256": "ab" * 32}},
            },
            "pelican-chorus @ https://files.example/pelican_chorus-1.2.0-py3-none-any.whl",
            False,
        ),
        (
            {"url": "file:///home/ana/pelican_chorus-1.2.0-py3-none-any.whl", "archive_info": {}},
            "pelican-chorus @ file:///home/ana/pelican_chorus-1.2.0-py3-none-any.whl",
            True,
        ),
        (
            {"url": "file:///home/ana/chorus", "dir_info": {}},
            "pelican-chorus @ file:///home/ana/chorus",
            True,
        ),
        (
            {"url": "file:///home/ana/chorus", "dir_info": {"editable": True}},
            "--editable file:///home/ana/chorus",
            True,
        ),
    ],
    ids=["index", "git", "git-subdirectory", "web-archive", "local-wheel", "local-dir", "editable"],
)
def test_the_requirement_installs_the_chorus_that_ran(direct_url, line, local):
    requirement = requirement_for("1.2.0", direct_url)
    assert requirement.line == line
    assert bool(requirement.note) == local
    if local:
        # Says why, and what to write instead.
        assert "this machine only" in requirement.note
        assert "pelican-chorus==1.2.0" in requirement.note and "--requirement" in requirement.note


def test_init_from_this_checkout_writes_a_line_that_works_here_and_says_so(tmp_path):
    """The test environment installs this checkout editable: the line points at it."""
    output = init(str(tmp_path), *ANSWERS)
    text = (tmp_path / "requirements.txt").read_text()
    expected = installed_requirement()
    assert expected.line.startswith("--editable file://")
    assert text.splitlines()[-1] == expected.line
    assert "this machine only" in " ".join(text.replace("#", " ").split())
    assert f"pelican-chorus=={__version__}" in text
    assert "this machine only" in " ".join(output.split())
