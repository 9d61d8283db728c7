"""Fetching over real HTTP from a server on 127.0.0.1, through the real `chorus fetch`."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from xml.etree import ElementTree

import pytest

from chorus.common.config import Config
from chorus.fetch.run import run_fetch
from chorus.fetch.store import read_stored
from chorus.members.registry import load_registry
from conftest import FEEDS


def rss(*items: str, title: str = "Test feed", link: str = "https://blog.example/") -> str:
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{title}</title><link>{link}</link>{''.join(items)}</channel></rss>"
    )


def item(
    slug: str,
    title: str | None = None,
    *,
    date: str | None = "Mon, 02 Nov 2026 10:00:00 GMT",
    body: str = "&lt;p&gt;Some words about looms.&lt;/p&gt;",
    tags: tuple[str, ...] = (),
    guid: str | None = None,
) -> str:
    parts = [
        f"<title>{title or slug.title()}</title>",
        f"<link>https://blog.example/{slug}/</link>",
        f"<guid>{guid or 'https://blog.example/' + slug + '/'}</guid>",
        f"<description>{body}</description>",
    ]
    if date:
        parts.append(f"<pubDate>{date}</pubDate>")
    parts += [f"<category>{tag}</category>" for tag in tags]
    return "<item>" + "".join(parts) + "</item>"


def meta(path: Path) -> dict[str, str]:
    text = path.read_text(encoding="utf-8")
    return dict(re.findall(r'<meta name="([a-z_]+)" content="([^"]*)">', text))


def fetch_config(site, **overrides) -> Config:
    site.write_settings(**overrides)
    return Config.from_settings(site.settings())


def test_fetch_writes_posts_then_sends_conditional_requests(site, feed_server, cli):
    url = feed_server.add(
        "/feed.xml",
        rss(item("one"), item("two")),
        etag='"v1"',
        last_modified="Mon, 02 Nov 2026 10:00:00 GMT",
    )
    site.member("ada", feeds=[url], trusted=True)

    first = cli("fetch")
    assert len(site.posts("ada")) == 2
    assert re.search(r"ada\s+│\s+2\s+│\s+0", first.output), first.output

    state_file = site.community / "fetch-state.json"
    state = json.loads(state_file.read_text())
    assert state["feeds"][url]["etag"] == '"v1"'
    written = state_file.stat().st_mtime_ns

    second = cli("fetch")
    assert state_file.stat().st_mtime_ns == written  # nothing changed, nothing rewritten
    request = feed_server.hits("/feed.xml")[-1]
    assert request.headers["if-none-match"] == '"v1"'
    assert request.headers["if-modified-since"] == "Mon, 02 Nov 2026 10:00:00 GMT"
    assert re.search(r"ada\s+│\s+0\s+│\s+0\s+│\s+0\s+│\s+0\s+│\s+1", second.output), second.output


def test_user_agent_names_the_site(site, feed_server, cli):
    site.write_settings(SITENAME="Weavers United", SITEURL="https://weavers.example")
    site.member("ada", feeds=[feed_server.add("/f", rss(item("one")))])
    cli("fetch")
    agent = feed_server.hits("/f")[0].headers["user-agent"]
    assert "Chorus/" in agent and "https://weavers.example" in agent and "Weavers United" in agent


def test_unchanged_bytes_are_not_parsed_again(site, feed_server, cli, monkeypatch):
    # A server that ignores conditional requests: same bytes every time, no validators.
    site.member("ada", feeds=[feed_server.add("/f", rss(item("one")))], trusted=True)
    cli("fetch")
    post = site.posts("ada")[0]
    before = post.stat().st_mtime_ns

    import chorus.fetch.run

    def must_not_parse(*args, **kwargs):
        raise AssertionError("unchanged bytes were parsed again")

    monkeypatch.setattr(chorus.fetch.run, "parse_compressed_feed", must_not_parse)
    result = cli("fetch")
    assert "not modified" in result.output
    assert post.stat().st_mtime_ns == before


def test_gzip_body_is_decoded(site, feed_server, cli):
    site.member("ada", feeds=[feed_server.add("/f", rss(item("zipped")), gzip=True)])
    cli("fetch")
    assert feed_server.hits("/f")[0].headers["accept-encoding"].count("gzip") == 1
    assert [meta(p)["chorus_original_url"] for p in site.posts("ada")] == [
        "https://blog.example/zipped/"
    ]


@pytest.mark.parametrize("declare_length", [True, False], ids=["content-length", "chunked"])
def test_body_over_the_size_cap_fails_only_that_feed(site, feed_server, cli, declare_length):
    site.write_settings(CHORUS_MAX_FEED_BYTES=10_000)
    huge = rss(*(item(f"p{i}", body="x" * 500) for i in range(100)))
    site.member("big", feeds=[feed_server.add("/big", huge, declare_length=declare_length)])
    site.member("small", feeds=[feed_server.add("/small", rss(item("fine")))])
    result = cli("fetch", expect=1)
    assert "larger than the 10,000 byte limit" in result.output
    assert site.posts("big") == [] and len(site.posts("small")) == 1


def test_gzip_bomb_is_cut_at_the_cap(site, feed_server, cli):
    site.write_settings(CHORUS_MAX_FEED_BYTES=100_000)
    bomb = rss(item("bomb", body="A" * 5_000_000))  # ~5 MB that gzips to a few KB
    site.member("bomb", feeds=[feed_server.add("/bomb", bomb, gzip=True)])
    result = cli("fetch", expect=1)
    assert "larger than the 100,000 byte limit" in result.output


def test_stalled_response_is_cut_by_the_deadline(site, feed_server, cli):
    site.write_settings(CHORUS_FETCH_TIMEOUT=1)
    site.member("slow", feeds=[feed_server.add("/slow", rss(item("late")), stall=30)])
    site.member("quick", feeds=[feed_server.add("/quick", rss(item("early")))])
    started = datetime.now(UTC)
    result = cli("fetch", expect=1)
    assert (datetime.now(UTC) - started).total_seconds() < 10
    assert "timed out after 1 s" in result.output
    assert len(site.posts("quick")) == 1


def test_trickling_response_is_cut_by_the_overall_deadline(site, feed_server, cli):
    # Each byte arrives well within a socket timeout; only an overall deadline stops this.
    site.write_settings(CHORUS_FETCH_TIMEOUT=1)
    site.member("drip", feeds=[feed_server.add("/drip", rss(item("drip")), trickle=0.05)])
    result = cli("fetch", expect=1)
    assert "timed out after 1 s" in result.output


@pytest.mark.parametrize("status", [404, 500])
def test_http_errors_are_reported_and_others_carry_on(site, feed_server, cli, status):
    feed_server.add("/broken", "oops", status=status, headers={"Content-Type": "text/plain"})
    site.member("broken", feeds=[feed_server.url("/broken")])
    site.member("fine", feeds=[feed_server.add("/fine", rss(item("ok")))])
    result = cli("fetch", expect=1)
    assert f"HTTP {status}" in result.output
    assert "feed(s) failed" in result.output
    assert len(site.posts("fine")) == 1


def test_redirects_are_followed_and_permanent_ones_reported(site, feed_server, cli):
    target = feed_server.add("/new-home.xml", rss(item("moved")))
    site.member("ada", feeds=[feed_server.redirect("/old.xml", "/new-home.xml", status=301)])
    result = cli("fetch")
    assert len(site.posts("ada")) == 1
    assert "redirects permanently to" in result.output and target in result.output


def test_redirect_loop_and_chain_over_the_cap_fail(site, feed_server, cli):
    site.write_settings(CHORUS_MAX_REDIRECTS=3)
    for hop in range(5):
        feed_server.redirect(f"/hop{hop}", f"/hop{hop + 1}", status=302)
    feed_server.add("/hop5", rss(item("far")))
    feed_server.redirect("/loop", "/loop", status=302)
    site.member("chain", feeds=[feed_server.url("/hop0")])
    site.member("loop", feeds=[feed_server.url("/loop")])
    result = cli("fetch", expect=1)
    assert result.output.count("more than 3 redirects") == 2


def test_connection_refused_is_a_clear_error(site, cli):
    site.member("gone", feeds=["http://127.0.0.1:9/feed.xml"])  # port 9: nothing listens
    result = cli("fetch", expect=1)
    assert "cannot connect" in result.output


def test_posts_survive_when_the_feed_breaks_or_vanishes(site, feed_server, cli):
    url = feed_server.add("/f", rss(item("keep-me"), item("and-me")))
    site.member("ada", feeds=[url], trusted=True)
    cli("fetch")
    posts = site.posts("ada")
    assert len(posts) == 2

    feed_server.add("/f", rss(item("new-one")))  # the old entries dropped from the feed
    cli("fetch")
    assert set(posts) < set(site.posts("ada")) and len(site.posts("ada")) == 3

    feed_server.routes.pop("/f")  # the feed is gone: 404
    cli("fetch", expect=1)
    feed_server.add("/f", "<html>not a feed</html>", headers={"Content-Type": "text/html"})
    result = cli("fetch", expect=1)
    assert "not a readable feed" in result.output
    assert len(site.posts("ada")) == 3


def test_changed_entry_is_updated_and_keeps_its_status_and_file(site, feed_server, cli):
    url = feed_server.add("/f", rss(item("post", "First title")))
    site.member("ada", feeds=[url], consent="full")
    cli("fetch")
    [post] = site.posts("ada")
    assert meta(post)["status"] == "draft"
    cli("approve", "ada")
    assert meta(post)["status"] == "published"

    feed_server.add("/f", rss(item("post", "First title", body="&lt;p&gt;Edited.&lt;/p&gt;")))
    result = cli("fetch")
    assert "updated" in result.output and "changed upstream" in result.output
    assert site.posts("ada") == [post]
    assert meta(post)["status"] == "published"
    assert "<p>Edited.</p>" in post.read_text()


def test_a_scan_reads_only_the_post_files_changed_since_the_last_run(
    site, feed_server, monkeypatch
):
    url = feed_server.add("/f", rss(item("one"), item("two"), item("three")))
    site.member("ada", feeds=[url])
    config = fetch_config(site)
    members = load_registry(config.members_dir, content_dir=config.content_dir).members
    run_fetch(config, members.values())
    by_slug = {meta(path)["chorus_original_url"].split("/")[-2]: path for path in site.posts("ada")}
    assert (config.cache_dir / "chorus" / "community-index.json").is_file()

    import chorus.fetch.store

    read = []

    def counting_read_stored(path):
        read.append(path.name)
        return real_read_stored(path)

    real_read_stored = chorus.fetch.store.read_stored
    monkeypatch.setattr(chorus.fetch.store, "read_stored", counting_read_stored)
    chorus.fetch.store.approve(
        [by_slug["two"]]
    )  # an editor's change, which the index must not hide
    by_slug["three"].unlink()  # and an editor's removal
    feed_server.add("/f", rss(item("one"), item("two"), item("three"), item("four")))
    report = run_fetch(config, members.values())
    assert read == [by_slug["two"].name]
    assert meta(by_slug["two"])["status"] == "published"
    # As a full scan would see it: the removed post is no longer on the site, so it is new.
    [ada] = report.members
    originals = sorted(meta(site.community / path)["chorus_original_url"] for path in ada.new)
    assert originals == ["https://blog.example/four/", "https://blog.example/three/"]
    assert ada.unchanged == 2


def test_undated_entry_gets_a_stable_date(site, feed_server, cli):
    url = feed_server.add("/f", rss(item("undated", date=None)))
    site.member("ada", feeds=[url], consent="full")
    cli("fetch")
    [post] = site.posts("ada")
    first_date = meta(post)["date"]
    assert datetime.fromisoformat(first_date).tzinfo is not None

    feed_server.add("/f", rss(item("undated", date=None, body="&lt;p&gt;v2&lt;/p&gt;")))
    cli("fetch")
    assert meta(post)["date"] == first_date


def test_consent_decides_what_is_stored(site, feed_server, cli):
    body = "&lt;p&gt;" + "Long words about warps and wefts. " * 60 + "&lt;/p&gt;"
    for consent in ("link", "excerpt", "full"):
        url = feed_server.add(f"/{consent}", rss(item(f"{consent}-post", body=body)))
        site.member(consent, feeds=[url], consent=consent)
    site.write_settings(CHORUS_EXCERPT_CHARS=200)
    cli("fetch")
    bodies = {}
    for consent in ("link", "excerpt", "full"):
        [post] = site.posts(consent)
        text = post.read_text()
        bodies[consent] = text.split("<body>")[1].split("</body>")[0].strip()
        assert meta(post)["chorus_consent"] == consent
    assert bodies["link"] == ""
    assert bodies["excerpt"].startswith("<p>Long words") and bodies["excerpt"].endswith("…</p>")
    assert len(bodies["excerpt"]) <= len("<p></p>") + 200
    assert bodies["full"].count("Long words") == 60


def test_tag_filters_and_trust(site, feed_server, cli):
    url = feed_server.add(
        "/f",
        rss(
            item("py", tags=("Python",)),
            item("food", tags=("Cooking",)),
            item("private", tags=("python", "personal")),
        ),
    )
    site.member(
        "ada", feeds=[url], trusted=True, include_tags=["python"], exclude_tags=["Personal"]
    )
    site.member("bob", feeds=[feed_server.add("/b", rss(item("bobs")))])
    cli("fetch")
    [kept] = site.posts("ada")
    assert meta(kept)["chorus_original_url"] == "https://blog.example/py/"
    assert meta(kept)["status"] == "published"
    assert meta(site.posts("bob")[0])["status"] == "draft"


@pytest.mark.parametrize("slow", ["none", "/a", "/a2"])
def test_duplicates_across_feeds_and_members_are_written_once(site, feed_server, cli, slow):
    # Feeds are curated as they arrive; the slow one arrives last, yet the first feed in
    # registry order (ada's /a) keeps the post whatever the order of arrival.
    shared = item("co-written", title="From /a", guid="tag:blog.example,2026:co")
    shared_again = item("co-written", title="From /a2", guid="tag:blog.example,2026:co")
    same_link = item("co-written")  # same link, and nothing but its link to name it
    delay = {"/a": 0.0, "/a2": 0.0, slow: 0.6}
    site.member(
        "ada",
        feeds=[
            feed_server.add("/a", rss(shared), stall=delay["/a"]),
            feed_server.add("/a2", rss(shared_again), stall=delay["/a2"]),
        ],
    )
    site.member("bob", feeds=[feed_server.add("/b", rss(same_link))])
    result = cli("fetch")
    [post] = site.posts("ada")
    assert "<title>From /a</title>" in post.read_text()
    assert post.name.startswith("from-a-")  # named after the version kept, too
    assert site.posts("bob") == []
    # ada: 1 new, 1 skipped (her second feed); bob: 0 new, 1 skipped.
    assert re.search(r"ada\s+│\s+1\s+│\s+0\s+│\s+0\s+│\s+1\s", result.output), result.output
    assert re.search(r"bob\s+│\s+0\s+│\s+0\s+│\s+0\s+│\s+1\s", result.output), result.output
    assert "community/bob/" not in result.output


def test_two_members_numbering_their_entries_alike_keep_both_posts(site, feed_server, cli):
    """A bare guid ("1") is unique only within its feed: it never makes another member's post
    a duplicate."""
    site.member("ada", feeds=[feed_server.add("/a", rss(item("ada-one", guid="1")))])
    site.member("bob", feeds=[feed_server.add("/b", rss(item("bob-one", guid="1")))])
    cli("fetch")
    assert len(site.posts("ada")) == 1
    assert len(site.posts("bob")) == 1


def test_a_post_kept_from_an_earlier_run_stays_with_its_member(site, feed_server, cli):
    shared = item("co-written", guid="tag:blog.example,2026:co")
    site.member("bob", feeds=[feed_server.add("/b", rss(shared))])
    cli("fetch")
    [kept] = site.posts("bob")
    # ada, first in registry order, now lists the same entry: bob's post is not taken away.
    site.member("ada", feeds=[feed_server.add("/a", rss(shared))])
    cli("fetch")
    assert site.posts("bob") == [kept] and site.posts("ada") == []


def test_state_file_is_reused_by_a_fresh_run(site, feed_server):
    url = feed_server.add("/f", rss(item("one")), etag='"abc"')
    site.member("ada", feeds=[url])
    config = fetch_config(site)
    registry = load_registry(config.members_dir, content_dir=config.content_dir)
    run_fetch(config, registry.members.values())
    # A new process (here: new objects, nothing shared in memory) reads the committed state.
    fresh = Config.from_settings(site.settings())
    report = run_fetch(
        fresh, load_registry(fresh.members_dir, content_dir=fresh.content_dir).members.values()
    )
    assert feed_server.hits("/f")[-1].headers["if-none-match"] == '"abc"'
    assert report.members[0].feeds[0].outcome == "not_modified"


def test_local_feeds_only_from_the_configured_directory(site, cli, tmp_path):
    outside = tmp_path / "secret.xml"
    outside.write_text(rss(item("secret")))
    site.member("ada", feeds=["local:../../secret.xml"])
    site.member("bob", feeds=[f"file://{outside}"])
    result = cli("fetch", expect=1)
    assert "local feed path leaves" in result.output
    assert "not an absolute http(s) feed URL" in result.output
    assert not any(site.community.rglob("*.html"))


def test_a_broken_member_file_costs_only_that_member(site, feed_server, cli):
    site.member("ada", feeds=[feed_server.add("/f", rss(item("one")))])
    site.member("bad", feeds=["ftp://nope.example/feed"], colour="blue")
    (site.members / "bomb.md").write_text(
        "---\nname: B\nsite: https://b.example/\nfeeds: &f [https://b.example/f]\n"
        "links: {web: *f}\n---\n",
        encoding="utf-8",
    )
    result = cli("fetch", expect=1)
    assert "members/bad.md: colour: unknown key" in result.output
    assert "members/bomb.md: front matter refused" in result.output
    assert "2 member files with errors left out of this fetch" in result.output
    assert [hit.path for hit in feed_server.requests] == ["/f"]
    assert [path.name for path in site.posts("ada")] and not (site.community / "bad").exists()


def test_a_feed_two_members_list_is_fetched_for_neither_and_the_rest_is(site, feed_server, cli):
    shared = feed_server.add("/shared", rss(item("whose")))
    site.member("ada", feeds=[feed_server.add("/ada", rss(item("ada-one"))), shared])
    site.member("aaa", feeds=[shared])
    result = cli("fetch", expect=1)
    output = " ".join(result.output.split())
    assert f"members/aaa.md: feeds: {shared} is also listed by ada.md" in output
    assert "2 member files fetched without what the errors above name" in output
    assert "left out of this fetch" not in output
    assert [hit.path for hit in feed_server.requests] == ["/ada"]
    assert [path.name.split("-one-")[0] for path in site.posts("ada")] == ["ada"]


def test_last_modified_only_server(site, feed_server, cli):
    stamp = format_datetime(datetime(2026, 11, 1, tzinfo=UTC), usegmt=True)
    site.member("ada", feeds=[feed_server.add("/f", rss(item("x")), last_modified=stamp)])
    cli("fetch")
    cli("fetch")
    assert feed_server.hits("/f")[-1].headers["if-modified-since"] == stamp
    assert "if-none-match" not in feed_server.hits("/f")[-1].headers


def test_stored_post_is_sanitized_and_absolute(site, feed_server, cli):
    hostile = (
        "&lt;p onclick='x()'&gt;Hi &lt;a href='../rel/'&gt;rel&lt;/a&gt;"
        "&lt;img src='pic.png'&gt;&lt;script&gt;alert(1)&lt;/script&gt;"
        "&lt;a href='javascript:alert(1)'&gt;js&lt;/a&gt;&lt;/p&gt;"
    )
    site.member(
        "ada",
        feeds=[
            feed_server.add("/f", rss(item("h", "&lt;b&gt;Bold&lt;/b&gt; title", body=hostile)))
        ],
        consent="full",
    )
    cli("fetch")
    [post] = site.posts("ada")
    text = post.read_text()
    assert "<title>Bold title</title>" in text
    assert 'href="https://blog.example/rel/"' in text
    assert 'src="https://blog.example/h/pic.png"' in text
    assert "script" not in text and "onclick" not in text and "javascript" not in text
    assert read_stored(post).link == "https://blog.example/h/"


def test_report_lists_files_only_up_to_a_screenful(site, feed_server, cli):
    site.member("few", feeds=[feed_server.add("/few", rss(*(item(f"f{i}") for i in range(3))))])
    listed = cli("fetch").output
    assert listed.count("new     community/few/") == 3

    many = rss(*(item(f"m{i}") for i in range(60)), link="https://many.example/")
    site.member(
        "many", feeds=[feed_server.add("/many", many.replace("blog.example", "many.example"))]
    )
    summary = cli("fetch").output
    assert "new     community/" not in summary
    assert re.search(r"many\s+│\s+60\s+│", summary), summary


def test_many_feeds_are_parsed_in_worker_processes(site, feed_server, cli):
    from chorus.fetch.run import PROCESS_POOL_THRESHOLD

    count = PROCESS_POOL_THRESHOLD + 4
    for n in range(count):
        body = rss(item(f"p{n}")).replace("blog.example", f"site{n}.example")
        site.member(f"m{n:02d}", feeds=[feed_server.add(f"/f{n}", body)], trusted=True)
    cli("fetch")
    written = sorted(site.community.glob("*/*.html"))
    assert len(written) == count
    assert {meta(p)["chorus_original_url"] for p in written} == {
        f"https://site{n}.example/p{n}/" for n in range(count)
    }


def test_state_from_another_version_means_a_full_fetch(site, feed_server, cli):
    url = feed_server.add("/f", rss(item("one")), etag='"e1"')
    site.member("ada", feeds=[url])
    cli("fetch")
    state_file = site.community / "fetch-state.json"
    state = json.loads(state_file.read_text())
    state["version"] = 0
    state_file.write_text(json.dumps(state))
    cli("fetch")
    assert "if-none-match" not in feed_server.hits("/f")[-1].headers
    assert json.loads(state_file.read_text())["version"] != 0


def test_the_report_of_a_large_site_lists_the_members_with_news(site, feed_server, cli):
    for number in range(25):
        handle = f"m{number:02}"
        site.member(handle, feeds=[feed_server.add(f"/{handle}", rss(item(f"{handle}-hello")))])
    first = cli("fetch")
    assert all(f"m{number:02} " in first.output for number in range(25))
    assert "25 feeds (25 fetched); 25 new posts, 0 updated" in first.output

    feed_server.add("/m07", rss(item("m07-hello"), item("m07-again")))
    feed_server.add("/m11", b"<rss", status=500)
    second = cli("fetch", expect=1)
    listed = set(re.findall(r"^ *(m\d\d) ", second.output, re.MULTILINE))
    assert listed == {"m07", "m11"}, second.output
    assert "23 other members: nothing new" in second.output
    assert "25 feeds (1 fetched, 23 not modified, 1 failed); 1 new post, 0 updated" in (
        second.output
    )
    every = cli("fetch", "--every-member", expect=1)
    assert len(set(re.findall(r"^ *(m\d\d) ", every.output, re.MULTILINE))) == 25


def test_a_host_that_never_answers_is_reported_as_such(site, cli):
    """Not "timed out after 30 s" in a run that took 1 s: the connect limit it hit, and why."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    # Fill the accept queue: further connections get no answer (their SYN is dropped).
    filled = []
    for _ in range(3):
        connection = socket.socket()
        connection.setblocking(False)
        connection.connect_ex(listener.getsockname())
        filled.append(connection)
    try:
        port = listener.getsockname()[1]
        site.member("mute", feeds=[f"http://127.0.0.1:{port}/feed.xml"])
        site.write_settings(CHORUS_CONNECT_TIMEOUT=0.5, CHORUS_FETCH_TIMEOUT=20)
        result = cli("fetch", expect=1)
    finally:
        for connection in filled:
            connection.close()
        listener.close()
    assert "no connection within 0.5 s (CHORUS_CONNECT_TIMEOUT)" in " ".join(result.output.split())
    assert "timed out after 20 s" not in result.output


def test_the_report_keeps_long_handles_apart(site, feed_server, cli, monkeypatch):
    """Three members whose handles share a long prefix stay three distinct rows, even in a
    narrow terminal."""
    from chorus.cli.common import console

    monkeypatch.setattr(console, "_width", 60)
    handles = [
        "daringfireball-linked-list-posts",
        "daringfireball-articles-and-essays",
        "daringfireball-the-talk-show",
    ]
    for number, handle in enumerate(handles):
        url = feed_server.add(
            f"/{number}.xml", rss(item(f"p{number}"), link=f"https://{number}.example/")
        )
        site.member(handle, feeds=[url], site=f"https://{number}.example/")
    result = cli("fetch", "--no-progress")
    rows = [line.split("│")[0].strip() for line in result.output.splitlines() if "│" in line]
    assert sorted(rows) == sorted(handles), result.output


def test_an_empty_body_after_a_failure_is_no_success(site, feed_server, cli):
    url = feed_server.add("/f", "", status=500)
    site.member("ada", feeds=[url])
    cli("fetch", expect=1)
    feed_server.add("/f", "")  # 200 with nothing in it
    result = cli("fetch", expect=1)
    assert "not a readable feed" in result.output
    state = json.loads((site.community / "fetch-state.json").read_text())
    assert state["feeds"][url]["failures"] == 2


def day_page(version: int) -> str:
    items = [
        "<item>"
        f"<title>Note {n}{' (edited)' if version == 2 and n == 7 else ''}</title>"
        f"<link>https://day.example/2017/06/26.html#a{n:06d}</link>"
        f"<guid isPermaLink='false'>day-{n}</guid>"
        f"<description>Note number {n}.</description>"
        "<pubDate>Mon, 26 Jun 2017 10:00:00 GMT</pubDate></item>"
        for n in range(50)
    ]
    sponsors = [
        f"<item><title>Sponsor {n}</title><link>https://sponsor.example/</link>"
        f"<guid isPermaLink='false'>sponsor-{n}</guid></item>"
        for n in range(3)
    ]
    return rss(*items, *sponsors, link="https://day.example/")


def test_entries_of_one_page_and_one_landing_page_are_distinct_posts(site, feed_server, cli):
    site.write_settings(CHORUS_MAX_ENTRIES_PER_FEED=100)
    url = feed_server.add("/day", day_page(1))
    site.member("dave", feeds=[url])
    cli("fetch")
    posts = site.posts("dave")
    assert len(posts) == 53
    titles = {path.name: re.search(r"<title>(.*?)</title>", path.read_text())[1] for path in posts}
    feed_server.add("/day", day_page(2))  # one entry changes
    result = cli("fetch")
    after = {path.name: re.search(r"<title>(.*?)</title>", path.read_text())[1] for path in posts}
    changed = {name for name in titles if titles[name] != after[name]}
    assert len(changed) == 1 and after[changed.pop()] == "Note 7 (edited)", result.output
    assert len(site.posts("dave")) == 53


def left_out_feed() -> str:
    """Eight entries: three posts, one of them twice, two without an http(s) link, and the two
    oldest past a cap of six."""

    def entry(title: str, link: str | None, guid: str, day: str) -> str:
        href = f"<link>{link}</link>" if link else ""
        return (
            f"<item><title>{title}</title>{href}<guid isPermaLink='false'>{guid}</guid>"
            f"<pubDate>{day} GMT</pubDate></item>"
        )

    return rss(
        entry("One", "https://blog.example/1/", "one", "Mon, 02 Nov 2026 10:00:00"),
        entry("Two", "https://blog.example/2/", "two", "Tue, 03 Nov 2026 10:00:00"),
        entry("Three", "https://blog.example/3/", "three", "Wed, 04 Nov 2026 10:00:00"),
        entry("One again", "https://blog.example/1/", "one", "Sun, 08 Nov 2026 10:00:00"),
        entry("Scripted", "javascript:alert(1)", "js", "Fri, 06 Nov 2026 10:00:00"),
        entry("Nowhere", None, "nowhere", "Sat, 07 Nov 2026 10:00:00"),
        entry("Old", "https://blog.example/old/", "old", "Wed, 01 Jan 2020 10:00:00"),
        entry("Older", "https://blog.example/older/", "older", "Tue, 31 Dec 2019 10:00:00"),
    )


LEFT_OUT_NOTES = [
    "2 entries have no http(s) link to the post, so nothing to credit",
    "2 entries over the 6-entry cap, the newest 6 kept (CHORUS_MAX_ENTRIES_PER_FEED)",
    "1 duplicate entry in the feed (the same id as an earlier entry, or with no id the same link)",
]


def test_left_out_entries_are_reported_alike_by_fetch_and_preview(site, feed_server, cli):
    site.write_settings(CHORUS_MAX_ENTRIES_PER_FEED=6)
    url = feed_server.add("/f.xml", left_out_feed())
    site.member("ada", feeds=[url], trusted=True)

    preview = cli("members", "preview", "--limit=0").output
    fetched = cli("fetch").output
    assert len(site.posts("ada")) == 3
    # new, updated, unchanged, skipped: the five entries left out count as skipped.
    assert re.search(r"ada\s+│\s+3\s+│\s+0\s+│\s+0\s+│\s+5\s+│", fetched), fetched
    fetch_notes = re.findall(rf"skipped ada: {re.escape(url)}: (.*)", fetched)
    preview_notes = re.findall(r"^\s+skipped (.*)$", preview, flags=re.MULTILINE)
    assert fetch_notes == preview_notes == LEFT_OUT_NOTES, (fetched, preview)


SPONSORS = (FEEDS / "atom10-sponsors-without-ids-or-links.xml").read_text(encoding="utf-8")


def test_entries_without_id_or_link_are_distinct_posts_across_runs(site, feed_server, cli):
    url = feed_server.add("/news.atom", SPONSORS, headers={"Content-Type": "application/atom+xml"})
    site.member("nina", feeds=[url], trusted=True)
    # Another member whose feed says the very same: their posts are theirs, never merged.
    other = feed_server.add(
        "/same.atom", SPONSORS, headers={"Content-Type": "application/atom+xml"}
    )
    site.member("omar", feeds=[other], trusted=True)
    cli("fetch")
    posts = site.posts("nina")
    assert len(posts) == 3 and len(site.posts("omar")) == 3
    before = {path: path.read_bytes() for path in posts}

    # The same bytes parsed again (not just answered "unchanged"): the same three posts.
    (site.community / "fetch-state.json").unlink()
    again = cli("fetch").output
    assert re.search(r"nina\s+│\s+0\s+│\s+0\s+│\s+3\s+│", again), again
    assert {path: path.read_bytes() for path in site.posts("nina")} == before

    # One byte of one entry's title changes: a post of its own; no other post is touched.
    feed_server.add(
        "/news.atom",
        SPONSORS.replace("Sponsor: Globex", "Sponsor: Globez"),
        headers={"Content-Type": "application/atom+xml"},
    )
    changed = cli("fetch").output
    assert re.search(r"nina\s+│\s+1\s+│\s+0\s+│", changed), changed
    assert {path: path.read_bytes() for path in posts} == before
    assert len(site.posts("nina")) == 4


def test_characters_xml_forbids_never_reach_a_post_file(site, feed_server, cli):
    url = feed_server.add("/bell.xml", (FEEDS / "rss20-control-characters.xml").read_bytes())
    site.member("bea", feeds=[url], trusted=True, consent="full")
    cli("fetch")
    (post,) = site.posts("bea")
    text = post.read_text(encoding="utf-8")
    assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]", text), repr(text)
    assert "<title>Esc[31m red</title>" in text and "Raw ESC and BEL" in text
    site.build()
    page = site.page(f"posts/2026/{post.stem}")
    assert page.find("h1").get_text(strip=True) == "Esc[31m red"
    for feed in site.output.glob("feeds/*.xml"):
        ElementTree.parse(feed)  # every feed the site writes is XML a reader can parse


def test_a_post_from_before_content_ids_is_updated_not_doubled(site, feed_server, cli):
    # Earlier versions gave entries without id or link the feed's URL as their id, and kept
    # only the first of them: that post is the first entry's, and stays its file.
    url = feed_server.add("/news.atom", SPONSORS, headers={"Content-Type": "application/atom+xml"})
    site.member("nina", feeds=[url], trusted=True)
    cli("fetch")
    acme = [post for post in site.posts("nina") if "Acme" in post.read_text()]
    (first,) = [post for post in acme if meta(post)["date"].startswith("2026-11-02")]
    for post in site.posts("nina"):
        if post != first:
            post.unlink()
    old_id = meta(first)["chorus_id"]
    first.write_text(first.read_text().replace(old_id, url))
    (site.community / "fetch-state.json").unlink()
    result = cli("fetch").output
    assert re.search(r"nina\s+│\s+2\s+│\s+1\s+│\s+0\s+│\s+0\s+│", result), result
    assert meta(first)["chorus_id"] == old_id and len(site.posts("nina")) == 3
