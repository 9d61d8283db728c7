"""The scale run's fetch: 2,000 feeds (2 % of them stalling) against a feedparser baseline."""

from __future__ import annotations

import io
import json
import multiprocessing
import os
import pstats
import time
from pathlib import Path
from typing import Any

from feedserver import LATENCY, FeedServer
from harness import BIN, Results, check, run, tree_details, warnings_in
from sitefiles import chorus_settings, write_member
from synthetic import SCALE_HTML_BYTES, feed_document, handle_of

SCALE_FEEDS = 2000
SCALE_ENTRIES = 20
SCALE_STALL_EVERY = 50  # every 50th feed stalls past the deadline: 2 %, 40 of 2,000
SCALE_FETCH_TIMEOUT = 10.0  # CHORUS_FETCH_TIMEOUT of the scale site (the default is 30 s)
TARGET_SCALE_RATIO = 0.5  # cold fetch / feedparser baseline
TARGET_SCALE_MEMORY_MB = 500.0
TARGET_SCALE_RERUN = 5.0

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


# Where the scale feeds' images are: a site that refuses connections (the discard port of
# this machine, closed), so that Chorus asks for one image and gives up on the rest, and the run
# measures fetching and parsing rather than how long the machine's resolver takes to fail.
IMAGES_AT = "http://127.0.0.1:9"


def write_scale_feed(job: tuple[int, str, int, int]) -> tuple[int, int, str]:
    """Write one member's scale feed to disk (run in a pool); (member, bytes, content type)."""
    member, directory, entries, html_bytes = job
    body, kind = feed_document(member, entries, html_bytes, rich=True, images_at=IMAGES_AT)
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
