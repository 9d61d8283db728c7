"""A new user's first hour: `make site` leaves git clean, `chorus serve` behaves like a web
server, and the fetch report and `chorus approve` say what is waiting for review."""

from __future__ import annotations

import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from rich.console import Console

import chorus.cli.fetch
from sites import REPO, write_site_settings

RSS = (
    '<rss version="2.0"><channel><title>t</title><link>https://{host}/</link>'
    "<item><title>{title}</title><link>https://{host}/1</link></item>"
    "</channel></rss>"
)


def git(root: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", "-c", "user.name=T", "-c", "user.email=t@t.example", *args],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def test_make_site_on_a_fresh_clone_leaves_git_status_clean(tmp_path):
    """`make site` in miniature on a copy of the demo as committed (posts and fetch state):
    fetching the unchanged sample feeds on another day and building change no tracked file."""
    root = tmp_path / "demo"
    shutil.copytree(REPO / "content", root / "content")
    shutil.copy(REPO / ".gitignore", root / ".gitignore")
    settings_file = write_site_settings(root)
    git(root, "init", "--quiet")
    git(root, "add", ".")
    git(root, "commit", "--quiet", "-m", "demo")
    state = (root / "content" / "community" / "fetch-state.json").read_text()
    assert '"last_success": "' in state  # a day that is not today: the commit is older

    # In processes of their own, as `make site` runs them: --strict makes Pelican's logging
    # fatal for the rest of the process.
    for command in (["fetch", "--no-progress"], ["build", "--strict"]):
        done = run_chorus("--settings", str(settings_file), *command, cwd=root)
        assert done.returncode == 0, done.stdout + done.stderr
    assert (root / "output" / "index.html").is_file()
    assert git(root, "status", "--porcelain") == ""


def run_chorus(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "CHORUS_SETTINGS"}
    return subprocess.run(
        [sys.executable, "-m", "chorus", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("command", ["build", "serve", "members"])
def test_build_and_serve_outside_a_site_give_the_one_line_error(tmp_path, command):
    args = [command, "check"] if command == "members" else [command]
    result = run_chorus(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    [line] = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert line.startswith("Error: no settings file at pelicanconf.py") and "--settings" in line


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_serve_answers_a_missing_page_with_the_404_page_and_refuses_a_busy_port(site):
    site.member("ada", feeds=["https://ada.example/feed.xml"])
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "chorus", "serve", "--port", str(port)],
        cwd=site.root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not (site.output / "404.html").is_file():
            assert time.monotonic() < deadline and server.poll() is None
            time.sleep(0.2)
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/no/such/page/")
        assert missing.value.code == 404
        page = BeautifulSoup(missing.value.read().decode(), "html.parser")
        assert page.find("base")["href"] == "/"  # its relative links work at any depth
        assert page.find("link", rel="stylesheet")["href"] == "./theme/css/style.css"
        assert "not found" in page.title.get_text().lower()

        busy = run_chorus("serve", "--port", str(port), cwd=site.root)
        assert busy.returncode == 1
        assert f"cannot serve on 127.0.0.1:{port}" in busy.stderr
        assert f"--port {port + 1}" in busy.stderr
    finally:
        os.killpg(server.pid, signal.SIGINT)
        server.wait(timeout=20)


def test_the_fetch_report_says_which_new_posts_are_drafts(site, feed_server, cli):
    site.member("m37", feeds=[feed_server.add("/37", RSS.format(host="b.example", title="B"))])
    site.member("m4", feeds=[feed_server.add("/4", RSS.format(host="a.example", title="A"))])
    site.member(
        "m5", trusted=True, feeds=[feed_server.add("/5", RSS.format(host="c.example", title="C"))]
    )
    output = cli("fetch").output
    lines = output.splitlines()
    # Natural order: m4, m5, then m37, in the table and in the list of files.
    table = [line.split()[0] for line in lines if line.split()[:1] in (["m4"], ["m5"], ["m37"])]
    assert table == ["m4", "m5", "m37"]
    new = [line.split()[1] for line in lines if line.strip().startswith("new ")]
    assert [path.split("/")[1] for path in new] == ["m4", "m5", "m37"]
    drafts = [line for line in lines if "(draft)" in line]
    assert len(drafts) == 2 and not any("/m5/" in line for line in drafts)
    said = " ".join(output.split())
    assert "2 of the new posts are drafts waiting for review" in said
    assert "chorus approve" in said


def test_approve_lists_drafts_with_titles_in_natural_order(site, feed_server, cli):
    hostile = "Looms \x1b[31mred\x1b[0m &amp; [bold]weft[/bold]"
    site.member("m37", feeds=[feed_server.add("/37", RSS.format(host="b.example", title="Two"))])
    site.member("m4", feeds=[feed_server.add("/4", RSS.format(host="a.example", title=hostile))])
    cli("fetch")
    lines = cli("approve").output.splitlines()
    assert lines[0].startswith("Looms [31mred[0m & [bold]weft[/bold]  m4 · ")
    assert "\x1b" not in "".join(lines)
    assert lines[1].strip().startswith(str(site.community / "m4"))
    assert lines[2].startswith("Two  m37 · ")
    assert lines[-1].startswith("2 drafts waiting for review.")

    cli("approve", "--all")
    assert cli("approve").output == "No drafts are waiting for review.\n"


def test_the_progress_bar_keeps_its_width(monkeypatch):
    widths = []
    for url in ("https://a.example/f", "https://" + "long" * 40 + ".example/feed.xml"):
        shown = io.StringIO()
        monkeypatch.setattr(chorus.cli.fetch, "errors", Console(file=shown, width=100))
        bar = chorus.cli.fetch.fetch_progress(disable=False)
        task = bar.add_task("", total=10)
        bar.update(task, advance=3, description=url)
        out = io.StringIO()
        Console(file=out, width=100, color_system=None).print(bar.get_renderable())
        [line] = out.getvalue().splitlines()  # one line, however long the URL
        assert line.startswith("Fetching ")
        widths.append(len(line.removeprefix("Fetching ").split(" 3/10")[0]))
    assert widths[0] == widths[1] >= 40
