"""A site built from hostile feeds (tests/hostile/), read by a real browser and by feed readers:
no script runs, no dialog opens, no request leaves 127.0.0.1, no local file is read."""

from __future__ import annotations

import threading
import time
from functools import partial
from http.server import ThreadingHTTPServer
from pathlib import Path

import feedparser
import pytest
from bs4 import BeautifulSoup

from test_browser import CHROMIUM_FLAGS, Visit, _Quiet, chromium_path
from test_fetch import item, rss

HOSTILE = Path(__file__).parent / "hostile"
# Watches for the payloads: dialogs are caught by the Visit; this catches silent script runs.
SENTINEL = "window.__chorus_xss"
UNSAFE_SCHEMES = ("javascript:", "vbscript:", "data:")
FIRE_EVENTS = """() => {
  for (const element of document.querySelectorAll("body *")) {
    for (const type of ["mouseover", "mouseenter", "focus", "toggle", "load", "error"]) {
      element.dispatchEvent(new Event(type));
    }
  }
}"""


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory):
    from click.testing import CliRunner

    from chorus.cli.main import main
    from conftest import Site

    site = Site(tmp_path_factory.mktemp("hostile"))
    for number, path in enumerate(sorted(HOSTILE.glob("*.*"))):
        if path.suffix in (".xml", ".json"):
            site.member(
                f"h{number:02d}",
                name=f"Hostile {path.stem}",
                trusted=True,
                consent="full",
                feeds=[site.local_feed(path.name, path)],
            )
    thousands = rss(*(item(f"n{n}", guid=f"n{n}") for n in range(5000)))
    site.member("many", trusted=True, feeds=[site.local_feed("thousands.xml", thousands)])
    started = time.monotonic()
    result = CliRunner().invoke(main, ["--settings", str(site.settings_file), "fetch"])
    site.fetch_output = result.output
    site.fetch_seconds = time.monotonic() - started
    site.build()
    return site


def test_fetch_survives_every_feed(hostile_site):
    assert hostile_site.fetch_seconds < 60
    assert "Traceback" not in hostile_site.fetch_output
    # 5,000 entries are read up to the cap, not all written.
    assert len(hostile_site.posts("many")) == 100


def test_no_local_file_was_read(hostile_site):
    passwd = Path("/etc/passwd").read_text().splitlines()[0]
    for path in [*hostile_site.content.rglob("*.*"), *hostile_site.output.rglob("*.*")]:
        if path.suffix in (".html", ".xml", ".json"):
            assert passwd not in path.read_text(errors="replace"), path


def test_dates_and_ids_are_tamed(hostile_site):
    [dates] = [m for m in hostile_site.members.glob("*.md") if "ids-and-dates" in m.read_text()]
    texts = [p.read_text() for p in hostile_site.posts(dates.stem)]
    titles = sorted(BeautifulSoup(t, "html.parser").title.string for t in texts)
    assert titles == ["Far future", "Far past", "No id at all", "Nonsense date"]
    for text in texts:
        date = BeautifulSoup(text, "html.parser").find("meta", attrs={"name": "date"})["content"]
        assert not date.startswith("9999")  # a future date is taken as undated


def served(site) -> tuple[ThreadingHTTPServer, str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(site.output)))
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def test_no_page_runs_a_script_or_leaves_127_0_0_1(hostile_site):
    from playwright.sync_api import sync_playwright

    server, base = served(hostile_site)
    # Every page that shows a hostile post (the 5,000 harmless entries' pages are left out).
    pages = sorted(
        p.relative_to(hostile_site.output)
        for p in hostile_site.output.rglob("*.html")
        if not p.match("posts/*/n*/index.html") and "tag/" not in str(p)
    )
    assert len(pages) > 20
    problems = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=chromium_path(), args=CHROMIUM_FLAGS
            )
            for page_path in pages:
                visit = Visit(browser, base + str(page_path), wait_until="load")
                # Fire what an inline handler could wait for, on every element.
                visit.page.evaluate(FIRE_EVENTS)
                hit = visit.page.evaluate(f"typeof {SENTINEL} !== 'undefined'")
                if hit or visit.dialogs or visit.outside:
                    problems.append((str(page_path), hit, visit.dialogs, visit.outside))
                visit.close()
            browser.close()
    finally:
        server.shutdown()
        server.server_close()
    assert problems == []


def test_feeds_we_write_carry_nothing_unsafe(hostile_site):
    for path in [*hostile_site.output.rglob("*.atom.xml"), *hostile_site.output.rglob("*.rss.xml")]:
        parsed = feedparser.parse(path.read_bytes())
        assert not parsed.bozo, path
        for entry in parsed.entries:
            for detail in [*entry.get("content", []), entry.get("summary_detail") or {}]:
                soup = BeautifulSoup(detail.get("value", ""), "html.parser")
                assert not soup.find_all(
                    ["script", "iframe", "object", "embed", "form", "svg", "style"]
                )
                for tag in soup.find_all(True):
                    assert not [a for a in tag.attrs if a.startswith("on")], (path, tag)
                    for attribute in ("href", "src"):
                        value = str(tag.get(attribute, "")).strip().lower()
                        assert not value.startswith(UNSAFE_SCHEMES), (path, tag)
            for link in entry.get("links", []):
                assert not link["href"].lower().startswith(UNSAFE_SCHEMES), (path, link)
            # Titles are text: Atom says so; RSS titles are HTML to readers, so no element.
            if entry.title_detail.type == "text/html":
                assert BeautifulSoup(entry.title, "html.parser").find(True) is None, entry.title
            else:
                assert entry.title_detail.type == "text/plain", (path, entry.title)
