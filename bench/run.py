"""Chorus benchmarks: fetch feeds from a local server, build sites against Pelican, and scale.

The scale run: 2,000 feeds (2 % of them stalling) against a feedparser baseline, and a
10,000-post site rebuilt after one new post with Pelican's content cache.

Run with ``make bench`` (or ``.venv/bin/python bench/run.py --help``). Everything runs on
127.0.0.1 in a temporary directory; the numbers are reported, never asserted. The script prints a
table, writes bench/results/latest.json and exits 0 unless something crashed (a subprocess failed
or a server did not start). See bench/README.md for what each measurement means.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import email.utils
import hashlib
import html
import io
import json
import multiprocessing
import os
import platform
import pstats
import random
import re
import resource
import runpy
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.request
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent  # make bench runs .venv/bin/python: chorus and pelican sit beside
RESULTS = REPO / "bench" / "results" / "latest.json"
sys.path.insert(0, str(REPO / "tests"))
from sites import write_site_settings  # noqa: E402 -- shared with the tests, found via tests/

ENTRIES_PER_FEED = 10
ENTRY_HTML_BYTES = 2000
LATENCY = 0.100  # seconds added to every response of the feed server
BUILD_MEMBERS = 50
BUILD_RUNS = 5  # per site, alternating; the best of them counts, as timeit does
SUBPROCESS_TIMEOUT = 600  # seconds; nothing here should come close
BASE_DATE = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)  # safely in the past: no "future" dates
TARGET_FETCH_COLD = 10.0
TARGET_FETCH_304 = 2.0
TARGET_BUILD_RATIO = 1.25

# The scale run (--only scale; also part of the default run).
SCALE_FEEDS = 2000
SCALE_ENTRIES = 20
SCALE_HTML_BYTES = 4000  # per entry, before escaping in the feed
SCALE_STALL_EVERY = 50  # every 50th feed stalls past the deadline: 2 %, 40 of 2,000
SCALE_FETCH_TIMEOUT = 10.0  # CHORUS_FETCH_TIMEOUT of the scale site (the default is 30 s)
SCALE_TRICKLE_INTERVAL = 1.0  # a trickling feed sends one byte this often: no read timeout fires
SCALE_POSTS = 10_000
SCALE_BUILD_MEMBERS = 200  # 50 posts each
SCALE_BUILD_RUNS = 2  # full builds, then rebuilds (one new post before each); the best counts
SAMPLE_INTERVAL = 0.05  # seconds between two samples of the fetch process tree's memory
TARGET_SCALE_RATIO = 0.5  # cold fetch / feedparser baseline
TARGET_SCALE_MEMORY_MB = 500.0
TARGET_SCALE_RERUN = 5.0
TARGET_REBUILD_RATIO = 0.5

WORDS = (
    "warp", "weft", "heddle", "shuttle", "loom", "pattern", "draft", "treadle", "shaft", "reed",
    "twill", "satin", "tabby", "selvedge", "bobbin", "yarn", "linen", "wool", "cotton", "silk",
    "tension", "beater", "harness", "jacquard", "card", "punch", "sequence", "thread", "colour",
    "weave", "drawdown", "tie-up", "lift", "plan", "repeat", "border", "motif", "overshot",
    "damask", "rosepath", "community", "member", "notebook", "release", "module", "parser",
    "feed", "build", "theme", "template", "plugin", "archive",
)  # fmt: skip
TAGS = (
    "weaving", "python", "pelican", "looms", "drafts", "tools", "history", "colour", "yarn",
    "release", "tutorial", "notes", "community", "jacquard", "software", "hardware", "events",
    "reading", "patterns", "teaching",
)  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Synthetic content, deterministic: the same arguments always give the same bytes.


def handle_of(index: int) -> str:
    return f"m{index:04d}"


def site_of(index: int) -> str:
    return f"https://{handle_of(index)}.example/"


@dataclass(frozen=True)
class SyntheticEntry:
    id: str
    link: str
    title: str
    date: datetime
    tags: tuple[str, ...]
    html: str  # raw HTML as the member's blog would publish it, with relative URLs


def synthetic_entry(
    member: int,
    number: int,
    entries_per_member: int,
    html_bytes: int = ENTRY_HTML_BYTES,
    rich: bool = False,
) -> SyntheticEntry:
    """Entry ``number`` (0-based) of member ``member`` (1-based): ~``html_bytes`` of HTML with a
    relative link and an image, unique id/link. ``rich`` adds what real posts also carry (links
    to other sites, headings, lists, quotes, code) instead of paragraphs alone."""
    rng = random.Random(f"{member}-{number}")
    handle = handle_of(member)
    serial = (member - 1) * entries_per_member + number
    parts = [
        f'<p>Following on from <a href="../{number + 1}/">the previous note</a>, here is what '
        f"happened on the loom this week.</p>",
        f'<p><img src="/images/{handle}-{number}.png" alt="The {rng.choice(WORDS)} in progress" '
        'width="640" height="360"></p>',
    ]
    size = sum(map(len, parts))
    while size < html_bytes:
        block = rich_block(rng, len(parts)) if rich else plain_paragraph(rng)
        parts.append(block)
        size += len(block)
    title = f"{rng.choice(WORDS).capitalize()} and {rng.choice(WORDS)}: note {number} by {handle}"
    return SyntheticEntry(
        id=f"tag:{handle}.example,2025:post-{number}",
        link=f"{site_of(member)}posts/{number}/",
        title=title,
        date=BASE_DATE - timedelta(hours=13 * serial),
        tags=tuple(rng.sample(TAGS, 2)),
        html="\n".join(parts),
    )


def plain_paragraph(rng: random.Random) -> str:
    sentence = " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 20)))
    paragraph = f"<p>{sentence.capitalize()}. <em>{rng.choice(WORDS)}</em> and <strong>"
    return paragraph + f"{rng.choice(WORDS)}</strong> again, {' '.join(rng.sample(WORDS, 6))}.</p>"


RICH_BLOCKS = (0, 1, 0, 2, 1, 3, 0, 4, 1, 5)  # paragraph, linked paragraph, h2, list, quote, code


def rich_block(rng: random.Random, position: int) -> str:
    """One block of a realistic post, chosen by its position so that every post has them all."""

    def sentence(low: int = 8, high: int = 20) -> str:
        return " ".join(rng.choice(WORDS) for _ in range(rng.randint(low, high))).capitalize()

    word = rng.choice
    kind = RICH_BLOCKS[position % len(RICH_BLOCKS)]
    if kind == 1:
        url = f"https://{word(WORDS)}.example/{word(WORDS)}/{rng.randint(1, 999)}/"
        return (
            f'<p>{sentence()}, as <a href="{url}" title="{word(WORDS)}">{word(WORDS)} '
            f"{word(WORDS)}</a> explains. {sentence()}.</p>"
        )
    if kind == 2:
        return f"<h2>{sentence(2, 5)}</h2>"
    if kind == 3:
        return "<ul>" + "".join(f"<li>{sentence(3, 8)}</li>" for _ in range(3)) + "</ul>"
    if kind == 4:
        return f"<blockquote><p>{sentence()}.</p></blockquote>"
    if kind == 5:
        return (
            f"<pre><code>lift = [{rng.randint(1, 8)}, {rng.randint(1, 8)}]\n"
            f'if shaft &lt; 4 and tension &gt; 0:\n    weave("{word(WORDS)}")</code></pre>'
        )
    return plain_paragraph(rng)


def feed_document(
    member: int,
    entries: int = ENTRIES_PER_FEED,
    html_bytes: int = ENTRY_HTML_BYTES,
    rich: bool = False,
) -> tuple[bytes, str]:
    """The member's feed: RSS 2.0 for odd members, Atom 1.0 for even ones; (bytes, content type)."""
    handle, site = handle_of(member), site_of(member)
    items = [
        synthetic_entry(member, number, entries, html_bytes, rich) for number in range(entries)
    ]
    esc = html.escape
    if member % 2:
        lines = [
            '<?xml version="1.0" encoding="utf-8"?>',
            '<rss version="2.0"><channel>',
            f"<title>{handle}'s notebook</title><link>{site}</link>",
            f"<description>Notes by {handle}</description>",
        ]
        for item in items:
            lines += [
                "<item>",
                f"<title>{esc(item.title)}</title><link>{item.link}</link>",
                f'<guid isPermaLink="false">{item.id}</guid>',
                f"<pubDate>{email.utils.format_datetime(item.date)}</pubDate>",
                *(f"<category>{tag}</category>" for tag in item.tags),
                f"<description>{esc(item.html)}</description>",
                "</item>",
            ]
        lines.append("</channel></rss>")
        kind = "application/rss+xml"
    else:
        lines = [
            '<?xml version="1.0" encoding="utf-8"?>',
            '<feed xmlns="http://www.w3.org/2005/Atom">',
            f"<title>{handle}'s notebook</title><id>tag:{handle}.example,2025:feed</id>",
            f'<link rel="alternate" href="{site}"/><updated>{items[0].date.isoformat()}</updated>',
            f"<author><name>{handle}</name></author>",
        ]
        for item in items:
            lines += [
                "<entry>",
                f'<title>{esc(item.title)}</title><link rel="alternate" href="{item.link}"/>',
                f"<id>{item.id}</id>",
                f"<published>{item.date.isoformat()}</published>",
                f"<updated>{item.date.isoformat()}</updated>",
                *(f'<category term="{tag}"/>' for tag in item.tags),
                f'<content type="html">{esc(item.html)}</content>',
                "</entry>",
            ]
        lines.append("</feed>")
        kind = "application/atom+xml"
    return ("\n".join(lines) + "\n").encode("utf-8"), kind


# ---------------------------------------------------------------------------------------------
# The feed server: aiohttp in its own process, so it does not share the GIL with anything here.


def serve_feeds(
    feeds: int | dict[str, tuple[str, str]],
    latency: float,
    ready: Any,
    stalling: frozenset[str] = frozenset(),
    stall_max: float = 0.0,
) -> None:
    """Serve /feeds/<handle>.xml with ETag/304, /stats and /control (no delay).

    ``feeds``: a number of synthetic feeds to generate here, or {URL path: (file, content type)}
    to serve feeds already written to disk. The paths in ``stalling`` send their headers and then
    stall (half of them send nothing more, half trickle a byte a second) until the client hangs
    up or ``stall_max`` seconds pass; on their first request only, or on every request, as
    /control?stall=first|always says (default: first; /control?forget=1 starts over).
    """
    from aiohttp import web

    if isinstance(feeds, int):
        documents = {f"/feeds/{handle_of(i)}.xml": feed_document(i) for i in range(1, feeds + 1)}
    else:
        documents = {path: (Path(file).read_bytes(), kind) for path, (file, kind) in feeds.items()}
    etags = {
        path: '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
        for path, (body, _) in documents.items()
    }
    trickling = set(sorted(stalling)[1::2])
    stats = {"200": 0, "304": 0, "404": 0, "stalled": 0, "bytes_sent": 0}
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
        return web.json_response(control)

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/feeds/{name}", feed)
        app.router.add_get("/stats", stats_view)
        app.router.add_get("/control", control_view)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=2048)
        await site.start()
        ready.put(runner.addresses[0][1])
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


# ---------------------------------------------------------------------------------------------
# Sites and subprocesses.


def chorus_settings(root: Path, **overrides: Any) -> Path:
    """The real pelicanconf.py, theme and plugins, pointed at ``root`` (as the tests do)."""
    settings = {"CACHE_CONTENT": False, "CHORUS_LOCAL_FEEDS_DIR": None, **overrides}
    return write_site_settings(root, **settings)


def plain_settings(root: Path, **overrides: Any) -> Path:
    """Pelican's defaults (theme notmyidea), with the paths and the feeds of pelicanconf.py."""
    ours = runpy.run_path(str(REPO / "pelicanconf.py"))
    feeds = {
        key: value
        for key, value in ours.items()
        if key.isupper() and (key.startswith("FEED_") or "_FEED_" in key)
    }
    settings = {
        "PATH": "content",
        "OUTPUT_PATH": "output",
        "ARTICLE_PATHS": ours["ARTICLE_PATHS"],
        "TIMEZONE": ours["TIMEZONE"],  # only silences the "no timezone" warning: dates carry UTC
        "CACHE_CONTENT": False,
        **feeds,  # FEED_DOMAIN, FEED_ALL_ATOM, CATEGORY_FEED_ATOM, the others off
        **overrides,
    }
    path = root / "pelicanconf.py"
    path.write_text("".join(f"{k} = {v!r}\n" for k, v in settings.items()), encoding="utf-8")
    return path


def write_member(members_dir: Path, index: int, feeds: list[str]) -> None:
    import yaml

    data = {
        "name": f"Member {index:04d}",
        "site": site_of(index),
        "feeds": feeds,
        "consent": "full",
        "trusted": True,
    }
    text = "---\n" + yaml.safe_dump(data, sort_keys=False) + "---\nA member of the bench.\n"
    (members_dir / f"{handle_of(index)}.md").write_text(text, encoding="utf-8")


@dataclass
class Run:
    seconds: float
    returncode: int
    stdout: str
    stderr: str
    cpu_seconds: float = 0.0  # user + system of the process and every descendant it waited for
    tree: TreeSampler | None = None  # memory and CPU per process, when sampled


def run(command: list[str], cwd: Path, *, sample: bool = False) -> Run:
    """Run a command and time it (wall clock, from spawn to exit).

    The command runs in a session of its own; whatever happens (a time-out, an interruption),
    its whole process group is killed afterwards, so no worker process outlives it. With
    ``sample``, the summed memory of the process and its descendants is sampled while it runs.
    """
    env = {k: v for k, v in os.environ.items() if k != "CHORUS_SETTINGS"}
    # Only the command's tree is reaped in this window (the feed server lives on), so the
    # difference is the CPU time of the command and of every descendant it waited for.
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    sampler = TreeSampler(process.pid) if sample else None
    try:
        stdout, stderr = process.communicate(timeout=SUBPROCESS_TIMEOUT)
        seconds = time.perf_counter() - start
    finally:
        if sampler:
            sampler.stop()
        kill_group(process)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Run(seconds, process.returncode, stdout, stderr, cpu, sampler)


def kill_group(process: subprocess.Popen[str]) -> None:
    """Kill what is left of the process group the command leads (it may have exited already)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):  # empty: all exited
        os.killpg(process.pid, signal.SIGKILL)
    if process.returncode is None:
        process.communicate()  # reap it; its pipes are closed now


class TreeSampler:
    """Samples, every SAMPLE_INTERVAL, the summed resident memory of a process and of all its
    descendants, from /proc (this kernel has no /proc/<pid>/task/<tid>/children, so /proc is
    listed and each new process's parent read once). Keeps the peak, what each process held at
    that moment, and each process's last CPU time (user + system)."""

    PAGE = os.sysconf("SC_PAGE_SIZE")
    TICK = os.sysconf("SC_CLK_TCK")

    def __init__(self, root: int) -> None:
        self.root = root
        self.peak_bytes = 0
        self.peak_at = 0.0  # seconds after the start
        self.peak_by_process: dict[str, int] = {}
        self.samples = 0
        self.cpu: dict[int, float] = {}
        self.names: dict[int, str] = {}
        self._tree = {root}
        self._parents: dict[int, int | None] = {}
        self._start = time.perf_counter()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="tree-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._done.set()
        self._thread.join(5)

    @staticmethod
    def _stat(pid: int) -> list[str] | None:
        try:
            text = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return None
        return text[text.rfind(")") + 2 :].split()  # the fields after "(comm)", from state on

    def _name(self, pid: int) -> str:
        if pid == self.root:
            return "main"
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            return "?"
        text = " ".join(part.decode(errors="replace") for part in argv)
        for marker, name in (("resource_tracker", "resource tracker"), ("spawn", "worker")):
            if marker in text:
                return name
        return Path(argv[0].decode(errors="replace")).name or "?"

    def _loop(self) -> None:
        while True:
            self.sample()
            if self._done.wait(SAMPLE_INTERVAL):
                break

    def sample(self) -> None:
        pids = sorted(int(name) for name in os.listdir("/proc") if name.isdigit())
        new = [pid for pid in pids if pid not in self._parents]
        for pid in new:
            fields = self._stat(pid)
            self._parents[pid] = int(fields[1]) if fields else None
        grown = True
        while grown:  # a child may have a lower pid than its parent when pids wrap around
            grown = False
            for pid in new:
                if pid not in self._tree and self._parents[pid] in self._tree:
                    self._tree.add(pid)
                    self.names[pid] = self._name(pid)
                    grown = True
        self.names.setdefault(self.root, "main")
        total, by_process = 0, {}
        for pid in self._tree:
            if self.names.get(pid) not in ("main", "worker", "resource tracker"):
                self.names[pid] = self._name(pid)  # seen between fork and exec: look again
            fields = self._stat(pid)
            if fields is None:
                continue
            rss = int(fields[21]) * self.PAGE
            total += rss
            by_process[f"{self.names.get(pid, '?')} {pid}"] = rss
            self.cpu[pid] = (int(fields[11]) + int(fields[12])) / self.TICK
        self.samples += 1
        if total > self.peak_bytes:
            self.peak_bytes = total
            self.peak_at = time.perf_counter() - self._start
            self.peak_by_process = by_process

    def cpu_by_kind(self) -> dict[str, float]:
        """CPU seconds per kind of process, as last sampled (the final 50 ms may be missing)."""
        kinds: dict[str, float] = {}
        for pid, seconds in self.cpu.items():
            name = self.names.get(pid, "?")
            kinds[name] = kinds.get(name, 0.0) + seconds
        return {name: round(seconds, 2) for name, seconds in kinds.items()}


class CommandFailed(Exception):
    pass


def check(result: Run, what: str) -> Run:
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-20:])
        raise CommandFailed(f"{what} exited with {result.returncode}:\n{tail}")
    return result


def snapshot(root: Path) -> dict[str, tuple[int, int, str]]:
    """Every file under ``root``: (inode, mtime_ns, sha256), to see what a run (re)wrote."""
    files = {}
    for path in root.rglob("*"):
        if path.is_file():
            stat = path.stat()
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            files[str(path.relative_to(root))] = (stat.st_ino, stat.st_mtime_ns, digest)
    return files


def warnings_in(result: Run) -> list[str]:
    return [
        line.strip()
        for line in (result.stdout + result.stderr).splitlines()
        if "WARNING" in line or "ERROR" in line
    ]


# ---------------------------------------------------------------------------------------------
# Measurements.


@dataclass
class Measurement:
    name: str
    value: float | int | None
    unit: str
    target: str = ""
    met: bool | None = None  # None: informational, no target
    note: str = ""


@dataclass
class Results:
    measurements: list[Measurement] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def add(self, *args: Any, **kwargs: Any) -> None:
        self.measurements.append(Measurement(*args, **kwargs))


def bench_fetch(feeds: int, work: Path, results: Results) -> None:
    from chorus.common.config import DEFAULTS

    root = work / "fetch-site"
    content = root / "content"
    members_dir, community = content / "members", content / "community"
    for directory in (members_dir, community, content / "articles", content / "pages"):
        directory.mkdir(parents=True, exist_ok=True)
    settings = chorus_settings(root)
    command = [str(BIN / "chorus"), "--settings", str(settings), "fetch", "--no-progress"]

    print(f"fetch: starting the feed server ({feeds} feeds, {LATENCY * 1000:.0f} ms per response)")
    with FeedServer(feeds) as server:
        for index in range(1, feeds + 1):
            write_member(members_dir, index, [f"{server.base}/feeds/{handle_of(index)}.xml"])

        print("fetch: cold run (empty community dir, no state)")
        before = snapshot(content)
        cold = check(run(command, root), "chorus fetch (cold)")
        cold_stats = server.stats(reset=True)
        after_cold = snapshot(content)
        posts = [p for p in after_cold if p.startswith("community/") and p.endswith(".html")]
        written_cold = [p for p in after_cold if before.get(p) != after_cold[p]]

        print("fetch: second run (every feed answers 304)")
        warm = check(run(command, root), "chorus fetch (all 304)")
        warm_stats = server.stats(reset=True)
        after_warm = snapshot(content)
        written_warm = sorted(p for p in after_warm if after_cold.get(p) != after_warm[p])
        same_bytes = [
            p for p in written_warm if p in after_cold and after_cold[p][2] == after_warm[p][2]
        ]
        gone_warm = sorted(set(after_cold) - set(after_warm))

    expected = feeds * ENTRIES_PER_FEED
    results.add(
        f"fetch cold, {feeds} feeds",
        round(cold.seconds, 2),
        "s",
        f"< {TARGET_FETCH_COLD:g} s",
        cold.seconds < TARGET_FETCH_COLD,
    )
    results.add(
        f"fetch all-304, {feeds} feeds",
        round(warm.seconds, 2),
        "s",
        f"< {TARGET_FETCH_304:g} s",
        warm.seconds < TARGET_FETCH_304,
    )
    results.add(
        "post files written by the cold run",
        len(posts),
        "files",
        f"= {expected}",
        len(posts) == expected,
    )
    results.add(
        "files written by the all-304 run",
        len(written_warm) + len(gone_warm),
        "files",
        "= 0",
        not written_warm and not gone_warm,
        note=", ".join(
            [f"{p} ({'same bytes' if p in same_bytes else 'changed'})" for p in written_warm]
            + [f"deleted {p}" for p in gone_warm]
        ),
    )
    results.add(
        "server: 304 answers in the all-304 run",
        warm_stats["304"],
        "responses",
        f"= {feeds}",
        warm_stats["304"] == feeds and warm_stats["200"] == 0,
    )
    concurrency = DEFAULTS["CHORUS_CONCURRENCY"]
    floor = -(-feeds // concurrency) * LATENCY
    results.add(f"network floor (feeds / {concurrency} x latency)", round(floor, 2), "s")
    results.details["fetch"] = {
        "feeds": feeds,
        "entries_per_feed": ENTRIES_PER_FEED,
        "latency_s": LATENCY,
        "cold_s": cold.seconds,
        "all_304_s": warm.seconds,
        "cold_server_stats": cold_stats,
        "all_304_server_stats": warm_stats,
        "cold_files_written": len(written_cold),
        "cold_post_files": len(posts),
        "all_304_files_written": written_warm,
        "all_304_files_rewritten_with_same_bytes": same_bytes,
        "all_304_files_deleted": gone_warm,
        "cold_warnings": warnings_in(cold)[:20],
        "all_304_warnings": warnings_in(warm)[:20],
    }


class BuildSites:
    """The same posts twice: curated post files for our site, plain HTML files for plain Pelican.

    ``posts`` posts spread over ``members`` members; ``cache`` turns Pelican's content cache on
    (CACHE_CONTENT and LOAD_CONTENT_CACHE) in both sites. ``add_post`` writes one more.
    """

    def __init__(
        self,
        posts: int,
        work: Path,
        *,
        members: int = BUILD_MEMBERS,
        prefix: str = "build",
        html_bytes: int = ENTRY_HTML_BYTES,
        rich: bool = False,
        cache: bool = False,
    ) -> None:
        from chorus.common.config import DEFAULTS
        from chorus.fetch.store import CommunityStore

        self.ours, self.plain = work / f"{prefix}-ours", work / f"{prefix}-plain"
        for root in (self.ours, self.plain):
            for name in ("articles", "pages", "community"):
                (root / "content" / name).mkdir(parents=True, exist_ok=True)
        (self.ours / "content" / "members").mkdir()
        caching = {"CACHE_CONTENT": cache, "LOAD_CONTENT_CACHE": cache}
        chorus_settings(self.ours, **caching)
        plain_settings(self.plain, **caching)

        settings = runpy.run_path(str(REPO / "pelicanconf.py"))
        self.category = settings.get("CHORUS_CURATED_CATEGORY", DEFAULTS["CHORUS_CURATED_CATEGORY"])
        self.store = CommunityStore(self.ours / "content" / "community", self.category)
        self.html_bytes, self.rich = html_bytes, rich
        self.per_member = -(-posts // members)
        self.now = datetime.now(UTC)
        written = 0
        for index in range(1, members + 1):
            write_member(self.ours / "content" / "members", index, [self._feed_url(index)])
            (self.plain / "content" / "community" / handle_of(index)).mkdir()
            for number in range(self.per_member):
                if written == posts:
                    break
                self.write_post(index, number)
                written += 1
        self.posts = written

    @staticmethod
    def _feed_url(index: int) -> str:
        return f"{site_of(index)}feed.xml"

    def add_post(self, nth: int = 1) -> str:
        """The ``nth`` new post by member 1, newer than every other one, in both sites; its file
        name."""
        number = self.per_member + nth - 1
        raw = synthetic_entry(1, number, self.per_member, self.html_bytes, self.rich)
        return self.write_post(1, number, replace(raw, date=BASE_DATE + timedelta(hours=nth)))

    def write_post(self, index: int, number: int, raw: SyntheticEntry | None = None) -> str:
        from chorus.common.sanitize import sanitize_html
        from chorus.fetch.entries import Entry, ParsedFeed
        from chorus.fetch.store import make_post
        from chorus.members.registry import Member

        if raw is None:
            raw = synthetic_entry(index, number, self.per_member, self.html_bytes, self.rich)
        member = Member(
            handle=handle_of(index),
            name=f"Member {index:04d}",
            site=site_of(index),
            feeds=(self._feed_url(index),),
            consent="full",
            trusted=True,
        )
        # What the parser hands on: sanitized, relative URLs made absolute against the link.
        body = sanitize_html(raw.html, raw.link)
        feed = ParsedFeed(
            url=self._feed_url(index),
            title=f"{member.handle}'s notebook",
            site=member.site,
            entries=(),
        )
        entry = Entry(
            id=raw.id,
            link=raw.link,
            title=raw.title,
            published=raw.date,
            updated=raw.date,
            author=member.name,
            tags=raw.tags,
            summary_html="",
            content_html=body,
        )
        post = make_post(member, entry, feed, excerpt_chars=400)
        _, stored = self.store.write(post, None, published=True, now=self.now)
        # The same post for plain Pelican: Pelican metadata only, nothing of Chorus.
        meta = [
            ("date", raw.date.isoformat()),
            ("tags", ", ".join(raw.tags)),
            ("category", self.category),
            ("authors", member.name),
        ]
        lines = ["<html>", "<head>", f"<title>{html.escape(raw.title)}</title>"]
        lines += [f'<meta name="{k}" content="{html.escape(v)}">' for k, v in meta]
        lines += ["</head>", "<body>", body, "</body>", "</html>", ""]
        target = self.plain / "content" / "community" / member.handle / stored.path.name
        target.write_text("\n".join(lines), encoding="utf-8")
        return stored.path.name


def write_build_sites(posts: int, work: Path) -> tuple[Path, Path]:
    """The sites of the build benchmark: ``posts`` posts over BUILD_MEMBERS members, no cache."""
    sites = BuildSites(posts, work)
    return sites.ours, sites.plain


def bench_build(posts: int, work: Path, results: Results) -> None:
    print(f"build: writing {posts} posts for {BUILD_MEMBERS} members, twice")
    start = time.perf_counter()
    ours, plain = write_build_sites(posts, work)
    print(f"build: sites written in {time.perf_counter() - start:.1f} s")
    times: dict[str, list[float]] = {"plain": [], "ours": []}
    outputs: dict[str, Run] = {}
    for attempt in range(1, BUILD_RUNS + 1):
        for name, root in (("plain", plain), ("ours", ours)):
            for built in ("output", "cache"):  # a full build, every time: nothing kept
                shutil.rmtree(root / built, ignore_errors=True)
            result = check(
                run([str(BIN / "pelican"), "-s", "pelicanconf.py"], root), f"pelican ({name} site)"
            )
            times[name].append(result.seconds)
            outputs[name] = result
            print(f"build: {name:5} run {attempt}/{BUILD_RUNS}: {result.seconds:.2f} s")
    # The fastest run is the one the rest of the machine disturbed least (timeit's advice);
    # on a shared virtual machine medians of a few runs moved by 50 %.
    plain_s, ours_s = min(times["plain"]), min(times["ours"])
    ratio = ours_s / plain_s
    results.add(
        f"build plain Pelican, {posts} posts (best of {BUILD_RUNS})", round(plain_s, 2), "s"
    )
    results.add(f"build Chorus site, {posts} posts (best of {BUILD_RUNS})", round(ours_s, 2), "s")
    results.add(
        "build ratio Chorus / plain",
        round(ratio, 3),
        "x",
        f"<= {TARGET_BUILD_RATIO:g}",
        ratio <= TARGET_BUILD_RATIO,
    )
    results.details["build"] = {
        "posts": posts,
        "members": BUILD_MEMBERS,
        "runs": times,
        "plain_best_s": plain_s,
        "ours_best_s": ours_s,
        "plain_median_s": statistics.median(times["plain"]),
        "ours_median_s": statistics.median(times["ours"]),
        "ratio": ratio,
        "output_files": {
            name: sum(1 for p in (root / "output").rglob("*") if p.is_file())
            for name, root in (("plain", plain), ("ours", ours))
        },
        "pelican_summary": {
            name: [
                line.strip()
                for line in (r.stdout + r.stderr).splitlines()
                if "Done:" in line or "Processed" in line
            ][-2:]
            for name, r in outputs.items()
        },
        "warnings": {name: warnings_in(r)[:20] for name, r in outputs.items()},
    }
    for name, result in outputs.items():
        found = warnings_in(result)
        if found:
            print(f"build: the {name} site logged {len(found)} warning(s), e.g. {found[0][:160]}")


# ---------------------------------------------------------------------------------------------
# The scale run: 2,000 feeds (2 % of them stalling), a feedparser baseline, a 10,000-post
# incremental build.

BASELINE_SCRIPT = """
import json, sys, time
from pathlib import Path

started = time.perf_counter()
import feedparser

imported = time.perf_counter()
entries = size = 0
for path in Path(sys.argv[1]).read_text(encoding="utf-8").splitlines():
    body = Path(path).read_bytes()
    size += len(body)
    entries += len(feedparser.parse(body).entries)
done = time.perf_counter()
print(json.dumps({"entries": entries, "bytes": size, "import_s": imported - started,
                  "loop_s": done - imported}))
"""


def write_scale_feed(job: tuple[int, str, int, int]) -> tuple[int, int, str]:
    """Write one member's scale feed to disk (run in a pool); (member, bytes, content type)."""
    member, directory, entries, html_bytes = job
    body, kind = feed_document(member, entries, html_bytes, rich=True)
    (Path(directory) / f"{handle_of(member)}.xml").write_bytes(body)
    return member, len(body), kind


def scale_post_files(content: Path) -> int:
    return sum(1 for _ in (content / "community").glob("*/*.html"))


def failed_feeds(state_file: Path) -> dict[str, str]:
    """The feeds the state file records as failed on their last fetch, with the error."""
    try:
        feeds = json.loads(state_file.read_text(encoding="utf-8"))["feeds"]
    except (OSError, ValueError, KeyError):
        return {}
    return {url: state["last_error"] for url, state in feeds.items() if state.get("last_error")}


def tree_details(result: Run) -> dict[str, Any]:
    tree = result.tree
    if tree is None:
        return {}
    return {
        "peak_mb": round(tree.peak_bytes / 1e6, 1),
        "peak_at_s": round(tree.peak_at, 2),
        "peak_by_process_mb": {k: round(v / 1e6, 1) for k, v in tree.peak_by_process.items()},
        "samples": tree.samples,
        "cpu_s_by_process_kind": tree.cpu_by_kind(),
        "cpu_s_total": round(result.cpu_seconds, 2),
    }


def bench_scale_fetch(feeds: int, work: Path, results: Results, profile: bool = False) -> None:
    feeds_dir = work / "scale-feeds"
    feeds_dir.mkdir()
    stalling = {i for i in range(1, feeds + 1) if i % SCALE_STALL_EVERY == 0}
    healthy = feeds - len(stalling)
    print(
        f"scale: writing {feeds} feeds x {SCALE_ENTRIES} entries (~{SCALE_HTML_BYTES} B of HTML "
        "each) to disk"
    )
    started = time.perf_counter()
    jobs = [(i, str(feeds_dir), SCALE_ENTRIES, SCALE_HTML_BYTES) for i in range(1, feeds + 1)]
    with multiprocessing.get_context("spawn").Pool(os.cpu_count() or 2) as pool:
        written = sorted(pool.imap_unordered(write_scale_feed, jobs, chunksize=25))
    kinds = {member: kind for member, _, kind in written}
    total_bytes = sum(size for _, size, _ in written)
    seconds = time.perf_counter() - started
    print(f"scale: {total_bytes / 1e6:.0f} MB of feeds written in {seconds:.0f} s")

    # 2. The baseline: feedparser with its defaults, one process, the non-stalling feeds.
    listing = work / "scale-baseline-feeds.txt"
    paths = [
        str(feeds_dir / f"{handle_of(i)}.xml") for i in range(1, feeds + 1) if i not in stalling
    ]
    listing.write_text("\n".join(paths) + "\n", encoding="utf-8")
    print(f"scale: baseline, feedparser.parse(bytes) over {healthy} feeds in one process")
    baseline = check(
        run([str(BIN / "python"), "-c", BASELINE_SCRIPT, str(listing)], work), "feedparser baseline"
    )
    inner = json.loads(baseline.stdout.strip().splitlines()[-1])
    print(f"scale: baseline {baseline.seconds:.1f} s ({inner['entries']} entries)")

    # 3. and 4. The fetches.
    root = work / "scale-site"
    content = root / "content"
    members_dir = content / "members"
    for directory in (members_dir, content / "community", content / "articles", content / "pages"):
        directory.mkdir(parents=True, exist_ok=True)
    settings = chorus_settings(root, CHORUS_FETCH_TIMEOUT=SCALE_FETCH_TIMEOUT)
    command = [str(BIN / "chorus"), "--settings", str(settings), "fetch", "--no-progress"]
    served = {
        f"/feeds/{handle_of(i)}.xml": (str(feeds_dir / f"{handle_of(i)}.xml"), kinds[i])
        for i in range(1, feeds + 1)
    }
    stalling_paths = frozenset(f"/feeds/{handle_of(i)}.xml" for i in stalling)
    print(f"scale: starting the feed server ({len(stalling)} feeds stall past the deadline)")
    with FeedServer(served, stalling_paths, stall_max=3 * SCALE_FETCH_TIMEOUT) as server:
        urls = {i: f"{server.base}/feeds/{handle_of(i)}.xml" for i in range(1, feeds + 1)}
        for index in range(1, feeds + 1):
            write_member(members_dir, index, [urls[index]])
        stalling_urls = {urls[i] for i in stalling}

        print("scale: cold fetch (memory of the process tree sampled every 50 ms)")
        cold = run(command, root, sample=True)
        if cold.returncode not in (0, 1):
            check(cold, "chorus fetch (scale, cold)")
        cold_stats = server.stats(reset=True)
        cold_posts = scale_post_files(content)
        cold_failed = failed_feeds(content / "community" / "fetch-state.json")
        print(f"scale: cold fetch {cold.seconds:.1f} s, exit {cold.returncode}")

        print("scale: re-run right after (stalled feeds recovered; the others answer 304)")
        rerun = run(command, root, sample=True)
        if rerun.returncode not in (0, 1):
            check(rerun, "chorus fetch (scale, re-run)")
        rerun_stats = server.stats(reset=True)
        rerun_posts = scale_post_files(content)
        print(f"scale: re-run {rerun.seconds:.1f} s, exit {rerun.returncode}")

        print("scale: re-run with the stalling feeds stalling again")
        server.control(stall="always")
        stalled = run(command, root)
        if stalled.returncode not in (0, 1):
            check(stalled, "chorus fetch (scale, still stalling)")
        stalled_stats = server.stats(reset=True)
        print(f"scale: re-run, still stalling {stalled.seconds:.1f} s, exit {stalled.returncode}")

        ratio = cold.seconds / baseline.seconds
        profiled: dict[str, Any] = {}
        if profile or ratio >= TARGET_SCALE_RATIO or rerun.seconds >= TARGET_SCALE_RERUN:
            print("scale: a time target was missed (or --profile): cold fetch and re-run again")
            print("scale: on a fresh site under cProfile (the fetching process only)")
            server.control(stall="first", forget="1")
            profiled = profile_fetches(work, feeds, urls)
            server.stats(reset=True)

    cold_mb = cold.tree.peak_bytes / 1e6 if cold.tree else 0.0
    results.add(
        f"scale: feedparser baseline, {healthy} feeds x {SCALE_ENTRIES} entries, one process",
        round(baseline.seconds, 2),
        "s",
        note=f"{inner['entries']} entries, {inner['bytes'] / 1e6:.0f} MB; the parse loop alone "
        f"{inner['loop_s']:.1f} s; CPU {baseline.cpu_seconds:.1f} s",
    )
    results.add(
        f"scale: fetch cold, {feeds} feeds ({len(stalling)} stall, deadline "
        f"{SCALE_FETCH_TIMEOUT:g} s)",
        round(cold.seconds, 2),
        "s",
        note="CPU "
        + ", ".join(
            f"{k} {v:g} s" for k, v in (cold.tree.cpu_by_kind() if cold.tree else {}).items()
        )
        + f"; {cold.cpu_seconds:.1f} s in all",
    )
    results.add(
        "scale: fetch cold / baseline",
        round(ratio, 3),
        "x",
        f"< {TARGET_SCALE_RATIO:g}",
        ratio < TARGET_SCALE_RATIO,
        note=f"in CPU time (all processes): {cold.cpu_seconds / baseline.cpu_seconds:.2f}x",
    )
    results.add(
        "scale: peak memory of the fetch process tree (summed RSS)",
        round(cold_mb, 1),
        "MB",
        f"< {TARGET_SCALE_MEMORY_MB:g} MB",
        cold_mb < TARGET_SCALE_MEMORY_MB,
        note=", ".join(
            f"{name} {size / 1e6:.0f} MB"
            for name, size in sorted(cold.tree.peak_by_process.items())
        )
        if cold.tree
        else "",
    )
    results.add("scale: cold fetch exit code", cold.returncode, "", "= 1", cold.returncode == 1)
    results.add(
        "scale: feeds failed in the cold fetch",
        len(cold_failed),
        "feeds",
        f"= {len(stalling)}, the stalling ones",
        set(cold_failed) == stalling_urls,
        note="; ".join(
            sorted(
                {
                    f"{error} (x{list(cold_failed.values()).count(error)})"
                    for error in cold_failed.values()
                }
            )
        ),
    )
    expected = healthy * SCALE_ENTRIES
    results.add(
        "scale: post files written by the cold fetch",
        cold_posts,
        "files",
        f"= {expected}",
        cold_posts == expected,
    )
    results.add(
        f"scale: re-run right after, {healthy} x 304 + {len(stalling)} recovered",
        round(rerun.seconds, 2),
        "s",
        f"< {TARGET_SCALE_RERUN:g} s",
        rerun.seconds < TARGET_SCALE_RERUN,
    )
    rerun_ok = (
        rerun.returncode == 0
        and rerun_stats["304"] == healthy
        and rerun_stats["200"] == len(stalling)
        and rerun_stats["stalled"] == 0
        and rerun_posts == feeds * SCALE_ENTRIES
    )
    results.add(
        "scale: re-run: exit 0, 304s, 200s, post files",
        rerun_stats["304"],
        "x 304",
        f"= {healthy}, {len(stalling)} x 200, {feeds * SCALE_ENTRIES} files",
        rerun_ok,
        note=f"exit {rerun.returncode}, {rerun_stats['304']} x 304, {rerun_stats['200']} x 200, "
        f"{rerun_stats['stalled']} stalled, {rerun_posts} post files",
    )
    results.add(
        f"scale: re-run with the {len(stalling)} feeds stalling again (>= deadline)",
        round(stalled.seconds, 2),
        "s",
        note=f"exit {stalled.returncode}, {stalled_stats['304']} x 304, "
        f"{stalled_stats['stalled']} stalled",
    )
    results.details["scale_fetch"] = {
        "feeds": feeds,
        "entries_per_feed": SCALE_ENTRIES,
        "html_bytes_per_entry": SCALE_HTML_BYTES,
        "feed_bytes_total": total_bytes,
        "stalling_feeds": len(stalling),
        "fetch_timeout_s": SCALE_FETCH_TIMEOUT,
        "latency_s": LATENCY,
        "baseline": {"wall_s": baseline.seconds, "cpu_s": baseline.cpu_seconds, **inner},
        "cold": {
            "wall_s": cold.seconds,
            "exit": cold.returncode,
            "post_files": cold_posts,
            "server": cold_stats,
            "failed": sorted(cold_failed.values()),
            **tree_details(cold),
        },
        "rerun_recovered": {
            "wall_s": rerun.seconds,
            "exit": rerun.returncode,
            "post_files": rerun_posts,
            "server": rerun_stats,
            **tree_details(rerun),
        },
        "rerun_still_stalling": {
            "wall_s": stalled.seconds,
            "exit": stalled.returncode,
            "server": stalled_stats,
            "cpu_s_total": round(stalled.cpu_seconds, 2),
        },
        "cold_warnings": warnings_in(cold)[:20],
        "rerun_warnings": warnings_in(rerun)[:20],
        "profile": profiled,
    }
    for name, found in profiled.items():
        for order in ("cumulative", "tottime"):
            if found.get(f"top_{order}"):
                print(
                    f"\nscale: profile of the {name} fetch (fetching process), top 15 by {order}:"
                )
                print(found[f"top_{order}"])


def profile_fetches(work: Path, feeds: int, urls: dict[int, str]) -> dict[str, Any]:
    """The cold fetch and the re-run again, on a fresh site, under cProfile: what the fetching
    process spends its time on. The parser workers are other processes; in the fetcher they
    show up as time waiting for them (their CPU time is in the details of the timed runs)."""
    root = work / "scale-profile-site"
    content = root / "content"
    for directory in ("members", "community", "articles", "pages"):
        (content / directory).mkdir(parents=True, exist_ok=True)
    for index in range(1, feeds + 1):
        write_member(content / "members", index, [urls[index]])
    settings = chorus_settings(root, CHORUS_FETCH_TIMEOUT=SCALE_FETCH_TIMEOUT)
    found: dict[str, Any] = {}
    for name in ("cold", "rerun"):
        output = work / f"scale-{name}.prof"
        command = [str(BIN / "python"), "-m", "cProfile", "-o", str(output), "-m", "chorus"]
        profiled = run([*command, "--settings", str(settings), "fetch", "--no-progress"], root)
        # No exit status: `python -m cProfile` swallows SystemExit and always exits 0.
        found[name] = {"wall_s": profiled.seconds}
        if not output.exists():
            found[name]["error"] = "no profile written"
            continue
        for order in ("cumulative", "tottime"):
            text = io.StringIO()
            stats = pstats.Stats(str(output), stream=text)
            stats.strip_dirs().sort_stats(order).print_stats(15)
            table = text.getvalue().strip()
            found[name][f"top_{order}"] = table[table.find("ncalls") :]
    return found


def bench_scale_build(posts: int, work: Path, results: Results) -> None:
    print(f"scale build: writing {posts} posts for {SCALE_BUILD_MEMBERS} members, twice")
    started = time.perf_counter()
    sites = BuildSites(
        posts,
        work,
        members=SCALE_BUILD_MEMBERS,
        prefix="scale-build",
        html_bytes=SCALE_HTML_BYTES,
        rich=True,
        cache=True,
    )
    print(f"scale build: sites written in {time.perf_counter() - started:.0f} s")
    pelican = [str(BIN / "pelican"), "-s", "pelicanconf.py"]
    roots = {"ours": sites.ours, "plain": sites.plain}
    fulls: dict[str, list[Run]] = {name: [] for name in roots}
    agains: dict[str, list[Run]] = {name: [] for name in roots}
    for attempt in range(1, SCALE_BUILD_RUNS + 1):
        for name, root in roots.items():
            for built in ("output", "cache"):  # a full build: nothing kept from the last one
                shutil.rmtree(root / built, ignore_errors=True)
            result = check(run(pelican, root, sample=True), f"pelican ({name}, full, scale)")
            fulls[name].append(result)
            print(f"scale build: {name:5} full build {attempt} (no cache) {result.seconds:.1f} s")
    added = []
    for attempt in range(1, SCALE_BUILD_RUNS + 1):
        added.append(sites.add_post(attempt))
        for name, root in roots.items():
            result = check(run(pelican, root, sample=True), f"pelican ({name}, rebuild, scale)")
            agains[name].append(result)
            print(f"scale build: {name:5} rebuild {attempt} (one new post) {result.seconds:.1f} s")
    # The fastest run of each kind is the one the rest of the machine disturbed least.
    full = {name: min(runs, key=lambda r: r.seconds) for name, runs in fulls.items()}
    again = {name: min(runs, key=lambda r: r.seconds) for name, runs in agains.items()}

    def processed(result: Run) -> int | None:
        found = re.findall(r"Processed (\d+) articles?", result.stdout + result.stderr)
        return int(found[-1]) if found else None

    labels = {"ours": "Chorus site", "plain": "plain Pelican"}
    for name in roots:
        ratio = again[name].seconds / full[name].seconds
        # Each rebuild has one more post than the last: 10,001, then 10,002.
        counts = [processed(result) for result in fulls[name] + agains[name]]
        expected = [sites.posts] * SCALE_BUILD_RUNS
        expected += [sites.posts + n for n in range(1, SCALE_BUILD_RUNS + 1)]
        results.add(
            f"scale build: {labels[name]}, {sites.posts} posts, full (content cache on, empty; "
            f"best of {SCALE_BUILD_RUNS})",
            round(full[name].seconds, 2),
            "s",
        )
        results.add(
            f"scale build: {labels[name]}, rebuild after 1 new post (best of {SCALE_BUILD_RUNS})",
            round(again[name].seconds, 2),
            "s",
        )
        ours = name == "ours"
        results.add(
            f"scale build: {labels[name]}, rebuild / full",
            round(ratio, 3),
            "x",
            f"< {TARGET_REBUILD_RATIO:g}" if ours else "",
            ratio < TARGET_REBUILD_RATIO if ours else None,
            note=f"in CPU time {again[name].cpu_seconds:.1f} / {full[name].cpu_seconds:.1f} s = "
            f"{again[name].cpu_seconds / full[name].cpu_seconds:.2f}x; articles processed: "
            f"{', '.join(map(str, counts))}"
            + ("" if counts == expected else f" (expected {', '.join(map(str, expected))})"),
        )
    results.details["scale_build"] = {
        "posts": sites.posts,
        "members": SCALE_BUILD_MEMBERS,
        "html_bytes_per_post": SCALE_HTML_BYTES,
        "added_post_files": added,
        "runs": {
            name: {
                "full_s": [r.seconds for r in fulls[name]],
                "rebuild_s": [r.seconds for r in agains[name]],
            }
            for name in roots
        },
        **{
            name: {
                "full_s": full[name].seconds,
                "rebuild_s": again[name].seconds,
                "full_cpu_s": full[name].cpu_seconds,
                "rebuild_cpu_s": again[name].cpu_seconds,
                "full_peak_mb": tree_details(full[name]).get("peak_mb"),
                "rebuild_peak_mb": tree_details(again[name]).get("peak_mb"),
                "articles_processed": [processed(r) for r in fulls[name] + agains[name]],
                "cache_files": sorted(
                    str(p.relative_to(root)) for p in (root / "cache").rglob("*") if p.is_file()
                ),
                "output_files": sum(1 for p in (root / "output").rglob("*") if p.is_file()),
                "warnings": warnings_in(full[name])[:10] + warnings_in(again[name])[:10],
            }
            for name, root in roots.items()
        },
    }


# ---------------------------------------------------------------------------------------------
# Report.


def environment() -> dict[str, Any]:
    from importlib.metadata import PackageNotFoundError, version

    packages = {}
    for name in ("pelican", "aiohttp", "feedparser", "nh3", "chorus"):
        try:
            packages[name] = version(name)
        except PackageNotFoundError:
            packages[name] = None
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "work_dir": f"{tempfile.gettempdir()} ({filesystem_of(Path(tempfile.gettempdir()))})",
        "load_average_at_start": os.getloadavg(),
        "packages": packages,
    }


def filesystem_of(path: Path) -> str:
    """The file system type holding ``path`` (from /proc/mounts), or "unknown"."""
    try:
        mounts = [line.split()[1:3] for line in Path("/proc/mounts").read_text().splitlines()]
    except OSError:
        return "unknown"
    resolved = str(path.resolve())
    found = [
        (point, kind)
        for point, kind in mounts
        if resolved == point or resolved.startswith(point.rstrip("/") + "/")
    ]
    return max(found, key=lambda mount: len(mount[0]))[1] if found else "unknown"


def print_table(results: Results, env: dict[str, Any]) -> None:
    rows = [("measurement", "value", "target", "met?")]
    for m in results.measurements:
        value = "-" if m.value is None else f"{m.value:g} {m.unit}"
        met = "" if m.met is None else ("yes" if m.met else "MISSED")
        rows.append((m.name, value, m.target, met))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    print()
    for number, row in enumerate(rows):
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
        if number == 0:
            print("  ".join("-" * width for width in widths))
    for m in results.measurements:
        if m.note:
            print(f"  note: {m.name}: {m.note}")
    print()
    print(
        f"Python {env['python']} ({env['implementation']}), {env['cpu_count']} CPUs "
        f"({env['usable_cpus']} usable), {env['platform']}"
    )
    print(f"Work directory: {env['work_dir']} (set TMPDIR to move it)")
    loads = [env.get("load_average_at_start"), env.get("load_average_at_end")]
    if all(loads):
        shown = [", ".join(f"{x:.1f}" for x in load) for load in loads]
        print(f"Load average (1, 5, 15 min): {shown[0]} at the start, {shown[1]} at the end")
        if max(max(load) for load in loads) > (env["usable_cpus"] or env["cpu_count"] or 1):
            print(
                "  above the number of CPUs: other work competed for them, so wall times grew "
                "(the CPU times in the notes and in latest.json are less disturbed)"
            )
    print("Packages: " + ", ".join(f"{k} {v}" for k, v in env["packages"].items()))
    for error in results.errors:
        print(f"ERROR: {error}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=500, help="feeds to fetch (default 500)")
    parser.add_argument("--posts", type=int, default=2000, help="posts to build (default 2000)")
    parser.add_argument(
        "--only",
        choices=("fetch", "build", "scale", "scale-fetch", "scale-build"),
        help="run one benchmark only (scale-fetch and scale-build: one half of the scale run)",
    )
    parser.add_argument(
        "--scale", action="store_true", help="run the scale benchmark only (= --only scale)"
    )
    parser.add_argument(
        "--no-scale", action="store_true", help="leave the scale benchmark out (it takes minutes)"
    )
    parser.add_argument(
        "--scale-feeds",
        type=int,
        default=SCALE_FEEDS,
        help=f"feeds in the scale benchmark (default {SCALE_FEEDS}; every 50th stalls)",
    )
    parser.add_argument(
        "--scale-posts",
        type=int,
        default=SCALE_POSTS,
        help=f"posts in the scale build (default {SCALE_POSTS})",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="profile the scale fetches (cold and re-run) even when they meet their targets",
    )
    options = parser.parse_args()
    if min(options.feeds, options.posts, options.scale_feeds, options.scale_posts) < 1:
        parser.error("--feeds, --posts, --scale-feeds and --scale-posts must be positive")
    if options.scale:
        if options.only not in (None, "scale") or options.no_scale:
            parser.error("--scale is --only scale")
        options.only = "scale"

    results = Results()
    env = environment()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="chorus-bench-") as temporary:
        work = Path(temporary)
        benches: list[tuple[str, Any]] = [
            ("fetch", lambda: bench_fetch(options.feeds, work, results)),
            ("build", lambda: bench_build(options.posts, work, results)),
            (
                "scale-fetch",
                lambda: bench_scale_fetch(options.scale_feeds, work, results, options.profile),
            ),
            ("scale-build", lambda: bench_scale_build(options.scale_posts, work, results)),
        ]
        for name, bench in benches:
            scale = name.startswith("scale")
            if options.only not in (None, name, "scale" if scale else name) or (
                scale and options.no_scale
            ):
                continue
            begun = time.perf_counter()
            try:
                bench()
            except Exception as error:  # report it, go on with the other benchmarks
                results.errors.append(f"{name}: {error}")
                traceback.print_exc()
            results.details.setdefault("seconds_per_part", []).append(
                (name, round(time.perf_counter() - begun, 1), os.getloadavg()[0])
            )
    total = time.perf_counter() - started
    env["load_average_at_end"] = os.getloadavg()

    print_table(results, env)
    print(f"Total benchmark time: {total:.0f} s")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "options": vars(options),
        "environment": env,
        "measurements": [asdict(m) for m in results.measurements],
        "details": results.details,
        "errors": results.errors,
        "total_s": total,
    }
    RESULTS.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print(f"Results written to {RESULTS.relative_to(REPO)}")
    return 1 if results.errors else 0


if __name__ == "__main__":
    sys.exit(main())
