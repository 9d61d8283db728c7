"""The scale run's build: a 10,000-post site, full builds, then rebuilds after one new post."""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

from bench_build import BuildSites
from harness import BIN, Results, Run, check, run, tree_details, warnings_in
from synthetic import SCALE_HTML_BYTES

SCALE_POSTS = 10_000
SCALE_BUILD_MEMBERS = 200  # 50 posts each
SCALE_BUILD_RUNS = 2  # full builds, then rebuilds (one new post before each); the best counts
TARGET_REBUILD_RATIO = 0.1  # issue 18: a rebuild that costs one post


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
            f"<= {TARGET_REBUILD_RATIO:g}" if ours else "",
            ratio <= TARGET_REBUILD_RATIO if ours else None,
            note=f"in CPU time {again[name].cpu_seconds:.1f} / {full[name].cpu_seconds:.1f} s = "
            f"{again[name].cpu_seconds / full[name].cpu_seconds:.2f}x; articles processed: "
            f"{', '.join(map(str, counts))}"
            + ("" if counts == expected else f" (expected {', '.join(map(str, expected))})"),
        )
    peak = tree_details(full["ours"]).get("peak_mb")
    results.add(
        f"scale build: Chorus site, peak memory of the full build of {sites.posts} posts",
        peak,
        "MB",
        note="summed resident memory of the pelican process tree, sampled every 50 ms",
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
