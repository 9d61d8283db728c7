"""Shared fixtures: a real HTTP server on 127.0.0.1, and real sites in temporary directories."""

from __future__ import annotations

import gzip
import re
import shutil
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from pelican import Pelican
from pelican.settings import read_settings

from sites import forget_logged_messages, write_site_settings

FEEDS = Path(__file__).resolve().parent / "feeds"


@pytest.fixture(autouse=True)
def _pelican_warnings_not_fatal_after_a_strict_build() -> Iterator[None]:
    """``chorus build --strict`` run in this process makes warnings fatal for every later
    Pelican logger (a class attribute of pelican.log.FatalLogger); each test starts afresh."""
    from pelican.log import FatalLogger

    level = FatalLogger.fatal_lvl
    yield
    FatalLogger.fatal_lvl = level


@pytest.fixture(autouse=True)
def _pelican_logs_each_message_again() -> None:
    """Pelican's log filter drops a message it has logged before in this process: a test
    that reads the build's log (the render cache's counts, say) would find nothing when an
    earlier test logged the same line. Each test starts with none seen."""
    forget_logged_messages()


@dataclass
class Route:
    """How the test server answers one path."""

    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None  # answer 304 to a matching If-None-Match
    last_modified: str | None = None  # answer 304 to an equal If-Modified-Since
    gzip: bool = False
    stall: float = 0.0  # seconds to wait after sending the headers, before the body
    trickle: float = 0.0  # seconds between single bytes of the body
    declare_length: bool = True
    content_length: int | None = None  # declare this length instead of the body's (truncation)


@dataclass
class Seen:
    """One request the server received."""

    path: str
    headers: dict[str, str]


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that hang up on a stalled or oversized response are what the tests expect.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class FeedServer:
    """A real HTTP/1.1 server on 127.0.0.1 with programmable routes and a request log."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[Seen] = []
        self._stop = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:
                server.requests.append(
                    Seen(self.path, {k.lower(): v for k, v in self.headers.items()})
                )
                route = server.routes.get(self.path)
                if route is None:
                    self._send(404, {"Content-Type": "text/plain"}, b"not found")
                    return
                headers = {"Content-Type": "application/xml", **route.headers}
                if route.etag:
                    headers["ETag"] = route.etag
                if route.last_modified:
                    headers["Last-Modified"] = route.last_modified
                if (route.etag and self.headers.get("If-None-Match") == route.etag) or (
                    route.last_modified
                    and self.headers.get("If-Modified-Since") == route.last_modified
                ):
                    self._send(304, {k: v for k, v in headers.items() if k != "Content-Type"}, b"")
                    return
                body = route.body
                if route.gzip:
                    body = gzip.compress(body)
                    headers["Content-Encoding"] = "gzip"
                self._send(route.status, headers, body, route)

            def _send(
                self, status: int, headers: dict[str, str], body: bytes, route: Route | None = None
            ) -> None:
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                if route is not None and route.content_length is not None:
                    self.send_header("Content-Length", str(route.content_length))
                    self.close_connection = True
                elif route is None or route.declare_length:
                    self.send_header("Content-Length", str(len(body)))
                else:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                if route and route.stall:
                    server._stop.wait(route.stall)
                try:
                    if route and route.trickle:
                        for byte in body:
                            if server._stop.wait(route.trickle):
                                return
                            self.wfile.write(bytes([byte]))
                            self.wfile.flush()
                    else:
                        self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up on us, as it should

        self.httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def add(self, path: str, body: bytes | str = b"", **options: Any) -> str:
        """Serve ``body`` at ``path``; return its full URL."""
        self.routes[path] = Route(body=body.encode() if isinstance(body, str) else body, **options)
        return self.url(path)

    def redirect(self, path: str, target: str, status: int = 301) -> str:
        self.routes[path] = Route(status=status, headers={"Location": target})
        return self.url(path)

    def hits(self, path: str) -> list[Seen]:
        return [seen for seen in self.requests if seen.path == path]

    def close(self) -> None:
        self._stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    server = FeedServer()
    server.thread.start()
    yield server
    server.close()


class Site:
    """A Chorus site in a temporary directory, using the repository's pelicanconf.py and theme."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.content = root / "content"
        self.output = root / "output"
        self.members = self.content / "members"
        self.community = self.content / "community"
        self.local_feeds = self.content / "local-feeds"
        for directory in (
            self.members,
            self.community,
            self.local_feeds,
            self.content / "articles",
            self.content / "pages",
        ):
            directory.mkdir(parents=True, exist_ok=True)
        self.settings_file = root / "pelicanconf.py"
        # Images are fetched only by the tests that serve them (never from a .example host).
        self.overrides: dict[str, Any] = {
            "CHORUS_LOCAL_FEEDS_DIR": "local-feeds",
            "CHORUS_FETCH_IMAGES": False,
        }
        self.write_settings()

    def write_settings(self, **overrides: Any) -> None:
        """Point the real pelicanconf.py at this site, with ``overrides`` on top."""
        self.overrides.update(overrides)
        write_site_settings(self.root, **self.overrides)

    def member(
        self, stem: str, *, bio: str = "A member of the test community.", **fields: Any
    ) -> Path:
        """Write content/members/<stem>.md with sensible defaults for missing fields."""
        import yaml

        data = {"name": stem.title(), "site": f"https://{stem}.example/", **fields}
        text = "---\n" + yaml.safe_dump(data, sort_keys=False) + "---\n" + bio + "\n"
        path = self.members / f"{stem}.md"
        path.write_text(text, encoding="utf-8")
        return path

    def local_feed(self, name: str, source: str | Path | bytes) -> str:
        """Copy a feed into the local feeds directory; return its ``local:`` URL."""
        target = self.local_feeds / name
        if isinstance(source, Path):
            shutil.copyfile(source, target)
        else:
            target.write_bytes(source if isinstance(source, bytes) else source.encode())
        return f"local:{name}"

    def article(self, name: str, text: str) -> Path:
        path = self.content / "articles" / name
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
        return path

    def settings(self) -> dict[str, Any]:
        return read_settings(str(self.settings_file))

    def build(self) -> Path:
        """Run a real Pelican build; return the output directory."""
        Pelican(self.settings()).run()
        return self.output

    def page(self, relative: str) -> Any:
        """A built page, parsed."""
        from bs4 import BeautifulSoup

        path = self.output / relative
        if path.is_dir():
            path = path / "index.html"
        return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")

    def posts(self, handle: str) -> list[Path]:
        return sorted((self.community / handle).glob("*.html"))


@pytest.fixture
def site(tmp_path: Path) -> Site:
    return Site(tmp_path)


@pytest.fixture
def cli(site: Site) -> Callable[..., Any]:
    """Run the real ``chorus`` CLI (in-process, through click) against the site."""
    from click.testing import CliRunner

    from chorus.cli.main import main

    def run(*args: str, expect: int | None = 0) -> Any:
        result = CliRunner().invoke(main, ["--settings", str(site.settings_file), *args])
        if expect is not None:
            assert result.exit_code == expect, result.output
        return result

    return run


# Where a local avatar file (the community's Ada has one) is on the built site, resized.
LOCAL_AVATAR = re.compile(r"images/avatars/local/[0-9a-f]{20}-(64|128|256)\.png")


def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


FEED = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"><channel>
<title>{name}'s notebook</title><link>https://{handle}.example/</link>
<atom:link rel="self" href="https://{handle}.example/feed.xml"/>
<copyright>CC BY 4.0 {name}</copyright><managingEditor>{handle}@{handle}.example</managingEditor>
<item><title>{title}</title><link>https://{handle}.example/posts/{slug}/</link>
<guid>https://{handle}.example/posts/{slug}/</guid>
<pubDate>Mon, 02 Nov 2026 10:00:00 GMT</pubDate>
<category>looms</category>
<description>&lt;p&gt;{text} &lt;a href="../other/"&gt;an older post&lt;/a&gt;
&lt;/p&gt;</description>
</item></channel></rss>"""


@pytest.fixture
def community(site, cli):
    """Three members (full, excerpt, link consent), one original article, fetched and built.

    Their feeds declare a self link and rights, and an e-mail address that must go nowhere.
    """
    from PIL import Image

    (site.content / "images").mkdir()
    # A portrait bigger than the theme shows: the build resizes it (chorus.fetch.faces).
    Image.new("RGB", (400, 300), (210, 120, 60)).save(site.content / "images" / "ada.png")
    for handle, name, consent, trusted in [
        ("ada", "Ada Lovelace", "full", True),
        ("bob", "Bob Weaver", "excerpt", True),
        ("cy", "Cy Draft", "link", False),
    ]:
        feed = site.local_feed(
            f"{handle}.xml",
            FEED.format(
                handle=handle,
                name=name,
                title=f"{name.split()[0]} on looms",
                slug="looms",
                text=f"{name} thinks about looms.",
            ),
        )
        site.member(
            handle,
            name=name,
            feeds=[feed],
            consent=consent,
            trusted=trusted,
            avatar="images/ada.png" if handle == "ada" else None,
            links={
                "github": f"https://github.com/{handle}",
                "fediverse": f"@{handle}@social.example",
            },
            bio=f"{name} *weaves*.",
        )
    site.article(
        "original.md",
        """
        Title: An original article
        Date: 2026-11-03 09:00
        Category: Community
        Tags: looms
        Member: bob

        Written here, by Bob.
        """,
    )
    cli("fetch")
    site.build()
    return site
