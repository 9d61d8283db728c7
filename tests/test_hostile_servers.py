"""Servers that misbehave, each on 127.0.0.1: what fetch does, reports and remembers."""

from __future__ import annotations

import json
import socket
import struct
import threading
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from chorus.fetch.http import parse_retry_after
from test_fetch import item, rss


def state_of(site, url: str) -> dict:
    return json.loads((site.community / "fetch-state.json").read_text())["feeds"][url]


@pytest.mark.parametrize(
    ("status", "retry_after"),
    [(429, "3600"), (503, format_datetime(datetime.now(UTC) + timedelta(hours=2), usegmt=True))],
    ids=["429-seconds", "503-http-date"],
)
def test_retry_after_is_honoured_on_the_next_run(site, feed_server, cli, status, retry_after):
    url = feed_server.add("/busy", "slow down", status=status, headers={"Retry-After": retry_after})
    site.member("busy", feeds=[url])
    site.member("fine", feeds=[feed_server.add("/fine", rss(item("ok")))])
    first = cli("fetch", expect=1)
    assert f"HTTP {status}" in first.output and "asked to wait until" in first.output
    assert state_of(site, url)["retry_after"]

    second = cli("fetch")  # the busy feed is not asked again yet, and that is no failure
    assert len(feed_server.hits("/busy")) == 1
    assert "the server asked us to wait until" in second.output
    assert len(feed_server.hits("/fine")) == 2


def test_retry_after_is_bounded():
    now = datetime(2026, 11, 21, tzinfo=UTC)
    assert parse_retry_after("120", now) == now + timedelta(minutes=2)
    assert parse_retry_after("99999999", now) == now + timedelta(days=7)
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now) == now  # in the past
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None


def test_gone_feed_is_marked_and_left_alone(site, feed_server, cli):
    url = feed_server.add("/gone", "gone", status=410)
    site.member("ghost", feeds=[url])
    assert "HTTP 410" in cli("fetch", expect=1).output
    assert state_of(site, url)["gone"]
    second = cli("fetch")
    assert len(feed_server.hits("/gone")) == 1
    assert "410 Gone" in second.output and "remove it from the member file" in second.output
    check = cli("members", "check")
    assert "410 Gone" in check.output and "remove it from the member file" in check.output


def test_members_check_suggests_the_new_url_after_a_permanent_redirect(site, feed_server, cli):
    new = feed_server.add("/new.xml", rss(item("moved")))
    site.member("ada", feeds=[feed_server.redirect("/old.xml", "/new.xml", status=308)])
    cli("fetch")
    check = cli("members", "check")
    assert f"moved permanently to {new}: put that URL in the member file" in check.output


@pytest.mark.parametrize(
    "target", ["file:///etc/passwd", "javascript:alert(1)", "ftp://127.0.0.1/feed.xml", "data:,x"]
)
def test_redirect_to_another_scheme_is_refused(site, feed_server, cli, target):
    site.member("sly", feeds=[feed_server.redirect("/sly", target, status=302)])
    result = cli("fetch", expect=1)
    assert "redirected to a non-http(s) URL" in result.output
    assert "root:" not in result.output and site.posts("sly") == []


@pytest.mark.parametrize(
    "content_type", ["text/html", "text/plain", "application/octet-stream", None]
)
def test_wrong_or_missing_content_type_is_still_read(site, feed_server, cli, content_type):
    headers = {"Content-Type": content_type} if content_type else {"Content-Type": ""}
    site.member("ada", feeds=[feed_server.add("/f", rss(item("typed")), headers=headers)])
    cli("fetch")
    assert len(site.posts("ada")) == 1


def test_truncated_body_is_a_failure_not_a_half_post(site, feed_server, cli):
    body = rss(item("one"), item("two"))
    feed_server.add("/short", body[: len(body) // 2], content_length=len(body))
    site.member("cut", feeds=[feed_server.url("/short")])
    result = cli("fetch", expect=1)
    assert "broken response body" in result.output
    assert site.posts("cut") == []


def test_connection_closed_mid_feed_keeps_only_whole_entries(site, feed_server, cli):
    # No declared length: the body simply ends when the server hangs up, mid-entry.
    body = rss(item("whole"), item("broken-off"))
    cut = body.index("broken-off") + 5
    site.member("cut", feeds=[feed_server.add("/cut", body[:cut], declare_length=False)])
    cli("fetch")
    links = [p.read_text() for p in site.posts("cut")]
    assert len(links) == 1 and "https://blog.example/whole/" in links[0]


def test_same_etag_with_new_content_is_still_read(site, feed_server, cli):
    site.member(
        "ada",
        feeds=[feed_server.add("/f", rss(item("first")), headers={"ETag": '"x"'})],
        trusted=True,
    )
    cli("fetch")
    # The server changed the feed but not its ETag, and ignores If-None-Match: a 200 again.
    feed_server.add("/f", rss(item("first"), item("second")), headers={"ETag": '"x"'})
    cli("fetch")
    assert len(site.posts("ada")) == 2


def test_repeated_failures_are_counted_and_reported(site, feed_server, cli):
    url = feed_server.add("/flaky", "no", status=500)
    site.member("flaky", feeds=[url])
    for _ in range(3):
        cli("fetch", expect=1)
    health = state_of(site, url)
    assert health["failures"] == 3 and health["last_error"] == "HTTP 500 Internal Server Error"
    assert "failed 3 times in a row" in cli("members", "check").output

    site.build()
    row = site.page("members/health").find("tr", class_="health--failing")
    assert row is not None and "HTTP 500" in row.get_text()

    feed_server.add("/flaky", rss(item("back")))
    cli("fetch")
    health = state_of(site, url)
    assert "failures" not in health and "last_error" not in health
    assert health["last_success"] == datetime.now(UTC).strftime("%Y-%m-%d")


class _ResettingServer:
    """A raw HTTP/1.1 server on 127.0.0.1 that counts requests by path: it answers ``/a`` with
    a feed and keeps the connection open, and resets the connection (RST, no answer) on any
    request for ``/b``, the way a crashing backend or an overloaded proxy does."""

    def __init__(self, feed: bytes) -> None:
        self.feed = feed
        self.requests: list[tuple[int, str]] = []  # (connection number, path)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.1)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}"

    def _serve(self) -> None:
        connections = 0
        while not self.stopping.is_set():
            try:
                connection, _ = self.listener.accept()
            except TimeoutError:
                continue
            connections += 1
            threading.Thread(
                target=self._handle, args=(connection, connections), daemon=True
            ).start()

    def _handle(self, connection: socket.socket, number: int) -> None:
        with connection, connection.makefile("rb") as reader:
            while True:
                request_line = reader.readline()
                if not request_line:
                    return
                while reader.readline() not in (b"\r\n", b"\n", b""):
                    pass  # the headers; a GET has no body
                path = request_line.split()[1].decode()
                self.requests.append((number, path))
                if path != "/a":
                    # SO_LINGER with a zero timeout: close() sends RST, not FIN.
                    connection.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                    )
                    return
                connection.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n"
                    b"Content-Length: %d\r\n\r\n%s" % (len(self.feed), self.feed)
                )

    def close(self) -> None:
        self.stopping.set()
        self.thread.join()
        self.listener.close()


def test_a_connection_reset_costs_one_request_not_two(site, cli):
    # aiohttp silently sends an idempotent request again when its connection is reset; a fetch
    # asks each feed once, reports the failure, and asks again on the next run.
    server = _ResettingServer(rss(item("fine")).encode())
    base = server.base
    try:
        site.write_settings(CHORUS_CONCURRENCY=1)  # /b then goes over /a's kept-alive connection
        site.member("ada", feeds=[f"{base}/a"])
        site.member("bob", feeds=[f"{base}/b"])
        result = cli("fetch", expect=1)
        first_run = list(server.requests)
        cli("fetch", expect=1)  # a failed feed is asked again on the next run, once
    finally:
        server.close()
    assert [path for _, path in first_run] == ["/a", "/b"]
    assert first_run[0][0] == first_run[1][0]  # one connection, used twice
    assert [path for _, path in server.requests] == ["/a", "/b", "/a", "/b"]
    assert f"bob: {base}/b: the connection was reset before the server answered" in (
        " ".join(result.output.split())
    )
    assert len(site.posts("ada")) == 1
    state = state_of(site, f"{base}/b")
    assert state["failures"] == 2 and "reset" in state["last_error"]
