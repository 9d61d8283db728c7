"""The feed server: aiohttp in its own process, so it does not share the GIL with the benchmark."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import multiprocessing
import urllib.request
from pathlib import Path
from typing import Any

from synthetic import feed_document, handle_of

LATENCY = 0.100  # seconds added to every response of the feed server
SCALE_TRICKLE_INTERVAL = 1.0  # a trickling feed sends one byte this often: no read timeout fires
# Feeds written before the server runs name its origin so; it serves them with its own instead.
ORIGIN = "http://feed-server.invalid"


def serve_feeds(
    feeds: int | dict[str, tuple[str, str]],
    latency: float,
    ready: Any,
    stalling: frozenset[str] = frozenset(),
    stall_max: float = 0.0,
) -> None:
    """Serve /feeds/<handle>.xml with ETag/304, /images/<name>.png (a small PNG of a colour of
    its own for each name), /stats and /control (no delay).

    ``feeds``: a number of synthetic feeds to generate here (their images served here too),
    or {URL path: (file, content type)} to serve feeds already written to disk. The paths in
    ``stalling`` send their headers and then stall (half of them send nothing more, half
    trickle a byte a second) until the client hangs up or ``stall_max`` seconds pass; on
    their first request only, or on every request, as /control?stall=first|always says
    (default: first; /control?forget=1 starts over). /control?reload=1 reads the feed files
    again. ``ORIGIN`` in a feed becomes the server's own.
    """
    from aiohttp import web
    from PIL import Image

    documents: dict[str, tuple[bytes, str]] = {}
    etags: dict[str, str] = {}
    origin = ORIGIN  # until the server knows its port

    def load() -> None:
        """The feeds and their ETags, (again) from the files: /control?reload=1 after a feed
        file has changed, as a member's feed does when they post."""
        if isinstance(feeds, int):
            documents.update(
                {
                    f"/feeds/{handle_of(i)}.xml": feed_document(i, images_at=origin)
                    for i in range(1, feeds + 1)
                }
            )
        else:
            documents.update(
                {
                    path: (Path(file).read_bytes().replace(ORIGIN.encode(), origin.encode()), kind)
                    for path, (file, kind) in feeds.items()
                }
            )
        etags.update(
            {
                path: '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
                for path, (body, _) in documents.items()
            }
        )

    trickling = set(sorted(stalling)[1::2])
    stats = {"200": 0, "304": 0, "404": 0, "stalled": 0, "bytes_sent": 0, "images": 0}
    control = {"stall": "first"}
    asked_before: set[str] = set()

    async def stall(request: web.Request, body: bytes, kind: str) -> web.StreamResponse:
        stats["stalled"] += 1
        response = web.StreamResponse(
            headers={"ETag": etags[request.path], "Content-Type": kind, "Connection": "close"}
        )
        response.content_length = len(body)
        await response.prepare(request)  # the status line and headers go out now
        loop = asyncio.get_running_loop()
        give_up, sent = loop.time() + stall_max, 0
        try:
            while loop.time() < give_up:
                transport = request.transport
                if transport is None or transport.is_closing():
                    break  # the client gave up
                if request.path in trickling and sent < len(body) - 1:
                    await response.write(body[sent : sent + 1])
                    sent += 1
                await asyncio.sleep(SCALE_TRICKLE_INTERVAL)
        except (ConnectionError, RuntimeError):
            pass
        if request.transport is not None:
            request.transport.close()  # never finish the body
        return response

    async def feed(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(latency)
        document = documents.get(request.path)
        if document is None:
            stats["404"] += 1
            return web.Response(status=404, text="not found")
        if request.path in stalling and (
            control["stall"] == "always" or request.path not in asked_before
        ):
            asked_before.add(request.path)
            return await stall(request, *document)
        asked_before.add(request.path)
        etag = etags[request.path]
        asked = {tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")}
        if etag in asked or "*" in asked:
            stats["304"] += 1
            return web.Response(status=304, headers={"ETag": etag})
        stats["200"] += 1
        body, kind = document
        stats["bytes_sent"] += len(body)
        return web.Response(body=body, headers={"ETag": etag, "Content-Type": kind})

    async def image(request: web.Request) -> web.Response:
        await asyncio.sleep(latency)
        colour = hashlib.sha256(request.path.encode()).digest()[:3]
        png = io.BytesIO()
        Image.new("RGB", (64, 36), tuple(colour)).save(png, "PNG")
        stats["images"] += 1
        return web.Response(body=png.getvalue(), content_type="image/png")

    async def stats_view(request: web.Request) -> web.Response:
        answer = web.json_response(dict(stats))
        if "reset" in request.query:
            stats.update(dict.fromkeys(stats, 0))
        return answer

    async def control_view(request: web.Request) -> web.Response:
        if request.query.get("stall") in ("first", "always"):
            control["stall"] = request.query["stall"]
        if "forget" in request.query:
            asked_before.clear()
        if "reload" in request.query and not isinstance(feeds, int):
            load()
        return web.json_response(control)

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/feeds/{name}", feed)
        app.router.add_get("/images/{name}", image)
        app.router.add_get("/stats", stats_view)
        app.router.add_get("/control", control_view)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=2048)
        await site.start()
        nonlocal origin
        port = runner.addresses[0][1]
        origin = f"http://127.0.0.1:{port}"
        load()
        ready.put(port)
        await asyncio.Event().wait()  # until the parent terminates this process

    asyncio.run(main())


class FeedServer:
    """The feed server process, started and stopped by the benchmark."""

    def __init__(
        self,
        feeds: int | dict[str, tuple[str, str]],
        stalling: frozenset[str] = frozenset(),
        stall_max: float = 0.0,
    ) -> None:
        context = multiprocessing.get_context("spawn")
        self._ready = context.Queue()
        self.process = context.Process(
            target=serve_feeds,
            args=(feeds, LATENCY, self._ready, stalling, stall_max),
            daemon=True,
        )

    def __enter__(self) -> FeedServer:
        self.process.start()
        try:
            self.port = self._ready.get(timeout=120)  # generating the feeds takes a few seconds
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        self.process.join(10)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(5)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stats(self, reset: bool = False) -> dict[str, int]:
        url = self.base + "/stats" + ("?reset=1" if reset else "")
        with urllib.request.urlopen(url, timeout=10) as response:
            return json.loads(response.read())

    def control(self, **query: str) -> dict[str, str]:
        url = self.base + "/control?" + "&".join(f"{k}={v}" for k, v in query.items())
        with urllib.request.urlopen(url, timeout=10) as response:
            return json.loads(response.read())
