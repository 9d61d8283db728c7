"""`chorus members import`: feed lists of Planet Venus, rawdog, OPML and Pelican planet plugins
become member files (fixtures in tests/imports/, described in its README)."""

from __future__ import annotations

from pathlib import Path

import pytest

from chorus.fetch.parse import parse_feed
from chorus.members.registry import load_registry
from chorus.onboarding.importers import (
    Candidate,
    SourceError,
    detect_format,
    read_opml,
    read_source,
    to_new_members,
)

IMPORTS = Path(__file__).resolve().parent / "imports"
ADA = "https://ada.example/feed.atom"


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("venus-config.ini", "venus"),
        ("rawdog-config", "rawdog"),
        ("planet.opml", "opml"),
        ("pelicanconf-planet.py", "pelican"),
    ],
)
def test_the_format_is_recognised(name, kind):
    path = IMPORTS / name
    assert detect_format(path, path.read_text()) == kind


def test_planet_venus_sections_are_feeds():
    kind, candidates, skipped = read_source(IMPORTS / "venus-config.ini")
    assert kind == "venus"
    assert [c.feed for c in candidates] == [
        ADA,
        "https://ada.example/notes/rss.xml",
        "http://grace.example/blog/index.xml",
        "https://anon.example/feed",
    ]
    ada = candidates[0]
    assert (ada.name, ada.site, ada.avatar) == (
        "Ada Lovelace",
        "https://ada.example/",
        "https://ada.example/me.png",
    )
    assert candidates[2].avatar is None  # grace.png is a file of the old planet
    [face] = skipped
    assert "grace.png" in face.what and "content/images" in face.why


def test_rawdog_feed_lines_arguments_and_includes():
    kind, candidates, skipped = read_source(IMPORTS / "rawdog-config")
    assert kind == "rawdog"
    assert [(c.feed, c.name, c.site) for c in candidates] == [
        (ADA, "Ada", None),
        ("https://bob.example/rss.xml", "Bob Weaver", "https://bob.example/"),
        ("https://cy.example/atom.xml", "Cy Draft", None),
    ]
    [ftp] = skipped
    assert "ftp://files.example/feed.xml" in ftp.what and "not an http(s)" in ftp.why


def test_opml_outlines_with_a_feed():
    _, candidates, _ = read_source(IMPORTS / "planet.opml")
    assert [(c.feed, c.name, c.site) for c in candidates] == [
        (ADA, "Ada Lovelace", "https://ada.example/"),
        ("https://bob.example/rss.xml", "Bob Weaver", None),
    ]


def test_opml_with_entities_is_refused():
    bomb = '<!DOCTYPE x [<!ENTITY a "aaaa">]><opml><body><outline xmlUrl="&a;"/></body></opml>'
    with pytest.raises(SourceError, match="ENTITY"):
        read_opml(bomb)


def test_pelican_planet_feeds_are_read_without_running_the_file():
    _, candidates, skipped = read_source(IMPORTS / "pelicanconf-planet.py")
    assert [(c.name, c.feed) for c in candidates] == [
        ("Ada Lovelace", ADA),
        ("Bob Weaver", "https://bob.example/rss.xml"),
    ]
    assert "not a url" in skipped[0].what


def test_computed_planet_feeds_are_refused(tmp_path):
    settings = tmp_path / "pelicanconf.py"
    settings.write_text("FEEDS = {}\nPLANET_FEEDS = dict(FEEDS)\n")
    with pytest.raises(SourceError, match="computed"):
        read_source(settings)


def test_an_unknown_file_asks_for_the_format(tmp_path):
    path = tmp_path / "list.txt"
    path.write_text("https://ada.example/feed\n")
    with pytest.raises(SourceError, match="--format"):
        read_source(path)


def test_feeds_with_one_name_become_one_member_and_handles_are_unique():
    candidates = [
        Candidate(ADA, name="Ada Lovelace"),
        Candidate("https://ada.example/notes.xml", name="ada lovelace"),
        Candidate("https://other.example/feed", name="Ada Lovelace!"),
        Candidate("https://anon.example/feed"),
        Candidate("https://known.example/feed", name="Known"),
    ]
    members, skipped = to_new_members(
        candidates,
        taken_handles=["ada-lovelace"],
        taken_feeds=["https://known.example/feed"],
        consent="link",
    )
    assert [(m.handle, m.name, m.feeds) for m in members] == [
        ("ada-lovelace-2", "Ada Lovelace", (ADA, "https://ada.example/notes.xml")),
        ("ada-lovelace-3", "Ada Lovelace!", ("https://other.example/feed",)),
        ("anon-example", "anon.example", ("https://anon.example/feed",)),
    ]
    assert members[0].site == "https://ada.example/"  # the feed's origin, when nothing says
    assert {m.consent for m in members} == {"link"}
    assert skipped[0].why == "already a member's feed"


def test_import_writes_valid_member_files(site, cli):
    site.member("bob", feeds=["https://bob.example/rss.xml"])
    result = cli("members", "import", str(IMPORTS / "venus-config.ini"), "--no-check")
    assert "3 member file(s) written" in result.output and "(venus)" in result.output
    registry = load_registry(site.members, content_dir=site.content)
    assert registry.ok, registry.problems
    ada = registry.members["ada-lovelace"]
    assert ada.feeds == (ADA, "https://ada.example/notes/rss.xml")
    assert ada.avatar == "https://ada.example/me.png" and ada.consent == "excerpt"
    assert registry.members["anon-example"].site == "https://anon.example/"
    # Importing again changes nothing: those feeds are members' feeds now.
    again = cli("members", "import", str(IMPORTS / "venus-config.ini"), "--no-check")
    assert "0 member file(s) written" in again.output
    assert again.output.count("already a member's feed") == 4


def test_import_dry_run_writes_nothing(site, cli):
    result = cli("members", "import", str(IMPORTS / "rawdog-config"), "--no-check", "--dry-run")
    assert result.output.count("would write") == 3
    assert "3 member file(s) would be written" in result.output
    assert not list(site.members.iterdir())


def test_import_checks_feeds_and_fills_names_and_sites_from_them(site, feed_server, cli):
    atom = (
        '<feed xmlns="http://www.w3.org/2005/Atom"><title>Notes</title><id>urn:x</id>'
        '<link rel="alternate" href="https://dee.example/"/><author><name>Dee Weft</name>'
        "</author><entry><title>One</title><id>urn:1</id>"
        '<link href="https://dee.example/1"/></entry></feed>'
    )
    good = feed_server.add("/dee.xml", atom)
    gone = feed_server.url("/gone.xml")
    opml = site.root / "subscriptions.opml"
    opml.write_text(
        f'<opml version="2.0"><body><outline type="rss" xmlUrl="{good}"/>'
        f'<outline type="rss" text="Gone" xmlUrl="{gone}"/></body></opml>'
    )
    result = cli("members", "import", str(opml), "--trusted", expect=1)
    assert "HTTP 404" in result.output and "1 member file(s) written" in result.output
    registry = load_registry(site.members, content_dir=site.content)
    [dee] = registry.members.values()
    assert (dee.handle, dee.name, dee.site, dee.trusted) == (
        "dee-weft",
        "Dee Weft",
        "https://dee.example/",
        True,
    )


def test_a_feed_service_is_never_taken_for_the_members_site():
    """An OPML outline without htmlUrl, its feed on FeedBurner: the service's root is nobody's
    home page. Without the feed read, the member is left for the editor, with the reason."""
    feed = "http://feeds.feedburner.com/daringfireball"
    members, skipped = to_new_members([Candidate(feed, name="DF", where="outline 3")])
    assert members == []
    [why] = skipped
    assert why.what == f"outline 3: {feed}"
    assert "no home page" in why.why and "--check" in why.why


def test_with_the_feed_read_its_own_link_is_the_site(feed_server):
    rss = (
        "<rss version='2.0'><channel><title>DF</title><link>https://daringfireball.net/</link>"
        "<item><title>One</title><link>https://daringfireball.net/1</link></item>"
        "</channel></rss>"
    )
    feed = feed_server.add("/feedburner/df", rss)
    parsed = parse_feed(rss.encode(), feed)
    members, _ = to_new_members([Candidate(feed, name="DF")], feeds={feed: parsed})
    assert members[0].site == "https://daringfireball.net/"
