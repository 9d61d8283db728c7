"""A fetch killed at any moment (SIGKILL, for real) leaves no half-written file and no corrupt
state, and the next run completes the work exactly as an uninterrupted run would have."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import Site
from test_fetch import item, rss

FEEDS = 24
ENTRIES = 40


def populate(site: Site, feed_server) -> None:
    for n in range(FEEDS):
        entries = [
            item(f"p{n}-{e}", body="&lt;p&gt;" + "Warp and weft. " * 40 + "&lt;/p&gt;")
            for e in range(ENTRIES)
        ]
        url = feed_server.add(
            f"/f{n}", rss(*entries).replace("blog.example", f"s{n}.example"), stall=0.05
        )
        site.member(f"m{n:02d}", feeds=[url], trusted=True, consent="full")


def fetch(site: Site) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "chorus",
        "--settings",
        str(site.settings_file),
        "fetch",
        "--no-progress",
    ]
    return subprocess.Popen(
        command,
        cwd=site.root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def snapshot(site: Site) -> dict[str, bytes]:
    return {
        str(p.relative_to(site.community)): p.read_bytes()
        for p in sorted(site.community.rglob("*.html"))
    }


def assert_consistent(site: Site) -> None:
    for path in site.community.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        assert text.startswith("<html>") and text.endswith("</html>\n"), f"half-written {path}"
    state = site.community / "fetch-state.json"
    if state.exists():
        json.loads(state.read_text())  # never half a JSON document


@pytest.fixture
def reference(tmp_path_factory, feed_server) -> dict[str, bytes]:
    """What an uninterrupted run writes."""
    site = Site(tmp_path_factory.mktemp("reference"))
    populate(site, feed_server)
    assert fetch(site).wait(timeout=120) == 0
    return snapshot(site)


def kill_when(process: subprocess.Popen, site: Site, written: int) -> None:
    """SIGKILL the fetcher (and its parser processes) once ``written`` posts exist on disk."""
    deadline = time.monotonic() + 60
    while process.poll() is None and time.monotonic() < deadline:
        if written == 0 or sum(1 for _ in site.community.glob("*/*.html")) >= written:
            os.killpg(process.pid, signal.SIGKILL)
            break
        time.sleep(0.002)
    process.wait(timeout=30)


@pytest.mark.parametrize(
    "written",
    [0, 1, FEEDS * ENTRIES // 2, FEEDS * ENTRIES - 1],
    ids=["while-fetching", "first-post", "half-the-posts", "last-post"],
)
def test_killed_fetch_loses_nothing(site, feed_server, reference, written):
    populate(site, feed_server)
    process = fetch(site)
    if written == 0:
        time.sleep(0.5)  # requests are in flight, nothing is written yet
    kill_when(process, site, written)
    assert_consistent(site)
    assert process.returncode == -signal.SIGKILL  # it really died mid-run
    assert sum(1 for _ in site.community.glob("*/*.html")) >= written

    finish = fetch(site)
    assert finish.wait(timeout=120) == 0, finish.stderr.read()
    assert not list(site.community.rglob(".*.tmp")), "temporary files left behind"
    assert snapshot(site) == reference
