"""Share cards (the chorus_cards plugin): every page names a 1200x630 picture, its alt text and
a description, as Open Graph and Twitter read them; the pictures are drawn once per content."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageStat

SITE = "https://loom.example"


@pytest.fixture
def shared(community):
    """The community site, with a page, built as for deployment (absolute URLs)."""
    (community.content / "pages" / "about.md").write_text(
        "Title: About the Loom\nSummary: Who we are and how to join.\n\nWe weave.\n"
    )
    community.write_settings(SITEURL=SITE, FEED_DOMAIN=SITE, RELATIVE_URLS=False)
    community.build()
    return community


def share_tags(page) -> dict[str, str]:
    found = {}
    for tag in page.find_all("meta"):
        key = tag.get("property") or tag.get("name")
        if key and key.startswith(("og:", "twitter:")):
            assert key not in found or key in ("og:title",), f"{key} twice"
            found[key] = tag["content"]
    return found


def card_of(site, tags: dict[str, str]) -> Image.Image:
    assert tags["og:image"].startswith(f"{SITE}/images/cards/")
    path = site.output / tags["og:image"].removeprefix(f"{SITE}/")
    image = Image.open(io.BytesIO(path.read_bytes()))
    image.load()
    return image


def curated_page(site, handle: str) -> str:
    [path] = site.posts(handle)
    return f"posts/2026/{path.stem}/"


def original_page(site) -> str:
    [path] = site.output.glob("posts/*/an-original-article/index.html")
    return str(path.parent.relative_to(site.output)) + "/"


@pytest.mark.parametrize(
    ("kind", "alt", "description"),
    [
        ("curated", "Ada on looms, by Ada Lovelace, on The Loom Collective", "Ada Lovelace thinks"),
        ("original", "An original article, by Bob Weaver, on The Loom Collective", "Written here"),
        ("page", "About the Loom, on The Loom Collective", "Who we are and how to join."),
        ("member", "Ada Lovelace on The Loom Collective", "Ada Lovelace weaves."),
        ("community", "The Loom Collective", "Notes from the people who weave"),
        ("home", "The Loom Collective", "Notes from the people who weave"),
        ("tags", "The Loom Collective", "Notes from the people who weave"),
    ],
)
def test_every_page_names_a_share_card(shared, kind, alt, description):
    relative = {
        "curated": curated_page(shared, "ada"),
        "original": original_page(shared),
        "page": "about-the-loom/",
        "member": "members/ada/",
        "community": "members/",
        "home": "",
        "tags": "tags.html",
    }[kind]
    tags = share_tags(shared.page(relative or "index.html"))
    assert tags["twitter:card"] == "summary_large_image"
    assert tags["og:image:alt"] == alt
    assert tags["og:description"].startswith(description)
    assert (tags["og:image:width"], tags["og:image:height"]) == ("1200", "630")
    card = card_of(shared, tags)
    assert card.format == "PNG" and card.size == (1200, 630)
    # Not blank: light text on a dark ground, and a face where there is one.
    darkest, lightest = ImageStat.Stat(card.convert("L")).extrema[0]
    assert darkest < 80 and lightest > 220


def test_a_card_shows_the_members_face(shared):
    with_face = card_of(shared, share_tags(shared.page(curated_page(shared, "bob"))))
    site_card = card_of(shared, share_tags(shared.page("index.html")))
    # Bob has no avatar: his generated picture, on a pale ground, sits bottom left.
    corner = (80, 418, 212, 550)
    assert ImageStat.Stat(with_face.convert("L").crop(corner)).mean[0] > 120
    assert ImageStat.Stat(site_card.convert("L").crop(corner)).mean[0] < 80


def test_cards_are_kept_by_content_and_drawn_again_only_when_it_changes(shared):
    cache = shared.root / "cache" / "chorus" / "cards"
    drawn = {path.name: path.stat().st_mtime_ns for path in cache.iterdir()}
    first = share_tags(shared.page(curated_page(shared, "ada")))["og:image"]
    other = share_tags(shared.page(original_page(shared)))["og:image"]

    shared.build()  # the same content: the same cards, none drawn again
    assert {path.name: path.stat().st_mtime_ns for path in cache.iterdir()} == drawn
    assert share_tags(shared.page(curated_page(shared, "ada")))["og:image"] == first

    # A clean output directory: the cards come from the cache, not drawn again.
    import shutil

    shutil.rmtree(shared.output)
    shared.build()
    assert {path.name: path.stat().st_mtime_ns for path in cache.iterdir()} == drawn
    assert card_of(shared, share_tags(shared.page(original_page(shared)))).size == (1200, 630)

    # A new title: a new card for that post only.
    article = shared.content / "articles" / "original.md"
    article.write_text(article.read_text().replace("An original article", "A renamed article"))
    shared.build()
    [renamed] = shared.output.glob("posts/*/a-renamed-article/index.html")
    new = share_tags(shared.page(str(renamed.relative_to(shared.output))))["og:image"]
    assert new != other
    assert share_tags(shared.page(curated_page(shared, "ada")))["og:image"] == first
    assert len(list(cache.iterdir())) == len(drawn) + 1


def test_a_build_draws_the_newest_posts_cards_first_and_the_next_build_the_rest(shared):
    import shutil

    shutil.rmtree(shared.root / "cache")
    shutil.rmtree(shared.output)
    shared.write_settings(CHORUS_SHARE_CARDS_PER_BUILD=1)
    shared.build()
    newest = share_tags(shared.page(original_page(shared)))
    older = share_tags(shared.page(curated_page(shared, "ada")))
    member = share_tags(shared.page("members/ada/"))
    assert newest["og:image:alt"].startswith("An original article, by Bob Weaver")
    # Ada's post names its own card, which waits for a later build: her card (face, name,
    # site) is under its name meanwhile.
    assert older["og:image"] != member["og:image"]
    assert older["og:image:alt"] == "Ada on looms, by Ada Lovelace, on The Loom Collective"
    waiting = card_of(shared, older)
    assert waiting.tobytes() == card_of(shared, member).tobytes()
    # The stand-in is the member's card linked under another name, not bytes written again.
    member_card = shared.output / member["og:image"].removeprefix(f"{SITE}/")
    stand_in = shared.output / older["og:image"].removeprefix(f"{SITE}/")
    assert stand_in.stat().st_ino == member_card.stat().st_ino
    member_bytes = member_card.read_bytes()
    page = shared.output / curated_page(shared, "ada") / "index.html"
    written = page.stat().st_mtime_ns

    shared.build()  # the cache kept, as the deploy workflow keeps it: the next post's card
    assert share_tags(shared.page(curated_page(shared, "ada"))) == older
    drawn = card_of(shared, older)
    assert drawn.size == (1200, 630)
    assert drawn.tobytes() != waiting.tobytes()
    # The post's card took the stand-in's place without writing into the member's card.
    assert member_card.read_bytes() == member_bytes
    assert card_of(shared, member).tobytes() == waiting.tobytes()
    # Drawing the card changed no page: Ada's is the one the first build wrote.
    assert page.stat().st_mtime_ns == written


def test_many_cards_are_drawn_by_workers_each_with_its_own_title(community):
    """Enough posts for the worker processes: every post's card is there, and its own."""
    for number in range(30):
        community.article(
            f"looms-{number}.md",
            f"""
            Title: Looms, part {number}
            Date: 2026-10-{number % 27 + 1:02d} 10:00

            Part {number} of a long series.
            """,
        )
    community.write_settings(SITEURL=SITE, FEED_DOMAIN=SITE, RELATIVE_URLS=False)
    community.build()
    cards = set()
    for page in community.output.glob("posts/*/looms-part-*/index.html"):
        tags = share_tags(community.page(str(page.parent.relative_to(community.output)) + "/"))
        assert tags["og:image:alt"].startswith("Looms, part ")
        assert card_of(community, tags).size == (1200, 630)
        cards.add(tags["og:image"])
    assert len(cards) == 30


def test_a_wrong_number_of_cards_per_build_is_refused(community):
    from pelican import Pelican

    from chorus.common.config import ConfigError

    community.write_settings(CHORUS_SHARE_CARDS_PER_BUILD="all")
    with pytest.raises(ConfigError, match="CHORUS_SHARE_CARDS_PER_BUILD must be a whole number"):
        Pelican(community.settings()).run()


def test_without_dejavu_names_are_transliterated_not_boxed(monkeypatch):
    from PIL import ImageDraw, ImageFont

    from chorus.site import cards

    # Pillow's own font draws one and the same box for every accented letter.
    def drawn(letter: str) -> bytes:
        image = Image.new("L", (60, 60))
        ImageDraw.Draw(image).text((5, 5), letter, 255, ImageFont.load_default(size=40))
        return image.tobytes()

    assert drawn("á") == drawn("ł") != drawn("a")
    monkeypatch.setattr(cards, "_has_dejavu", lambda: False)
    font = cards._font(44)
    assert cards._fit("Tomás Brüggemann", font, 2000) == "Tomas Bruggemann"
    assert cards._fit("Łódź weaving " * 20, font, 300).endswith("...")
    assert cards._wrap("Grüße aus Łódź", font, 2000) == ["Grusse aus Lodz"]
    picture = Image.open(io.BytesIO(cards.draw_card(cards.CardText("Ñandú", "Café", "Tomás"))))
    assert picture.size == (1200, 630)


def test_a_name_or_title_of_any_length_is_cut_to_what_the_card_shows():
    from chorus.site import cards

    font = cards._font(44)
    name = "Weaver" * 10_000  # nothing in a member file caps a name
    fitted = cards._fit(name, font, 500)
    assert fitted.endswith(cards.ELLIPSIS)
    assert font.getlength(fitted) <= 500
    # The longest start that fits: one letter more would not.
    longer = name[: len(fitted)] + cards.ELLIPSIS
    assert font.getlength(longer) > 500
    assert cards._fit("Ada Lovelace", font, 500) == "Ada Lovelace"

    lines = cards._wrap("Looms " * 20_000, font, 900)
    assert lines and all(font.getlength(line) <= 900 for line in lines)
    picture = Image.open(io.BytesIO(cards.draw_card(cards.CardText(name, "The Loom", name))))
    assert picture.size == (1200, 630)
