"""The command line: help everywhere, approve, and errors that say what to do."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import click
import pytest

from chorus.cli.main import main


def subcommand(group: click.Group, name: str) -> click.Command:
    command = group.get_command(click.Context(group), name)
    assert command is not None, name
    return command


def all_commands(group: click.Group, prefix: tuple[str, ...] = ()):
    for name in group.list_commands(click.Context(group)):
        yield (*prefix, name)
        command = subcommand(group, name)
        if isinstance(command, click.Group):
            yield from all_commands(command, (*prefix, name))


@pytest.mark.parametrize("path", [(), *all_commands(main)], ids=lambda p: " ".join(p) or "chorus")
def test_every_command_has_help_with_a_summary(path):
    result = subprocess.run(
        [sys.executable, "-m", "chorus", *path, "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Usage: " in result.stdout
    command = main
    for name in path:
        command = subcommand(command, name)
    assert command.help and command.help.strip(), f"chorus {' '.join(path)} has no help"


@pytest.mark.parametrize("command", ["build", "fetch"])
def test_a_command_loads_only_what_it_needs(command):
    # What a scheduled job runs pays no start-up for the importers, the HTTP client of the
    # members' commands or the newsletter's mail libraries.
    loaded = subprocess.run(
        [sys.executable, "-c",
         "import sys; from chorus.cli.main import main\n"
         f"try: main([{command!r}, '--help'])\n"
         "except SystemExit: print(' '.join(sorted(sys.modules)))"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert f"chorus.cli.{command}" in loaded
    unneeded = {"bs4", "chorus.cli.newsletter", "chorus.onboarding.importers", "smtplib"}
    assert not unneeded & set(loaded)


def test_the_installed_command_runs():
    from shutil import which

    chorus = which("chorus") or str(__import__("pathlib").Path(sys.executable).with_name("chorus"))
    result = subprocess.run([chorus, "--version"], capture_output=True, text=True, check=True)
    assert result.stdout.startswith("chorus, version")


def test_missing_settings_file_says_what_to_do(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "chorus",
            "--settings",
            str(tmp_path / "nope.py"),
            "members",
            "check",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "no settings file" in result.stderr and "--settings" in result.stderr


def test_unknown_chorus_setting_is_refused(site, cli):
    site.write_settings(CHORUS_FETCH_TIMOUT=3)
    result = cli("members", "check", expect=2)
    assert (
        "unknown setting CHORUS_FETCH_TIMOUT (did you mean CHORUS_FETCH_TIMEOUT?)" in result.output
    )


def test_approve_lists_and_publishes_drafts(site, feed_server, cli):
    rss = (
        '<rss version="2.0"><channel><title>t</title><link>https://b.example/</link>'
        "<item><title>One</title><link>https://b.example/1</link></item>"
        "<item><title>Two</title><link>https://b.example/2</link></item>"
        "</channel></rss>"
    )
    site.member("ada", feeds=[feed_server.add("/a", rss)])
    site.member("bob", feeds=[feed_server.add("/b", rss.replace("b.example", "c.example"))])
    cli("fetch")
    listing = cli("approve").output
    assert "4 drafts waiting" in listing and "community/ada/one-" in listing

    [bob_first, bob_second] = site.posts("bob")
    cli("approve", str(bob_first))
    assert "3 drafts waiting" in cli("approve").output
    cli("approve", "ada")
    assert "1 draft waiting" in cli("approve").output
    unknown = cli("approve", "nobody", expect=1)
    assert "no draft matches nobody" in unknown.output
    cli("approve", "--all")
    assert "No drafts are waiting" in cli("approve").output
    assert 'content="published"' in bob_second.read_text()


def test_serve_builds_and_serves_the_site(site, tmp_path):
    import socket
    import time
    import urllib.request

    site.member("ada", feeds=["https://ada.example/feed.xml"])
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [
        sys.executable,
        "-m",
        "chorus",
        "--settings",
        str(site.settings_file),
        "serve",
        "--port",
        str(port),
    ]
    # Its own process group: Pelican's autoreloading server runs the listener in a child.
    server = subprocess.Popen(
        command,
        cwd=site.root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/members/ada/") as page:
                    assert "Ada" in page.read().decode()
                    break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.2)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)
