"""Webmention sending (W3C Recommendation), with Pingback as the fallback, within hard limits.

Discovery follows the Recommendation's section 3.1.2 and the webmention.rocks discovery tests:
fetch the target (following redirects), take the first ``Link`` header with the relation type
``webmention``, else (HTML only) the first ``<link>`` or ``<a>`` with that relation and an
``href``, in document order; resolve it against the target's final URL, keeping its query
string. Only when a target has no Webmention endpoint do we look for a Pingback server
(``X-Pingback`` header, then ``<link rel="pingback">``).

Every request has a deadline, a redirect cap and a size cap, verifies TLS, carries a
User-Agent that says Webmention, and is refused when it would reach a loopback, private,
link-local or otherwise non-public address, unless the site explicitly allows it (tests only).
Nothing here raises for one bad target: each call returns a result with an outcome and a reason.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
import xmlrpc.client
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any, Literal
from urllib.parse import urldefrag
from xml.parsers.expat import ExpatError

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from yarl import URL

from chorus.common.config import SendConfig
from chorus.common.urls import web_url

CHUNK = 64 * 1024
REPLY_BYTES = 64 * 1024  # what we read of an endpoint's answer
PER_HOST = 4  # connections to one host at a time, so a popular target is not hammered
REDIRECTS = frozenset({301, 302, 303, 307, 308})
# A POST re-sent after 301/302/303 becomes a GET and loses the mention; 307 and 308 keep it.
POST_REDIRECTS = frozenset({307, 308})
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.8"
# Pingback faults (pingback 1.0): 16 source missing, 17 source has no link, 48 already registered.
FAULT_SOURCE_MISSING = 16
FAULT_NO_LINK = 17
FAULT_ALREADY_REGISTERED = 48

Kind = Literal["webmention", "pingback"]
Outcome = Literal["sent", "no_endpoint", "failed", "refused", "rejected", "dry_run"]
# A 4xx answer is the receiver's "no" (no such target, no link found, not accepted here) and
# sending again changes nothing; these few ask to wait or retry instead.
RETRY_STATUS = frozenset({408, 425, 429})


@dataclass(frozen=True)
class Endpoint:
    """Where a target wants to be told about mentions."""

    kind: Kind
    url: str


@dataclass(frozen=True)
class Discovery:
    """What fetching a target told us: an endpoint, or why there is none."""

    target: str
    outcome: Literal["found", "no_endpoint", "failed", "refused"]
    reason: str
    endpoint: Endpoint | None = None


@dataclass(frozen=True)
class Result:
    """The outcome of mentioning one target: sent, no endpoint, failed or refused, and why."""

    outcome: Outcome
    reason: str
    endpoint: Endpoint | None = None
    status: int | None = None  # the endpoint's HTTP status, when it answered
    fault: int | None = None  # the Pingback fault code, when it sent one
    location: str | None = None  # where a 201 Created says the mention's status lives

    @property
    def failed(self) -> bool:
        """A network error or an error from the endpoint: worth retrying, and exit status 1."""
        return self.outcome == "failed"


# -- Addresses -------------------------------------------------------------------------------


class AddressRefused(OSError):
    """A request would reach an address that is not on the public internet."""


def address_refusal(address: str) -> str | None:
    """Why ``address`` (an IP literal) must not be contacted, or None if it is public."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return f"{address} is not an IP address"
    kind = _address_kind(ip)
    return f"{address} is {kind}" if kind else None


def _address_kind(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:10.0.0.1 reaches 10.0.0.1
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_unspecified:
        return "an unspecified address"
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_private:
        return "a private address"
    if ip.is_reserved or not ip.is_global:
        return "not a public address"  # shared (100.64/10), documentation and the like
    return None


class PublicOnlyResolver(AbstractResolver):
    """Resolves names as usual, and refuses any name with a non-public address among its answers.

    Checking here, where the connector gets the addresses it will connect to, leaves no gap
    for a name that answers differently the second time it is asked (DNS rebinding).
    """

    def __init__(self, inner: AbstractResolver | None = None) -> None:
        self._inner = inner or DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        for result in results:
            address = result["host"].split("%", 1)[0]  # an IPv6 scope id is not part of it
            kind = _address_kind(ipaddress.ip_address(address))
            if kind:
                raise AddressRefused(f"{host} resolves to {address}, {kind}")
        return results

    async def close(self) -> None:
        await self._inner.close()


def _literal_refusal(url: str) -> str | None:
    """The refusal for a URL whose host is an IP literal (those never reach the resolver)."""
    host = URL(url).host or ""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return None
    return address_refusal(host)


# -- HTTP ------------------------------------------------------------------------------------


def open_session(config: SendConfig) -> aiohttp.ClientSession:
    """A session for discovery and sending; call it inside a running event loop."""
    connector = aiohttp.TCPConnector(
        limit=config.concurrency,
        limit_per_host=PER_HOST,
        ttl_dns_cache=300,
        ssl=True,  # verify certificates
        resolver=None if config.allow_private else PublicOnlyResolver(),
    )
    timeout = aiohttp.ClientTimeout(
        total=None, connect=config.connect_timeout, sock_read=config.timeout
    )
    return aiohttp.ClientSession(
        connector=connector,
        timeout=timeout,
        headers={"User-Agent": config.user_agent},
        cookie_jar=aiohttp.DummyCookieJar(),  # no cookies carried from one site to another
        trust_env=False,
    )


class _Problem(Exception):
    """A request we stopped ourselves; the message is the reason."""

    outcome: Literal["failed", "refused"] = "failed"


class _Refused(_Problem):
    outcome = "refused"


@asynccontextmanager
async def _request(
    session: aiohttp.ClientSession,
    method: Literal["GET", "POST"],
    url: str,
    config: SendConfig,
    **options: Any,
) -> AsyncIterator[tuple[aiohttp.ClientResponse, str]]:
    """One request, following redirects ourselves so every hop is checked; yields the final
    response and its URL."""
    follow = REDIRECTS if method == "GET" else POST_REDIRECTS
    for _hop in range(config.max_redirects + 1):
        refusal = None if config.allow_private else _literal_refusal(url)
        if refusal:
            raise _Refused(refusal)
        response = await session.request(method, url, allow_redirects=False, **options)
        location = response.headers.get("Location")
        if response.status in follow and location:
            response.release()
            next_url = web_url(location, base=url)
            if next_url is None:
                raise _Problem(f"redirected to {location!r}, not an http(s) URL")
            url = next_url
            continue
        try:
            yield response, url
        finally:
            response.release()
        return
    raise _Problem(f"more than {config.max_redirects} redirects (CHORUS_MAX_REDIRECTS)")


async def _read_capped(response: aiohttp.ClientResponse, limit: int) -> tuple[bytes, bool]:
    """At most ``limit`` bytes of the body (after decompression), and whether there was more."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(CHUNK):
        chunks.append(chunk)
        size += len(chunk)
        if size >= limit:
            return b"".join(chunks)[:limit], True
    return b"".join(chunks), False


def _failure(error: BaseException, config: SendConfig) -> tuple[Literal["failed", "refused"], str]:
    """The outcome and reason for an exception raised while talking to a server."""
    if isinstance(error, _Problem):
        return error.outcome, str(error)
    if isinstance(error, TimeoutError):
        return "failed", f"timed out after {config.timeout:g} s"
    if isinstance(error, aiohttp.ClientConnectorError) and isinstance(
        error.os_error, AddressRefused
    ):
        return "refused", str(error.os_error)
    if isinstance(error, aiohttp.ClientSSLError):
        return "failed", f"TLS problem: {error.os_error}"
    if isinstance(error, aiohttp.ClientConnectorError):
        return "failed", f"cannot connect: {error.os_error.strerror or error.os_error}"
    if isinstance(error, aiohttp.ClientPayloadError):
        return "failed", f"broken response body: {error}"
    if isinstance(error, aiohttp.ClientError):
        return "failed", f"{type(error).__name__}: {error}"
    return "failed", f"bad URL or response: {error}"  # ValueError from malformed URLs, headers


_ERRORS = (TimeoutError, aiohttp.ClientError, ValueError, _Problem)


def _status(response: aiohttp.ClientResponse) -> str:
    return f"{response.status} {response.reason or ''}".strip()


# -- Discovery -------------------------------------------------------------------------------


async def discover(
    session: aiohttp.ClientSession, target: str, config: SendConfig
) -> Endpoint | None:
    """The target's Webmention endpoint, else its Pingback server, else None."""
    return (await probe(session, target, config)).endpoint


async def probe(session: aiohttp.ClientSession, target: str, config: SendConfig) -> Discovery:
    """Fetch ``target`` and discover its endpoint; say why when there is none."""
    try:
        async with (
            asyncio.timeout(config.timeout),
            _request(session, "GET", target, config, headers={"Accept": ACCEPT}) as (
                response,
                final,
            ),
        ):
            return await _discover_in(response, target, final, config)
    except _ERRORS as error:
        outcome, reason = _failure(error, config)
        return Discovery(target, outcome, f"{outcome}: {reason}")


async def _discover_in(
    response: aiohttp.ClientResponse, target: str, final: str, config: SendConfig
) -> Discovery:
    if response.status >= 500 or response.status == 429:
        return Discovery(target, "failed", f"failed: target answered {_status(response)}")
    if not 200 <= response.status < 300:
        reason = f"no endpoint (target answered {_status(response)})"
        return Discovery(target, "no_endpoint", reason)
    # 1. The first Link header value whose relation types include "webmention".
    for href, rels in parse_link_header(response.headers.getall("Link", ())):
        if "webmention" in rels and (url := _resolve(href, final)):
            return _found(target, "webmention", url, "the Link header")
    # 2. HTML only: the first <link> or <a> with rel=webmention and an href, in document order.
    scan = _Scan()
    truncated = False
    if response.content_type in HTML_TYPES:
        body, truncated = await _read_capped(response, config.max_bytes)
        scan = scan_html(_decode(body, response.charset))
    if scan.webmention is not None and (url := _resolve(scan.webmention[1], final)):
        return _found(target, "webmention", url, f"a <{scan.webmention[0]}> element")
    # 3. No Webmention endpoint: a Pingback server, header first (Pingback 1.0, section 2).
    header = response.headers.get("X-Pingback")
    if header and (url := _resolve(header.strip(), final)):
        return _found(target, "pingback", url, "the X-Pingback header")
    if scan.pingback is not None and (url := _resolve(scan.pingback, final)):
        return _found(target, "pingback", url, 'a <link rel="pingback"> element')
    if truncated:
        return Discovery(
            target, "no_endpoint", f"no endpoint in the first {config.max_bytes:,} bytes"
        )
    return Discovery(target, "no_endpoint", "no endpoint")


def _found(target: str, kind: Kind, url: str, where: str) -> Discovery:
    return Discovery(target, "found", f"{kind} endpoint in {where}", Endpoint(kind, url))


def _resolve(href: str, base: str) -> str | None:
    """``href`` resolved against the page's final URL; an empty one means the page itself."""
    if not href.strip("".join(map(chr, range(0x21)))):
        return urldefrag(base).url
    return web_url(href, base=base)


def _decode(body: bytes, charset: str | None) -> str:
    from bs4.dammit import UnicodeDammit  # the same charset sniffing as the rest of Chorus

    known = [charset] if charset else []
    text = UnicodeDammit(body, known_definite_encodings=known, is_html=True).unicode_markup
    return text if text is not None else body.decode("utf-8", errors="replace")


_LINK_TOKEN = re.compile(r"[^\s;,=\"]+")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_HTML_SPACE = re.compile(r"[\t\n\f\r ]+")


def parse_link_header(values: Iterable[str]) -> list[tuple[str, frozenset[str]]]:
    """Each link in some ``Link`` header values (RFC 8288): its URI reference and rel types.

    Several header lines and several comma-separated links per line both work; commas and
    semicolons inside ``<...>`` and quoted strings are data. Only the first ``rel`` parameter
    of a link counts, as the RFC says; relation types are compared case-insensitively.
    """
    links = []
    for value in values:
        position, end = 0, len(value)
        while position < end:
            start = value.find("<", position)
            if start < 0:
                break
            close = value.find(">", start)
            if close < 0:
                break
            href = value[start + 1 : close].strip()
            params, position = _link_params(value, close + 1)
            rel = params.get("rel", "")
            links.append((href, frozenset(rel.translate(_ASCII_LOWER).split())))
    return links


def _link_params(value: str, position: int) -> tuple[dict[str, str], int]:
    """The ``; name=value`` parameters after one link, and where the next link starts."""
    params: dict[str, str] = {}
    end = len(value)
    while position < end:
        char = value[position]
        if char == ",":
            return params, position + 1
        if char != ";":
            position += 1
            continue
        position += 1
        while position < end and value[position] in " \t":
            position += 1
        name_match = _LINK_TOKEN.match(value, position)
        if not name_match:
            continue
        name = name_match.group().lower()
        position = name_match.end()
        while position < end and value[position] in " \t":
            position += 1
        parameter = ""
        if position < end and value[position] == "=":
            position += 1
            while position < end and value[position] in " \t":
                position += 1
            if position < end and value[position] == '"':
                parameter, position = _quoted(value, position + 1)
            elif token := _LINK_TOKEN.match(value, position):
                parameter, position = token.group(), token.end()
        params.setdefault(name, parameter)
    return params, position


def _quoted(value: str, position: int) -> tuple[str, int]:
    """A quoted-string's content from just after its opening quote, and the position after it."""
    out = []
    while position < len(value):
        char = value[position]
        if char == "\\" and position + 1 < len(value):
            out.append(value[position + 1])
            position += 2
            continue
        if char == '"':
            return "".join(out), position + 1
        out.append(char)
        position += 1
    return "".join(out), position


@dataclass
class _Scan:
    webmention: tuple[str, str] | None = None  # (element name, href)
    pingback: str | None = None


class _Found(Exception):
    pass


class _EndpointScanner(HTMLParser):
    """Finds the first <link>/<a> with rel=webmention and an href, and the first
    <link rel=pingback>. A real HTML tokenizer, so comments, escaped markup and script text
    are never mistaken for elements."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found = _Scan()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ("link", "a"):
            return
        values: dict[str, str] = {}
        for name, value in attrs:
            values.setdefault(name, value or "")  # HTML keeps the first of repeated attributes
        if "href" not in values or "rel" not in values:
            return  # an element without href is not a link at all (webmention.rocks test 20)
        rels = set(_HTML_SPACE.split(values["rel"].translate(_ASCII_LOWER)))
        if "webmention" in rels:
            self.found.webmention = (tag, values["href"])
            raise _Found
        if tag == "link" and "pingback" in rels and self.found.pingback is None:
            self.found.pingback = values["href"]


def scan_html(text: str) -> _Scan:
    """The Webmention and Pingback links of an HTML document, as written (not yet resolved)."""
    scanner = _EndpointScanner()
    try:
        scanner.feed(text)
        scanner.close()
    except _Found:
        pass
    return scanner.found


# -- Sending ---------------------------------------------------------------------------------


async def send_webmention(
    session: aiohttp.ClientSession, endpoint: str, source: str, target: str, config: SendConfig
) -> Result:
    """POST ``source`` and ``target``, form-encoded, to a Webmention endpoint.

    Any 2xx is a success (201 Created names a status page in Location, 202 Accepted means the
    receiver checks later). The endpoint's query string stays in the URL, never in the body.
    """
    where = Endpoint("webmention", endpoint)
    try:
        async with (
            asyncio.timeout(config.timeout),
            _request(
                session, "POST", endpoint, config, data={"source": source, "target": target}
            ) as (response, _final),
        ):
            if 200 <= response.status < 300:
                location = response.headers.get("Location")
                status = f"sent: {_status(response)}"
                if response.status == 201 and location:
                    location = web_url(location, base=endpoint) or location
                    status += f", status at {location}"
                return Result("sent", status, where, status=response.status, location=location)
            detail = await _error_detail(response)
            outcome = _outcome_of_status(response.status)
            return Result(
                outcome,
                f"{outcome}: endpoint answered {_status(response)}{detail}",
                where,
                status=response.status,
            )
    except _ERRORS as error:
        outcome, reason = _failure(error, config)
        return Result(outcome, f"{outcome}: {reason}", where)


async def send_pingback(
    session: aiohttp.ClientSession, server: str, source: str, target: str, config: SendConfig
) -> Result:
    """Call ``pingback.ping(source, target)`` on a Pingback server (XML-RPC over HTTP POST)."""
    where = Endpoint("pingback", server)
    body = xmlrpc.client.dumps((source, target), methodname="pingback.ping").encode("utf-8")
    try:
        async with (
            asyncio.timeout(config.timeout),
            _request(
                session,
                "POST",
                server,
                config,
                data=body,
                headers={"Content-Type": "text/xml; charset=utf-8"},
            ) as (response, _final),
        ):
            if not 200 <= response.status < 300:
                outcome = _outcome_of_status(response.status)
                return Result(
                    outcome,
                    f"{outcome}: pingback server answered {_status(response)}",
                    where,
                    status=response.status,
                )
            reply, truncated = await _read_capped(response, REPLY_BYTES)
            status = response.status
    except _ERRORS as error:
        outcome, reason = _failure(error, config)
        return Result(outcome, f"{outcome}: {reason}", where)
    if truncated:
        return Result("failed", "failed: pingback reply too large", where, status=status)
    try:
        # Capped above, and expat refuses entity-expansion bombs, so parsing this is safe.
        (message, *_), _method = xmlrpc.client.loads(reply)
    except xmlrpc.client.Fault as fault:
        if fault.faultCode == FAULT_ALREADY_REGISTERED:
            return Result("sent", "sent: pingback already registered", where, status, fault=48)
        text = _short(str(fault.faultString))
        return Result(
            "failed",
            f"failed: pingback fault {fault.faultCode}: {text}",
            where,
            status=status,
            fault=fault.faultCode if isinstance(fault.faultCode, int) else None,
        )
    except (ExpatError, xmlrpc.client.ResponseError, ValueError, TypeError):
        return Result("failed", "failed: not an XML-RPC reply", where, status=status)
    note = f" ({_short(str(message))})" if message else ""
    return Result("sent", f"sent: pingback accepted{note}", where, status=status)


def _outcome_of_status(status: int) -> Literal["failed", "rejected"]:
    return "rejected" if 400 <= status < 500 and status not in RETRY_STATUS else "failed"


async def send(
    session: aiohttp.ClientSession, endpoint: Endpoint, source: str, target: str, config: SendConfig
) -> Result:
    """Send a mention to a discovered endpoint, by its kind."""
    if endpoint.kind == "webmention":
        return await send_webmention(session, endpoint.url, source, target, config)
    return await send_pingback(session, endpoint.url, source, target, config)


async def _error_detail(response: aiohttp.ClientResponse) -> str:
    """A receiver's short error text, when it sends one, to help whoever reads the report."""
    if response.content_type not in ("text/plain", "application/json", "text/html"):
        return ""
    try:
        body, _ = await _read_capped(response, 2048)
    except _ERRORS:
        return ""
    text = body.decode(response.charset or "utf-8", errors="replace")
    if response.content_type == "text/html":
        text = re.sub(r"<[^>]*>", " ", text)
    text = _short(text)
    return f": {text}" if text else ""


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
