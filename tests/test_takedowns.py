"""Leaving and takedowns, and moderation that sticks: the real CLI, real fetches and builds,
and the output read back as a reader (and a crawler, and a feed reader) would."""

from __future__ import annotations

import email
import email.policy
import gzip
import re
from pathlib import Path
from xml.etree import ElementTree

import pytest

from chorus.members.takedowns import TakedownsError, load_takedowns
from chorus.newsletter.issue import read_issue, update_issue
from newsletter_helpers import make_issue, publish


def rss(*slugs: str, handle: str = "grace") -> str:
    items = "".join(
        f"<item><title>{slug.title()} post</title>"
        f"<link>https://{handle}.example/{slug}/</link>"
        f"<guid>https://{handle}.example/{slug}/</guid>"
        f"<pubDate>Mon, 0{index + 1} Nov 2026 10:00:00 GMT</pubDate>"
        f"<category>looms</category>"
        f"<description>&lt;p&gt;Words of {handle} about {slug}, only here.&lt;/p&gt;"
        f'&lt;a href="https://target.example/{slug}"&gt;a target&lt;/a&gt;</description></item>'
        for index, slug in enumerate(slugs)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{handle}</title><link>https://{handle}.example/</link>{items}</channel></rss>"
    )


def member(site, handle: str, *slugs: str, **fields) -> None:
    feed = site.local_feed(f"{handle}.xml", rss(*slugs, handle=handle))
    site.member(handle, feeds=[feed], consent="full", **fields)


def every_output_text(output: Path) -> str:
    return "\n".join(
        path.read_text(encoding="utf-8", errors="replace")
        for path in sorted(output.rglob("*"))
        if path.is_file() and path.suffix in (".html", ".xml", ".json", ".opml")
    )


def test_a_deleted_draft_comes_back_but_a_rejected_one_never(site, cli):
    member(site, "grace", "one", "two")
    cli("fetch")
    drafts = site.posts("grace")
    assert len(drafts) == 2
    # Deleting a draft is not enough: the next fetch that reads the feed writes it again.
    first = next(path for path in drafts if "one-post" in path.name)
    first.unlink()
    member(site, "grace", "one", "two", "three")
    cli("fetch")
    assert first.exists()

    rejected = cli("reject", str(first))
    assert "rejected" in rejected.output
    assert not first.exists()
    record = load_takedowns(site.content / "takedowns.yml")
    assert [(e.member, e.id, e.kind) for e in record.entries] == [
        ("grace", "https://grace.example/one/", "rejected")
    ]
    member(site, "grace", "one", "two", "three", "four")
    report = cli("fetch").output
    assert not first.exists()
    assert len(site.posts("grace")) == 3  # two, three, four
    assert re.search(r"kept out.*grace: 1 rejected", report)
    listed = cli("approve").output
    assert "Rejected, kept out of every fetch: grace 1" in listed

    cli("reject", "grace")
    assert site.posts("grace") == []
    member(site, "grace", "one", "two", "three", "four", "five")
    cli("fetch")
    assert [p.name.split("-post")[0] for p in site.posts("grace")] == ["five"]
    assert "grace 4" in cli("approve").output


def test_reject_needs_targets_and_names_what_matches_nothing(site, cli):
    member(site, "grace", "one")
    cli("fetch")
    assert "--all" in cli("reject", expect=2).output
    result = cli("reject", "nobody", expect=1)
    assert "no draft matches nobody" in result.output
    cli("reject", "--all")
    assert site.posts("grace") == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "- member: ada\n  id: x\n  original_url: https://a.example/x\n"
            "  date: 2026-12-01\n  kind: gone\n",
            "entry 1: kind 'gone'",
        ),
        ("- &a {member: ada}\n- *a\n", "aliases"),
        ("member: ada\n", "must be a list"),
        (
            "- member: ada\n  id: x\n  original_url: https://a.example/x\n"
            "  date: 2026-12-01\n  kind: removed\n",
            "url: required",
        ),
        (
            "- member: ada\n  id: x\n  original_url: https://a.example/x\n  colour: red\n",
            "unknown key 'colour'",
        ),
    ],
)
def test_a_bad_takedowns_file_is_refused_naming_it(site, cli, text, message):
    member(site, "grace", "one")
    path = site.content / "takedowns.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(TakedownsError, match=message) as raised:
        load_takedowns(path)
    assert str(path) in str(raised.value)
    result = cli("fetch", expect=1)
    assert "takedowns.yml" in result.output and "nothing was fetched" in result.output
    assert site.posts("grace") == []
    # Nor does the build go on without it: it would put back what was taken down.
    with pytest.raises(RuntimeError, match=re.escape(str(path))):
        site.build()


def test_an_oversized_takedowns_file_is_refused(site):
    path = site.content / "takedowns.yml"
    path.write_text("# padding\n" * 500_000, encoding="utf-8")
    with pytest.raises(TakedownsError, match="over the"):
        load_takedowns(path)


def removed_everywhere(site, output: Path, slug: str, url: str) -> None:
    """The post is nowhere but its small page, which says it was removed and links home."""
    page = site.page(url)
    assert "removed at its author's request" in page.get_text()
    assert page.find("meta", attrs={"name": "robots"})["content"] == "noindex"
    original = f"https://grace.example/{slug}/"
    assert [a["href"] for a in page.find_all("a") if "grace.example" in a["href"]] == [original]
    (output / url / "index.html").unlink()
    text = every_output_text(output)
    assert f"about {slug}, only here" not in text
    assert f"{slug.title()} post" not in text
    assert original not in text
    assert url not in text
    # Pagefind's index of the pages (gzipped fragments, one a page): the post is in none.
    fragments = (output / "pagefind").glob("*/fragment/*.pf_fragment")
    indexed = [gzip.decompress(fragment.read_bytes()).decode() for fragment in fragments]
    assert indexed and not any(url in page or original in page for page in indexed)
    for feed in ("feeds/all.atom.xml", "members/grace/feed.atom.xml", "feeds/tag/looms.atom.xml"):
        if (output / feed).exists():  # a member who left has no page and no feed
            ElementTree.parse(output / feed)  # still well-formed


def test_chorus_remove_takes_one_post_down_for_good(site, cli):
    member(site, "grace", "one", "two", trusted=True)
    cli("fetch")
    output = site.build()
    url = f"posts/2026/{site.posts('grace')[0].stem}/"
    assert "about one, only here" in (output / url / "index.html").read_text(encoding="utf-8")

    result = cli("remove", "https://grace.example/one/")
    assert "removed" in result.output and url in result.output
    assert "git add -A" in result.output and "git commit" in result.output
    assert len(site.posts("grace")) == 1
    entry = load_takedowns(site.content / "takedowns.yml").entries[0]
    assert (entry.kind, entry.url, entry.original_url) == (
        "removed",
        url,
        "https://grace.example/one/",
    )

    # Still in the feed, and the feed changed: still not back.
    member(site, "grace", "one", "two", "three", trusted=True)
    report = cli("fetch").output
    assert re.search(r"kept out.*grace: 0 rejected, 1 taken down", report)
    assert len(site.posts("grace")) == 2
    output = site.build()
    removed_everywhere(site, output, "one", url)
    assert "about two, only here" in every_output_text(output)


def test_chorus_remove_takes_a_file_or_our_address_and_names_what_it_cannot_find(site, cli):
    member(site, "grace", "one", "two", "three", trusted=True)
    cli("fetch")
    one, three, two = site.posts("grace")
    cli("remove", str(two))
    cli("remove", f"http://127.0.0.1:8000/posts/2026/{three.stem}/")
    assert site.posts("grace") == [one]
    result = cli("remove", "https://grace.example/nothing/", expect=1)
    assert "no curated post is at https://grace.example/nothing/" in result.output
    urls = [entry.url for entry in load_takedowns(site.content / "takedowns.yml").entries]
    assert urls == [f"posts/2026/{two.stem}/", f"posts/2026/{three.stem}/"]


def test_a_post_file_put_back_after_its_takedown_stays_off_the_site(site, cli):
    member(site, "grace", "one", "two", trusted=True)
    cli("fetch")
    path = site.posts("grace")[0]
    kept = path.read_bytes()
    cli("remove", str(path))
    path.write_bytes(kept)  # a merge that brought the file back, say
    output = site.build()
    removed_everywhere(site, output, "one", f"posts/2026/{path.stem}/")


def two_members(site, cli) -> Path:
    member(site, "grace", "one", "two", trusted=True)
    member(site, "ada", "three", trusted=True)
    cli("fetch")
    return site.build()


def test_members_remove_asks_for_a_choice_and_refuses_without_one(site, cli):
    two_members(site, cli)
    result = cli("members", "remove", "grace", expect=2)
    assert "--keep-links" in result.output and "--remove-posts" in result.output
    assert "grace's 2 posts" in result.output
    assert (site.members / "grace.md").exists()
    assert "no member with handle nobody" in cli("members", "remove", "nobody", expect=2).output


def test_members_remove_asks_at_a_terminal(site, cli):
    import os
    import pty
    import subprocess
    import sys

    two_members(site, cli)
    chorus = Path(sys.executable).with_name("chorus")
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [str(chorus), "--settings", str(site.settings_file), "members", "remove", "grace"],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        cwd=site.root,
    )
    os.close(follower)
    seen = b""
    while b"What happens to their posts?" not in seen:
        seen += os.read(leader, 4096)
    os.write(leader, b"remove-posts\n")
    assert process.wait(timeout=30) == 0
    assert b"keep-links" in seen and b"remove-posts" in seen
    os.close(leader)
    assert not (site.members / "grace.md").exists()
    assert site.posts("grace") == []


def test_a_member_who_leaves_with_their_posts_removed(site, cli):
    two_members(site, cli)
    urls = [f"posts/2026/{path.stem}/" for path in site.posts("grace")]
    result = cli("members", "remove", "grace", "--remove-posts")
    assert "removed" in result.output and "content/members/grace.md" in result.output
    assert "git commit" in result.output
    assert not (site.members / "grace.md").exists()
    assert site.posts("grace") == []
    assert len(load_takedowns(site.content / "takedowns.yml").removed) == 2
    output = site.build()
    for slug, url in zip(("one", "two"), urls, strict=True):
        removed_everywhere(site, output, slug, url)
    assert "about three, only here" in every_output_text(output)


def test_a_member_who_leaves_with_their_posts_kept_as_links(site, cli, caplog):
    two_members(site, cli)
    urls = [f"posts/2026/{path.stem}/" for path in site.posts("grace")]
    result = cli("members", "remove", "grace", "--keep-links")
    assert "kept as links" in result.output and "git commit" in result.output
    assert not (site.members / "grace.md").exists()
    assert len(site.posts("grace")) == 2
    assert not (site.content / "takedowns.yml").exists()
    caplog.clear()
    output = site.build()
    assert not [r for r in caplog.records if r.levelname in ("WARNING", "ERROR")]
    text = every_output_text(output)
    assert "only here" not in text.replace("about three, only here", "")
    for slug, url in zip(("one", "two"), urls, strict=True):
        page = site.page(url)
        assert f"https://grace.example/{slug}/" in [a.get("href") for a in page.find_all("a")]
        assert "Grace" in page.find("article").get_text()  # still credited by name


def newsletter_texts(site, cli, tmp_path: Path, name: str) -> str:
    """The issue as subscribers and readers get it: its page, the feed of issues, the email."""
    output = site.build()
    cli("newsletter", "email", "-o", str(tmp_path / name))
    [eml] = (tmp_path / name).glob("*.eml")
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    parts = [part.get_content() for part in message.walk() if not part.is_multipart()]
    page = (output / "newsletter" / "1" / "index.html").read_text(encoding="utf-8")
    feed = (output / "newsletter" / "feed.atom.xml").read_text(encoding="utf-8")
    return "\n".join([page, feed, *parts])


def test_newsletter_false_keeps_a_members_posts_out_of_the_newsletter(community, cli, tmp_path):
    publish(community)
    make_issue(community, cli)
    assert "Bob on looms" in newsletter_texts(community, cli, tmp_path, "before")
    path = community.members / "bob.md"
    path.write_text(path.read_text().replace("---\n", "---\nnewsletter: false\n", 1))
    cli("members", "check")

    texts = newsletter_texts(community, cli, tmp_path, "after")  # the issue built before
    assert "Bob on looms" not in texts and "An original article" not in texts
    assert "Ada on looms" in texts
    cli("newsletter", "build")  # and built again
    issue, _ = read_issue(community.content / "newsletter" / "0001.md")
    assert [item.title for item in issue.items] == ["Ada on looms"]
    # Still on the site.
    assert "Bob on looms" in (community.output / "index.html").read_text(encoding="utf-8")


def test_newsletter_must_be_true_or_false(site, cli):
    member(site, "grace", "one", newsletter="no")
    result = cli("members", "check", expect=1)
    assert "newsletter" in result.output and "'no' is not true or false" in result.output


def test_a_post_taken_down_leaves_issues_not_yet_sent(community, cli, tmp_path):
    publish(community)
    path = make_issue(community, cli)
    assert "Ada on looms" in newsletter_texts(community, cli, tmp_path, "before")
    cli("remove", "https://ada.example/posts/looms/")
    texts = newsletter_texts(community, cli, tmp_path, "after")
    assert "Ada on looms" not in texts and "ada.example/posts/looms" not in texts
    assert "Bob on looms" in texts
    # An issue already sent stays what subscribers got.
    update_issue(path, {"status": "sent"})
    assert "Ada on looms" in newsletter_texts(community, cli, tmp_path, "sent")
