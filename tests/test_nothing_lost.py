"""A fetch killed at any moment (SIGKILL, for real) leaves no half-written file and no corrupt
state, and the next run completes the work exactly as an uninterrupted run would have."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import FeedServer, Site
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


# Curation under kills: twenty members (so feeds are parsed in worker processes), pairs of which
# share entries (same guid). The later member of each pair answers first and writes the shared
# posts; the earlier one, trusted, answers last and must take them over. A second fetch brings
# updates and new shared entries. A kill at any moment of either fetch, then a run to the end,
# must leave the tree an uninterrupted fetch leaves.
PAIRS = 10
KILLS = 12


def curation_feed(member: int, version: int) -> str:
    group = member % PAIRS
    own = [
        item(
            f"m{member}-{e}",
            title=f"Post {e} of m{member}" + (" (revised)" if version == 2 and e % 3 == 0 else ""),
            body="&lt;p&gt;" + "Heddle and shuttle. " * 20 + "&lt;/p&gt;",
        )
        for e in range(12 + 4 * (version - 1))
    ]
    shared = [
        item(
            f"shared-{group}-{k}",
            title=f"Shared {group}-{k} as m{member} has it" + " (v2)" * (version == 2),
            guid=f"tag:shared.example,2026:{group}-{k}",
        )
        for k in range(3 + 2 * (version - 1))
    ]
    return rss(*own, *shared).replace("blog.example", f"s{member}.example")


def curation_members(site: Site, server: FeedServer, version: int) -> None:
    for member in range(2 * PAIRS):
        # Earlier members (trusted) answer last, so later ones write the shared posts first.
        url = server.add(
            f"/v{version}/f{member}",
            curation_feed(member, version),
            stall=0.8 if member < PAIRS else 0.05 * (member % 4),
        )
        site.member(f"m{member:02d}", feeds=[url], trusted=member < PAIRS, consent="full")


def tree(site: Site) -> dict[str, bytes]:
    files = snapshot(site)
    state = site.community / "fetch-state.json"
    files["fetch-state.json"] = state.read_bytes() if state.exists() else b""
    return files


@pytest.fixture(scope="module")
def curation(tmp_path_factory):
    """Sites after each step of uninterrupted fetches, and how long each fetch took."""
    server = FeedServer()
    server.thread.start()
    base = Site(tmp_path_factory.mktemp("curation-base"))
    curation_members(base, server, 1)
    first = copy_site(base, tmp_path_factory.mktemp("curation-first"))
    started = time.monotonic()
    assert fetch(first).wait(timeout=120) == 0
    first_duration = time.monotonic() - started
    second = copy_site(first, tmp_path_factory.mktemp("curation-second"))
    curation_members(second, server, 2)
    started = time.monotonic()
    assert fetch(second).wait(timeout=120) == 0
    second_duration = time.monotonic() - started
    yield {
        "server": server,
        1: (base, tree(first), first_duration),
        2: (first, tree(second), second_duration),
    }
    server.close()


def copy_site(site: Site, root) -> Site:
    shutil.copytree(site.root, root, dirs_exist_ok=True)
    copy = Site(root)
    copy.overrides = dict(site.overrides)
    copy.write_settings()
    return copy


@pytest.mark.parametrize("step", [1, 2], ids=["first-fetch", "update-fetch"])
@pytest.mark.parametrize("moment", range(1, KILLS + 1))
def test_killed_curation_ends_as_an_uninterrupted_run(curation, tmp_path, step, moment):
    before, expected, duration = curation[step]
    site = copy_site(before, tmp_path)
    if step == 2:
        curation_members(site, curation["server"], 2)
    process = fetch(site)
    # Spread over the run: early kills land while fetching, later ones during curation.
    time.sleep(duration * moment / (KILLS + 1))
    os.kill(process.pid, signal.SIGKILL)  # the fetcher alone: its parsers must end by themselves
    process.wait(timeout=30)
    assert_consistent(site)

    finish = fetch(site)
    assert finish.wait(timeout=120) == 0, finish.stderr.read()
    assert not list(site.community.rglob(".*.tmp")), "temporary files left behind"
    assert not list(site.community.glob(".fetch-journal*")), "the journal outlived the run"
    found = tree(site)
    assert sorted(found) == sorted(expected)
    for name, content in expected.items():
        assert found[name] == content, name


def group_processes(group: int) -> list[int]:
    """The live (not zombie) processes of a process group."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue  # ended while we looked
        if fields[0] != "Z" and int(fields[2]) == group:
            found.append(int(stat.parent.name))
    return found


def parsers(group: int) -> list[int]:
    """The parser processes (multiprocessing workers) of a process group."""
    found = []
    for pid in group_processes(group):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"spawn_main" in command:
            found.append(pid)
    return found


def test_parser_processes_end_when_the_fetch_is_killed(site, feed_server):
    for n in range(20):  # enough feeds for parser processes; most answer late
        url = feed_server.add(f"/w{n}", rss(item(f"w{n}")), stall=0.0 if n == 0 else 30.0)
        site.member(f"w{n:02d}", feeds=[url])
    process = fetch(site)
    deadline = time.monotonic() + 60
    while not parsers(process.pid) and time.monotonic() < deadline:
        time.sleep(0.05)  # until the first feed's parser has started
    assert parsers(process.pid), "no parser process was started"
    os.kill(process.pid, signal.SIGKILL)  # the fetcher alone, as an OOM killer would
    process.wait(timeout=30)
    deadline = time.monotonic() + 10
    while group_processes(process.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = group_processes(process.pid)
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert not left, "parser processes outlived the fetch"


# Images are fetched after the run has saved its state: a post a killed run wrote is one the
# next run finds unchanged (the feed answers 304, or the same entry again), and would keep its
# images on the member's site for good if nothing remembered that they are still to be fetched.


def image_post(server: FeedServer, slug: str, image: str) -> str:
    picture = f'&lt;img src="{server.url(image)}" alt="A swatch"&gt;'
    return item(slug, body=f"&lt;p&gt;{picture}&lt;/p&gt;")


def wait_until(predicate, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while not predicate():
        assert process.poll() is None, "the fetch ended before the moment to kill it"
        assert time.monotonic() < deadline
        time.sleep(0.002)


@pytest.mark.parametrize("moment", ["fetching-images", "before-the-state-is-saved"])
def test_a_killed_fetch_leaves_its_posts_images_to_the_next_run(site, feed_server, moment):
    from test_media import picture

    site.write_settings(CHORUS_FETCH_IMAGES=True)
    feed_server.add("/img/first.png", picture(color="blue"))
    feed_server.add("/img/second.png", picture(color="green"), stall=30)
    ada = feed_server.add("/ada.xml", rss(image_post(feed_server, "first", "/img/first.png")))
    bob = feed_server.add("/bob.xml", rss(item("bob-writes")), etag='"b1"')
    site.member("ada", feeds=[ada], trusted=True, consent="full")
    site.member("bob", feeds=[bob], trusted=True, consent="full")
    if moment == "before-the-state-is-saved":
        # A first run to the end; then ada's post is updated with a new image, and the run
        # killed once it is rewritten, while bob's feed holds the run (and its state) back.
        assert fetch(site).wait(timeout=60) == 0
        feed_server.routes["/img/second.png"].stall = 0
        updated = rss(image_post(feed_server, "first", "/img/second.png"))
        feed_server.add("/ada.xml", updated)
        feed_server.add("/bob.xml", rss(item("bob-writes")), stall=30)
        [post] = site.posts("ada")
        process = fetch(site)
        wait_until(lambda: "second.png" in post.read_text(), process)
    else:
        # The second image stalls: the run is killed while it waits for it, its state saved.
        feed_server.add(
            "/ada.xml",
            rss(
                image_post(feed_server, "first", "/img/first.png"),
                image_post(feed_server, "second", "/img/second.png"),
            ),
        )
        process = fetch(site)
        wait_until(lambda: feed_server.hits("/img/second.png"), process)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    for route in feed_server.routes.values():
        route.stall = 0
    # What a kill while an image or an avatar was being written leaves beside them.
    left = [
        site.content / "images" / "community" / "ab" / ".abcd.png.x1y2.tmp",
        site.content / "images" / "avatars" / ".0123-64.png.z3w4.tmp",
    ]
    for path in left:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"\x89PNG half")

    finish = fetch(site)
    assert finish.wait(timeout=60) == 0, finish.stderr.read()
    kept = {p.name for p in (site.content / "images" / "community").rglob("*.png")}
    for post in site.posts("ada"):
        text = post.read_text().partition("</head>")[2]
        assert feed_server.base not in text, f"{post.name} still shows an image from its site"
        [source] = re.findall(r'<img[^>]*src="([^"]+)"', text)
        assert Path(source).name in kept
    assert not list(site.community.glob(".images-pending*")), "the list outlived the images"
    assert not any(path.exists() for path in left), "temporary files left behind"


def test_a_fetch_killed_once_its_state_is_saved_leaves_no_unfinished_work(site, feed_server):
    """Killed in the moment between saving its state and forgetting its journal, a run has
    finished: the next run must not take its posts for an interrupted run's, and give a post
    shared with a member who lists it only now to them (as it would have in the same run)."""
    shared = item("a-joint-post", guid="https://joint.example/a-joint-post/")
    ada = feed_server.add("/ada.xml", rss(item("ada-alone")), etag='"a1"')
    bob = feed_server.add("/bob.xml", rss(shared), etag='"b1"')
    site.member("ada", feeds=[ada], trusted=True, consent="full")
    site.member("bob", feeds=[bob], trusted=True, consent="full")
    killed_after_saving = (
        "import os, signal, sys\n"
        "from chorus.fetch import store\n"
        "store.CommunityStore.finish_journal = lambda *a, **k: os.kill(os.getpid(), 9)\n"
        "from chorus.cli.main import main\n"
        "main(sys.argv[1:])\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", killed_after_saving, "--settings", str(site.settings_file), "fetch"],
        cwd=site.root,
        capture_output=True,
        check=False,
    )
    assert run.returncode == -signal.SIGKILL
    assert list(site.community.glob(".fetch-journal*")), "killed before it forgot its journal"
    [bobs] = site.posts("bob")

    # Now ada lists the same post: bob's since the last run, it stays bob's.
    feed_server.add("/ada.xml", rss(item("ada-alone"), shared), etag='"a2"')
    finish = fetch(site)
    assert finish.wait(timeout=60) == 0, finish.stderr.read()
    assert site.posts("bob") == [bobs] and bobs.is_file()
    assert [post.name.startswith("ada-alone") for post in site.posts("ada")] == [True]
    assert not list(site.community.glob(".fetch-journal*"))
