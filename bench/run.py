"""Chorus benchmarks: fetch feeds from a local server, build sites against Pelican, and scale.

The peers: pelican-feed-planet and pelican-aio-planet against Chorus on the same 50 feeds.
The scale run: 2,000 feeds (2 % of them stalling) against a feedparser baseline, and a
10,000-post site rebuilt after one new post with Pelican's content cache.

Run with ``make bench`` (or ``.venv/bin/python bench/run.py --help``). Everything runs on
127.0.0.1 in a temporary directory; the numbers are reported, never asserted. The script prints a
table, writes bench/results/latest.json and exits 0 unless something crashed (a subprocess failed
or a server did not start). See bench/README.md for what each measurement means.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import traceback
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench_build import bench_build
from bench_fetch import bench_fetch
from bench_peers import bench_peers
from bench_scale_build import SCALE_POSTS, bench_scale_build
from bench_scale_fetch import SCALE_FEEDS, bench_scale_fetch
from harness import REPO, Results, environment, print_table

RESULTS = REPO / "bench" / "results" / "latest.json"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=500, help="feeds to fetch (default 500)")
    parser.add_argument("--posts", type=int, default=2000, help="posts to build (default 2000)")
    parser.add_argument(
        "--only",
        choices=("fetch", "build", "peers", "scale", "scale-fetch", "scale-build"),
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
            ("peers", lambda: bench_peers(work, results)),
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
