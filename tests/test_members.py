"""The members registry: each problem named with file and field; nothing written if invalid."""

from __future__ import annotations

import pytest

from chorus.members.registry import load_registry


def registry(site):
    return load_registry(site.members, content_dir=site.content, local_feeds_dir=site.local_feeds)


def test_valid_member_is_read_with_defaults(site):
    (site.content / "images").mkdir()
    (site.content / "images" / "ada.svg").write_text("<svg/>")
    site.member(
        "ada",
        name="Ada Lovelace",
        feeds="https://ada.example/feed.xml",
        avatar="images/ada.svg",
        links={"github": "https://github.com/ada", "fediverse": "@ada@social.example"},
        bio="Ada *writes*.",
    )
    found = registry(site)
    assert found.ok, found.problems
    ada = found.members["ada"]
    assert ada.name == "Ada Lovelace"
    assert ada.feeds == ("https://ada.example/feed.xml",)
    assert ada.consent == "excerpt" and ada.trusted is False
    assert ada.fediverse == "@ada@social.example"
    assert ("fediverse", "https://social.example/@ada") in ada.links
    assert ada.bio == "Ada *writes*."


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"feeds": ["https://x.example/f"], "colour": "blue"}, "colour", "unknown key"),
        ({"feeds": ["https://x.example/f"], "trustd": True}, "trustd", "did you mean 'trusted'"),
        ({"feeds": ["https://x.example/f"], "name": ""}, "name", "required"),
        ({"feeds": ["https://x.example/f"], "name": "Ada " * 31}, "name", "at most 120"),
        ({"feeds": ["https://x.example/f"], "name": "Ada\x1b[31m"}, "name", "U+001B"),
        ({"feeds": ["https://x.example/f"], "bio": "[" * 2_001}, "bio", "at most 2,000"),
        ({"feeds": ["https://x.example/f"], "site": "not a url"}, "site", "not an absolute"),
        ({"feeds": ["https://x.example/f"], "site": "javascript:alert(1)"}, "site", "not an abs"),
        ({}, "feeds", "required"),
        ({"feeds": ["ftp://x.example/f"]}, "feeds", "not an absolute http(s) feed URL"),
        ({"feeds": ["file:///etc/passwd"]}, "feeds", "not an absolute http(s) feed URL"),
        ({"feeds": ["/etc/passwd"]}, "feeds", "not an absolute http(s) feed URL"),
        ({"feeds": ["local:../../etc/passwd"]}, "feeds", "leaves"),
        ({"feeds": ["local:missing.xml"]}, "feeds", "no such file"),
        ({"feeds": ["https://x.example/f", "https://x.example/f"]}, "feeds", "listed twice"),
        ({"feeds": ["https://x.example/f"], "consent": "all"}, "consent", "link, excerpt, full"),
        ({"feeds": ["https://x.example/f"], "trusted": "yes please"}, "trusted", "true or false"),
        ({"feeds": ["https://x.example/f"], "avatar": "../../etc/passwd"}, "avatar", "no such"),
        ({"feeds": ["https://x.example/f"], "avatar": "data://x"}, "avatar", "not an absolute"),
        ({"feeds": ["https://x.example/f"], "links": {"web": "javascript:x"}}, "links.web", "not"),
        (
            {"feeds": ["https://x.example/f"], "links": {"fediverse": "ada"}},
            "links.fediverse",
            "@user@host",
        ),
        ({"feeds": ["https://x.example/f"], "handle": "Ada Lovelace"}, "handle", "not a handle"),
        ({"feeds": ["https://x.example/f"], "include_tags": {"a": 1}}, "include_tags", "list"),
    ],
)
def test_each_problem_names_file_and_field(site, fields, field, message):
    path = site.member("x", **fields)
    found = registry(site)
    assert not found.ok and "x" not in found.members
    matching = [p for p in found.problems if p.field == field and message in p.message]
    assert matching, found.problems
    assert matching[0].path == path
    assert str(matching[0]).startswith(f"{path}: {field}: ")


def test_local_feeds_refused_when_the_site_does_not_enable_them(site):
    (site.local_feeds / "f.xml").write_text("<rss/>")
    site.member("x", feeds=["local:f.xml"])
    found = load_registry(site.members, content_dir=site.content, local_feeds_dir=None)
    assert "not enabled" in found.problems[0].message


def test_duplicate_handles_are_errors(site):
    site.member("ada", feeds=["https://a.example/f"])
    site.member("ada-two", handle="ada", feeds=["https://b.example/f"])
    found = registry(site)
    assert [p.field for p in found.problems] == ["handle"]
    # "ada-two.md" sorts first, but the handle is the file named after it: a new file cannot
    # take a member's handle by its name.
    assert found.problems[0].path.name == "ada-two.md"
    assert "duplicate handle 'ada', already used by ada.md" in found.problems[0].message
    assert list(found.members) == ["ada"]
    assert found.members["ada"].source.name == "ada.md"


def test_a_feed_two_members_list_is_fetched_for_neither(site):
    site.member("ada", feeds=["https://ada.example/feed.xml", "https://ada.example/notes.xml"])
    site.member("aaa", feeds=["https://ada.example/feed.xml"])
    found = registry(site)
    problems = {(p.path.name, p.field) for p in found.problems}
    assert problems == {("ada.md", "feeds"), ("aaa.md", "feeds")}
    assert all("also listed by" in p.message for p in found.problems)
    assert found.members["ada"].feeds == ("https://ada.example/notes.xml",)
    assert found.members["aaa"].feeds == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name: Ada\n", "no front matter"),
        ("---\nname: [unclosed\n---\n", "not valid YAML"),
        ("---\n- a list\n---\n", "must be a mapping"),
    ],
)
def test_unreadable_files_are_reported(site, text, message):
    (site.members / "broken.md").write_text(text)
    found = registry(site)
    assert message in found.problems[0].message


def test_members_check_cli(site, cli):
    site.member("ada", feeds=["https://a.example/f"])
    assert "1 member file OK" in cli("members", "check").output
    site.member("bad", feeds=["gopher://b.example/f"], colour="blue")
    result = cli("members", "check", expect=1)
    assert "members/bad.md: colour: unknown key" in result.output
    assert "members/bad.md: feeds: 'gopher://b.example/f' is not an absolute" in result.output
    assert "2 problem(s)" in result.output


def test_demo_members_are_valid():
    from sites import REPO

    found = load_registry(
        REPO / "content" / "members",
        content_dir=REPO / "content",
        local_feeds_dir=REPO / "content" / "sample-feeds",
    )
    assert found.ok, found.problems
    assert len(found.members) >= 6
    assert {m.consent for m in found.members.values()} == {"link", "excerpt", "full"}
