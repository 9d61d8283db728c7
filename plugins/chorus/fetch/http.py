"""Fetch feeds over HTTP(S) concurrently and conditionally, within hard limits."""

from __future__ import annotations

import asyncio
import errno
import hashlib
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Literal
from urllib.parse import urlsplit

import aiohttp

from chorus.common.config import Config
from chorus.common.urls import LOCAL_SCHEME, local_feed_path
from chorus.fetch.state import Validators

CHUNK = 64 * 1024
PERMANENT_REDIRECTS = frozenset({301, 308})
MAX_RETRY_AFTER = timedelta(days=7)  # a server may not park a feed for longer


@dataclass(frozen=True)
class Response:
    """The outcome of fetching one feed URL."""

    url: str
    outcome: Literal["ok", "not_modified", "failed"]
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    etag: str | None = None
    last_modified: str | None = None
    error: str | None = None
    moved_to: str | None = None  # where a permanent redirect (301/308) says the feed now lives
    sha256: str | None = None  # of the body, kept when the body itself is let go
    status: int | None = None  # the HTTP status, when there was one
    retry_after: datetime | None = None  # a 429 or 503 asked us to wait until then
    unreachable: bool = False  # no connection made: no such host, refused, or no answer

    def __post_init__(self) -> None:
        # Every answer with a body has a hash, an empty one too: "no hash" means "no body
        # seen" (a failure), never "the same bytes as last time".
        if self.outcome == "ok" and self.sha256 is None:
            object.__setattr__(self, "sha256", hashlib.sha256(self.body).hexdigest())


class _TooLarge(Exception):
    pass


class ConnectionLost(aiohttp.ClientConnectionError):
    """The connection broke after the request went out and before an answer came."""


async def _send_once(
    request: aiohttp.ClientRequest, handler: aiohttp.ClientHandlerType
) -> aiohttp.ClientResponse:
    """A client middleware: a request whose connection breaks is not sent a second time.

    aiohttp sends an idempotent request again, silently, when its connection is reset or
    closed before the answer (``ClientSession._request``, meant for a kept-alive connection
    that the server closed while idle), and has no public option to turn that off (issue
    aio-libs/aiohttp#10790; only its own test client sets the private ``_retry_connection``).
    A fetch asks each feed once and reports what happened: a server that resets a request
    may well be failing under it, and the feed is asked again on the next run anyway. Its
    retry is for the two errors below, so they leave this middleware as another error.
    """
    try:
        return await handler(request)
    except aiohttp.ClientConnectorError:
        raise  # no connection made, nothing sent (and aiohttp does not retry these)
    except aiohttp.ServerDisconnectedError as lost:
        raise ConnectionLost("the server closed the connection without answering") from lost
    except aiohttp.ClientOSError as lost:
        why = lost.strerror or str(lost)
        if isinstance(lost, ConnectionResetError) or lost.errno == errno.ECONNRESET:
            why = "the connection was reset"
        raise ConnectionLost(f"{why} before the server answered") from lost


async def fetch_all(
    urls: Iterable[tuple[str, Validators | None]],
    config: Config,
    on_response: Callable[[Response], Awaitable[None]],
    *,
    spare_unreachable_hosts: bool = False,
) -> None:
    """Fetch every URL at most ``config.concurrency`` at a time; hand each result on as it lands.

    ``on_response`` holds the only reference to each response: dropping it frees the body.

    One feed's failure is its own ``Response``; nothing here raises for a single feed.

    ``spare_unreachable_hosts`` (for images, many to a host): each host's first URL is asked
    alone, and its others only once that one reached the host. Those of a host that could not
    be reached (a site gone: its name no longer resolves) fail unasked, the same way, rather
    than costing a lookup or a connect timeout each.
    """
    timeout = aiohttp.ClientTimeout(
        total=None, connect=config.connect_timeout, sock_read=config.fetch_timeout
    )
    connector = aiohttp.TCPConnector(limit=config.concurrency, ttl_dns_cache=300)
    headers = {"User-Agent": config.user_agent, "Accept": ACCEPT}
    async with aiohttp.ClientSession(
        connector=connector,
        timeout=timeout,
        headers=headers,
        trust_env=False,
        middlewares=(_send_once,),
    ) as session:
        limit = asyncio.Semaphore(config.concurrency)

        async def fetched(url: str, validators: Validators | None) -> Response:
            async with limit:
                if url.startswith(LOCAL_SCHEME):
                    return _read_local(url, config)
                return await fetch_one(session, url, validators, config)

        async def one(url: str, validators: Validators | None) -> None:
            # Handed straight on, never held in a local here, so that on_response can let the
            # body go while it waits (for a parser, say).
            await on_response(await fetched(url, validators))

        if not spare_unreachable_hosts:
            await asyncio.gather(*(one(url, validators) for url, validators in urls))
            return

        async def host(jobs: list[tuple[str, Validators | None]]) -> None:
            (url, validators), *others = jobs
            first = await fetched(url, validators)
            await on_response(first)
            if not first.unreachable:
                await asyncio.gather(*(one(*job) for job in others))
                return
            for other, _ in others:
                error = f"not asked: {first.error} (asking {url})"
                await on_response(Response(other, "failed", error=error, unreachable=True))

        by_host: dict[str, list[tuple[str, Validators | None]]] = {}
        for url, validators in urls:
            by_host.setdefault(_host_of(url), []).append((url, validators))
        await asyncio.gather(*(host(jobs) for jobs in by_host.values()))


def _host_of(url: str) -> str:
    try:
        parts = urlsplit(url)
        return f"{parts.hostname}:{parts.port}"
    except ValueError:  # fetch_one reports it
        return url


ACCEPT = (
    "application/atom+xml, application/rss+xml, application/feed+json, application/json;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.8, */*;q=0.5"
)


async def fetch_one(
    session: aiohttp.ClientSession, url: str, validators: Validators | None, config: Config
) -> Response:
    """GET one feed with conditional headers, a redirect cap, a size cap and a hard deadline."""
    request_headers = {}
    unreachable = False
    if validators and validators.etag:
        request_headers["If-None-Match"] = validators.etag
    if validators and validators.last_modified:
        request_headers["If-Modified-Since"] = validators.last_modified
    try:
        # The deadline covers everything (connect, headers, a body trickled a byte at a time),
        # which per-socket timeouts alone do not.
        async with asyncio.timeout(config.fetch_timeout):
            async with session.get(
                url, headers=request_headers, max_redirects=config.max_redirects
            ) as response:
                moved_to = _permanent_target(response)
                if response.status == 304:
                    return Response(
                        url,
                        "not_modified",
                        moved_to=moved_to,
                        etag=validators.etag if validators else None,
                        last_modified=validators.last_modified if validators else None,
                    )
                if response.status >= 400 or response.status < 200:
                    error = f"HTTP {response.status} {response.reason or ''}".strip()
                    retry_after = None
                    if response.status in (429, 503):
                        retry_after = parse_retry_after(response.headers.get("Retry-After"))
                        if retry_after:
                            error += f"; asked to wait until {retry_after:%Y-%m-%d %H:%M} UTC"
                    return Response(
                        url,
                        "failed",
                        moved_to=moved_to,
                        error=error,
                        status=response.status,
                        retry_after=retry_after,
                    )
                body = await _read_capped(response, config.max_feed_bytes)
                return Response(
                    url,
                    "ok",
                    body=body,
                    headers=tuple((k.lower(), v) for k, v in response.headers.items()),
                    etag=response.headers.get("ETag"),
                    last_modified=response.headers.get("Last-Modified"),
                    moved_to=moved_to,
                )
    except aiohttp.ConnectionTimeoutError:
        # aiohttp's timeouts are TimeoutErrors too: say which limit it was, not the overall one.
        unreachable = True
        error = (
            f"no connection within {config.connect_timeout:g} s (CHORUS_CONNECT_TIMEOUT): "
            "the host does not answer, or there is no network"
        )
    except aiohttp.SocketTimeoutError:
        error = f"the server sent nothing for {config.fetch_timeout:g} s"
    except aiohttp.ClientConnectorDNSError as failure:
        unreachable = True
        host = failure.host
        error = f"cannot find the host {host}: {failure.os_error.strerror or failure.os_error}"
    except TimeoutError:
        error = f"timed out after {config.fetch_timeout:g} s (CHORUS_FETCH_TIMEOUT)"
    except _TooLarge:
        error = f"larger than the {config.max_feed_bytes:,} byte limit (CHORUS_MAX_FEED_BYTES)"
    except aiohttp.TooManyRedirects:
        error = f"more than {config.max_redirects} redirects (CHORUS_MAX_REDIRECTS)"
    except aiohttp.NonHttpUrlRedirectClientError as failure:
        error = f"redirected to a non-http(s) URL: {failure}"
    except aiohttp.ClientConnectorError as failure:
        unreachable = True
        error = f"cannot connect: {failure.os_error.strerror or failure}"
    except ConnectionLost as failure:
        error = f"{failure}; asked once this run, asked again on the next"
    except aiohttp.ClientPayloadError as failure:
        error = f"broken response body: {failure}"
    except aiohttp.ClientError as failure:
        error = f"{type(failure).__name__}: {failure}"
    except ValueError as failure:  # malformed URLs and headers surface as ValueError
        error = f"bad URL or response: {failure}"
    return Response(url, "failed", error=error, unreachable=unreachable)


def parse_retry_after(value: str | None, now: datetime | None = None) -> datetime | None:
    """When a Retry-After header (seconds or an HTTP date) says to come back, at most a week on."""
    if not value:
        return None
    now = now or datetime.now(UTC)
    value = value.strip()
    try:
        when = (
            now + timedelta(seconds=int(value)) if value.isdigit() else parsedate_to_datetime(value)
        )
    except (TypeError, ValueError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return min(max(when, now), now + MAX_RETRY_AFTER).replace(microsecond=0)


async def _read_capped(response: aiohttp.ClientResponse, limit: int) -> bytes:
    declared = response.content_length
    if declared is not None and declared > limit:
        raise _TooLarge
    # Counted after decompression, so a small gzip bomb is cut as soon as it expands too far.
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(CHUNK):
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _permanent_target(response: aiohttp.ClientResponse) -> str | None:
    """The final URL if every redirect on the way was permanent, else None."""
    if response.history and all(r.status in PERMANENT_REDIRECTS for r in response.history):
        return str(response.url)
    return None


def _read_local(url: str, config: Config) -> Response:
    try:
        path = local_feed_path(url, config.local_feeds_dir)
        if path.stat().st_size > config.max_feed_bytes:
            raise _TooLarge
        body = path.read_bytes()
    except _TooLarge:
        return Response(url, "failed", error=f"larger than {config.max_feed_bytes:,} bytes")
    except (OSError, ValueError) as error:
        return Response(url, "failed", error=f"cannot read local feed: {error}")
    # Files carry no headers; say what a web server would, so the parser does not complain.
    kind = "application/feed+json" if path.suffix == ".json" else "application/xml"
    return Response(url, "ok", body=body, headers=(("content-type", kind),))
