"""Member files and newsletter issue files are read in bounded time and memory.

A member file comes in a pull request from anyone; an issue file is edited by hand. Neither may
cost the build, the fetch or a send more than its size: aliases (the YAML "billion laughs"),
nesting too deep for the constructor, and oversized files are refused, naming the file and why,
while every other file is read as usual.
"""

from __future__ import annotations

import time

import pytest

from chorus.members.registry import MAX_MEMBER_FILE_BYTES, load_registry
from chorus.newsletter.issue import MAX_ISSUE_FILE_BYTES, read_issue, update_issue


def alias_bomb(key: str, levels: int = 9) -> str:
    """YAML under ``key`` that expands to 9**levels strings once walked."""
    lines = [f"{key}:", '  l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, levels):
        below = ", ".join([f"*l{level - 1}"] * 9)
        lines.append(f"  l{level}: &l{level} [{below}]")
    return "\n".join(lines) + "\n"


def member_text(extra: str) -> str:
    return (
        "---\nname: Bomb\nsite: https://bomb.example/\nfeeds: [https://bomb.example/feed]\n"
        f"{extra}---\nA bio.\n"
    )


def registry(site):
    return load_registry(site.members, content_dir=site.content, local_feeds_dir=site.local_feeds)


@pytest.mark.parametrize("key", ["links", "include_tags", "bio_extra"])
def test_an_alias_bomb_in_a_member_file_is_refused_quickly(site, key):
    site.member("ada", feeds=["https://ada.example/feed"])
    bomb = site.members / "bomb.md"
    bomb.write_text(member_text(alias_bomb(key)), encoding="utf-8")

    started = time.process_time()
    found = registry(site)
    assert time.process_time() - started < 2

    assert list(found.members) == ["ada"], "the other members are read as usual"
    [problem] = found.problems
    assert problem.path == bomb
    assert "aliases" in problem.message and "*l0" in problem.message
    assert "line 6" in problem.message


def test_a_merge_key_is_an_alias_too(site):
    text = member_text("base: &base {github: https://github.com/b}\nlinks:\n  <<: *base\n")
    (site.members / "merge.md").write_text(text, encoding="utf-8")
    [problem] = registry(site).problems
    assert "aliases" in problem.message


def test_nesting_too_deep_is_refused(site):
    text = member_text("links: " + "[" * 200 + "]" * 200 + "\n")
    (site.members / "deep.md").write_text(text, encoding="utf-8")
    [problem] = registry(site).problems
    assert "nested more than" in problem.message


def test_an_oversized_member_file_is_refused_naming_its_size(site):
    site.member("ada", feeds=["https://ada.example/feed"])
    huge = site.members / "huge.md"
    huge.write_text(member_text("") + "word " * (MAX_MEMBER_FILE_BYTES // 4), encoding="utf-8")
    found = registry(site)
    assert list(found.members) == ["ada"]
    [problem] = found.problems
    assert problem.path == huge
    assert "KiB, over the 64 KiB" in problem.message


def test_members_check_names_the_refused_file(site, cli):
    (site.members / "bomb.md").write_text(member_text(alias_bomb("links")), encoding="utf-8")
    result = cli("members", "check", expect=1)
    assert "members/bomb.md: front matter refused: line 6: YAML aliases" in result.output


def issue_text(extra: str) -> str:
    return f"---\nnumber: 1\nsubject: One\nstart: 2026-01-01\nend: 2026-01-07\n{extra}---\nHello.\n"


def test_an_alias_bomb_in_an_issue_file_is_refused(tmp_path):
    path = tmp_path / "0001.md"
    path.write_text(issue_text(alias_bomb("items")), encoding="utf-8")
    started = time.process_time()
    issue, problems = read_issue(path)
    assert time.process_time() - started < 2
    assert issue is None
    assert any("aliases" in problem.message and problem.path == path for problem in problems)


def test_an_oversized_issue_file_is_refused_and_never_rewritten(tmp_path):
    path = tmp_path / "0001.md"
    path.write_text(issue_text("") + "x" * (MAX_ISSUE_FILE_BYTES + 1), encoding="utf-8")
    issue, problems = read_issue(path)
    assert issue is None
    assert "over the 1,024 KiB" in problems[0].message
    with pytest.raises(ValueError, match="over the 1,024 KiB"):
        update_issue(path, {"subject": "Two"})
