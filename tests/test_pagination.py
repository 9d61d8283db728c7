"""Lists of posts paginated from the oldest: every post on exactly one page, the newest at the
list's own URL, and full pages that a new post leaves exactly as they were."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from chorus.site.pagination import cut, paginate

START = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
LISTS = {"home": "index.html", "tag": "tag/loom.html", "category": "category/notes.html"}


def write_post(site, number: int) -> None:
    site.article(
        f"post-{number:02d}.md",
        f"""
        Title: Post number {number}
        Date: {(START + timedelta(days=number)).isoformat()}
        Tags: loom

        The body of post {number}.
        """,
    )


def read_list(site, first: str) -> list[tuple[str, list[str]]]:
    """Every page of the list at ``first``, as a reader pages through it: following the
    "older" links (rel=next) from the first page, and checking each "newer" link (rel=prev)
    leads back; (page file, the posts it shows) per page, newest first."""
    pages, name, newer = [], first, None
    while name is not None:
        page = site.page(name)
        posts = [a["href"].rsplit("posts/", 1)[1] for a in page.select("article a.u-url")]
        pages.append((name, posts))
        back = page.select_one('nav.pagination a[rel="prev"]')
        assert (back is None) == (newer is None), name
        if back is not None:
            assert resolve(name, back["href"]) == newer, name
        older = page.select_one('nav.pagination a[rel="next"]')
        name, newer = (resolve(name, older["href"]) if older else None), name
    return pages


def resolve(page: str, href: str) -> str:
    """The output file a relative link on output file ``page`` leads to."""
    parts = [part for part in Path(page).parent.parts if part]
    for part in href.split("/"):
        if part == "..":
            parts.pop()
        elif part not in ("", "."):
            parts.append(part)
    target = "/".join(parts)
    return target + "/index.html" if href.endswith("/") else target


def check_lists(site, posts: int, per_page: int) -> dict[str, list[tuple[str, list[str]]]]:
    everything = sorted(f"2026/post-number-{n}/" for n in range(1, posts + 1))
    lists = {}
    for kind, first in LISTS.items():
        pages = read_list(site, first)
        shown = [post for _, posts_on_page in pages for post in posts_on_page]
        assert sorted(shown) == everything, f"{kind}: each post exactly once"
        assert shown == sorted(shown, key=lambda p: int(p.split("-")[-1][:-1]), reverse=True)
        first_count = len(pages[0][1])
        assert per_page <= first_count < 2 * per_page, kind
        # The numbered pages: full, numbered from the oldest (page 1 holds the oldest posts).
        for number, (name, on_page) in zip(range(len(pages) - 1, 0, -1), pages[1:], strict=True):
            assert len(on_page) == per_page, name
            assert name.endswith(f"page/{number}/index.html"), name
            assert f"page {number}" in site.page(name).select_one(".page-heading").text.lower()
        lists[kind] = pages
    return lists


def list_files(site) -> dict[str, bytes]:
    """The bytes of every page of the three lists."""
    found = {}
    for first in LISTS.values():
        found[first] = (site.output / first).read_bytes()
        base = first.removesuffix(".html").removesuffix("index")
        for page in (site.output / base / "page").glob("*/index.html"):
            found[str(page.relative_to(site.output))] = page.read_bytes()
    return found


def fingerprints(site) -> dict[str, str]:
    manifest = site.root / "cache" / "chorus" / "render-manifest.json"
    return {name: record[0] for name, record in json.loads(manifest.read_text())["pages"].items()}


def test_a_new_post_changes_only_the_first_page_and_the_newest_numbered_one(site):
    site.write_settings(DEFAULT_PAGINATION=5)
    for number in range(1, 24):
        write_post(site, number)
    site.build()
    lists = check_lists(site, 23, 5)
    # 23 posts by 5: the first page shows the newest 8, then pages 3, 2 and 1.
    assert [name for name, _ in lists["home"]] == [
        "index.html",
        "page/3/index.html",
        "page/2/index.html",
        "page/1/index.html",
    ]
    assert lists["home"][-1][1] == [f"2026/post-number-{n}/" for n in (5, 4, 3, 2, 1)]
    assert "23 posts" in site.page("tag/loom.html").select_one(".lede").text
    before, kept_before = list_files(site), fingerprints(site)

    # A 24th post: the first pages take it, nothing else of the lists changes or is rendered.
    write_post(site, 24)
    site.build()
    check_lists(site, 24, 5)
    after, kept_after = list_files(site), fingerprints(site)
    changed = {name for name in after if before.get(name) != after[name]}
    assert changed == set(LISTS.values())
    numbered = [name for name in after if "/page/" in f"/{name}"]
    assert numbered and all(kept_after[name] == kept_before[name] for name in numbered)

    # A 25th: a new page 4 takes the oldest five of the first page; page 3 now links to it.
    write_post(site, 25)
    site.build()
    lists = check_lists(site, 25, 5)
    assert [name for name, _ in lists["home"]][:2] == ["index.html", "page/4/index.html"]
    final = list_files(site)
    changed = {name for name in final if after.get(name) != final[name]}
    bases = ("", "tag/loom/", "category/notes/")
    newest = {f"{base}page/{number}/index.html" for base in bases for number in (3, 4)}
    assert changed == set(LISTS.values()) | newest
    older = [name for name in after if "/page/" in f"/{name}" and name not in newest]
    assert older and all(final[name] == after[name] for name in older)


def test_a_members_new_post_leaves_the_numbered_pages_though_it_reorders_the_members(community):
    """The first page shows the members by their latest post; the numbered ones do not, and a
    new post by the member who wrote least recently changes none of them."""
    community.write_settings(DEFAULT_PAGINATION=2)
    for number in range(1, 8):
        write_post(community, number)
    community.build()
    strip = community.page("index.html").select(".community-strip .face-name")
    before = fingerprints(community)
    numbered = [name for name in before if name.startswith("page/")]
    assert numbered and strip

    last = community.posts("ada")[0]
    text = last.read_text().replace('name="chorus_id" content="', 'name="chorus_id" content="new-')
    text = text.replace('name="slug" content="', 'name="slug" content="newer-')
    text = text.replace('content="2026-', 'content="2027-').replace("<title>", "<title>Newer ")
    last.with_name("a-newer-post-0000f00d.html").write_text(text)
    community.build()
    after = fingerprints(community)
    assert community.page("index.html").select(".community-strip .face-name") != strip
    assert all(after[name] == before[name] for name in numbered)


@pytest.mark.parametrize("count", [0, 1, 4, 5, 9, 10, 11, 19, 20, 23, 100])
def test_every_item_is_on_one_page_and_numbered_pages_are_full(count):
    per_page = 5
    slices = cut(count, per_page)
    covered = [i for start, stop in slices for i in range(start, stop)]
    assert covered == list(range(count))
    assert all(stop - start == per_page for start, stop in slices[1:])
    assert len(slices) == 1 or per_page <= slices[0][1] < 2 * per_page

    pages = paginate(
        list(range(count)), per_page, ("index.html", "index.html"), lambda n: (f"p{n}", f"p{n}")
    )
    assert [page.number for page in pages] == list(range(len(pages), 0, -1))
    assert pages[0].first and pages[0].count == count and pages[0].newer is None
    assert all(not page.first and page.count is None for page in pages[1:])
    for newer, older in itertools.pairwise(pages):
        assert newer.older.url == older.url and older.newer.url == newer.url
    assert pages[-1].older is None
