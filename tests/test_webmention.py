"""Webmention sending: the 23 webmention.rocks discovery cases, sending, Pingback, the send log,
dry runs, address safety, deadlines, and one real build sending a real mention.

Everything runs against servers on 127.0.0.1: the conftest FeedServer serves the target pages
(GET), and the EndpointServer below plays the receivers (POST).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import ssl
import subprocess
import threading
import time
import xmlrpc.client
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult
from click.testing import CliRunner

from chorus.cli.common import Site as CliSite
from chorus.cli.mentions import mentions
from chorus.common.config import ConfigError, SendConfig
from chorus.mentions.dispatch import LogEntry, LogError, Send, SendLog, plan, run
from chorus.mentions.manifest import Page, external_links, load_manifest, make_page
from chorus.mentions.webmention import (
    AddressRefused,
    Discovery,
    Endpoint,
    PublicOnlyResolver,
    Result,
    address_refusal,
    discover,
    open_session,
    parse_link_header,
    probe,
    send_pingback,
    send_webmention,
)

HTML = {"Content-Type": "text/html; charset=utf-8"}
UA = "Chorus/0.1.0 Webmention (+https://loom.example)"
CONFIG = SendConfig(
    user_agent=UA,
    timeout=5.0,
    connect_timeout=5.0,
    max_redirects=5,
    concurrency=16,
    allow_private=True,  # the servers are on 127.0.0.1
)
STRICT = replace(CONFIG, allow_private=False)
SOURCE = "https://loom.example/posts/2026/on-looms/"


def page(head: str = "", body: str = "") -> str:
    """A target page, shaped like webmention.rocks's: endpoint links in the head or the body."""
    return (
        '<!doctype html>\n<html><head><meta charset="utf-8"><title>Discovery test</title>'
        f'{head}</head>\n<body><div class="h-entry"><div class="e-content">{body}</div>'
        "</div></body></html>\n"
    )


def discover_now(url: str, config: SendConfig = CONFIG) -> Discovery:
    async def go() -> Discovery:
        async with open_session(config) as session:
            return await probe(session, url, config)

    return asyncio.run(go())


def endpoint_now(url: str, config: SendConfig = CONFIG) -> Endpoint | None:
    async def go() -> Endpoint | None:
        async with open_session(config) as session:
            return await discover(session, url, config)

    return asyncio.run(go())


def webmention_now(endpoint: str, target: str, config: SendConfig = CONFIG) -> Result:
    async def go() -> Result:
        async with open_session(config) as session:
            return await send_webmention(session, endpoint, SOURCE, target, config)

    return asyncio.run(go())


def pingback_now(server: str, target: str, config: SendConfig = CONFIG) -> Result:
    async def go() -> Result:
        async with open_session(config) as session:
            return await send_pingback(session, server, SOURCE, target, config)

    return asyncio.run(go())


# -- A receiver: Webmention and Pingback endpoints that record every POST ---------------------


@dataclass
class Answer:
    """How the endpoint server answers a POST to one path."""

    status: int = 202
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    stall: float = 0.0  # seconds to wait before answering at all


@dataclass
class Posted:
    """One POST the endpoint server received."""

    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode(), strict_parsing=True)

    @property
    def pingback(self) -> tuple[tuple[Any, ...], str | None]:
        return xmlrpc.client.loads(self.body)


def xmlrpc_reply(value: Any) -> Answer:
    body = xmlrpc.client.dumps(value, methodresponse=True).encode()
    return Answer(200, body, {"Content-Type": "text/xml"})


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that give up on a stalled answer are what the tests expect


class EndpointServer:
    """Webmention endpoints and Pingback servers on 127.0.0.1, answering POSTs as told."""

    def __init__(self) -> None:
        self.answers: dict[str, Answer | Callable[[Posted], Answer]] = {}
        self.posts: list[Posted] = []
        self._stop = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                posted = Posted(self.path, headers, body)
                server.posts.append(posted)
                answer = server.answers.get(self.path.partition("?")[0])
                if answer is None:
                    answer = Answer(404, b"no such endpoint", {"Content-Type": "text/plain"})
                elif callable(answer):
                    answer = answer(posted)
                if answer.stall and server._stop.wait(answer.stall):
                    return
                try:
                    self.send_response(answer.status)
                    for key, value in answer.headers.items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", str(len(answer.body)))
                    self.end_headers()
                    self.wfile.write(answer.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.httpd = _Server(("127.0.0.1", 0), Handler)
        # A short poll interval, so closing the server does not cost half a second per test.
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def add(self, path: str, answer: Answer | Callable[[Posted], Answer] | None = None) -> str:
        self.answers[path] = answer or Answer()
        return self.url(path)

    def to(self, path: str) -> list[Posted]:
        return [posted for posted in self.posts if posted.path.partition("?")[0] == path]

    def close(self) -> None:
        self._stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def receiver() -> Iterator[EndpointServer]:
    server = EndpointServer()
    server.thread.start()
    yield server
    server.close()


def target_page(feed_server: Any, path: str, endpoint: str, **headers: str) -> str:
    """A page on the feed server advertising ``endpoint`` in its Link header."""
    return feed_server.add(
        path, page(), headers={**HTML, "Link": f'<{endpoint}>; rel="webmention"', **headers}
    )


# -- Discovery: the webmention.rocks suite ---------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One webmention.rocks discovery test, reproduced on 127.0.0.1 ({base} is the server)."""

    number: int
    name: str
    expected: str  # the endpoint that must be discovered, as a path on the server
    head: str = ""
    body: str = ""
    links: tuple[str, ...] = ()  # Link header values, one header line each
    header_name: str = "Link"
    redirected_to: str | None = None  # the page lives here, behind a 302 from /test/N/page

    @property
    def id(self) -> str:
        return f"{self.number:02d}-{self.name}"


CASES = [
    Case(1, "link-header-unquoted-rel-relative-url", "/test/1/webmention",
         links=("</test/1/webmention>; rel=webmention",)),
    Case(2, "link-header-unquoted-rel-absolute-url", "/test/2/webmention",
         links=("<{base}/test/2/webmention>; rel=webmention",)),
    Case(3, "html-link-tag-relative-url", "/test/3/webmention",
         head='<link rel="webmention" href="/test/3/webmention">'),
    Case(4, "html-link-tag-absolute-url", "/test/4/webmention",
         head='<link href="{base}/test/4/webmention" rel="webmention">'),
    Case(5, "html-a-tag-relative-url", "/test/5/webmention",
         body='This post advertises its <a rel="webmention" href="/test/5/webmention">Webmention '
         "endpoint</a> with an HTML <code>&lt;a&gt;</code> tag in the body."),
    Case(6, "html-a-tag-absolute-url", "/test/6/webmention",
         body='This post advertises its <a href="{base}/test/6/webmention" rel="webmention">'
         "Webmention endpoint</a> with an absolute URL."),
    Case(7, "link-header-strange-casing", "/test/7/webmention",
         links=("<{base}/test/7/webmention>; rel=webmention",), header_name="LinK"),
    Case(8, "link-header-quoted-rel", "/test/8/webmention",
         links=('<{base}/test/8/webmention>; rel="webmention"',)),
    Case(9, "multiple-rel-values-on-link-tag", "/test/9/webmention",
         head='<link rel="webmention somethingelse" href="{base}/test/9/webmention">'),
    Case(10, "multiple-rel-values-on-link-header", "/test/10/webmention",
         links=('<{base}/test/10/webmention>; rel="webmention somethingelse"',)),
    Case(11, "multiple-endpoints-link-header-link-tag-a-tag", "/test/11/webmention",
         links=('</test/11/webmention>; rel="webmention"',),
         head='<link rel="webmention" href="/test/11/webmention/error">',
         body='Also in an <a href="/test/11/webmention/error" rel="webmention">&lt;a&gt; tag</a>; '
         "only the Link header counts."),
    Case(12, "exact-match-of-rel-webmention", "/test/12/webmention",
         head='<link rel="not-webmention" href="/test/12/webmention/error">',
         body='There is also a <a href="/test/12/webmention" rel="webmention">correct '
         "endpoint</a> defined."),
    Case(13, "false-endpoint-inside-html-comment", "/test/13/webmention",
         body='This post contains an HTML comment <!-- <a href="/test/13/webmention/error" '
         'rel="webmention"></a> --> and a <a href="/test/13/webmention" rel="webmention">correct '
         "endpoint</a>."),
    Case(14, "false-endpoint-in-escaped-html", "/test/14/webmention",
         body='Sample code: <code>&lt;a href="/test/14/webmention/error" rel="webmention"&gt;'
         '&lt;/a&gt;</code> and a <a href="/test/14/webmention" rel="webmention">correct '
         "endpoint</a>."),
    Case(15, "webmention-href-is-empty-string", "/test/15",
         head='<link rel="webmention" href="">'),
    Case(16, "multiple-endpoints-a-tag-then-link-tag", "/test/16/webmention",
         body='An <a href="/test/16/webmention" rel="webmention">&lt;a&gt; tag</a>, then a later '
         '<link rel="webmention" href="/test/16/webmention/error">.'),
    Case(17, "multiple-endpoints-link-tag-then-a-tag", "/test/17/webmention",
         body='A <link rel="webmention" href="/test/17/webmention"> tag, then a later '
         '<a href="/test/17/webmention/error" rel="webmention">&lt;a&gt; tag</a>.'),
    Case(18, "multiple-http-link-headers", "/test/18/webmention",
         links=('<{base}/test/18/webmention/error>; rel="other"',
                '<{base}/test/18/webmention>; rel="webmention"')),
    Case(19, "single-http-link-header-with-multiple-values", "/test/19/webmention",
         links=('<{base}/test/19/webmention/error>; rel="other", '
                '<{base}/test/19/webmention>; rel="webmention"',)),
    Case(20, "link-tag-with-no-href-attribute", "/test/20/webmention",
         body='A <link rel="webmention"> tag with no href, and <a href="/test/20/webmention" '
         'rel="webmention">this endpoint</a> instead.'),
    Case(21, "webmention-endpoint-has-query-string", "/test/21/webmention?query=yes",
         head='<link rel="webmention" href="/test/21/webmention?query=yes">'),
    Case(22, "webmention-endpoint-relative-to-the-path", "/test/22/webmention",
         head='<link rel="webmention" href="22/webmention">'),
    Case(23, "target-is-a-redirect-and-endpoint-is-relative",
         "/test/23/page/webmention-endpoint/7bd1f3",
         links=('<webmention-endpoint/7bd1f3>; rel="webmention"',),
         redirected_to="/test/23/page/7bd1f3"),
]  # fmt: skip


def serve_case(feed_server: Any, case: Case) -> str:
    """Put the case's page on the server; return the URL to discover from."""
    base = feed_server.base
    headers = dict(HTML)
    # Several Link header lines: header names are case-insensitive, so differently cased keys
    # are separate lines that all mean "Link" (the FeedServer takes a dict of headers).
    names = [case.header_name, case.header_name.lower(), case.header_name.upper()]
    for name, value in zip(names, case.links, strict=False):
        headers[name] = value.format(base=base)
    body = page(case.head.format(base=base), case.body.format(base=base))
    if case.redirected_to:
        feed_server.add(case.redirected_to, body, headers=headers)
        return feed_server.redirect(f"/test/{case.number}/page", case.redirected_to, status=302)
    return feed_server.add(f"/test/{case.number}", body, headers=headers)


def test_the_suite_has_all_23_cases():
    assert [case.number for case in CASES] == list(range(1, 24))


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_discovery(feed_server, case):
    url = serve_case(feed_server, case)
    assert endpoint_now(url) == Endpoint("webmention", feed_server.base + case.expected)


def test_discovery_sends_the_mention_to_the_endpoint_with_its_query_string(feed_server, receiver):
    """Case 21 end to end: the query stays in the URL, only source and target in the body."""
    endpoint = receiver.add("/test/21/webmention")
    target = feed_server.add(
        "/test/21",
        page(f'<link rel="webmention" href="{endpoint}?query=yes">'),
        headers=HTML,
    )
    found = endpoint_now(target)
    assert found is not None
    assert webmention_now(found.url, target).outcome == "sent"
    [posted] = receiver.to("/test/21/webmention")
    assert posted.path == "/test/21/webmention?query=yes"
    assert posted.form == {"source": [SOURCE], "target": [target]}


@pytest.mark.parametrize(
    ("rel", "where"),
    [("WebMention", "head"), ("  author\tWEBMENTION\n", "head"), ("WebMention", "body")],
)
def test_rel_is_matched_as_case_insensitive_tokens(feed_server, rel, where):
    link = (
        f'<link rel="{rel}" href="/wm">' if where == "head" else f'<a rel="{rel}" href="/wm">x</a>'
    )
    url = feed_server.add("/t", page(link) if where == "head" else page(body=link), headers=HTML)
    assert endpoint_now(url) == Endpoint("webmention", feed_server.url("/wm"))


def test_link_header_rel_is_case_insensitive(feed_server):
    url = feed_server.add("/t", page(), headers={**HTML, "Link": '</wm>; REL="WebMention"'})
    assert endpoint_now(url) == Endpoint("webmention", feed_server.url("/wm"))


@pytest.mark.parametrize("content_type", ["text/plain", "application/json", "image/png"])
def test_only_html_is_searched_for_links(feed_server, content_type):
    url = feed_server.add(
        "/t", page('<link rel="webmention" href="/wm">'), headers={"Content-Type": content_type}
    )
    result = discover_now(url)
    assert (result.outcome, result.endpoint) == ("no_endpoint", None)


def test_xhtml_is_html(feed_server):
    url = feed_server.add(
        "/t",
        page('<link rel="webmention" href="/wm" />'),
        headers={"Content-Type": "application/xhtml+xml"},
    )
    assert endpoint_now(url) == Endpoint("webmention", feed_server.url("/wm"))


def test_a_link_header_is_found_on_any_content_type(feed_server):
    url = feed_server.add(
        "/t.pdf",
        b"%PDF-1.4",
        headers={"Content-Type": "application/pdf", "Link": "</wm>; rel=webmention"},
    )
    assert endpoint_now(url) == Endpoint("webmention", feed_server.url("/wm"))


def test_a_page_without_an_endpoint(feed_server):
    url = feed_server.add("/t", page(body='<a href="/elsewhere">a link</a>'), headers=HTML)
    assert discover_now(url) == Discovery(url, "no_endpoint", "no endpoint")


def test_a_missing_target_has_no_endpoint_and_a_broken_one_failed(feed_server):
    gone = discover_now(feed_server.url("/nowhere"))
    assert gone.outcome == "no_endpoint" and "404" in gone.reason
    broken = feed_server.add("/broken", "oops", status=503, headers=HTML)
    result = discover_now(broken)
    assert result.outcome == "failed" and "503" in result.reason


def test_discovery_follows_redirects_and_resolves_against_the_last_url(feed_server):
    feed_server.add("/c/d/post", page('<link rel="webmention" href="wm?x=1">'), headers=HTML)
    feed_server.redirect("/b", "/c/d/post", status=307)
    start = feed_server.redirect("/a", feed_server.url("/b"), status=301)
    assert endpoint_now(start) == Endpoint("webmention", feed_server.url("/c/d/wm?x=1"))


def test_redirect_cap(feed_server):
    for hop in range(7):
        feed_server.redirect(f"/r{hop}", f"/r{hop + 1}")
    feed_server.add("/r7", page('<link rel="webmention" href="/wm">'), headers=HTML)
    result = discover_now(feed_server.url("/r0"), replace(CONFIG, max_redirects=5))
    assert result.outcome == "failed"
    assert "more than 5 redirects" in result.reason
    assert not feed_server.hits("/r6")  # stopped at the cap, not after


def test_redirect_to_another_scheme_is_not_followed(feed_server):
    url = feed_server.redirect("/r", "file:///etc/passwd")
    result = discover_now(url)
    assert result.outcome == "failed" and "not an http(s) URL" in result.reason


def test_size_cap_on_discovery_reads(feed_server):
    padding = "<p>" + "loom " * 400 + "</p>"  # 2 KB
    late = feed_server.add(
        "/late", page(body=padding + '<a rel="webmention" href="/wm">e</a>'), headers=HTML
    )
    early = feed_server.add(
        "/early", page('<link rel="webmention" href="/wm">', padding * 100), headers=HTML
    )
    small = replace(CONFIG, max_bytes=1024)
    result = discover_now(late, small)
    assert result.outcome == "no_endpoint"
    assert "first 1,024 bytes" in result.reason
    assert endpoint_now(early, small) == Endpoint("webmention", feed_server.url("/wm"))


def test_discovery_reads_the_declared_charset(feed_server):
    body = page('<link rel="webmention" href="/wm/caf\u00e9">').encode("latin-1")
    url = feed_server.add("/t", body, headers={"Content-Type": "text/html; charset=iso-8859-1"})
    assert endpoint_now(url) == Endpoint("webmention", feed_server.url("/wm/caf\u00e9"))


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["<https://a.example/x>; rel=webmention"], [("https://a.example/x", {"webmention"})]),
        (
            ['<https://a.example/a,b;c>; title="x, y; z"; rel="other webmention"'],
            [("https://a.example/a,b;c", {"other", "webmention"})],
        ),
        (
            ['<a>; rel="first"; rel="webmention", <b>; rel=webmention'],
            [("a", {"first"}), ("b", {"webmention"})],  # only the first rel counts (RFC 8288)
        ),
        (['<a>; title="say \\"hi\\", rel=webmention"'], [("a", set())]),
        (["<a>; rel=next", "<b>;rel=WebMention"], [("a", {"next"}), ("b", {"webmention"})]),
        (["garbage, <c>; rel=webmention"], [("c", {"webmention"})]),
    ],
)
def test_link_header_parsing(values, expected):
    assert [(href, set(rels)) for href, rels in parse_link_header(values)] == expected


# -- Pingback as the fallback ----------------------------------------------------------------


def test_pingback_discovery_order(feed_server):
    header = feed_server.add("/h", page(), headers={**HTML, "X-Pingback": "/xmlrpc.php"})
    tag = feed_server.add("/t", page('<link rel="pingback" href="/rpc">'), headers=HTML)
    both = feed_server.add(
        "/b",
        page('<link rel="pingback" href="/rpc"><link rel="webmention" href="/wm">'),
        headers={**HTML, "X-Pingback": "/xmlrpc.php"},
    )
    assert endpoint_now(header) == Endpoint("pingback", feed_server.url("/xmlrpc.php"))
    assert endpoint_now(tag) == Endpoint("pingback", feed_server.url("/rpc"))
    assert endpoint_now(both) == Endpoint("webmention", feed_server.url("/wm"))


def test_pingback_sends_an_xml_rpc_call(feed_server, receiver):
    server = receiver.add("/xmlrpc", xmlrpc_reply(("Ping registered",)))
    target = feed_server.add("/post", page(), headers={**HTML, "X-Pingback": server})
    result = pingback_now(server, target)
    assert result.outcome == "sent"
    assert result.reason == "sent: pingback accepted (Ping registered)"
    [posted] = receiver.to("/xmlrpc")
    assert posted.pingback == ((SOURCE, target), "pingback.ping")
    assert posted.headers["content-type"].startswith("text/xml")
    assert "Webmention" in posted.headers["user-agent"]


@pytest.mark.parametrize(
    ("fault", "outcome", "reason"),
    [
        (17, "failed", "failed: pingback fault 17: The source URI does not contain a link"),
        (48, "sent", "sent: pingback already registered"),
    ],
)
def test_pingback_faults(receiver, fault, outcome, reason):
    fault_text = "The source URI does not contain a link" if fault == 17 else "Already registered"
    server = receiver.add("/xmlrpc", xmlrpc_reply(xmlrpc.client.Fault(fault, fault_text)))
    result = pingback_now(server, "https://target.example/")
    assert (result.outcome, result.reason, result.fault) == (outcome, reason, fault)


def test_pingback_reply_that_is_not_xml_rpc(receiver):
    server = receiver.add("/xmlrpc", Answer(200, b"<html>hello</html>", HTML))
    assert pingback_now(server, "https://target.example/").reason == (
        "failed: not an XML-RPC reply"
    )


# -- Sending ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (Answer(202), "sent: 202 Accepted"),
        (Answer(200), "sent: 200 OK"),
        (
            Answer(201, headers={"Location": "/status/1"}),
            "sent: 201 Created, status at {endpoint_base}/status/1",
        ),
    ],
)
def test_send_webmention_success(receiver, answer, reason):
    endpoint = receiver.add("/webmention", answer)
    result = webmention_now(endpoint, "https://target.example/post")
    assert result.outcome == "sent"
    assert result.reason == reason.format(endpoint_base=receiver.url(""))
    [posted] = receiver.to("/webmention")
    assert posted.headers["content-type"] == "application/x-www-form-urlencoded"
    assert posted.form == {"source": [SOURCE], "target": ["https://target.example/post"]}


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (Answer(500), "failed: endpoint answered 500 Internal Server Error"),
        (Answer(429), "failed: endpoint answered 429 Too Many Requests"),
        (
            Answer(302, headers={"Location": "/elsewhere"}),
            "failed: endpoint answered 302 Found",
        ),
    ],
)
def test_send_webmention_failure(receiver, answer, reason):
    endpoint = receiver.add("/webmention", answer)
    result = webmention_now(endpoint, "https://target.example/post")
    assert (result.outcome, result.reason, result.failed) == ("failed", reason, True)


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (
            Answer(400, b"target is not on this site", {"Content-Type": "text/plain"}),
            "rejected: endpoint answered 400 Bad Request: target is not on this site",
        ),
        (Answer(404), "rejected: endpoint answered 404 Not Found"),
        (Answer(410), "rejected: endpoint answered 410 Gone"),
    ],
)
def test_a_4xx_answer_is_a_rejection_not_a_failure(receiver, answer, reason):
    endpoint = receiver.add("/webmention", answer)
    result = webmention_now(endpoint, "https://target.example/post")
    assert (result.outcome, result.reason, result.failed) == ("rejected", reason, False)


def test_a_307_redirect_keeps_the_post(receiver):
    receiver.add("/moved", Answer(202))
    endpoint = receiver.add("/webmention", Answer(307, headers={"Location": "/moved"}))
    assert webmention_now(endpoint, "https://target.example/").outcome == "sent"
    [posted] = receiver.to("/moved")
    assert posted.form["source"] == [SOURCE]


def test_user_agent_says_webmention_and_names_the_site(feed_server, receiver, tmp_path):
    config = SendConfig.from_settings(
        {
            "PATH": str(tmp_path),
            "SITEURL": "https://loom.example",
            "CHORUS_WEBMENTION_ALLOW_PRIVATE": True,
        }
    )
    assert config.user_agent == "Chorus/0.1.0 Webmention (+https://loom.example)"
    endpoint = receiver.add("/webmention")
    target = target_page(feed_server, "/post", endpoint)
    found = endpoint_now(target, config)
    assert found is not None
    webmention_now(found.url, target, config)
    [get] = feed_server.hits("/post")
    [post] = receiver.to("/webmention")
    assert get.headers["user-agent"] == post.headers["user-agent"] == config.user_agent


def test_site_url_for_the_user_agent_can_come_from_the_manifest(tmp_path):
    config = SendConfig.from_settings({"PATH": str(tmp_path)}, site_url="https://loom.example")
    assert config.user_agent.endswith("Webmention (+https://loom.example)")


def test_webmention_settings_are_checked(tmp_path):
    with pytest.raises(ConfigError, match="CHORUS_WEBMENTION_TIMEOUT must be a positive number"):
        SendConfig.from_settings({"PATH": str(tmp_path), "CHORUS_WEBMENTION_TIMEOUT": 0})
    with pytest.raises(ConfigError, match="CHORUS_WEBMENTION_ALLOW_PRIVATE must be True or"):
        SendConfig.from_settings({"PATH": str(tmp_path), "CHORUS_WEBMENTION_ALLOW_PRIVATE": "y"})
    with pytest.raises(ConfigError, match="did you mean CHORUS_WEBMENTION_TIMEOUT"):
        SendConfig.from_settings({"PATH": str(tmp_path), "CHORUS_WEBMENTION_TIMOUT": 3})


# -- Deadlines -------------------------------------------------------------------------------


def test_a_stalled_endpoint_times_out(receiver):
    endpoint = receiver.add("/webmention", Answer(202, stall=10))
    started = time.monotonic()
    result = webmention_now(endpoint, "https://target.example/", replace(CONFIG, timeout=0.5))
    assert time.monotonic() - started < 3
    assert (result.outcome, result.reason) == ("failed", "failed: timed out after 0.5 s")


def test_a_trickling_target_page_times_out(feed_server):
    url = feed_server.add("/slow", page() * 20, headers=HTML, trickle=0.05)
    started = time.monotonic()
    result = discover_now(url, replace(CONFIG, timeout=0.5))
    assert time.monotonic() - started < 3
    assert result.reason == "failed: timed out after 0.5 s"


# -- Address safety --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "127.0.0.1 is a loopback address"),
        ("127.8.9.10", "127.8.9.10 is a loopback address"),
        ("::1", "::1 is a loopback address"),
        ("10.0.0.1", "10.0.0.1 is a private address"),
        ("172.16.5.4", "172.16.5.4 is a private address"),
        ("192.168.1.1", "192.168.1.1 is a private address"),
        ("fd00::1", "fd00::1 is a private address"),
        ("169.254.169.254", "169.254.169.254 is a link-local address"),
        ("fe80::1", "fe80::1 is a link-local address"),
        ("::ffff:10.0.0.1", "::ffff:10.0.0.1 is a private address"),
        ("0.0.0.0", "0.0.0.0 is an unspecified address"),
        ("224.0.0.1", "224.0.0.1 is a multicast address"),
        ("100.64.0.1", "100.64.0.1 is not a public address"),
        ("93.184.215.14", None),
        ("2606:4700::6810:84e5", None),
    ],
)
def test_address_refusal(address, reason):
    assert address_refusal(address) == reason


def test_loopback_target_is_refused_without_the_override(feed_server):
    url = target_page(feed_server, "/post", feed_server.url("/wm"))
    result = discover_now(url, STRICT)
    assert (result.outcome, result.reason) == (
        "refused",
        "refused: 127.0.0.1 is a loopback address",
    )
    assert feed_server.requests == []


def test_a_name_that_resolves_to_loopback_is_refused(feed_server):
    url = target_page(feed_server, "/post", feed_server.url("/wm"))
    result = discover_now(url.replace("127.0.0.1", "localhost"), STRICT)
    assert result.outcome == "refused"
    assert result.reason.startswith("refused: localhost resolves to ")
    assert "loopback address" in result.reason
    assert feed_server.requests == []


def test_a_loopback_endpoint_is_refused_without_the_override(receiver):
    endpoint = receiver.add("/webmention")
    result = webmention_now(endpoint, "https://target.example/", STRICT)
    assert result.outcome == "refused"
    assert receiver.posts == []


@pytest.mark.parametrize("address", ["10.0.0.7", "169.254.169.254", "::1"])
def test_the_resolver_refuses_private_answers(address):
    class Fake(AbstractResolver):
        """Answers every name with ``address``, without asking any DNS server."""

        async def resolve(
            self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
        ) -> list[ResolveResult]:
            return [{"hostname": host, "host": address, "port": port, "family": family,
                     "proto": 0, "flags": 0}]  # fmt: skip

        async def close(self) -> None:
            pass

    async def go() -> None:
        await PublicOnlyResolver(Fake()).resolve("intranet.example", 443)

    with pytest.raises(AddressRefused, match=f"intranet.example resolves to {address}"):
        asyncio.run(go())


def test_tls_certificates_are_verified(tmp_path):
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a certificate")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    httpd = _Server(("127.0.0.1", 0), Handler)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
    try:
        result = discover_now(f"https://127.0.0.1:{httpd.server_address[1]}/")
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert result.outcome == "failed"
    assert result.reason.startswith("failed: TLS problem")
    assert "certificate" in result.reason.lower()


# -- The manifest ----------------------------------------------------------------------------


def test_external_links():
    content = (
        '<p><a href="https://other.example/a">a</a> <a href="https://loom.example/own">own</a>'
        ' <a href="HTTPS://LOOM.EXAMPLE:8443/own">own too</a> <a href="/relative">r</a>'
        ' <a href="mailto:x@y.example">m</a> <a href="javascript:alert(1)">j</a>'
        ' <a href="http://third.example/b#c">b</a> <a href="https://other.example/a">again</a>'
        ' <a href="http://third.example/b#d">b again</a>'
        ' <img src="https://images.example/i.png"></p>'
    )
    assert external_links(content, "https://loom.example") == [
        "https://other.example/a",
        "http://third.example/b",
    ]


def test_make_page_adds_the_original_post():
    made = make_page(
        "https://loom.example/posts/x/",
        '<a href="https://z.example/">z</a>',
        "https://loom.example",
        original="https://ada.example/2026/06/26.html#a080605",
    )
    assert made.targets == ("https://ada.example/2026/06/26.html", "https://z.example/")
    assert len(made.hash) == 64


# -- The plan and the log --------------------------------------------------------------------


def entry(outcome: str = "sent", digest: str = "h1", linked: bool = True) -> LogEntry:
    return LogEntry(outcome, f"{outcome}: ...", digest, linked, "2026-11-03T10:00:00+00:00")


def logged(tmp_path: Path, pairs: dict[tuple[str, str], LogEntry]) -> SendLog:
    log = SendLog(tmp_path / "log.json")
    for (source, target), value in pairs.items():
        log.record(source, target, value)
    return log


A, B, C = "https://a.example/", "https://b.example/", "https://c.example/"
S = "https://loom.example/s/"


def test_plan_new_pairs(tmp_path):
    assert plan([Page(S, (A, B), "h1")], logged(tmp_path, {})) == [
        Send(S, A, "h1", True, "new"),
        Send(S, B, "h1", True, "new"),
    ]


def test_plan_nothing_twice(tmp_path):
    log = logged(tmp_path, {(S, A): entry("sent"), (S, B): entry("no_endpoint")})
    assert plan([Page(S, (A, B), "h1")], log) == []


def test_plan_retries_failures(tmp_path):
    log = logged(tmp_path, {(S, A): entry("failed"), (S, B): entry("sent")})
    assert plan([Page(S, (A, B), "h1")], log) == [Send(S, A, "h1", True, "retry")]


def test_plan_update_resends_current_and_removed_targets(tmp_path):
    log = logged(
        tmp_path,
        {(S, A): entry(), (S, B): entry("no_endpoint"), (S, "https://old.example/"): entry()},
    )
    assert plan([Page(S, (A, B, C), "h2")], log) == [
        Send(S, A, "h2", True, "updated"),
        Send(S, B, "h2", True, "updated"),
        Send(S, C, "h2", True, "new"),
        Send(S, "https://old.example/", "h2", False, "removed"),
    ]


def test_plan_a_delivered_removal_is_not_repeated(tmp_path):
    log = logged(tmp_path, {(S, A): entry(digest="h2"), (S, B): entry(digest="h2", linked=False)})
    assert plan([Page(S, (A,), "h2")], log) == []
    assert plan([Page(S, (A,), "h3")], log) == [Send(S, A, "h3", True, "updated")]
    # The link comes back: the target hears about it again.
    assert plan([Page(S, (A, B), "h2")], log) == [Send(S, B, "h2", True, "updated")]


def test_plan_deletion_resends_to_previous_targets(tmp_path):
    log = logged(
        tmp_path,
        {(S, A): entry(), (S, B): entry("failed", linked=False), (S, C): entry(linked=False)},
    )
    assert plan([], log) == [Send(S, A, None, False, "deleted"), Send(S, B, None, False, "deleted")]


def test_log_file_is_deterministic_and_round_trips(tmp_path):
    log = logged(tmp_path, {(S, B): entry(), (S, A): entry("no_endpoint")})
    log.save()
    text = (tmp_path / "log.json").read_text()
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n"
    assert SendLog.load(tmp_path / "log.json").entries == log.entries
    assert SendLog.load(tmp_path / "log.json").text() == text


def test_an_unreadable_log_is_an_error_not_a_fresh_start(tmp_path):
    (tmp_path / "log.json").write_text("{not json")
    with pytest.raises(LogError, match="Restore it from git"):
        SendLog.load(tmp_path / "log.json")


FIXED = datetime(2026, 11, 3, 10, 0, tzinfo=UTC)


def test_run_logs_and_never_sends_twice(feed_server, receiver, tmp_path):
    endpoint = receiver.add("/webmention")
    a = target_page(feed_server, "/a", endpoint)
    b = feed_server.add("/b", page(), headers=HTML)  # no endpoint
    log = SendLog(tmp_path / "log.json")
    pages = [Page(S, (a, b), "h1")]
    results = run(plan(pages, log), log, CONFIG, now=lambda: FIXED)
    assert [(sent.send.target, sent.result.outcome) for sent in results] == [
        (a, "sent"),
        (b, "no_endpoint"),
    ]
    saved = json.loads((tmp_path / "log.json").read_text())
    assert saved["mentions"][S][a] == {
        "endpoint": endpoint,
        "hash": "h1",
        "kind": "webmention",
        "linked": True,
        "outcome": "sent",
        "result": "sent: 202 Accepted",
        "time": "2026-11-03T10:00:00+00:00",
    }
    assert saved["mentions"][S][b]["outcome"] == "no_endpoint"
    again = SendLog.load(tmp_path / "log.json")
    assert plan(pages, again) == []
    assert len(receiver.to("/webmention")) == 1


def test_run_update_and_deletion_resend(feed_server, receiver, tmp_path):
    endpoint = receiver.add("/webmention")
    a, b, c = (target_page(feed_server, f"/{name}", endpoint) for name in "abc")
    log = SendLog(tmp_path / "log.json")
    run(plan([Page(S, (a, b), "h1")], log), log, CONFIG)
    # Updated: b's link removed, c's added; a is told again because the page changed.
    log = SendLog.load(log.path)
    updated = run(plan([Page(S, (a, c), "h2")], log), log, CONFIG)
    assert [(s.send.target, s.send.why, s.result.outcome) for s in updated] == [
        (a, "updated", "sent"),
        (b, "removed", "sent"),
        (c, "new", "sent"),
    ]
    assert plan([Page(S, (a, c), "h2")], SendLog.load(log.path)) == []
    # Deleted: every target it still linked to is told, once.
    log = SendLog.load(log.path)
    deleted = run(plan([], log), log, CONFIG)
    assert [(s.send.target, s.send.why) for s in deleted] == [(a, "deleted"), (c, "deleted")]
    assert plan([], SendLog.load(log.path)) == []
    targets = [posted.form["target"][0] for posted in receiver.to("/webmention")]
    assert sorted(targets) == sorted([a, b, a, b, c, a, c])
    assert all(posted.form["source"] == [S] for posted in receiver.posts)


def test_an_unlink_notice_answered_400_has_done_its_job(feed_server, receiver, tmp_path):
    receiver.add("/webmention", Answer(400, b"source does not link to target", {}))
    a = target_page(feed_server, "/a", receiver.url("/webmention"))
    log = logged(tmp_path, {(S, a): entry(digest="h1")})
    [sent] = run(plan([], log), log, CONFIG)
    assert sent.result.outcome == "sent"
    assert "no longer sees the link" in sent.result.reason
    assert plan([], SendLog.load(log.path)) == []


def test_run_falls_back_to_pingback(feed_server, receiver, tmp_path):
    server = receiver.add("/xmlrpc", xmlrpc_reply(("thanks",)))
    a = feed_server.add("/a", page(f'<link rel="pingback" href="{server}">'), headers=HTML)
    log = SendLog(tmp_path / "log.json")
    [sent] = run(plan([Page(S, (a,), "h1")], log), log, CONFIG)
    assert sent.result.endpoint == Endpoint("pingback", server)
    assert log.get(S, a).kind == "pingback"
    [posted] = receiver.to("/xmlrpc")
    assert posted.pingback == ((S, a), "pingback.ping")


def test_one_discovery_per_target_per_run(feed_server, receiver, tmp_path):
    endpoint = receiver.add("/webmention")
    a = target_page(feed_server, "/a", endpoint)
    pages = [Page(f"https://loom.example/{n}/", (a,), "h") for n in range(5)]
    log = SendLog(tmp_path / "log.json")
    run(plan(pages, log), log, CONFIG)
    assert len(feed_server.hits("/a")) == 1
    assert len(receiver.to("/webmention")) == 5


def test_dry_run_sends_nothing_and_keeps_the_log(feed_server, receiver, tmp_path):
    endpoint = receiver.add("/webmention")
    a = target_page(feed_server, "/a", endpoint)
    log = SendLog(tmp_path / "log.json")
    [sent] = run(plan([Page(S, (a,), "h1")], log), log, CONFIG, dry_run=True)
    assert sent.result.outcome == "dry_run"
    assert sent.result.endpoint == Endpoint("webmention", endpoint)
    assert receiver.posts == []
    assert not (tmp_path / "log.json").exists()
    assert log.entries == {}


# -- The command and a real build ------------------------------------------------------------

FEED = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Ada's notebook</title><link>{base}/</link>
<item><title>Ada on looms</title><link>{base}/posts/looms/</link>
<guid>{base}/posts/looms/</guid><pubDate>Mon, 02 Nov 2026 10:00:00 GMT</pubDate>
<description>&lt;p&gt;Ada thinks about looms. &lt;a href="../other/"&gt;An older post&lt;/a&gt;.
&lt;/p&gt;</description></item></channel></rss>"""


def publish_settings(site: Any, base: str, **overrides: Any) -> None:
    plugins = list(site.settings()["PLUGINS"])
    site.write_settings(
        SITEURL=base,
        RELATIVE_URLS=False,
        FEED_DOMAIN=base,
        CACHE_PATH="cache",  # in the site's directory, not the current one
        PLUGINS=[*plugins, "chorus_mentions"] if "chorus_mentions" not in plugins else plugins,
        **overrides,
    )


def send_command(site: Any, *args: str) -> Any:
    return CliRunner().invoke(mentions, ["send", *args], obj=CliSite(site.settings_file))


def published_post(site: Any, feed_server: Any, receiver: Any, cli: Any) -> tuple[str, str, Path]:
    """Ada's post of an original with a Webmention endpoint, fetched and built for
    publishing: the endpoint, the original's URL and the post file."""
    endpoint = receiver.add("/webmention")
    original = target_page(feed_server, "/posts/looms/", endpoint)
    feed_server.add("/feed.xml", FEED.format(base=feed_server.base))
    site.member("ada", feeds=[feed_server.url("/feed.xml")], consent="full", trusted=True)
    cli("fetch")
    publish_settings(site, feed_server.base, CHORUS_WEBMENTION_ALLOW_PRIVATE=True)
    site.build()
    [post] = site.posts("ada")
    return endpoint, original, post


def test_build_writes_the_manifest_and_the_command_sends_to_the_original(
    site, feed_server, receiver, cli
):
    endpoint, original, post = published_post(site, feed_server, receiver, cli)
    post_url = f"{feed_server.base}/posts/2026/{post.stem}/"
    site_url, pages = load_manifest(site.root / "cache" / "chorus" / "mentions.json")
    assert site_url == feed_server.base
    by_url = {entry.url: entry for entry in pages}
    # The link to ../other/ is on the site's own host (127.0.0.1) and is left out.
    assert by_url[post_url].targets == (original,)

    result = send_command(site)
    assert result.exit_code == 0, result.output
    [posted] = receiver.to("/webmention")
    assert posted.form == {"source": [post_url], "target": [original]}
    assert f"{post_url} -> {original}" in result.output
    assert f"webmention endpoint {endpoint}" in result.output
    assert "1 sent." in result.output
    log = json.loads((site.content / "webmention-log.json").read_text())
    assert log["mentions"][post_url][original]["outcome"] == "sent"

    again = send_command(site)
    assert again.exit_code == 0, again.output
    assert "Nothing to send" in again.output
    assert len(receiver.to("/webmention")) == 1


def test_a_post_taken_down_tells_its_targets_it_is_gone(site, feed_server, receiver, cli):
    _endpoint, original, post = published_post(site, feed_server, receiver, cli)
    post_url = f"{feed_server.base}/posts/2026/{post.stem}/"
    assert send_command(site).exit_code == 0

    cli("remove", str(post))
    site.build()
    result = send_command(site)
    assert result.exit_code == 0, result.output
    # The deletion of the Webmention spec: the source is sent again, and now says it is gone.
    _first, again = receiver.to("/webmention")
    assert again.form == {"source": [post_url], "target": [original]}
    assert "(page deleted)" in result.output
    assert "removed at its author's request" in site.page(f"posts/2026/{post.stem}").get_text()


def test_command_dry_run_sends_nothing(site, feed_server, receiver, tmp_path):
    endpoint = receiver.add("/webmention")
    target = target_page(feed_server, "/post", endpoint)
    site.write_settings(CHORUS_WEBMENTION_ALLOW_PRIVATE=True)
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"pages": [{"url": S, "targets": [target], "hash": "h"}]}))
    result = send_command(site, "--dry-run", "--manifest", str(manifest))
    assert result.exit_code == 0, result.output
    assert "would send" in result.output and "Dry run: nothing was sent" in result.output
    assert receiver.posts == []
    assert not (site.content / "webmention-log.json").exists()


def test_command_exits_1_when_a_send_failed(site, feed_server, receiver, tmp_path):
    target = target_page(feed_server, "/post", receiver.add("/webmention", Answer(500)))
    site.write_settings(CHORUS_WEBMENTION_ALLOW_PRIVATE=True)
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"pages": [{"url": S, "targets": [target], "hash": "h"}]}))
    log_file = tmp_path / "sent.json"
    result = send_command(site, "--manifest", str(manifest), "--log", str(log_file))
    assert result.exit_code == 1, result.output
    assert "1 mention(s) failed" in result.output
    assert json.loads(log_file.read_text())["mentions"][S][target]["outcome"] == "failed"


def test_command_without_a_manifest_says_to_build(site):
    result = send_command(site, "--manifest", str(site.root / "nope.json"))
    assert result.exit_code == 1
    assert "run `chorus build --publish` first" in result.output


def test_a_development_build_writes_no_manifest(site):
    publish_settings(site, "")
    site.article("a.md", "Title: A\nDate: 2026-11-03\n\n[x](https://x.example/)\n")
    site.build()
    assert not (site.root / "cache" / "chorus" / "mentions.json").exists()


# -- Rejections, fragments and retries -------------------------------------------------------


def test_a_rejected_mention_is_not_sent_again_until_the_page_changes(
    feed_server, receiver, tmp_path
):
    receiver.add("/webmention", Answer(400, b"no link to target found", {}))
    a = target_page(feed_server, "/a", receiver.url("/webmention"))
    log = SendLog(tmp_path / "log.json")
    [sent] = run(plan([Page(S, (a,), "h1")], log), log, CONFIG)
    assert sent.result.outcome == "rejected"
    assert plan([Page(S, (a,), "h1")], SendLog.load(log.path)) == []
    assert plan([Page(S, (a,), "h2")], SendLog.load(log.path)) == [
        Send(S, a, "h2", True, "updated")
    ]
    assert len(receiver.to("/webmention")) == 1


def test_a_target_and_its_fragments_are_one_target(feed_server, receiver, tmp_path):
    endpoint = receiver.add("/webmention")
    a = target_page(feed_server, "/a", endpoint)
    content = f'<a href="{a}#first">one</a> <a href="{a}">two</a> <a href="{a}#third">three</a>'
    made = make_page(S, content, "https://loom.example", original=f"{a}#first")
    assert made.targets == (a,)
    log = SendLog(tmp_path / "log.json")
    run(plan([made], log), log, CONFIG)
    assert [posted.form["target"] for posted in receiver.to("/webmention")] == [[a]]


def test_a_log_written_with_fragments_reads_as_one_target(tmp_path):
    older = LogEntry("sent", "sent: 202 Accepted", "h1", True, "2026-11-01T10:00:00+00:00")
    newer = replace(older, time="2026-11-02T10:00:00+00:00")
    document = {"version": 1, "mentions": {S: {f"{A}#x": asdict(newer), A: asdict(older)}}}
    (tmp_path / "log.json").write_text(json.dumps(document))
    log = SendLog.load(tmp_path / "log.json")
    assert log.entries == {S: {A: newer}}
    assert plan([Page(S, (A,), "h1")], log) == []


def test_a_timed_out_post_is_retried_with_waits_then_given_up(feed_server, receiver, tmp_path):
    # The receiver takes the POST and never answers in time: it may well have the mention.
    receiver.add("/webmention", Answer(202, stall=10))
    a = target_page(feed_server, "/a", receiver.url("/webmention"))
    pages = [Page(S, (a,), "h1")]
    config = replace(CONFIG, timeout=0.3)
    clock = FIXED
    log = SendLog(tmp_path / "log.json")
    tried_at = []
    for hours in range(0, 24 * 4, 1):
        now = clock + timedelta(hours=hours)
        log = SendLog.load(log.path) if log.path.exists() else log
        sends = plan(pages, log, now=now)
        if sends:
            [sent] = run(sends, log, config, now=lambda now=now: now)
            assert sent.result.failed
            tried_at.append(hours)
    # Tried at once, then after 1 hour, 6 hours and 1 day; then given up.
    assert tried_at == [0, 1, 7, 31]
    assert len(receiver.to("/webmention")) == 4
    entry = SendLog.load(log.path).get(S, a)
    assert entry.attempts == 4 and entry.given_up
    assert "gave up after 4 tries" in entry.result
    # A change to the page is news: it is sent again.
    assert plan([Page(S, (a,), "h2")], SendLog.load(log.path), now=clock) == [
        Send(S, a, "h2", True, "updated")
    ]


def test_the_command_reports_rejections_without_failing(site, feed_server, receiver, tmp_path):
    receiver.add("/webmention", Answer(404))
    a = target_page(feed_server, "/a", receiver.url("/webmention"))
    manifest = tmp_path / "manifest.json"
    manifest.write_text(
        json.dumps(
            {"siteurl": "https://loom.example", "pages": [{"url": S, "targets": [a], "hash": "h"}]}
        )
    )
    site.write_settings(CHORUS_WEBMENTION_ALLOW_PRIVATE=True)
    result = send_command(site, "--manifest", str(manifest), "--log", str(tmp_path / "log.json"))
    assert result.exit_code == 0, result.output
    assert "rejected" in result.output and "1 rejected." in result.output
