"""The demo site in a real headless Chromium, served from 127.0.0.1: every page type loads with
no console error, no dialog and no request leaving 127.0.0.1; axe-core finds no serious or
critical WCAG 2.2 AA violation in either colour scheme; full-text search works (Pagefind);
reading needs no script.

Screenshots at phone and desktop widths land in tests/artifacts/screenshots/ for a person to see.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe
from pelican import Pelican
from pelican.settings import read_settings
from playwright.sync_api import Browser, sync_playwright

from sites import REPO, write_site_settings

ARTIFACTS = Path(__file__).parent / "artifacts" / "screenshots"
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
CHROMIUM_FLAGS = [
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-background-networking",  # no calls home: every request must be the page's own
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_path() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if found := shutil.which(name):
            return found
    raise RuntimeError("Chromium is not installed: `make test` installs it (Debian: chromium)")


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The demo site as committed, built and served on 127.0.0.1; yields its base URL. Its
    search is split into indexes of 10 posts, so that searching merges several."""
    root = tmp_path_factory.mktemp("demo")
    shutil.copytree(REPO / "content", root / "content")
    settings = write_site_settings(root, CHORUS_SEARCH_POSTS_PER_INDEX=10)
    Pelican(read_settings(str(settings))).run()
    assert len(list((root / "output" / "pagefind").glob("*/pagefind-entry.json"))) > 2
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(root / "output")))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


def first_post(handle: str) -> str:
    return (
        f"posts/2026/{sorted((REPO / 'content' / 'community' / handle).glob('*.html'))[-1].stem}/"
    )


PAGES = {
    "home": "",
    "home-page-oldest": "page/1/",
    "post-full-copy": first_post("mira"),
    "post-excerpt": first_post("priya"),
    "post-link-only": first_post("jun"),
    "post-with-images": "posts/2026/faster-shuttles-with-numpy-724fa91f/",
    "post-original": "posts/2026/reading-a-wif-file-by-hand/",
    "member": "members/mira/",
    "community": "members/",
    "blogroll": "blogroll/",
    "feed-health": "members/health/",
    "tags": "tags.html",
    "tag": "tag/patterns.html",
    "categories": "categories.html",
    "category": "category/community.html",
    "archives": "archives.html",
    "page": "about/",
    "search": "search/",
    "search-results": "search/?q=heddle&member=Mira+Okonkwo",
    "not-found": "404.html",
}


class Visit:
    """One page load, with everything the page tried to do that it should not."""

    def __init__(
        self, browser: Browser, url: str, wait_until: str = "networkidle", **context: Any
    ) -> None:
        self.context = browser.new_context(**context)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.outside: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("dialog", self._dialog)
        self.page.route("**/*", self._route)
        self.response = self.page.goto(url, wait_until=wait_until)

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def _route(self, route: Any) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1" or route.request.url.startswith(
            ("data:", "about:")
        ):
            route.continue_()
        else:
            self.outside.append(route.request.url)
            route.abort()

    def close(self) -> None:
        self.context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("name", list(PAGES))
def test_page_is_clean_and_accessible(demo, browser, name, scheme):
    visit = Visit(
        browser, demo + PAGES[name], color_scheme=scheme, viewport={"width": 1280, "height": 900}
    )
    try:
        assert visit.response is not None and visit.response.ok, f"{name}: {visit.response}"
        assert visit.errors == [], visit.errors
        assert visit.dialogs == []
        assert visit.outside == [], f"requests leaving 127.0.0.1: {visit.outside}"
        results = Axe().run(visit.page, options={"runOnly": {"type": "tag", "values": WCAG}})
        serious = [
            f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
            for v in results.response["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        assert serious == [], "\n".join(serious)
    finally:
        visit.close()


@pytest.mark.parametrize("width", [320, 1280], ids=["phone", "desktop"])
@pytest.mark.parametrize("name", ["home", "post-full-copy", "post-excerpt", "member", "community"])
def test_screenshots_and_no_sideways_scrolling(demo, browser, name, width):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    visit = Visit(browser, demo + PAGES[name], viewport={"width": width, "height": 900})
    try:
        visit.page.screenshot(path=str(ARTIFACTS / f"{name}-{width}.png"), full_page=True)
        overflow = visit.page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{name} scrolls sideways by {overflow}px at {width}px"
    finally:
        visit.close()
    dark = Visit(
        browser, demo + PAGES[name], color_scheme="dark", viewport={"width": width, "height": 900}
    )
    try:
        dark.page.screenshot(path=str(ARTIFACTS / f"{name}-{width}-dark.png"), full_page=True)
    finally:
        dark.close()


def test_search_finds_a_word_only_the_body_has(demo, browser):
    """Pagefind's index of the built pages: a word past the title, the byline and the summary
    finds its post, with the word highlighted in the excerpt."""
    [path] = (REPO / "content" / "community" / "mira").glob("heddle-2-0-what-changed*.html")
    source = path.read_text(encoding="utf-8")
    assert "exception" in source and "exception" not in source[: source.index("<body>") + 400]
    visit = Visit(browser, demo + "search/?q=exception")
    try:
        results = visit.page.locator("#search-results li")
        results.first.wait_for()
        titles = visit.page.locator("#search-results li > a").all_text_contents()
        assert "heddle 2.0: what changed and why" in titles
        [row] = [r for r in results.all() if "what changed" in r.locator("a").inner_text()]
        assert row.locator("mark").first.inner_text().lower() == "exception"
        assert "Mira Okonkwo" in row.inner_text()
        link = row.locator("a").get_attribute("href")
        assert link == f"/posts/2026/{path.stem}/"
        row.locator("a").click()
        visit.page.wait_for_load_state()
        assert "what changed" in visit.page.locator("h1").inner_text()
        assert visit.errors == [] and visit.outside == []
    finally:
        visit.close()


def test_search_filters_by_member(demo, browser):
    visit = Visit(browser, demo + "search/?q=heddle")
    try:
        visit.page.locator("#search-results li").first.wait_for()
        everyone = set(visit.page.locator("#search-results .entry-row-meta").all_inner_texts())
        assert any("Rosa Lindqvist" not in meta for meta in everyone)
        visit.page.select_option("#search-member", "Rosa Lindqvist")
        visit.page.wait_for_url("**member=Rosa*")
        visit.page.wait_for_function(
            "[...document.querySelectorAll('#search-results .entry-row-meta')]"
            ".every(e => e.textContent.includes('Rosa Lindqvist'))"
        )
        assert visit.page.locator("#search-results li").count() >= 1
        visit.page.select_option("#search-member", "")
        visit.page.fill("#search-query", "tomas")  # accents folded: Tomás
        visit.page.wait_for_function(
            "[...document.querySelectorAll('#search-results .entry-row-meta')]"
            ".some(e => e.textContent.includes('Tomás Ferreira'))"
        )
        assert visit.errors == [] and visit.outside == []
    finally:
        visit.close()


def test_reading_needs_no_javascript(demo, browser):
    visit = Visit(browser, demo, java_script_enabled=False)
    try:
        assert visit.page.locator("main article").count() >= 5
        visit.page.get_by_role("link", name="Search").click()
        visit.page.wait_for_load_state()
        assert "needs JavaScript" in visit.page.locator("main").inner_text()
        visit.page.locator("main").get_by_role("link", name="archives").click()
        visit.page.wait_for_load_state()
        assert visit.page.locator("main a[href*='posts/']").count() >= 20
    finally:
        visit.close()


def test_content_images_are_sized_or_lazy_and_avatars_have_alt(demo, browser):
    visit = Visit(browser, demo + PAGES["community"])
    try:
        images = visit.page.locator("img")
        assert images.count() >= 7
        for index in range(images.count()):
            image = images.nth(index)
            assert image.get_attribute("alt"), image.evaluate("e => e.outerHTML")
            assert image.get_attribute("width") and image.get_attribute("height")
            assert image.get_attribute("loading") == "lazy"
    finally:
        visit.close()


def test_the_accessibility_check_catches_what_it_should(browser):
    """The harness itself: a page with known faults must fail the same check the site passes."""
    context = browser.new_context()
    page = context.new_page()
    page.set_content(
        '<html lang="en"><body><main><img src="data:," width="10" height="10">'
        '<p style="color:#bbb;background:#fff">faint text</p></main></body></html>'
    )
    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG}})
    found = {
        v["id"] for v in results.response["violations"] if v["impact"] in ("serious", "critical")
    }
    context.close()
    assert {"image-alt", "color-contrast"} <= found


@pytest.mark.parametrize("name", list(PAGES))
def test_no_page_scrolls_sideways_on_a_phone(demo, browser, name):
    """375 px, the most common phone width: the feed-health table, long URLs and the face
    strip included, nothing is wider than the screen."""
    visit = Visit(browser, demo + PAGES[name], viewport={"width": 375, "height": 800})
    try:
        width = visit.page.evaluate("document.scrollingElement.scrollWidth")
        assert width <= 375, f"{name} is {width}px wide at 375px"
        # Nor is a table, where a scrolling box would hide its last columns off-screen.
        hidden = visit.page.evaluate(
            "[...document.querySelectorAll('.table-wrap')]"
            ".filter(e => e.scrollWidth > e.clientWidth).length"
        )
        assert hidden == 0, f"{name}: a table scrolls sideways at 375px"
        # And a feed's address reads as one, not broken every few characters.
        lines = visit.page.evaluate(
            "Math.max(0, ...[...document.querySelectorAll('.health-url')].map(e => Math.round("
            "e.getBoundingClientRect().height / parseFloat(getComputedStyle(e).lineHeight))))"
        )
        assert lines <= 2, f"{name}: a feed's address takes {lines} lines at 375px"
    finally:
        visit.close()


README_SHOTS = {"home": PAGES["home"]}


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [375, 1280])
@pytest.mark.parametrize("name", list(README_SHOTS))
def test_readme_screenshots(demo, browser, name, width, scheme):
    """The pictures in the README: `make screenshot` copies them to docs/screenshots/."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    visit = Visit(
        browser,
        demo + README_SHOTS[name],
        color_scheme=scheme,
        viewport={"width": width, "height": 1100 if width > 1000 else 1400},
    )
    try:
        path = ARTIFACTS / f"readme-{name}-{width}-{scheme}.png"
        visit.page.screenshot(path=str(path))
        assert path.stat().st_size > 10_000
    finally:
        visit.close()
