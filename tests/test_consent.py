"""Consent is the member file's, always: a narrower consent holds at the next build everywhere the
site shows a post, the next fetch rewrites the post files to match, and a wider one is fetched
again even from a feed that has not changed."""

from __future__ import annotations

import email
import email.policy
import json
import shutil
from pathlib import Path

import pytest

from chorus.members.consent import effective_consent, kept_body
from newsletter_helpers import make_issue, publish
from sites import write_site_settings

# Inside the excerpt (the first CHORUS_EXCERPT_CHARS characters) and far past it.
OPENING = "Ada threads the heddles before dawn"
SECRET = "The warp remembers every hand that ever threaded it"
FILLER = " ".join(["Tension matters more than speed on a floor loom."] * 12)
EXCERPT_CHARS = 400

ITEM = """<item><title>Warp notes {n}</title><link>https://ada.example/posts/warp-{n}/</link>
<guid>https://ada.example/posts/warp-{n}/</guid>
<pubDate>Mon, 0{n} Nov 2026 10:00:00 GMT</pubDate>
<category>looms</category>
<description>&lt;p&gt;{opening}, number {n}.&lt;/p&gt;&lt;p&gt;{filler}&lt;/p&gt;
&lt;p&gt;{secret}, number {n}.&lt;/p&gt;</description>
</item>"""


def feed(entries: int = 2) -> str:
    items = "".join(
        ITEM.format(n=n, opening=OPENING, filler=FILLER, secret=SECRET)
        for n in range(2, 2 + entries)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
        "<title>Ada's notebook</title><link>https://ada.example/</link>"
        f"{items}</channel></rss>"
    )


@pytest.mark.parametrize(
    ("current", "written", "effective"),
    [
        ("link", "full", "link"),
        ("excerpt", "full", "excerpt"),
        ("full", "excerpt", "excerpt"),  # the file has no more than an excerpt to show
        ("full", "link", "link"),
        ("excerpt", None, "excerpt"),  # a file that does not say: the member's
        ("link", "nonsense", "link"),
        (None, "full", "full"),  # no member file: as the post file has it
    ],
)
def test_the_member_file_decides_and_the_post_file_only_narrows(current, written, effective):
    assert effective_consent(current, written) == effective


def test_what_each_consent_keeps():
    body = f"<p>{OPENING}.</p><p>{FILLER}</p><p>{SECRET}.</p>"
    assert kept_body(body, "full", EXCERPT_CHARS) == body
    excerpt = kept_body(body, "excerpt", EXCERPT_CHARS)
    assert excerpt.startswith(f"<p>{OPENING}") and SECRET not in excerpt
    assert kept_body(body, "link", EXCERPT_CHARS) == ""


def output_files_holding(root: Path, text: str) -> list[str]:
    """Every file under ``root`` whose bytes hold ``text`` (HTML, XML, JSON, anything)."""
    return sorted(
        str(path.relative_to(root))
        for path in root.rglob("*")
        if path.is_file() and text.encode() in path.read_bytes()
    )


def email_text(directory: Path) -> str:
    """The issue's .eml decoded part by part, and the .html and .txt copies, as one text."""
    message = email.message_from_bytes(
        (directory / "issue-0001.eml").read_bytes(), policy=email.policy.default
    )
    parts = [part.get_content() for part in message.walk() if not part.is_multipart()]
    copies = [(directory / f"issue-0001{suffix}").read_text() for suffix in (".html", ".txt")]
    return "\n".join([*parts, *copies])


@pytest.fixture
def ada_in_full(site, cli):
    """Ada at ``consent: full`` with two fetched posts, an issue of the newsletter ready but
    not sent, and every kind of feed the site can write."""
    site.member("ada", name="Ada Lovelace", feeds=[site.local_feed("ada.xml", feed())],
                consent="full", trusted=True)  # fmt: skip
    publish(
        site,
        CHORUS_MEMBER_FEED_RSS="members/{handle}/feed.rss.xml",
        TAG_FEED_RSS="feeds/tag/{slug}.rss.xml",
        CATEGORY_FEED_RSS="feeds/category/{slug}.rss.xml",
        CHORUS_NOINDEX_FULL_COPIES=True,
    )
    cli("fetch")
    make_issue(site, cli, status="ready")
    site.build()
    assert output_files_holding(site.output, SECRET), "the full text is on the site at first"
    page = site.page(f"posts/2026/{site.posts('ada')[0].stem}/")
    assert page.find("meta", attrs={"name": "robots"})["content"] == "noindex, follow"
    return site


def set_consent(site, consent: str) -> None:
    site.member("ada", name="Ada Lovelace", feeds=["local:ada.xml"], consent=consent,
                trusted=True)  # fmt: skip


@pytest.mark.parametrize("build", ["incremental", "clean", "content-cache"])
@pytest.mark.parametrize("consent", ["link", "excerpt"])
def test_a_narrower_consent_holds_everywhere_at_the_next_build(
    ada_in_full, cli, tmp_path, consent, build
):
    site = ada_in_full
    if build == "content-cache":
        # Pelican's cache of read posts must not keep a post narrowed (see below).
        write_site_settings(
            site.root, **{**site.overrides, "CACHE_CONTENT": True, "LOAD_CONTENT_CACHE": True}
        )
        site.build()
    set_consent(site, consent)
    if build == "clean":
        shutil.rmtree(site.output)
        shutil.rmtree(site.root / "cache", ignore_errors=True)
    site.build()  # no fetch: the post files still hold the full text
    assert SECRET in site.posts("ada")[0].read_text()

    assert output_files_holding(site.output, SECRET) == []
    if consent == "link":
        assert output_files_holding(site.output, OPENING) == []
    cli("newsletter", "email", "-o", str(tmp_path / "mail"))
    mail = email_text(tmp_path / "mail")
    assert SECRET not in mail
    assert (OPENING in mail) == (consent == "excerpt")

    for path in site.posts("ada"):
        page = site.page(f"posts/2026/{path.stem}/")
        shown = page.find(class_="post-content").get_text(" ", strip=True)
        if consent == "link":
            assert shown == ""
        else:
            assert shown.startswith(OPENING)
            assert len(shown) <= EXCERPT_CHARS
        # A copy that is not in full is canonical to its own page, and bookmarks the original.
        canonical = page.find("link", rel="canonical")["href"]
        assert canonical == f"https://loom.example/posts/2026/{path.stem}/"
        assert page.find(class_="u-bookmark-of") is not None
        assert page.find(class_="u-repost-of") is None
        assert page.find("meta", attrs={"name": "robots"}) is None  # noindex is for full copies

    # And back: the post files still hold the full text, which a wider consent shows again.
    set_consent(site, "full")
    site.build()
    assert output_files_holding(site.output, SECRET)


# The next fetch ------------------------------------------------------------------------------


def post_texts(site) -> list[str]:
    return [path.read_text(encoding="utf-8") for path in site.posts("ada")]


def fetch_member(site, cli, url: str, consent: str) -> str:
    site.member("ada", name="Ada Lovelace", feeds=[url], consent=consent, trusted=True)
    return cli("fetch").output


@pytest.mark.parametrize("consent", ["link", "excerpt"])
def test_the_next_fetch_narrows_post_files_the_feed_no_longer_brings(
    site, cli, feed_server, consent
):
    url = feed_server.add("/feed.xml", feed(), etag='"v1"')
    fetch_member(site, cli, url, "full")
    assert all(SECRET in text for text in post_texts(site))

    report = fetch_member(site, cli, url, consent)  # the feed answers 304
    assert feed_server.hits("/feed.xml")[-1].headers.get("if-none-match") == '"v1"'
    assert "narrowed" in report and "2 post files" in report
    for text in post_texts(site):
        assert SECRET not in text
        assert f'<meta name="chorus_consent" content="{consent}">' in text
        body = text.partition("<body>\n")[2].rpartition("\n</body>")[0]
        if consent == "link":
            assert body == ""
        else:
            assert body.startswith(f"<p>{OPENING}") and len(body) <= EXCERPT_CHARS + 7

    # Rewritten once: the next run has nothing to do.
    assert "narrowed" not in fetch_member(site, cli, url, consent)


def test_a_post_the_feed_dropped_is_narrowed_too(site, cli, feed_server):
    url = feed_server.add("/feed.xml", feed(entries=2))
    fetch_member(site, cli, url, "full")
    feed_server.add("/feed.xml", feed(entries=1))  # the post of 3 November has left the feed
    fetch_member(site, cli, url, "link")
    assert [SECRET in text or OPENING in text for text in post_texts(site)] == [False, False]


def test_a_state_without_a_consent_record_still_narrows(site, cli, feed_server):
    url = feed_server.add("/feed.xml", feed(), etag='"v1"')
    fetch_member(site, cli, url, "full")
    state_file = site.community / "fetch-state.json"
    state = json.loads(state_file.read_text())
    assert state["consent"] == {"ada": "full"}
    del state["consent"]  # as a state file of an earlier Chorus has it
    state_file.write_text(json.dumps(state))
    fetch_member(site, cli, url, "link")
    assert not any(OPENING in text for text in post_texts(site))


def test_a_wider_consent_rereads_an_unchanged_feed(site, cli, feed_server):
    url = feed_server.add("/feed.xml", feed(), etag='"v1"')
    fetch_member(site, cli, url, "link")
    assert not any(OPENING in text for text in post_texts(site))

    report = fetch_member(site, cli, url, "full")
    # Asked without its validators, so the unchanged feed answers in full, and is parsed
    # although its bytes are those of last time.
    assert "if-none-match" not in feed_server.hits("/feed.xml")[-1].headers
    assert "read again in full" in report
    texts = post_texts(site)
    assert len(texts) == 2 and all(SECRET in text for text in texts)
    assert all('<meta name="chorus_consent" content="full">' in text for text in texts)

    # Once read again, the feed is asked for changes only, as before.
    fetch_member(site, cli, url, "full")
    assert feed_server.hits("/feed.xml")[-1].headers.get("if-none-match") == '"v1"'


def test_a_wider_consent_is_tried_again_after_a_failed_fetch(site, cli, feed_server):
    url = feed_server.add("/feed.xml", feed(), etag='"v1"')
    fetch_member(site, cli, url, "link")
    feed_server.add("/feed.xml", "down for maintenance", status=500)
    site.member("ada", name="Ada Lovelace", feeds=[url], consent="full", trusted=True)
    cli("fetch", expect=1)
    feed_server.add("/feed.xml", feed(), etag='"v1"')
    fetch_member(site, cli, url, "full")
    assert all(SECRET in text for text in post_texts(site))


# Visible to members ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("handle", "words"),
    [
        ("ada", "Consent: full. Ada Lovelace lets this site show each of their posts in full"),
        ("bob", "Consent: excerpt. Bob Weaver lets this site show a short excerpt"),
        ("cy", "Consent: link. Cy Draft lets this site show only the title, the date and a link"),
    ],
)
def test_each_member_page_says_what_consent_is_in_effect(community, handle, words):
    section = community.page(f"members/{handle}/").find(id="consent")
    assert words in section.get_text(" ", strip=True)
    assert f"content/members/{handle}.md" in section.get_text()
    how = section.find("a", string="how to change it")["href"]
    assert how.endswith("members/#change-consent")
    community_page = community.page("members/")
    assert community_page.find(id="change-consent") is not None


def test_member_pages_follow_the_member_file_and_link_to_it(community):
    community.write_settings(
        CHORUS_MEMBER_FILE_URL="https://git.example/loom/edit/main/content/members/{file}"
    )
    path = community.members / "bob.md"
    path.write_text(path.read_text().replace("consent: excerpt", "consent: link"))
    community.build()
    section = community.page("members/bob/").find(id="consent")
    assert "Consent: link." in section.get_text()
    edit = section.find("a", string="edit the member file")["href"]
    assert edit == "https://git.example/loom/edit/main/content/members/bob.md"


def test_the_community_page_explains_joining_consent_and_leaving(community):
    text = community.page("members/").find(id="membership").parent.get_text(" ", strip=True)
    for heading in ("Joining", "Changing your consent", "Leaving"):
        assert heading in text
    assert "chorus members remove" in text
    assert "a narrower consent applies from the next build to every post" in text


def test_narrowed_then_widened_again_the_posts_come_back_in_full(site, cli, feed_server):
    url = feed_server.add("/feed.xml", feed(), etag='"v1"')
    fetch_member(site, cli, url, "full")
    fetch_member(site, cli, url, "link")  # 304: the files are narrowed in place
    assert not any(OPENING in text for text in post_texts(site))
    fetch_member(site, cli, url, "full")  # still 304 if asked with validators: asked without
    assert all(SECRET in text for text in post_texts(site))
