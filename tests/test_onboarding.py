"""`chorus members add` and `chorus members preview`, against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from chorus.cli import members as cli_members
from chorus.common.frontmatter import FRONT_MATTER
from chorus.members.registry import read_member

RSS = """<?xml version="1.0"?>
<rss version="2.0"><channel><title>{title}</title><link>{site}</link>
<item><title>Looms, warps and wefts</title><link>{site}posts/looms/</link>
<guid>{site}posts/looms/</guid><pubDate>Mon, 02 Nov 2026 10:00:00 GMT</pubDate>
<category>looms</category>
<description>&lt;p&gt;{text}&lt;/p&gt;</description></item>
<item><title>My holidays</title><link>{site}posts/holidays/</link>
<guid>{site}posts/holidays/</guid><pubDate>Sun, 01 Nov 2026 10:00:00 GMT</pubDate>
<category>personal</category>
<description>&lt;p&gt;Sun.&lt;/p&gt;</description></item>
</channel></rss>"""
LONG = "Warp and weft. " * 100


def feed(server, path="/feed.xml", site="https://ada.example/", title="Ada's notebook"):
    return server.add(path, RSS.format(site=site, title=title, text=LONG))


def front_matter(path):
    return yaml.safe_load(FRONT_MATTER.match(path.read_text())["yaml"])


def test_add_writes_a_valid_member_file_and_previews_the_first_fetch(site, feed_server, cli):
    url = feed(feed_server)
    result = cli(
        "members",
        "add",
        "ada",
        "--name",
        "Ada Lovelace",
        "--site",
        "https://ada.example/",
        "--feed",
        url,
        "--consent",
        "excerpt",
        "--link",
        "github=https://github.com/ada",
        "--link",
        "fediverse=@ada@social.example",
        "--exclude-tag",
        "personal",
        "--joined",
        "2026-11-20",
        "--bio",
        "Ada *weaves*.",
    )
    path = site.members / "ada.md"
    member, problems = read_member(path, content_dir=site.content)
    assert problems == [] and member is not None
    assert member.name == "Ada Lovelace" and member.feeds == (url,)
    assert member.fediverse == "@ada@social.example" and member.bio == "Ada *weaves*."
    assert str(member.joined) == "2026-11-20" and not member.trusted
    assert "  - " + url in path.read_text()  # lists indented as docs/members.md shows them
    output = result.output
    assert "Ada's notebook" in output and "2 entries" in output
    assert "1 draft, 1 filtered out" in output
    assert "Looms, warps and wefts" in output and "399 characters" in output
    assert "drafts until approved" in output
    # A preview writes no post and no fetch state.
    assert not list(site.community.rglob("*.html"))
    assert not (site.community / "fetch-state.json").exists()
    assert len(feed_server.hits("/feed.xml")) == 1
    cli("members", "check")


def test_add_refuses_an_unusable_feed_and_writes_nothing(site, feed_server, cli):
    missing = feed_server.url("/gone.xml")
    result = cli(
        "members", "add", "bob", "--name", "Bob", "--site", "https://b.example/", "--feed", missing,
        expect=1,
    )  # fmt: skip
    assert "HTTP 404" in result.output and "Nothing was written" in result.output
    assert not (site.members / "bob.md").exists()
    html = feed_server.add("/page.html", "<html><body>not a feed</body></html>")
    result = cli(
        "members", "add", "bob", "--name", "Bob", "--site", "https://b.example/", "--feed", html,
        expect=1,
    )  # fmt: skip
    assert "not a readable feed" in result.output
    cli(
        "members", "add", "bob", "--name", "Bob", "--site", "https://b.example/", "--feed", html,
        "--no-check",
    )  # fmt: skip
    assert (site.members / "bob.md").is_file()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--site", "ftp://ada.example/"], "site: 'ftp://ada.example/' is not an absolute"),
        (["--avatar", "images/nope.png"], "avatar: 'images/nope.png': no such file"),
        (["--link", "github=not a url"], "links.github"),
    ],
)
def test_add_refuses_an_invalid_file_and_writes_nothing(site, cli, arguments, message):
    base = {"--name": "Ada", "--site": "https://ada.example/", "--feed": "https://a.example/f"}
    for option, value in zip(arguments[::2], arguments[1::2], strict=True):
        base[option] = value
    flat = [word for pair in base.items() for word in pair]
    result = cli("members", "add", "ada", *flat, "--no-check", expect=1)
    assert message in result.output and "Nothing was written" in result.output
    assert not (site.members / "ada.md").exists()


def test_add_refuses_a_bad_handle_a_taken_handle_and_a_taken_feed(site, cli):
    site.member("ada", feeds=["https://ada.example/feed.xml"])
    site.member("grace", handle="gh", feeds=["https://grace.example/feed.xml"])
    options = ["--name", "X", "--site", "https://x.example/", "--no-check"]
    bad = cli("members", "add", "Ada!", *options, "--feed", "https://x.example/f", expect=1)
    assert "is not a handle" in bad.output
    exists = cli("members", "add", "ada", *options, "--feed", "https://x.example/f", expect=1)
    assert "exists already" in exists.output
    taken = cli("members", "add", "gh", *options, "--feed", "https://x.example/f", expect=1)
    assert "'gh' is taken" in taken.output
    feed = cli("members", "add", "x", *options, "--feed", "https://ada.example/feed.xml", expect=1)
    assert "already ada's feed" in feed.output
    assert sorted(p.name for p in site.members.iterdir()) == ["ada.md", "grace.md"]


def test_add_finds_the_feed_from_the_home_page(site, feed_server, cli):
    home = feed_server.url("/")
    url = feed(feed_server, "/blog/atom.xml", site=home)
    feed_server.add(
        "/",
        '<html><head><link rel="alternate" type="application/rss+xml" href="blog/atom.xml">'
        '<link rel="alternate" type="application/atom+xml" href="/comments.xml">'
        "</head><body>Hello</body></html>",
        headers={"Content-Type": "text/html"},
    )
    result = cli("members", "add", "bea", "--name", "Bea", "--site", home, "--trusted")
    assert f"Found the feed {url}" in result.output
    assert "also linked there" in result.output and "comments.xml" in result.output
    assert front_matter(site.members / "bea.md")["feeds"] == [url]
    assert "2 published" in result.output


def test_add_without_a_feed_and_without_one_on_the_home_page_says_what_to_give(
    site, feed_server, cli
):
    home = feed_server.add("/", "<html>no feeds here</html>", headers={"Content-Type": "text/html"})
    result = cli(
        "members", "add", "bea", "--name", "Bea", "--site", home, "--no-check", expect=2,
    )  # fmt: skip
    assert f"no feed found on {home}" in result.output
    assert "--feed URL" in result.output


def test_add_finds_the_feed_from_the_home_page_without_the_check(site, feed_server, cli):
    """Discovery does not depend on --check: --no-check only skips the preview fetch."""
    home = feed_server.url("/")
    url = feed(feed_server, "/blog/atom.xml", site=home)
    feed_server.add(
        "/",
        '<html><head><link rel="alternate" type="application/atom+xml" href="blog/atom.xml">'
        "</head></html>",
        headers={"Content-Type": "text/html"},
    )
    result = cli("members", "add", "bea", "--name", "Bea", "--site", home, "--no-check")
    assert f"Found the feed {url}" in result.output
    assert front_matter(site.members / "bea.md")["feeds"] == [url]
    assert feed_server.hits("/blog/atom.xml") == []  # not fetched: no check
    help_text = " ".join(cli("members", "add", "--help").output.split())
    assert "found from the home page" in help_text and "with or without --check" in help_text


def test_add_asks_for_what_is_missing_at_a_terminal(site, feed_server, cli, monkeypatch):
    monkeypatch.setattr(cli_members, "interactive", lambda: True)
    url = feed(feed_server)
    feed_server.add("/", "<html>no feeds here</html>", headers={"Content-Type": "text/html"})
    from click.testing import CliRunner

    from chorus.cli.main import main

    result = CliRunner().invoke(
        main,
        ["--settings", str(site.settings_file), "members", "add", "ada"],
        input=f"Ada Lovelace\n{feed_server.url('/')}\n{url}\n",
    )
    assert result.exit_code == 0, result.output
    assert "no feed found" in result.output
    data = front_matter(site.members / "ada.md")
    assert data["name"] == "Ada Lovelace" and data["feeds"] == [url]


def test_preview_checks_files_and_their_feeds(site, feed_server, cli):
    good = site.member("ada", feeds=[feed(feed_server)], consent="link", trusted=True)
    result = cli("members", "preview", str(good))
    assert "title, date and link only" in result.output
    assert "2 published" in result.output and "title and link" in result.output
    assert "1 member(s) checked" in result.output

    broken = site.member("bob", feeds=[feed_server.url("/missing.xml")])
    invalid = site.member("cy", feeds=["not a url"])
    result = cli("members", "preview", str(good), str(broken), str(invalid), expect=1)
    assert "cy.md: feeds: 'not a url' is not an absolute" in result.output
    assert "HTTP 404" in result.output
    assert "1 problem(s) in member files, 1 member(s) with a feed" in result.output


def test_preview_of_every_member_with_no_files(site, feed_server, cli):
    site.member("ada", feeds=[feed(feed_server)])
    site.member("bob", feeds=[feed(feed_server, "/b.xml", site="https://bob.example/")])
    result = cli("members", "preview", "--limit", "1")
    assert result.output.count("... and 1 more") == 2
    assert "2 member(s) checked" in result.output


def test_preview_shows_what_is_on_the_site_already(site, feed_server, cli):
    url = feed(feed_server)
    site.member("ada", feeds=[url], trusted=True)
    cli("fetch")
    copycat = site.member("bob", feeds=[url.replace("feed.xml", "copy.xml")])
    feed_server.add("/copy.xml", RSS.format(site="https://ada.example/", title="t", text="x"))
    result = cli("members", "preview", str(site.members / "ada.md"), str(copycat))
    assert "2 already here" in result.output
    assert "2 duplicate" in result.output and "already on the site from ada" in result.output


def test_preview_flags_a_feed_listed_by_another_member(site, feed_server, cli):
    url = feed(feed_server)
    site.member("ada", feeds=[url])
    twin = site.member("bob", feeds=[url])
    result = cli("members", "preview", str(twin), expect=1)
    assert f"{url} is also listed by ada.md" in " ".join(result.output.split())


def test_approve_paths_lists_drafts_for_scripts(site, feed_server, cli):
    site.member("ada", feeds=[feed(feed_server)])
    cli("fetch")
    lines = cli("approve", "--paths").output.splitlines()
    assert sorted(Path(line).resolve() for line in lines) == [
        path.resolve() for path in site.posts("ada")
    ]
    cli("approve", "--paths", "--all", expect=2)
