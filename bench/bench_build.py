"""The build benchmark: the same posts built by our site and by plain Pelican, no caches."""

from __future__ import annotations

import html
import runpy
import shutil
import statistics
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from harness import BIN, REPO, Results, Run, check, run, warnings_in
from sitefiles import chorus_settings, plain_settings, write_member
from synthetic import (
    BASE_DATE,
    ENTRY_HTML_BYTES,
    SyntheticEntry,
    handle_of,
    site_of,
    synthetic_entry,
)

BUILD_MEMBERS = 50
BUILD_RUNS = 5  # per site, alternating; the best of them counts, as timeit does
TARGET_BUILD_RATIO = 0.8  # issue 18: Chorus's richer pages in less time than Pelican's own


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
