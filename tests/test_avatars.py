"""Members' faces: avatars fetched over HTTP from 127.0.0.1 into the repository (checked,
resized, named by content, asked for conditionally), a generated picture for members without
one, and the faces on every page that shows a member, read back as a reader's tools do."""

from __future__ import annotations

import io
import json

import mf2py
import pytest
from PIL import Image

from chorus.fetch.avatars import resize_avatar
from chorus.fetch.faces import AVATAR_SIZES, generated_avatar
from chorus.fetch.images import MediaError

SITE = "https://loom.example"
SVG = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'


def picture(kind: str = "PNG", size: tuple[int, int] = (300, 200), color: str = "teal") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, kind)
    return buffer.getvalue()


def bomb() -> bytes:
    """A PNG of a few kilobytes that declares 100 megapixels (400 MB once decoded as RGBA)."""
    buffer = io.BytesIO()
    Image.new("1", (10_000, 10_000)).save(buffer, "PNG")
    return buffer.getvalue()


def opened(body: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(body))
    image.load()
    return image


@pytest.mark.parametrize("kind", ["PNG", "JPEG", "GIF", "WEBP"])
def test_an_avatar_becomes_centre_cropped_squares_of_each_size(kind):
    # Wide: a red middle between blue sides, which the square crop cuts off.
    image = Image.new("RGB", (300, 100), "blue")
    image.paste(Image.new("RGB", (100, 100), "red"), (100, 0))
    buffer = io.BytesIO()
    image.save(buffer, kind)
    sizes = resize_avatar(buffer.getvalue())
    assert sorted(sizes) == list(AVATAR_SIZES)
    for size, body in sizes.items():
        square = opened(body)
        assert square.format == "PNG" and square.size == (size, size)
        red, _, blue, *_ = square.convert("RGBA").getpixel((size // 2, size // 2))
        assert red > 200 and blue < 60


@pytest.mark.parametrize(
    ("body", "says"),
    [
        pytest.param(SVG, "SVG is not kept", id="svg"),
        pytest.param(bomb(), "too many pixels", id="image-bomb"),
        pytest.param(b"<html>not found</html>", "not an image", id="html"),
        pytest.param(picture("TIFF"), "TIFF images are not kept", id="tiff"),
        pytest.param(picture()[:100], "broken", id="truncated"),
    ],
)
def test_what_is_not_a_raster_avatar_is_refused_before_decoding(body, says):
    with pytest.raises(MediaError, match=says):
        resize_avatar(body)


def test_generated_pictures_are_distinct_per_handle_and_always_the_same():
    handles = ["ada", "bob", "cy", "dee", "eve", "fay", "gus", "hal"]
    pictures = {handle: generated_avatar(handle) for handle in handles}
    assert len(set(pictures.values())) == len(handles)
    assert generated_avatar("ada") == pictures["ada"]
    image = opened(pictures["ada"])
    assert image.format == "PNG" and image.size == (256, 256)
    assert len(image.getcolors()) == 2  # a pattern in one colour on a ground of another


@pytest.fixture
def faces_site(site, feed_server, cli):
    """Members whose avatars are a PNG, a JPEG, an SVG, a 404, an image bomb, one too large,
    and one member with none; fetched once, as `chorus fetch` does."""
    routes = {
        "ada": feed_server.add("/ada.png", picture(color="red"), etag='"ada-1"'),
        "bob": feed_server.add(
            "/bob.jpg",
            picture("JPEG", (400, 500)),
            last_modified="Mon, 02 Nov 2026 10:00:00 GMT",
            headers={"Content-Type": "image/jpeg"},
        ),
        "cy": feed_server.add("/cy.svg", SVG, headers={"Content-Type": "image/svg+xml"}),
        "dee": feed_server.url("/missing.png"),
        "eve": feed_server.add("/bomb.png", bomb()),
        "fay": feed_server.add("/huge.png", picture() + b"\0" * 60_000),
    }
    empty = "<rss version='2.0'><channel><title>Nothing yet</title></channel></rss>"
    post = (
        '<rss version="2.0"><channel><title>T</title><link>https://ada.example/</link>'
        "<item><title>Faces at last</title><link>https://ada.example/faces/</link>"
        "<guid>https://ada.example/faces/</guid><pubDate>Mon, 02 Nov 2026 10:00:00 GMT</pubDate>"
        "<description>Hello.</description></item></channel></rss>"
    )
    for handle, url in [*routes.items(), ("gus", None)]:
        feed = site.local_feed(f"{handle}.xml", post if handle == "ada" else empty)
        site.member(handle, name=f"{handle.title()} Weaver", feeds=[feed], avatar=url, trusted=True)
    site.write_settings(
        CHORUS_FETCH_IMAGES=True,
        CHORUS_MAX_AVATAR_BYTES=50_000,
        SITEURL=SITE,
        FEED_DOMAIN=SITE,
        RELATIVE_URLS=False,
    )
    result = cli("fetch", "--no-progress")
    return site, feed_server, routes, result


def kept_avatars(site) -> dict[str, bytes]:
    folder = site.content / "images" / "avatars"
    return {path.name: path.read_bytes() for path in sorted(folder.glob("*.png"))}


def test_fetch_keeps_resized_avatars_and_names_each_refusal(faces_site):
    site, _, routes, result = faces_site
    output = " ".join(result.output.split())
    assert "Avatars: 2 fetched, 0 unchanged, 4 failed" in output
    assert f"cy: {routes['cy']}: SVG is not kept" in output
    assert f"dee: {routes['dee']}: HTTP 404" in output
    assert f"eve: {routes['eve']}: too many pixels" in output
    assert f"fay: {routes['fay']}: larger than the 50,000 byte limit" in output

    kept = kept_avatars(site)
    assert len(kept) == 2 * len(AVATAR_SIZES)  # ada's and bob's, three sizes each
    for name, body in kept.items():
        size = int(name.rsplit("-", 1)[1].removesuffix(".png"))
        assert opened(body).size == (size, size)
    records = json.loads((site.community / "avatar-state.json").read_text())["avatars"]
    assert set(records) == {routes["ada"], routes["bob"]}
    assert records[routes["ada"]]["etag"] == '"ada-1"'
    assert records[routes["bob"]]["last_modified"] == "Mon, 02 Nov 2026 10:00:00 GMT"
    # Named by the hash of the bytes fetched: no handle, no URL in the name.
    assert all("ada" not in name and "bob" not in name for name in kept)


def test_unchanged_avatars_cost_a_304_and_a_failure_keeps_the_avatar_kept(faces_site, cli):
    site, server, routes, _ = faces_site
    before = kept_avatars(site)
    state = (site.community / "avatar-state.json").read_text()
    mtimes = {p: p.stat().st_mtime_ns for p in (site.content / "images" / "avatars").iterdir()}

    result = cli("fetch", "--no-progress")
    assert "Avatars: 0 fetched, 2 unchanged" in result.output
    [_, again] = server.hits("/ada.png")
    assert again.headers["if-none-match"] == '"ada-1"'
    [_, again] = server.hits("/bob.jpg")
    assert again.headers["if-modified-since"] == "Mon, 02 Nov 2026 10:00:00 GMT"
    assert kept_avatars(site) == before
    assert (site.community / "avatar-state.json").read_text() == state
    assert {p: p.stat().st_mtime_ns for p in mtimes} == mtimes

    # Ada's avatar disappears from her site: the one kept stays on the site.
    del server.routes["/ada.png"]
    result = cli("fetch", "--no-progress")
    assert f"ada: {routes['ada']}: HTTP 404" in " ".join(result.output.split())
    assert kept_avatars(site) == before
    site.build()
    page = site.page("members/ada/")
    assert "/images/avatars/" in page.select_one(".member-header img.u-photo")["src"]


def test_faces_show_on_every_page_that_shows_a_member(faces_site):
    site, _, _, _ = faces_site
    site.build()
    records = json.loads((site.community / "avatar-state.json").read_text())["avatars"]
    ada = next(record["name"] for url, record in records.items() if url.endswith("/ada.png"))

    # The member page: 96 px shown from the 128 px file, the 256 px one for dense screens.
    header = site.page("members/ada/").select_one(".member-header img")
    assert header["src"] == f"{SITE}/images/avatars/{ada}-128.png"
    assert header["srcset"] == f"{SITE}/images/avatars/{ada}-256.png 2x"
    assert header["alt"] == "Ada Weaver"
    for name in (f"{ada}-64.png", f"{ada}-128.png", f"{ada}-256.png"):
        assert (site.output / "images" / "avatars" / name).is_file()

    # A post: the h-card's photo and the JSON-LD author's image, absolute.
    [post] = site.output.glob("posts/*/faces-at-last*/index.html")
    url = f"{SITE}/{post.parent.relative_to(site.output)}/"
    parsed = mf2py.parse(doc=post.read_text(), url=url)
    [entry] = [item for item in parsed["items"] if "h-entry" in item["type"]]
    [author] = entry["properties"]["author"]
    assert author["properties"]["photo"][0]["value"] == f"{SITE}/images/avatars/{ada}-64.png"
    page = site.page(str(post.relative_to(site.output)))
    data = json.loads(page.find("script", type="application/ld+json").string)
    assert data["author"]["image"] == f"{SITE}/images/avatars/{ada}-256.png"

    # The community page: a picture for everyone, the refused and the missing too.
    community = mf2py.parse(doc=(site.output / "members" / "index.html").read_text(), url=SITE)
    cards = {
        card["properties"]["name"][0]: card["properties"]["photo"][0]["value"]
        for card in community["items"]
        if "h-card" in card["type"]
    }
    assert set(cards) == {
        f"{h.title()} Weaver" for h in ("ada", "bob", "cy", "dee", "eve", "fay", "gus")
    }
    assert all(src.startswith(f"{SITE}/images/avatars/") for src in cards.values())
    # Members without a kept avatar get distinct generated pictures, never their own SVG.
    generated = {name: src for name, src in cards.items() if "/generated/" in src}
    assert set(generated) == {"Cy Weaver", "Dee Weaver", "Eve Weaver", "Fay Weaver", "Gus Weaver"}
    assert len(set(generated.values())) == len(generated)
    for src in generated.values():
        image = opened((site.output / src.removeprefix(f"{SITE}/")).read_bytes())
        assert image.format == "PNG" and image.size == (256, 256)
    gus = site.page("members/gus/").select_one(".member-header img")
    assert gus["alt"] == "Gus Weaver" and "avatar--generated" in gus["class"]
    # No member-given SVG reaches the site (the theme's own favicon is ours).
    assert not [
        p for p in site.output.rglob("*.svg") if "theme" not in p.relative_to(site.output).parts
    ]


def test_local_avatars_are_resized_and_an_svg_one_is_refused_by_name(site, caplog):
    """Avatars given as files under content/ (added by pull request) are checked and resized
    as fetched ones are: a big portrait is served at the theme's sizes, never as it is, and an
    SVG, which could carry script, is reported and replaced by the generated picture."""
    images = site.content / "images"
    images.mkdir()
    (images / "ada.jpg").write_bytes(picture("JPEG", (1600, 1200), "navy"))
    (images / "cy.svg").write_bytes(SVG)
    for handle in ("ada", "cy"):
        feed = site.local_feed(f"{handle}.xml", "<rss version='2.0'><channel/></rss>")
        avatar = {"ada": "images/ada.jpg", "cy": "images/cy.svg"}[handle]
        site.member(handle, name=f"{handle.title()} Weaver", feeds=[feed], avatar=avatar)
    site.write_settings(SITEURL=SITE, FEED_DOMAIN=SITE, RELATIVE_URLS=False)
    with caplog.at_level("WARNING"):
        site.build()

    header = site.page("members/ada/").select_one(".member-header img")
    assert header["src"].startswith(f"{SITE}/images/avatars/local/")
    for src in (header["src"], header["srcset"].removesuffix(" 2x")):
        image = opened((site.output / src.removeprefix(f"{SITE}/")).read_bytes())
        assert image.format == "PNG" and image.width == image.height <= 256
    assert "ada.jpg" not in str(header)

    cy = site.page("members/cy/").select_one(".member-header img")
    assert "/generated/" in cy["src"]
    [refusal] = [r.getMessage() for r in caplog.records if "cy.svg" in r.getMessage()]
    assert refusal.startswith("member cy: avatar ") and "generated picture" in refusal
    assert "images/cy.svg" not in site.page("members/").decode()

    # The same file again: nothing resized a second time (the cache keeps it by content).
    cached = sorted((site.root / "cache" / "chorus" / "avatars").iterdir())
    times = [path.stat().st_mtime_ns for path in cached]
    site.build()
    assert [path.stat().st_mtime_ns for path in cached] == times


def test_an_avatar_no_member_gives_any_more_leaves_the_repository(faces_site, cli):
    """A member who leaves, or changes their avatar, takes the old face with them; a fetch of
    some members only, or with a broken member file, deletes nothing."""
    site, _, routes, _ = faces_site
    records = json.loads((site.community / "avatar-state.json").read_text())["avatars"]
    ada, bob = records[routes["ada"]]["name"], records[routes["bob"]]["name"]
    (site.members / "ada.md").unlink()  # Ada leaves

    cli("fetch", "--no-progress", "bob", expect=None)  # only Bob's: Ada's face stays for now
    assert any(name.startswith(ada) for name in kept_avatars(site))
    (site.members / "zed.md").write_text("---\nname: [broken\n---\n")
    cli("fetch", "--no-progress", expect=1)  # a member file unread: nothing deleted
    assert any(name.startswith(ada) for name in kept_avatars(site))

    (site.members / "zed.md").unlink()
    result = cli("fetch", "--no-progress", expect=None)
    assert "1 removed (no member gives them)" in " ".join(result.output.split())
    kept = kept_avatars(site)
    assert not any(name.startswith(ada) for name in kept)
    assert set(kept) == {f"{bob}-{size}.png" for size in AVATAR_SIZES}
    records = json.loads((site.community / "avatar-state.json").read_text())["avatars"]
    assert set(records) == {routes["bob"]}
    site.build()
    assert not [p for p in (site.output / "images" / "avatars").glob(f"{ada}-*")]


def test_a_new_avatar_at_the_same_address_replaces_the_old_files(faces_site, cli):
    site, server, routes, _ = faces_site
    records = json.loads((site.community / "avatar-state.json").read_text())["avatars"]
    old = records[routes["ada"]]["name"]
    server.add("/ada.png", picture(color="orange"), etag='"ada-2"')
    cli("fetch", "--no-progress", expect=None)
    new = json.loads((site.community / "avatar-state.json").read_text())["avatars"]
    assert new[routes["ada"]]["name"] != old
    kept = kept_avatars(site)
    assert not any(name.startswith(old) for name in kept)
    assert {f"{new[routes['ada']]['name']}-{size}.png" for size in AVATAR_SIZES} <= set(kept)
