"""The peers benchmark: the planet plugins and Chorus on the same feeds, as a scheduled job runs.

50 members' Atom feeds of 20 entries each, from the feed server (100 ms per response). Timed,
three times, interleaved (so that a slow moment of the machine hits every one of them), the
median counting:

- plain Pelican with no feeds, for reference;
- pelican-feed-planet and pelican-aio-planet, each a `pelican` run that fetches every feed and
  writes one planet page (their only way of working: they fetch on every build);
- Chorus into an empty repository: `chorus fetch` + `chorus build`, every page; each post's
  image is on the feed server, so the first fetch fetches 1,000 images as a real one would;
- plain Pelican building the 1,000 post files that fetch wrote (its default theme): what a page
  per post costs Pelican itself, before any of Chorus's work;
- Chorus with nothing changed (every feed answers 304): fetch + build, and the fetch alone, which
  is all the scheduled workflow runs then (it skips the build when git has nothing new);
- Chorus with one new post in one feed: fetch + build.

Chorus runs with the settings a new site has: the render cache and Pelican's content cache
are kept in the site's ``cache/`` between runs, and the output too. The empty repository starts
with neither.

The plugins are installed from the package index into a virtual environment of the benchmark's
own, ``bench/.venv-peers`` (made on first use), never into the project's. When that fails (no
index reachable), the peers are reported as missing and the Chorus rows are still measured.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from feedserver import LATENCY, ORIGIN, FeedServer
from harness import BIN, REPO, Results, Run, check, run
from sitefiles import chorus_settings, write_member
from synthetic import feed_document, handle_of, synthetic_entry

PEER_FEEDS = 50
PEER_ENTRIES = 20
PEER_RUNS = 3  # interleaved; the median counts
PEER_POSTS = PEER_FEEDS * PEER_ENTRIES
PEERS_VENV = REPO / "bench" / ".venv-peers"
# The versions the issue measured; pinned so that runs compare.
PEER_PACKAGES = {
    "pelican-feed-planet": ("pelican-feed-planet==0.26.0", "pelican_planet"),
    "pelican-aio-planet": ("pelican-aio-planet==0.10.2", "pelican.plugins.aio_planet"),
}
TARGET_COLD = 1.0  # Chorus into an empty repository / aio-planet
TARGET_ONE_NEW = 0.5  # Chorus after one new post / aio-planet
FLOOR = f"plain Pelican, the {PEER_POSTS:,} posts Chorus fetched (default theme)"

# The planet page both plugins render (an HTML page: the peers' environment has no Markdown).
PLANET_TEMPLATE = """<html><head><title>Planet</title></head><body>
{% for article in articles %}
<h2><a href="{{ article.link }}">{{ article.title }}</a></h2>
<p>{{ article.feed_name }}, {{ article.updated }}</p>
<div>{{ article.summary }}</div>
{% endfor %}
</body></html>
"""


def install_peers() -> tuple[Path | None, str]:
    """The peers' environment (made and filled on first use); (its python or None, a note)."""
    python = PEERS_VENV / "bin" / "python"
    marker = PEERS_VENV / ".installed"
    wanted = "\n".join(spec for spec, _ in PEER_PACKAGES.values())
    if marker.exists() and marker.read_text() == wanted:
        return python, "already installed"
    shutil.rmtree(PEERS_VENV, ignore_errors=True)
    steps = [
        [sys.executable, "-m", "venv", str(PEERS_VENV)],
        [str(python), "-m", "pip", "install", "--quiet", *wanted.split("\n")],
    ]
    for step in steps:
        try:
            done = subprocess.run(step, capture_output=True, text=True, timeout=600)
        except (OSError, subprocess.TimeoutExpired) as error:
            return None, f"{' '.join(step[:4])}: {error}"
        if done.returncode != 0:
            tail = " ".join((done.stdout + done.stderr).split()[-40:])
            return None, f"{' '.join(step[:4])} exited with {done.returncode}: {tail}"
    marker.write_text(wanted)
    return python, "installed now"


def peer_site(root: Path, plugin: str | None, feeds: dict[str, str]) -> Path:
    """A plain Pelican site (default theme) whose build runs ``plugin`` over ``feeds``."""
    (root / "content" / "pages").mkdir(parents=True)
    settings: dict[str, object] = {
        "PATH": "content",
        "OUTPUT_PATH": "output",
        "TIMEZONE": "UTC",
        "CACHE_CONTENT": False,
        "PLUGINS": [plugin] if plugin else [],
    }
    if plugin:
        (root / "planet.html.tmpl").write_text(PLANET_TEMPLATE, encoding="utf-8")
        settings |= {
            "PLANET_FEEDS": feeds,
            "PLANET_TEMPLATE": "planet.html.tmpl",
            "PLANET_PAGE": "content/pages/planet.html",
            # The synthetic entries are from 2025: aio-planet leaves out what is older than
            # 180 days unless told otherwise.
            "PLANET_MAX_AGE_IN_DAYS": 100_000,
        }
    path = root / "pelicanconf.py"
    path.write_text("".join(f"{k} = {v!r}\n" for k, v in settings.items()), encoding="utf-8")
    return path


def bench_peers(work: Path, results: Results) -> None:
    base = work / "peers"
    feeds_dir = base / "feeds"
    feeds_dir.mkdir(parents=True)
    served: dict[str, tuple[str, str]] = {}
    for index in range(1, PEER_FEEDS + 1):
        body, kind = feed_document(index, PEER_ENTRIES, atom=True, images_at=ORIGIN)
        file = feeds_dir / f"{handle_of(index)}.xml"
        file.write_bytes(body)
        served[f"/feeds/{handle_of(index)}.xml"] = (str(file), kind)
    first_feed = feeds_dir / f"{handle_of(1)}.xml"
    original_first = first_feed.read_bytes()
    newest = synthetic_entry(1, PEER_ENTRIES, PEER_ENTRIES, images_at=ORIGIN)
    newest = replace(newest, date=synthetic_entry(1, 0, PEER_ENTRIES).date + timedelta(hours=1))
    with_new_post = feed_document(1, PEER_ENTRIES, atom=True, extra=(newest,), images_at=ORIGIN)[0]

    python, install_note = install_peers()
    print(f"peers: the plugins' environment: {install_note}")
    times: dict[str, list[Run]] = {}

    def timed(name: str, *runs: Run) -> None:
        total = Run(sum(r.seconds for r in runs), 0, "", "", sum(r.cpu_seconds for r in runs), None)
        times.setdefault(name, []).append(total)
        print(f"peers: {name}: {total.seconds:.2f} s (CPU {total.cpu_seconds:.2f} s)")

    with FeedServer(served) as server:
        urls = {f"Member {i:04d}": f"{server.base}/feeds/{handle_of(i)}.xml" for i in served_ids()}
        peers: dict[str, tuple[Path, str | None]] = {"plain Pelican, no feeds": (BIN, None)}
        if python is not None:
            for name, (_, plugin) in PEER_PACKAGES.items():
                peers[name] = (python.parent, plugin)
        for attempt in range(1, PEER_RUNS + 1):
            print(f"peers: round {attempt}/{PEER_RUNS}")
            for name, (bin_dir, plugin) in peers.items():
                root = base / f"{name.split()[0]}-{attempt}"
                peer_site(root, plugin, urls)
                # aio-planet keeps the responses in ~/.cache: a home of its own, empty, each run.
                home = root / "home"
                home.mkdir()
                command = [str(bin_dir / "pelican"), "-s", "pelicanconf.py"]
                timed(name, check(run(command, root, env={"HOME": str(home)}), f"{name} build"))

            root = base / f"chorus-{attempt}"
            content = root / "content"
            for directory in ("members", "community", "articles", "pages"):
                (content / directory).mkdir(parents=True)
            for index in served_ids():
                write_member(content / "members", index, [urls[f"Member {index:04d}"]])
            settings = chorus_settings(root)
            server.stats(reset=True)
            cold = fetch_and_build(settings, "empty repository")
            timed("Chorus, empty repository: fetch + build", *cold)
            images = server.stats(reset=True)["images"]
            if images != PEER_POSTS:
                results.errors.append(
                    f"peers: the first fetch asked for {images} images, not "
                    f"{PEER_POSTS} (one per post)"
                )
            floor = base / f"plain-posts-{attempt}"
            peer_site(floor, None, {})
            for post in (content / "community").glob("*/*.html"):
                shutil.copy(post, floor / "content" / post.name)
            command = [str(BIN / "pelican"), "-s", "pelicanconf.py"]
            timed(FLOOR, check(run(command, floor), "plain Pelican over the fetched posts"))
            unchanged = fetch_and_build(settings, "nothing changed")
            not_modified = server.stats(reset=True)["304"]
            timed("Chorus, nothing changed: fetch + build", *unchanged)
            timed("Chorus, nothing changed: the fetch alone (what the workflow runs)", unchanged[0])
            first_feed.write_bytes(with_new_post)
            server.control(reload="1")
            try:
                one_new = fetch_and_build(settings, "one new post")
            finally:
                first_feed.write_bytes(original_first)
                server.control(reload="1")
            timed("Chorus, one new post: fetch + build", *one_new)
            if not_modified != PEER_FEEDS:
                results.errors.append(
                    f"peers: the nothing-changed fetch got {not_modified} answers 304, "
                    f"not {PEER_FEEDS}"
                )

    medians = {name: statistics.median(r.seconds for r in runs) for name, runs in times.items()}
    cpu = {name: statistics.median(r.cpu_seconds for r in runs) for name, runs in times.items()}
    aio = medians.get("pelican-aio-planet")
    targets = {
        "Chorus, empty repository: fetch + build": TARGET_COLD,
        "Chorus, one new post: fetch + build": TARGET_ONE_NEW,
    }
    if python is None:
        results.add(
            "peers: pelican-feed-planet, pelican-aio-planet",
            None,
            "",
            "installed",
            False,
            note=f"not installed from the package index, so not measured: {install_note}",
        )
    for name, seconds in medians.items():
        ratio = seconds / aio if aio else None
        target = targets.get(name)
        results.add(
            f"peers ({PEER_FEEDS} Atom feeds x {PEER_ENTRIES}, median of {PEER_RUNS}): {name}",
            round(seconds, 2),
            "s",
            f"<= {target:g}x aio-planet" if target and aio else "",
            (ratio <= target) if target and ratio is not None else None,
            note=f"CPU {cpu[name]:.2f} s"
            + (f"; {ratio:.2f}x pelican-aio-planet" if ratio is not None else ""),
        )
    results.details["peers"] = {
        "feeds": PEER_FEEDS,
        "entries_per_feed": PEER_ENTRIES,
        "latency_s": LATENCY,
        "runs": PEER_RUNS,
        "install": install_note,
        "packages": [spec for spec, _ in PEER_PACKAGES.values()],
        "seconds": {name: [r.seconds for r in runs] for name, runs in times.items()},
        "cpu_seconds": {name: [r.cpu_seconds for r in runs] for name, runs in times.items()},
        "median_s": medians,
        "median_cpu_s": cpu,
        "vs_aio_planet": {name: s / aio for name, s in medians.items()} if aio else None,
    }


def fetch_and_build(settings: Path, what: str) -> tuple[Run, Run]:
    """`chorus fetch` then `chorus build` in the site of ``settings``, as a scheduled job."""
    chorus = [str(BIN / "chorus"), "--settings", str(settings)]
    root = settings.parent
    fetched = check(run([*chorus, "fetch", "--no-progress"], root), f"chorus fetch ({what})")
    built = check(run([*chorus, "build"], root), f"chorus build ({what})")
    return fetched, built


def served_ids() -> range:
    return range(1, PEER_FEEDS + 1)
