"""The fetch benchmark: N feeds from a server that adds 100 ms per response, cold and all-304."""

from __future__ import annotations

from pathlib import Path

from feedserver import LATENCY, FeedServer
from harness import BIN, Results, check, run, snapshot, warnings_in
from sitefiles import chorus_settings, write_member
from synthetic import ENTRIES_PER_FEED, handle_of

TARGET_FETCH_COLD = 10.0
TARGET_FETCH_304 = 2.0


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
        "images fetched by the cold run (one per post, from the feed server)",
        cold_stats["images"],
        "images",
        f"= {expected}",
        cold_stats["images"] == expected,
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
