"""Chorus benchmarks: fetch N feeds from a local server, build a site of M posts against Pelican.

Run with ``make bench`` (or ``.venv/bin/python bench/run.py --help``). Everything runs on
127.0.0.1 in a temporary directory; the numbers are reported, never asserted. The script prints a
table, writes bench/results/latest.json and exits 0 unless something crashed (a subprocess failed
or a server did not start). See bench/README.md for what each measurement means.
"""

from __future__ import annotations

import argparse
import asyncio
import email.utils
import hashlib
import html
import json
import multiprocessing
import os
import platform
import random
import runpy
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.request
from dataclasses import asdict, dataclass, field
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


def synthetic_entry(member: int, number: int, entries_per_member: int) -> SyntheticEntry:
    """Entry ``number`` (0-based) of member ``member`` (1-based): ~2 KB of HTML, unique id/link."""
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
    while size < ENTRY_HTML_BYTES:
        sentence = " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 20)))
        paragraph = f"<p>{sentence.capitalize()}. <em>{rng.choice(WORDS)}</em> and <strong>"
        paragraph += f"{rng.choice(WORDS)}</strong> again, {' '.join(rng.sample(WORDS, 6))}.</p>"
        parts.append(paragraph)
        size += len(paragraph)
    title = f"{rng.choice(WORDS).capitalize()} and {rng.choice(WORDS)}: note {number} by {handle}"
    return SyntheticEntry(
        id=f"tag:{handle}.example,2025:post-{number}",
        link=f"{site_of(member)}posts/{number}/",
        title=title,
        date=BASE_DATE - timedelta(hours=13 * serial),
        tags=tuple(rng.sample(TAGS, 2)),
        html="\n".join(parts),
    )


def feed_document(member: int, entries: int = ENTRIES_PER_FEED) -> tuple[bytes, str]:
    """The member's feed: RSS 2.0 for odd members, Atom 1.0 for even ones; (bytes, content type)."""
    handle, site = handle_of(member), site_of(member)
    items = [synthetic_entry(member, number, entries) for number in range(entries)]
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


def serve_feeds(feeds: int, latency: float, ready: Any) -> None:
    """Serve /feeds/<handle>.xml for members 1..feeds with ETag/304, and /stats (no delay)."""
    from aiohttp import web

    documents = {f"/feeds/{handle_of(i)}.xml": feed_document(i) for i in range(1, feeds + 1)}
    etags = {
        path: '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
        for path, (body, _) in documents.items()
    }
    stats = {"200": 0, "304": 0, "404": 0, "bytes_sent": 0}

    async def feed(request: web.Request) -> web.Response:
        await asyncio.sleep(latency)
        document = documents.get(request.path)
        if document is None:
            stats["404"] += 1
            return web.Response(status=404, text="not found")
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

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/feeds/{name}", feed)
        app.router.add_get("/stats", stats_view)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=2048)
        await site.start()
        ready.put(runner.addresses[0][1])
        await asyncio.Event().wait()  # until the parent terminates this process

    asyncio.run(main())


class FeedServer:
    """The feed server process, started and stopped by the benchmark."""

    def __init__(self, feeds: int) -> None:
        context = multiprocessing.get_context("spawn")
        self._ready = context.Queue()
        self.process = context.Process(
            target=serve_feeds, args=(feeds, LATENCY, self._ready), daemon=True
        )

    def __enter__(self) -> FeedServer:
        self.process.start()
        self.port = self._ready.get(timeout=120)  # generating the feeds takes a few seconds
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


# ---------------------------------------------------------------------------------------------
# Sites and subprocesses.


def chorus_settings(root: Path, **overrides: Any) -> Path:
    """The real pelicanconf.py, theme and plugins, pointed at ``root`` (as the tests do)."""
    return write_site_settings(root, CACHE_CONTENT=False, CHORUS_LOCAL_FEEDS_DIR=None, **overrides)


def plain_settings(root: Path) -> Path:
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


def run(command: list[str], cwd: Path) -> Run:
    """Run a command and time it (wall clock, from spawn to exit)."""
    env = {k: v for k, v in os.environ.items() if k != "CHORUS_SETTINGS"}
    start = time.perf_counter()
    done = subprocess.run(
        command,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT,
        check=False,
    )
    seconds = time.perf_counter() - start
    return Run(seconds, done.returncode, done.stdout, done.stderr)


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
    from chorus.config import DEFAULTS

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


def write_build_sites(posts: int, work: Path) -> tuple[Path, Path]:
    """The same posts twice: curated post files for our site, plain HTML files for plain Pelican."""
    from chorus.config import DEFAULTS
    from chorus.entries import Entry, ParsedFeed
    from chorus.members import Member
    from chorus.sanitize import sanitize_html
    from chorus.store import CommunityStore, make_post

    ours, plain = work / "build-ours", work / "build-plain"
    for root in (ours, plain):
        for name in ("articles", "pages", "community"):
            (root / "content" / name).mkdir(parents=True, exist_ok=True)
    (ours / "content" / "members").mkdir()
    chorus_settings(ours)
    plain_settings(plain)

    settings = runpy.run_path(str(REPO / "pelicanconf.py"))
    category = settings.get("CHORUS_CURATED_CATEGORY", DEFAULTS["CHORUS_CURATED_CATEGORY"])
    store = CommunityStore(ours / "content" / "community", category)
    per_member = -(-posts // BUILD_MEMBERS)
    now = datetime.now(UTC)
    written = 0
    for index in range(1, BUILD_MEMBERS + 1):
        feed_url = f"{site_of(index)}feed.xml"
        write_member(ours / "content" / "members", index, [feed_url])
        member = Member(
            handle=handle_of(index),
            name=f"Member {index:04d}",
            site=site_of(index),
            feeds=(feed_url,),
            consent="full",
            trusted=True,
        )
        feed = ParsedFeed(
            url=feed_url, title=f"{member.handle}'s notebook", site=member.site, entries=()
        )
        plain_dir = plain / "content" / "community" / member.handle
        plain_dir.mkdir()
        for number in range(per_member):
            if written == posts:
                break
            raw = synthetic_entry(index, number, per_member)
            # What the parser hands on: sanitized, relative URLs made absolute against the link.
            body = sanitize_html(raw.html, raw.link)
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
            _, stored = store.write(post, None, published=True, now=now)
            # The same post for plain Pelican: Pelican metadata only, nothing of Chorus.
            meta = [
                ("date", raw.date.isoformat()),
                ("tags", ", ".join(raw.tags)),
                ("category", category),
                ("authors", member.name),
            ]
            lines = ["<html>", "<head>", f"<title>{html.escape(raw.title)}</title>"]
            lines += [f'<meta name="{k}" content="{html.escape(v)}">' for k, v in meta]
            lines += ["</head>", "<body>", body, "</body>", "</html>", ""]
            (plain_dir / stored.path.name).write_text("\n".join(lines), encoding="utf-8")
            written += 1
    return ours, plain


def bench_build(posts: int, work: Path, results: Results) -> None:
    print(f"build: writing {posts} posts for {BUILD_MEMBERS} members, twice")
    start = time.perf_counter()
    ours, plain = write_build_sites(posts, work)
    print(f"build: sites written in {time.perf_counter() - start:.1f} s")
    times: dict[str, list[float]] = {"plain": [], "ours": []}
    outputs: dict[str, Run] = {}
    for attempt in range(1, BUILD_RUNS + 1):
        for name, root in (("plain", plain), ("ours", ours)):
            shutil.rmtree(root / "output", ignore_errors=True)  # a full build, every time
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
    print("Packages: " + ", ".join(f"{k} {v}" for k, v in env["packages"].items()))
    for error in results.errors:
        print(f"ERROR: {error}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=500, help="feeds to fetch (default 500)")
    parser.add_argument("--posts", type=int, default=2000, help="posts to build (default 2000)")
    parser.add_argument("--only", choices=("fetch", "build"), help="run one benchmark only")
    options = parser.parse_args()
    if options.feeds < 1 or options.posts < 1:
        parser.error("--feeds and --posts must be positive")

    results = Results()
    env = environment()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="chorus-bench-") as temporary:
        work = Path(temporary)
        for name, bench, size in (
            ("fetch", bench_fetch, options.feeds),
            ("build", bench_build, options.posts),
        ):
            if options.only not in (None, name):
                continue
            try:
                bench(size, work, results)
            except Exception as error:  # report it, go on with the other benchmark
                results.errors.append(f"{name}: {error}")
                traceback.print_exc()
    total = time.perf_counter() - started

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
