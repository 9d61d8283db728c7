"""The newsletter: issue files, choosing and grouping posts, the email and its checks, and the
issue pages, archive and feed of a real build, read back as readers and mail clients would."""

from __future__ import annotations

import email
import email.policy
import re
import shlex
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import feedparser
import pytest
from bs4 import BeautifulSoup

from chorus.members.registry import Member, load_registry, read_member
from chorus.newsletter.check import HARD_LIMIT, check_message
from chorus.newsletter.collect import Post, collect, default_summary, new_members
from chorus.newsletter.email import EmailError, build_message, html_to_text, important, render
from chorus.newsletter.issue import (
    INTRO_STUB,
    Issue,
    Item,
    load_issues,
    new_issue_text,
    next_period,
    period_label,
    read_issue,
    update_issue,
)
from chorus.newsletter.settings import NewsletterConfig
from conftest import LOCAL_AVATAR
from newsletter_helpers import (
    INTRO,
    SITE_URL,
    UNSUBSCRIBE,
    make_issue,
    publish,
    write_intro,
)

CHECK_FIXTURES = sorted((Path(__file__).parent / "newsletter" / "check").glob("*.eml"))
REPO = Path(__file__).resolve().parent.parent


# Issue files ------------------------------------------------------------------------------


def new_file(tmp_path: Path, number: int = 3) -> Path:
    path = tmp_path / f"{number:04d}.md"
    path.write_text(
        new_issue_text(
            number=number,
            title="Loom newsletter",
            subject=f"Loom newsletter #{number}: a week of looms",
            issue_date=date(2026, 11, 23),
            start=date(2026, 11, 16),
            end=date(2026, 11, 22),
        )
    )
    return path


def test_a_new_issue_file_reads_back(tmp_path):
    issue, problems = read_issue(new_file(tmp_path))
    assert problems == []
    assert issue.number == 3
    assert (issue.date, issue.period_start, issue.period_end) == (
        date(2026, 11, 23),
        date(2026, 11, 16),
        date(2026, 11, 22),
    )
    assert issue.status == "draft" and not issue.published
    assert issue.items == () and issue.new_members == ()
    assert issue.intro == INTRO_STUB


def test_rewriting_generated_keys_keeps_everything_the_editor_wrote(tmp_path):
    path = new_file(tmp_path)
    text = path.read_text().replace(
        "summary: ''", "summary: Looms, mostly.  # the editor's own words"
    )
    text = text.replace(INTRO_STUB, "Hello *everyone*.\n\n---\n\nA rule above, kept.")
    path.write_text(text)
    item = Item("Looms", "On looms", "posts/2026/looms/", "ada", "About looms.", "https://a/")
    update_issue(path, {"items": [item], "new_members": ["bob"]})
    after = path.read_text()
    # Every line but the two generated keys is byte for byte the same.
    for line in text.splitlines():
        if not line.startswith(("items:", "new_members:")):
            assert line in after.splitlines(), line
    issue, problems = read_issue(path)
    assert problems == []
    assert issue.items == (item,)
    assert issue.new_members == ("bob",)
    assert issue.summary == "Looms, mostly."
    assert issue.intro.endswith("A rule above, kept.")


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (("status: draft", "stauts: draft"), "stauts", "did you mean 'status'"),
        (("number: 3", "number: 4"), "number", "does not match the file name"),
        (("date: 2026-11-23", "date: next monday"), "date", "is not a date"),
        (("period_start: 2026-11-16", "period_start: 2026-11-30"), "period_end", "before"),
        (("status: draft", "status: published"), "status", "not one of"),
        (("items: []", "items:\n- title: No URL"), "items[0]", "missing section, url"),
        (("new_members: []", "new_members: bob"), "new_members", "list of strings"),
    ],
    ids=["unknown-key", "number", "date", "period", "status", "item", "new-members"],
)
def test_issue_file_problems_name_the_field(tmp_path, change, field, message):
    path = new_file(tmp_path)
    path.write_text(path.read_text().replace(*change))
    issue, problems = read_issue(path)
    assert issue is None
    assert any(p.field == field and message in p.message for p in problems), problems


def test_badly_named_issue_files_are_reported(tmp_path):
    new_file(tmp_path)
    (tmp_path / "issue-4.md").write_text("---\nnumber: 4\n---\n")
    issues, problems = load_issues(tmp_path)
    assert [issue.number for issue in issues] == [3]
    assert "4-digit number" in str(problems[0])


@pytest.mark.parametrize(
    ("previous_end", "on", "days", "expected"),
    [
        (None, date(2026, 11, 23), 7, (date(2026, 11, 16), date(2026, 11, 22))),
        (date(2026, 11, 22), date(2026, 11, 30), 7, (date(2026, 11, 23), date(2026, 11, 29))),
        # Two weeks skipped: the next issue covers them, so no post is left out.
        (date(2026, 11, 22), date(2026, 12, 14), 7, (date(2026, 11, 23), date(2026, 12, 13))),
        (date(2026, 11, 30), date(2026, 12, 1), 1, (date(2026, 12, 1), date(2026, 12, 1))),
    ],
    ids=["first", "next-week", "skipped-weeks", "daily"],
)
def test_next_period(previous_end, on, days, expected):
    previous = None
    if previous_end:
        previous = Issue(1, "subject", previous_end, previous_end, previous_end)
    assert next_period(previous, on, days) == expected


@pytest.mark.parametrize(
    ("start", "end", "label"),
    [
        (date(2026, 11, 16), date(2026, 11, 22), "16\u201322 November 2026"),
        (date(2026, 11, 30), date(2026, 12, 6), "30 November \u2013 6 December 2026"),
        (date(2026, 12, 28), date(2027, 1, 3), "28 December 2026 \u2013 3 January 2027"),
        (date(2026, 12, 1), date(2026, 12, 1), "1 December 2026"),
    ],
)
def test_period_label(start, end, label):
    assert period_label(start, end) == label


# Choosing and grouping posts --------------------------------------------------------------

MEMBERS = {
    "ada": Member("ada", "Ada Lovelace", "https://ada.example/", ("https://ada.example/f",)),
    "bob": Member(
        "bob",
        "Bob Weaver",
        "https://bob.example/",
        ("https://bob.example/f",),
        joined=date(2026, 11, 18),
    ),
    "cy": Member("cy", "Cy Draft", "https://cy.example/", ("https://cy.example/f",)),
}


def post(title: str, day: int, hour: int = 12, **fields) -> Post:
    fields.setdefault("url", f"posts/2026/{title.lower().replace(' ', '-')}/")
    fields.setdefault("category", "Community")
    return Post(title=title, date=datetime(2026, 11, day, hour, tzinfo=UTC), **fields)


POSTS = [
    post("Release notes", 17, tags=("release", "heddle"), authors=("Rosa",)),
    post("Warping", 18, tags=("beginners",), member="bob", authors=("Bob Weaver",),
         original_url="https://bob.example/warping/", summary="How to warp. " * 40,
         consent="excerpt"),
    post("Card looms", 16, tags=("heddle", "release"), member="ada", authors=("Ada Lovelace",),
         original_url="https://ada.example/cards/", summary="Cards.", consent="link"),
    post("Guest post", 19, member="cy", authors=("Grace Hopper",), category="Notes",
         summary="<p>A <b>guest</b>.</p>"),
    post("Warping again", 20, member="ada", authors=("Ada Lovelace",),
         original_url="https://BOB.example/warping", tags=("beginners",)),
    post("Too early", 15, hour=23, member="ada"),  # 16 November in Tokyo
    post("Late on Sunday", 22, hour=20, member="ada", category="Notes"),  # 23 Nov. in Tokyo
    post("Too late", 23, hour=1, member="ada"),
]  # fmt: skip


def collected(**options) -> list[Item]:
    defaults = {
        "start": date(2026, 11, 16),
        "end": date(2026, 11, 22),
        "timezone": UTC,
        "members": MEMBERS,
        "sections": (("release", "Releases"), ("beginners", "For beginners")),
    }
    return collect(POSTS, **{**defaults, **options})


def test_items_are_grouped_by_the_first_section_tag_then_by_category():
    items = collected()
    assert [(i.section, i.title) for i in items] == [
        ("Releases", "Card looms"),  # tagged heddle, release: the release section
        ("Releases", "Release notes"),
        ("For beginners", "Warping"),
        ("Notes", "Guest post"),  # no section tag: its category
        ("Notes", "Late on Sunday"),
    ]


def test_each_item_credits_its_author_and_the_member_who_shared_it():
    by_title = {item.title: item for item in collected()}
    assert by_title["Warping"].author == "bob" and by_title["Warping"].shared_by is None
    # A member's post written by someone else: the writer is the author, the member shared it.
    guest = by_title["Guest post"]
    assert (guest.author, guest.shared_by) == ("Grace Hopper", "cy")
    # Not a member: the name Pelican has.
    assert by_title["Release notes"].author == "Rosa"
    assert by_title["Card looms"].original_url == "https://ada.example/cards/"


def test_excerpts_are_short_plain_text_and_follow_consent():
    by_title = {item.title: item for item in collected()}
    assert by_title["Card looms"].excerpt == ""  # the member allows links only
    assert by_title["Guest post"].excerpt == "A guest."
    long = by_title["Warping"].excerpt
    assert len(long) <= 280 and long.endswith("\u2026") and "  " not in long


def test_the_same_post_twice_and_posts_outside_the_period_are_left_out():
    titles = [item.title for item in collected()]
    assert "Warping again" not in titles  # the same original as Bob's "Warping"
    assert "Too early" not in titles and "Too late" not in titles
    # Days are the site's: 22 November 20:00 UTC is already 23 November in Tokyo...
    tokyo = [i.title for i in collected(timezone=ZoneInfo("Asia/Tokyo"))]
    assert "Late on Sunday" in titles and "Late on Sunday" not in tokyo
    # ...and 15 November 23:00 UTC is 16 November there: inside the period.
    assert "Too early" in tokyo


def test_the_editor_can_leave_posts_out():
    titles = [
        item.title
        for item in collected(
            exclude=["https://ada.example/cards", f"{SITE_URL}/posts/2026/release-notes/"]
        )
    ]
    assert "Card looms" not in titles and "Release notes" not in titles
    assert "Warping" in titles


def test_without_sections_posts_go_under_their_category():
    assert {item.section for item in collected(sections=())} == {"Community", "Notes"}


def test_members_who_joined_in_the_period_are_new():
    assert new_members(MEMBERS, date(2026, 11, 16), date(2026, 11, 22)) == ["bob"]
    assert new_members(MEMBERS, date(2026, 11, 19), date(2026, 11, 25)) == []


def test_a_summary_is_offered_when_the_editor_wrote_none():
    items = collected()
    summary = default_summary(items, {"bob": "Bob Weaver"})
    assert summary.startswith("5 posts by 4 people: \u201cCard looms\u201d")
    assert len(summary) <= 130


@pytest.mark.parametrize(
    ("value", "problem"),
    [("2026-11-18", None), ("18/11/2026", "is not a date"), ("yes", "is not a date")],
)
def test_members_may_say_when_they_joined(tmp_path, value, problem):
    path = tmp_path / "ada.md"
    path.write_text(
        f"---\nname: Ada\nsite: https://ada.example/\nfeeds: https://ada.example/f\n"
        f"joined: {value}\n---\n"
    )
    member, problems = read_member(path, content_dir=tmp_path)
    if problem is None:
        assert member.joined == date(2026, 11, 18)
    else:
        assert member is None and problem in problems[0].message


# The email --------------------------------------------------------------------------------


@pytest.fixture
def issue_site(community, cli):
    """The community site with a ready issue, settings as for publishing."""
    publish(community)
    path = make_issue(community, cli)
    return community, path


def rendered_issue(site):
    config = NewsletterConfig.from_settings(site.settings())
    [issue], _ = load_issues(config.issues_dir)
    registry = load_registry(
        config.members_dir, content_dir=config.content_dir, local_feeds_dir=site.local_feeds
    )
    return config, issue, render(issue, registry.members, config, site_url=SITE_URL)


def parse(message) -> email.message.EmailMessage:
    """The message as a mail client gets it: bytes on the wire, parsed back."""
    return email.message_from_bytes(message.as_bytes(), policy=email.policy.default)


def test_the_issue_file_is_filled_from_the_sites_posts(issue_site):
    _, path = issue_site
    issue, problems = read_issue(path)
    assert problems == []
    assert (issue.period_start, issue.period_end) == (date(2026, 11, 2), date(2026, 11, 8))
    by_title = {item.title: item for item in issue.items}
    # Cy's post is still a draft: not in the issue.
    assert set(by_title) == {"Ada on looms", "Bob on looms", "An original article"}
    assert by_title["Ada on looms"].author == "ada"
    assert by_title["Ada on looms"].original_url == "https://ada.example/posts/looms/"
    assert by_title["An original article"].author == "bob"
    assert by_title["An original article"].original_url is None
    assert "Bob Weaver thinks about looms" in by_title["Bob on looms"].excerpt
    assert issue.intro == INTRO.strip()
    assert issue.summary.startswith("3 posts by 2 people")


def test_email_is_multipart_alternative_plain_first_with_list_headers(issue_site):
    site, _ = issue_site
    config, issue, rendered = rendered_issue(site)
    sent = datetime(2026, 11, 9, 8, tzinfo=UTC)
    message = parse(
        build_message(rendered, config, site_url=SITE_URL, to="reader@example.org", date=sent)
    )
    assert message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in message.iter_parts()] == [
        "text/plain",
        "text/html",
    ]
    assert message["Subject"] == issue.subject
    assert message["To"] == "reader@example.org"
    assert message["From"] == "The Loom Collective newsletter <newsletter@loom.example>"
    assert re.fullmatch(r"<issue-0001\.[0-9a-f]{20}@loom\.example>", message["Message-ID"])
    assert message["List-Id"] == '"The Loom Collective newsletter" <newsletter.loom.example>'
    assert message["List-Unsubscribe"] == (
        "<https://lists.loom.example/unsubscribe?address=reader@example.org>"
    )
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["List-Archive"] == f"<{SITE_URL}/newsletter/>"
    assert check_message(message, allowed=[UNSUBSCRIBE]) == []


def test_email_html_is_made_for_mail_clients(issue_site):
    site, _ = issue_site
    _, issue, rendered = rendered_issue(site)
    page = BeautifulSoup(rendered.html, "html.parser")
    container = page.find("table", class_="container")
    assert container["width"] == "640" and "max-width: 640px" in container["style"]
    assert all(table.get("role") == "presentation" for table in page.find_all("table"))
    # CSS inlined, and only the @media rules left in <style>, each declaration !important.
    assert page.find("h1")["style"]
    [style] = page.find_all("style")
    css = style.get_text()
    assert "prefers-color-scheme: dark" in css
    declarations = re.findall(r"[\w-]+\s*:\s*[^;{}]+;", css.split("{", 1)[1])
    assert declarations and all("!important" in d for d in declarations)
    # A hidden preheader from the summary, first thing in the body.
    preheader = page.body.find(True)
    assert "display: none" in preheader["style"]
    assert preheader.get_text().startswith(issue.summary)
    # Every URL absolute https; "view in browser" goes to the issue page.
    links = [a["href"] for a in page.find_all("a", href=True)]
    assert links and all(url.startswith("https://") for url in links)
    browser = page.find("a", string=re.compile("View this issue in your browser"))
    assert browser["href"] == f"{SITE_URL}/newsletter/1/"
    assert len(links) == len(set(links))


def test_email_credits_every_contributor_and_links_both_pages(issue_site):
    site, _ = issue_site
    _, _, rendered = rendered_issue(site)
    page = BeautifulSoup(rendered.html, "html.parser")
    ada = page.find("a", string="Ada on looms")
    assert ada["href"].startswith(f"{SITE_URL}/posts/2026/")
    block = ada.find_parent("td").get_text(" ", strip=True)
    assert "by Ada Lovelace" in block
    assert page.find("a", href="https://ada.example/posts/looms/")
    thanks = page.find("h2", string="Thank you").find_parent("td")
    names = {a.get_text(): a["href"] for a in thanks.find_all("a")}
    assert names == {
        "Ada Lovelace": f"{SITE_URL}/members/ada/",
        "Bob Weaver": f"{SITE_URL}/members/bob/",
    }
    # The intro's link, and the relative ones made absolute.
    assert page.find("a", href="https://loom.example/archives.html")


def test_email_shows_each_contributors_face_from_the_site(issue_site, cli, tmp_path):
    site, _ = issue_site
    site.build()  # the site the email's pictures are on
    cli("newsletter", "email", "-o", str(tmp_path))
    message = email.message_from_bytes(
        (tmp_path / "issue-0001.eml").read_bytes(), policy=email.policy.default
    )
    page = BeautifulSoup(message.get_body(("html",)).get_content(), "html.parser")
    thanks = page.find("h2", string="Thank you").find_parent("td")
    faces = {img["alt"]: img["src"] for img in thanks.find_all("img")}
    # Ada's avatar is a file under content/; Bob gave none: his generated picture.
    assert LOCAL_AVATAR.fullmatch(faces["Ada Lovelace"].removeprefix(f"{SITE_URL}/"))
    assert (site.output / faces["Ada Lovelace"].removeprefix(f"{SITE_URL}/")).is_file()
    assert faces["Bob Weaver"].startswith(f"{SITE_URL}/images/avatars/generated/")
    assert (site.output / faces["Bob Weaver"].removeprefix(f"{SITE_URL}/")).is_file()
    assert all(img["width"] == img["height"] == "32" for img in thanks.find_all("img"))
    # Beside each byline, a face the name next to it describes.
    ada = page.find("a", string="Ada on looms").find_parent("td")
    assert ada.find("img", src=faces["Ada Lovelace"], alt="", role="presentation")
    assert check_message(message, allowed=[UNSUBSCRIBE]) == []


def test_plain_text_alternative_has_every_link(issue_site):
    site, _ = issue_site
    _, _, rendered = rendered_issue(site)
    page = BeautifulSoup(rendered.html, "html.parser")
    for url in {a["href"] for a in page.find_all("a", href=True)}:
        assert url in rendered.text, url
    assert "by Ada Lovelace" in rendered.text
    assert "the archive (https://loom.example/archives.html)" in " ".join(rendered.text.split())
    assert max(len(line) for line in rendered.text.splitlines() if "://" not in line) <= 100


def test_new_members_are_welcomed(community, cli):
    publish(community)
    community.member("dee", name="Dee New", feeds=["https://dee.example/f"], joined="2026-11-04")
    make_issue(community, cli)
    _, issue, rendered = rendered_issue(community)
    assert issue.new_members == ("dee",)
    page = BeautifulSoup(rendered.html, "html.parser")
    welcome = page.find(string=re.compile("A warm welcome")).parent
    assert welcome.find("a", string="Dee New")["href"] == f"{SITE_URL}/members/dee/"
    assert "Dee New: https://loom.example/members/dee/" in rendered.text


def test_emails_need_the_sites_public_address(issue_site):
    site, _ = issue_site
    site.write_settings(SITEURL="")
    config = NewsletterConfig.from_settings(site.settings())
    [issue], _ = load_issues(config.issues_dir)
    with pytest.raises(EmailError, match=r"publishconf\.py"):
        render(issue, {}, config, site_url=config.site_url)


def test_the_same_issue_gives_the_same_eml(issue_site, cli, tmp_path):
    first = cli("newsletter", "email", "-o", str(tmp_path / "a"))
    cli("newsletter", "email", "-o", str(tmp_path / "b"))
    assert "issue-0001.eml" in first.output
    for suffix in (".eml", ".html", ".txt"):
        a = (tmp_path / "a" / f"issue-0001{suffix}").read_bytes()
        assert a == (tmp_path / "b" / f"issue-0001{suffix}").read_bytes()
    message = email.message_from_bytes(
        (tmp_path / "a" / "issue-0001.eml").read_bytes(), policy=email.policy.default
    )
    assert message.get_content_type() == "multipart/alternative"
    assert message["Date"] == "Mon, 09 Nov 2026 00:00:00 +0000"


def test_html_to_text_writes_links_out():
    text = html_to_text(
        '<p>Read <a href="https://a.example/">the post</a>, or mail '
        '<a href="mailto:ed@loom.example">ed@loom.example</a>.</p>'
        "<ul><li>one</li><li>two</li></ul><pre>code\n  indented</pre>"
    )
    assert text == (
        "Read the post (https://a.example/), or mail ed@loom.example.\n\n"
        "- one\n\n- two\n\ncode\n  indented"
    )


def test_rules_kept_in_style_are_made_important():
    css = "@media (prefers-color-scheme: dark) { a { color: #fff } .x { margin: 0 !important; } }"
    assert important(css) == (
        "@media (prefers-color-scheme: dark) { a { color: #fff !important; } "
        ".x { margin: 0 !important; } }"
    )


# The checks -------------------------------------------------------------------------------


def fixture_message(path: Path) -> email.message.EmailMessage:
    return email.message_from_bytes(path.read_bytes(), policy=email.policy.default)


@pytest.mark.parametrize("path", CHECK_FIXTURES, ids=lambda p: p.stem)
def test_check_rule_fixture(path):
    """Each fixture breaks exactly the rule its X-Test-Expect header names."""
    message = fixture_message(path)
    expected = message["X-Test-Expect"].split()
    findings = check_message(message)
    if expected == ["nothing"]:
        assert findings == []
        return
    rule, severity = expected[0], (expected[1] if len(expected) > 1 else "error")
    assert [(f.rule, f.severity) for f in findings] == [(rule, severity)], findings
    assert findings[0].message  # and it says what to do


def test_every_rule_has_a_failing_fixture():
    from chorus.newsletter.check import RULES

    covered = {fixture_message(p)["X-Test-Expect"].split()[0] for p in CHECK_FIXTURES}
    assert set(RULES) <= covered


@pytest.mark.parametrize(
    ("extra", "budget", "says"),
    [(60_000, 50_000, "over the budget of 50.0 KB"), (HARD_LIMIT, 90_000, "Gmail clips")],
    ids=["over-budget", "over-gmail-limit"],
)
def test_check_size(extra, budget, says):
    message = fixture_message(CHECK_FIXTURES[0].with_name("good.eml"))
    html_part = message.get_body(preferencelist=("html",))
    html_part.set_content(
        html_part.get_content().replace("</body>", f"<p>{'x' * extra}</p></body>"),
        subtype="html",
    )
    findings = check_message(message, budget=budget)
    assert [f.rule for f in findings] == ["size"]
    assert says in findings[0].message


def test_a_services_unsubscribe_placeholder_is_not_a_leftover():
    message = fixture_message(CHECK_FIXTURES[0].with_name("good.eml"))
    placeholder = "{{ unsubscribe_url }}"
    for kind in ("html", "plain"):
        part = message.get_body(preferencelist=(kind,))
        part.set_content(
            part.get_content().replace("https://lists.loom.example/unsubscribe", placeholder),
            subtype=kind,
        )
    del message["List-Unsubscribe-Post"]
    message.replace_header("List-Unsubscribe", f"<{placeholder}>")
    assert check_message(message, allowed=[placeholder]) == []
    # Anything else in double braces is a leftover, and a bare placeholder is no URL.
    assert {f.rule for f in check_message(message)} == {"placeholders", "urls"}


def test_check_command_fails_on_the_intro_stub_and_passes_when_written(issue_site, cli):
    _, path = issue_site
    write_intro(path, INTRO_STUB + "\n")
    result = cli("newsletter", "check", expect=1)
    assert "placeholders" in result.output and "TODO" in result.output
    write_intro(path, INTRO)
    assert "passes every check" in cli("newsletter", "check").output


def test_check_command_reads_eml_files(cli, site):
    bad = CHECK_FIXTURES[0].with_name("duplicate-links.eml")
    result = cli("newsletter", "check", "--eml", str(bad), expect=1)
    assert "duplicate-links" in result.output
    cli("newsletter", "check", "--eml", str(bad.with_name("good.eml")))


# The CLI round ----------------------------------------------------------------------------


def test_new_numbers_issues_and_continues_the_period(community, cli):
    cli("newsletter", "new", "--date", "2026-11-09")
    second = cli("newsletter", "new", "--date", "2026-11-16").output
    assert "started issue 2, 9\u201315 November 2026" in second
    issue, _ = read_issue(community.content / "newsletter" / "0002.md")
    assert issue.period_start == date(2026, 11, 9)
    assert issue.subject == "The Loom Collective newsletter #2: 9\u201315 November 2026"
    weekly = cli("newsletter", "new", "--date", "2026-12-01", "--days", "14").output
    assert "16\u201330 November 2026" in weekly


def test_build_keeps_the_intro_and_refuses_a_sent_issue(issue_site, cli):
    _, path = issue_site
    update_issue(path, {"subject": "Issue one: looms, looms, looms", "summary": "Mine."})
    cli("newsletter", "build")
    issue, _ = read_issue(path)
    assert issue.subject == "Issue one: looms, looms, looms" and issue.summary == "Mine."
    assert issue.intro == INTRO.strip() and len(issue.items) == 3
    update_issue(path, {"status": "sent"})
    assert "was sent already" in cli("newsletter", "build", expect=1).output
    cli("newsletter", "build", "--force")


def test_list_shows_every_issue(issue_site, cli):
    output = cli("newsletter", "list").output
    assert "ready" in output and "2\u20138" in output


# On the site ------------------------------------------------------------------------------


def test_issue_page_archive_and_member_links(issue_site, cli):
    site, path = issue_site
    cli("newsletter", "new", "--date", "2026-11-16")  # a draft: not on the site
    site.build()
    page = site.page("newsletter/1")
    assert page.find("h1").get_text(strip=True) == read_issue(path)[0].subject
    main = page.find("main")
    sections = [h2.get_text(strip=True) for h2 in main.find_all("h2")]
    assert sections[-1] == "Thank you" and "Community" in sections
    ada = main.find("a", string="Ada on looms")
    assert ada["href"].startswith(f"{SITE_URL}/posts/2026/")
    entry = ada.find_parent("li")
    assert "by Ada Lovelace" in entry.get_text(" ", strip=True)
    assert entry.find("a", href="https://ada.example/posts/looms/")
    assert main.find("a", href=f"{SITE_URL}/members/ada/")
    nav = page.find("nav", class_="site-nav")
    assert nav.find("a", string="Newsletter")["aria-current"] == "page"

    archive = site.page("newsletter")
    listed = [a["href"] for a in archive.select("main ol a")]
    assert listed == [f"{SITE_URL}/newsletter/1/"]
    assert not (site.output / "newsletter" / "2").exists()

    member = site.page("members/ada")
    featured = member.find(id="member-featured").find_parent("section")
    assert featured.find("a")["href"] == f"{SITE_URL}/newsletter/1/"
    assert site.page("members/cy").find(id="member-featured") is None


def test_feed_of_issues_is_full_content_with_stable_ids(issue_site):
    site, _ = issue_site
    site.build()
    feed_path = site.output / "newsletter" / "feed.atom.xml"
    feed = feedparser.parse(feed_path.read_bytes())
    assert not feed.bozo, feed.get("bozo_exception")
    [entry] = feed.entries
    assert entry.link == f"{SITE_URL}/newsletter/1/"
    content = BeautifulSoup(entry.content[0].value, "html.parser")
    hrefs = [a["href"] for a in content.find_all("a", href=True)]
    assert hrefs and all(url.startswith("https://") for url in hrefs)
    assert content.find("a", string="Ada on looms")
    assert "Thank you" in content.get_text() and "Welcome to issue one" in content.get_text()
    first_id = entry.id
    site.build()
    assert feedparser.parse(feed_path.read_bytes()).entries[0].id == first_id
    feeds = [link["href"] for link in site.page("newsletter/1").find_all("link", rel="alternate")]
    assert f"{SITE_URL}/newsletter/feed.atom.xml" in feeds


def test_a_site_without_issues_has_no_newsletter_pages(community):
    community.build()
    assert not (community.output / "newsletter").exists()
    nav = community.page("index.html").find("nav", class_="site-nav")
    assert nav.find("a", string="Newsletter") is None


def test_a_broken_issue_file_is_skipped_with_its_reason(issue_site, caplog):
    site, _ = issue_site
    (site.content / "newsletter" / "0002.md").write_text("---\nnumber: two\n---\n")
    site.build()
    assert (site.output / "newsletter" / "1" / "index.html").is_file()
    assert any("0002.md: number" in record.getMessage() for record in caplog.records)


def test_issue_files_are_never_read_as_articles(issue_site, caplog):
    site, _ = issue_site
    site.write_settings(ARTICLE_PATHS=[""], PAGE_PATHS=[])
    site.build()
    assert not [r for r in caplog.records if "0001.md" in r.getMessage()]
    assert (site.output / "newsletter" / "1" / "index.html").is_file()


def test_the_demo_issue_passes_every_check(tmp_path):
    """content/newsletter/0001.md, as the demo site's readers and subscribers would get it."""
    import shutil

    from click.testing import CliRunner

    from chorus.cli.main import main
    from sites import write_site_settings

    root = tmp_path / "demo"
    shutil.copytree(REPO / "content", root / "content")
    settings_file = write_site_settings(root, SITEURL=SITE_URL, RELATIVE_URLS=False)
    result = CliRunner().invoke(
        main, ["--settings", str(settings_file), "newsletter", "check", "1"]
    )
    assert result.exit_code == 0, result.output
    assert "passes every check" in result.output
    issue, _ = read_issue(root / "content" / "newsletter" / "0001.md")
    assert issue.published and len(issue.items) >= 5 and len(issue.new_members) == 2


def test_dates_in_the_feed_are_the_issue_date_in_the_sites_time_zone(issue_site):
    site, _ = issue_site
    site.write_settings(TIMEZONE="Europe/Paris")
    site.build()
    feed = feedparser.parse((site.output / "newsletter" / "feed.atom.xml").read_bytes())
    published = datetime(*feed.entries[0].published_parsed[:6], tzinfo=UTC)
    assert published == datetime(2026, 11, 9, tzinfo=timezone(timedelta(hours=1)))


# An editor's flow without surprises -------------------------------------------------------


def test_the_subject_keeps_in_step_with_the_period(issue_site, cli):
    _, path = issue_site
    assert "2\u20138 November 2026" in read_issue(path)[0].subject
    update_issue(path, {"period_start": date(2026, 9, 1), "period_end": date(2026, 11, 8)})
    stale = " ".join(cli("newsletter", "check", expect=1).output.split())
    assert "subject-period" in stale and "says '2\u20138 November 2026'" in stale
    assert "covers 1 September \u2013 8 November 2026" in stale
    built = cli("newsletter", "build").output
    assert "Subject now in step with the period" in built
    subject = read_issue(path)[0].subject
    assert subject == "The Loom Collective newsletter #1: 1 September \u2013 8 November 2026"
    assert "passes every check" in cli("newsletter", "check").output
    update_issue(path, {"subject": "Looms of 30 November 2026, and more"})  # a day outside
    assert "subject-period" in cli("newsletter", "check", expect=1).output


def test_build_suggests_a_check_command_that_works(community, cli):
    """Without a public SITEURL in pelicanconf.py, the command names --publish."""
    publishconf = community.root / "publishconf.py"
    publishconf.write_text(
        "import runpy\n"
        f"globals().update({{k: v for k, v in runpy.run_path({str(community.settings_file)!r})"
        ".items() if k.isupper()})\n"
        f"SITEURL = {SITE_URL!r}\nFEED_DOMAIN = SITEURL\nRELATIVE_URLS = False\n"
        f"CHORUS_NEWSLETTER_UNSUBSCRIBE_URL = {UNSUBSCRIBE!r}\n"
    )
    cli("newsletter", "new", "--date", "2026-11-09")
    output = " ".join(cli("newsletter", "build").output.split())
    [command] = re.findall(r"Next: chorus (.*?), then set", output)
    assert command.endswith("newsletter check 1 --publish")
    path = sorted((community.content / "newsletter").glob("*.md"))[-1]
    write_intro(path, INTRO)
    arguments = shlex.split(command)
    assert arguments[:2] == ["--settings", str(community.settings_file)]
    assert "passes every check" in cli(*arguments[2:]).output
    publish(community)  # now pelicanconf.py itself has the public address
    output = " ".join(cli("newsletter", "build").output.split())
    [command] = re.findall(r"Next: chorus (.*?), then set", output)
    assert command.endswith("newsletter check 1")


def test_an_invalid_latest_issue_is_named_not_passed_over(issue_site, cli, tmp_path):
    site, _ = issue_site
    cli("newsletter", "new", "--date", "2026-11-16")
    second = site.content / "newsletter" / "0002.md"
    update_issue(second, {"date": "the sixteenth"})
    for command in (["check"], ["email", "-o", str(tmp_path / "out")]):
        output = " ".join(cli("newsletter", *command, expect=1).output.split())
        assert "0002.md: date: 'the sixteenth' is not a date" in output
        assert "the latest issue file, " in output and "0002.md, is not valid" in output
    assert not (tmp_path / "out").exists()
    cli("newsletter", "email", "1", "-o", str(tmp_path / "out"))  # named: that one


def test_a_subscribe_url_equal_to_the_archive_is_one_link(issue_site, cli):
    site, _ = issue_site
    site.write_settings(CHORUS_NEWSLETTER_SUBSCRIBE_URL=f"{SITE_URL}/newsletter/")
    assert "passes every check" in cli("newsletter", "check").output
    _, _, rendered = rendered_issue(site)
    page = BeautifulSoup(rendered.html, "html.parser")
    [link] = page.find_all("a", href=f"{SITE_URL}/newsletter/")
    assert link.get_text() == "Past issues, and how to subscribe"
    assert f"Past issues, and how to subscribe: {SITE_URL}/newsletter/" in rendered.text
    site.write_settings(CHORUS_NEWSLETTER_SUBSCRIBE_URL="https://lists.loom.example/join")
    _, _, rendered = rendered_issue(site)
    page = BeautifulSoup(rendered.html, "html.parser")
    assert page.find("a", string="Subscribe")["href"] == "https://lists.loom.example/join"
    assert page.find("a", string="Past issues")["href"] == f"{SITE_URL}/newsletter/"


def test_the_review_copies_show_a_sample_address(issue_site, cli, tmp_path):
    cli("newsletter", "email", "-o", str(tmp_path))
    html = (tmp_path / "issue-0001.html").read_text()
    text = (tmp_path / "issue-0001.txt").read_text()
    sample = "https://lists.loom.example/unsubscribe?address=subscriber@example.invalid"
    page = BeautifulSoup(html, "html.parser")
    assert page.find("a", string="Unsubscribe")["href"] == sample
    assert sample in text and "{email}" not in html + text
    eml = email.message_from_bytes((tmp_path / "issue-0001.eml").read_bytes())
    assert eml["List-Unsubscribe"] == f"<{UNSUBSCRIBE}>"  # filled in by `send`
