"""The theme shows a community (issue 17): faces on the home page, new members welcomed, post
images, activity charts with their numbers in words, a feed-health table that fits a phone.
Read from the demo site as built, the way a reader's browser and a screen reader see it."""

from __future__ import annotations

import re
import shutil
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from pelican import Pelican
from pelican.settings import read_settings

from chorus.site.activity import activity, is_new, lead_image
from sites import REPO, write_site_settings


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("demo")
    shutil.copytree(REPO / "content", root / "content")
    Pelican(read_settings(str(write_site_settings(root)))).run()
    return root / "output"


def home_pages(output: Path) -> list[str]:
    """The home page and the numbered pages of older posts, newest first."""
    numbered = sorted(output.glob("page/*/index.html"), key=lambda p: -int(p.parent.name))
    return ["index.html", *(str(p.relative_to(output)) for p in numbered)]


def page(output: Path, relative: str) -> BeautifulSoup:
    path = output / relative
    return BeautifulSoup((path / "index.html" if path.is_dir() else path).read_text(), "lxml")


def test_the_home_page_shows_every_members_face_linking_to_their_page(demo):
    home = page(demo, "index.html")
    strip = home.find("section", class_="community-strip")
    links = strip.select("ul.faces a")
    members = sorted(p.stem for p in (REPO / "content" / "members").glob("*.md"))
    assert sorted(a["href"].rstrip("/").rsplit("/", 1)[-1] for a in links) == members
    for link in links:
        assert link.get_text(strip=True)  # the name, in words
        assert link.find(class_="avatar")
    # Page 2 is for more posts, not for the strip again.
    older = home_pages(demo)[1:]
    assert older, "the demo has more than one page of posts"
    assert all(page(demo, p).find("section", class_="community-strip") is None for p in older)


def test_new_members_are_welcomed_by_name(demo):
    welcome = page(demo, "index.html").find("p", class_="welcome")
    # joined: 2026-11-20 and 2026-11-18, within 30 days of the newest post; the rest not.
    names = [a.get_text() for a in welcome.find_all("a")]
    assert names == ["Sam Whitlock", "Greta Brüggemann"]


def test_cards_label_only_what_their_byline_does_not_say(demo):
    labels = []
    for number in home_pages(demo):
        for card in page(demo, number).select("article.entry"):
            kind = card.find(class_="entry-kind")
            curated = "entry--curated" in card["class"]
            labels.append((curated, kind.get_text(strip=True) if kind else None))
            if curated:  # the member's face and name say whose it is
                assert card.select_one(".byline .avatar"), card
    assert "From the community" not in {label for _, label in labels}
    assert {label for curated, label in labels if not curated} == {"The Loom Collective"}
    assert {label for curated, label in labels if curated} == {None}


def test_a_cards_image_is_the_posts_own_served_from_the_site(demo):
    cards = [
        card for number in home_pages(demo) for card in page(demo, number).select("article.entry")
    ]
    with_images = {
        c.find(class_="entry-title").get_text(strip=True): c
        for c in cards
        if c.find("img", class_="entry-image")
    }
    assert "Float limits, really explained" in with_images
    image = with_images["Float limits, really explained"].find("img", class_="entry-image")
    assert "://" not in image["src"] and (demo / image["src"].removeprefix("./")).is_file()
    assert image["alt"].startswith("A twill drawdown")
    assert (image["width"], image["height"]) == ("640", "360")
    # Jun shares links only: even an image of his own would not show.
    assert not [t for t in with_images if "previewer" in t.lower() and "floats" in t.lower()]


def test_lead_image_needs_a_kept_file_and_alt_text(tmp_path):
    from PIL import Image

    (tmp_path / "images").mkdir()
    Image.new("RGB", (30, 20)).save(tmp_path / "images" / "a.png")
    body = (
        '<p><img src="https://elsewhere.example/b.png" alt="Remote"></p>'
        '<p><img src="{static}/images/a.png" alt=""></p>'
        '<p><img src="{static}/images/missing.png" alt="Gone"></p>'
        '<p><img src="{static}/images/a.png" alt="Kept &amp; described"></p>'
    )
    found = lead_image(body, tmp_path)
    assert found is not None
    assert (found.path, found.alt, found.width, found.height) == (
        "images/a.png",
        "Kept & described",
        30,
        20,
    )
    assert lead_image("<p>No image</p>", tmp_path) is None


def test_activity_counts_twelve_months_back_from_the_newest_post():
    posts = [date(2026, 11, 3), date(2026, 11, 20), date(2026, 2, 1), date(2025, 11, 30)]
    found = activity(posts, newest=date(2026, 11, 21))
    assert found.months[0][0] == date(2025, 12, 1)
    assert found.months[-1][0] == date(2026, 11, 1)
    assert dict(found.months)[date(2026, 11, 1)] == 2
    assert dict(found.months)[date(2026, 2, 1)] == 1
    assert found.total == 3  # November 2025 is more than a year before
    assert found.label.startswith("3 posts from December 2025 to November 2026, by month:")
    assert found.label.endswith("October 0, November 2")


@pytest.mark.parametrize(
    ("joined", "first_post", "new"),
    [
        (date(2026, 11, 1), None, True),
        (date(2026, 10, 1), date(2026, 11, 20), False),  # joined: wins over the first post
        (None, date(2026, 11, 10), True),
        (None, date(2026, 9, 1), False),
        (None, None, False),
    ],
)
def test_who_is_new(joined, first_post, new):
    assert is_new(joined, first_post, date(2026, 11, 21), days=30) is new


def chart_counts(svg) -> list[int]:
    assert svg["role"] == "img"
    label = svg["aria-label"]
    assert svg.find("title").get_text() == label
    return [int(n) for n in re.findall(r" (\d+)(?:,|$)", label.split("by month: ", 1)[1])]


def test_community_page_shows_bios_and_each_members_activity(demo):
    community = page(demo, "members/")
    cards = community.select("li.member-card")
    assert len(cards) == 7
    for card in cards:
        assert card.select_one(".member-card-bio").get_text(strip=True)
        counts = chart_counts(card.find("svg", class_="activity"))
        assert len(counts) == 12
        assert len(card.find("svg").find_all("rect")) == 12
        stats = card.select_one(".member-card-stats").get_text()
        total = int(stats.split(" post")[0]) if "post" in stats else 0
        assert sum(counts) <= total  # the chart is the past year; the count is every post


def test_a_member_page_charts_the_posts_it_lists(demo):
    mira = page(demo, "members/mira/")
    counts = chart_counts(mira.select_one(".member-activity svg"))
    dates = [t["datetime"][:7] for t in mira.select(".member-posts time")]
    months = Counter(dates)
    assert counts[-3:] == [months["2026-09"], months["2026-10"], months["2026-11"]]


def test_the_feed_health_table_labels_every_cell_and_links_full_urls(demo):
    health = page(demo, "members/health/")
    for row in health.select("table.health tbody tr"):
        assert [td["data-label"] for td in row.find_all("td")] == [
            "Member", "Feed", "Status", "Last success", "Note",
        ]  # fmt: skip
        # Where the feed is a URL, the link holds all of it and the text is host and path.
        link = row.select_one("td.health-url a")
        if link:
            assert link["href"].startswith("http")
            assert "://" not in link.get_text()
