"""Post images kept in the repository (chorus.fetch.media): fetched over HTTP from 127.0.0.1,
checked before decoding, stored by content, served from the site."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image

from chorus.fetch.media import MediaError, check_image
from test_fetch import rss


def picture(kind: str = "PNG", size: tuple[int, int] = (40, 30), color: str = "red") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB" if kind != "1" else "1", size, color if kind != "1" else 1).save(
        buffer, "PNG" if kind == "1" else kind
    )
    return buffer.getvalue()


SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect/></svg>'


@pytest.mark.parametrize(
    ("body", "says"),
    [
        pytest.param(SVG, "SVG is not kept", id="svg-refused"),
        pytest.param(picture("1", (20_001, 2)), "over the cap", id="too-wide"),
        pytest.param(picture("1", (8_000, 6_000)), "over the cap", id="too-many-pixels"),
        pytest.param(picture()[:60], "broken", id="truncated"),
        pytest.param(b"GIF89a" + b"\x00" * 4, "not an image", id="garbage-gif"),
        pytest.param(picture("TIFF"), "TIFF images are not kept", id="tiff-not-on-the-list"),
    ],
)
def test_only_sane_raster_images_are_kept(body, says):
    with pytest.raises(MediaError, match=says):
        check_image(body)


@pytest.mark.parametrize(
    ("kind", "extension"), [("PNG", ".png"), ("JPEG", ".jpg"), ("GIF", ".gif"), ("WEBP", ".webp")]
)
def test_raster_formats_on_the_list_are_kept(kind, extension):
    assert check_image(picture(kind)) == extension


def ada_posts(site, feed_server, title: str, body: str) -> None:
    """Ada's feed: one post titled ``title`` whose description is ``body`` (escaped HTML), its
    images to be kept."""
    link = f"https://blog.example/{title.lower()}/"
    feed = feed_server.add(
        "/feed.xml",
        rss(
            f"<item><title>{title}</title><link>{link}</link><description>{body}</description></item>"
        ),
    )
    site.member("ada", feeds=[feed], trusted=True, consent="full")
    site.write_settings(CHORUS_FETCH_IMAGES=True)


def test_post_images_are_fetched_kept_and_served_from_the_site(site, feed_server, cli):
    comic = feed_server.add("/img/comic.png", picture(color="blue"), etag='"c1"')
    same = feed_server.add("/img/copy-of-comic.png", picture(color="blue"))
    photo = feed_server.add("/img/photo.jpg", picture("JPEG"))
    svg = feed_server.add("/img/diagram.svg", SVG, headers={"Content-Type": "image/svg+xml"})
    big = feed_server.add("/img/big.png", picture("PNG", (600, 600), "white") + b"\0" * 60_000)
    body = (
        f'&lt;p&gt;&lt;img src="{comic}" alt="The comic"&gt;&lt;img src="{same}" alt="Again"&gt;'
        f'&lt;a href="{photo}"&gt;&lt;img src="{photo}" alt="A photo"&gt;&lt;/a&gt;'
        f'&lt;img src="{svg}" alt="A diagram"&gt;&lt;img src="{big}" alt="Big"&gt;'
        f'&lt;img src="{feed_server.url("/img/missing.png")}" alt="Gone"&gt;&lt;/p&gt;'
    )
    feed = feed_server.add(
        "/feed.xml",
        rss(
            f"<item><title>Comic</title><link>https://blog.example/comic/</link>"
            f"<description>{body}</description></item>"
        ),
    )
    site.member("ada", feeds=[feed], trusted=True, consent="full")
    site.write_settings(CHORUS_FETCH_IMAGES=True, CHORUS_MAX_IMAGE_BYTES=50_000)
    result = cli("fetch", "--no-progress")
    assert "Images: 3 fetched" in result.output
    assert "left on their sites" in result.output
    assert "/img/diagram.svg: SVG is not kept" in result.output
    assert "/img/big.png" in result.output and "HTTP 404" in result.output

    kept = sorted(p for p in (site.content / "images" / "community").rglob("*") if p.is_file())
    assert len(kept) == 2  # the comic (twice, stored once) and the photo
    manifest = json.loads((site.community / "media-state.json").read_text())["images"]
    assert manifest[comic]["file"] == manifest[same]["file"]
    assert manifest[comic]["etag"] == '"c1"'

    site.build()
    [built] = site.output.glob(f"posts/*/{site.posts('ada')[0].stem}/index.html")
    page = site.page(str(built.relative_to(site.output)))
    images = {img["alt"]: img["src"] for img in page.select(".post-content img")}
    assert set(images) == {"The comic", "Again", "A photo"}
    for src in images.values():
        assert "://" not in src and "/images/community/" in src
        assert (built.parent / src).resolve().is_file()
    # The refused and failed ones stay links (no third-party request), never a link in a link.
    assert page.find("a", class_="remote-image", href=svg).get_text() == "Image: A diagram"
    assert all(link.find("a") is None for link in page.find_all("a"))

    # The next run with the entry updated asks for none of the kept images again.
    feed_server.add("/feed.xml", rss(
        f"<item><title>Comic, updated</title><link>https://blog.example/comic/</link>"
        f"<description>{body}</description></item>"
    ))  # fmt: skip
    cli("fetch", "--no-progress")
    assert len(feed_server.hits("/img/comic.png")) == 1
    assert len(feed_server.hits("/img/photo.jpg")) == 1
    assert "/images/community/" in site.posts("ada")[0].read_text()


def test_a_post_image_leaves_the_site_with_its_consent(site, feed_server, cli):
    """A kept image is published only while a published post shows it: when the member
    narrows their consent to links, the next build leaves the image out of the site (it
    stays in the repository, should they widen it again)."""
    comic = feed_server.add("/img/comic.png", picture(color="blue"))
    feed = feed_server.add(
        "/feed.xml",
        rss(
            "<item><title>Comic</title><link>https://blog.example/comic/</link>"
            f'<description>&lt;p&gt;A comic. &lt;img src="{comic}" alt="The comic"&gt;&lt;/p&gt;'
            "</description></item>"
        ),
    )
    site.member("ada", feeds=[feed], trusted=True, consent="full")
    site.write_settings(CHORUS_FETCH_IMAGES=True)
    cli("fetch", "--no-progress")
    [kept] = [p for p in (site.content / "images" / "community").rglob("*") if p.is_file()]
    published = site.output / kept.relative_to(site.content)
    site.build()
    assert published.is_file()

    site.member("ada", feeds=[feed], trusted=True, consent="link")
    site.build()
    assert kept.is_file() and not published.exists()
    [page] = site.output.glob(f"posts/*/{site.posts('ada')[0].stem}/index.html")
    assert "images/community" not in page.read_text()

    site.member("ada", feeds=[feed], trusted=True, consent="full")
    site.build()
    assert published.is_file()


def test_a_site_that_cannot_be_reached_costs_one_attempt_not_one_per_image(site, feed_server, cli):
    """A member's old site gone (its name no longer resolves, or nothing listens): its first
    image is asked, and the others fail unasked; another site's images are fetched as ever."""
    import socket

    with socket.socket() as probe:  # a port nothing listens on once this closes
        probe.bind(("127.0.0.1", 0))
        gone = f"http://127.0.0.1:{probe.getsockname()[1]}"
    lost = [f"{gone}/img/{n}.png" for n in range(3)]
    here = [
        feed_server.add(f"/img/{n}.png", picture(color=color))
        for n, color in enumerate(("blue", "green"))
    ]
    body = "".join(f'&lt;img src="{url}" alt="{n}"&gt;' for n, url in enumerate(lost + here))
    ada_posts(site, feed_server, "Pictures", f"&lt;p&gt;{body}&lt;/p&gt;")
    result = cli("fetch", "--no-progress")
    assert "Images: 2 fetched" in result.output
    assert [len(feed_server.hits(f"/img/{n}.png")) for n in range(2)] == [1, 1]

    manifest = json.loads((site.community / "media-state.json").read_text())["images"]
    errors = sorted(manifest[url]["error"] for url in lost)
    assert errors[0].startswith("cannot connect")  # the one asked
    asked = next(url for url in lost if manifest[url]["error"] == errors[0])
    assert errors[1:] == [f"not asked: {errors[0]} (asking {asked})"] * 2
    assert all("file" in manifest[url] for url in here)


def test_an_image_address_that_looks_like_console_markup_is_printed_as_it_is(
    site, feed_server, cli
):
    """The report names what failed, from the feed: text, never markup for the console
    (a "[/b]" in an address stopped the fetch, and every fetch after it)."""
    odd = feed_server.url("/img/[/b]-[red].png")
    ada_posts(site, feed_server, "Odd", f'&lt;p&gt;&lt;img src="{odd}" alt="Odd"&gt;&lt;/p&gt;')
    result = cli("fetch", "--no-progress")
    assert f"{odd}: HTTP 404" in " ".join(result.output.split())
    assert cli("fetch", "--no-progress").exit_code == 0
