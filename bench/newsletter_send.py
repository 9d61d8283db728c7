"""How fast `chorus newsletter send` can go over one SMTP connection to a local server.

The demo issue (content/newsletter/0001.md) is rendered as for publishing and sent, one
personalised copy per address, to an aiosmtpd server on 127.0.0.1 that accepts everything,
with no rate limit: what is measured is Chorus's own cost per message (building the copy,
SMTP round trips, the ledger line forced to disk), the ceiling under any real server's.

    .venv/bin/python bench/newsletter_send.py              # 2,000 addresses
    .venv/bin/python bench/newsletter_send.py --count 500

Reported, never asserted; runs by hand (the numbers are in README.md, "Sending over SMTP").
"""

from __future__ import annotations

import argparse
import shutil
import socket
import sys
import tempfile
import time
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from pelican.settings import read_settings

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "plugins"))

from chorus.members.registry import load_registry  # noqa: E402 (after the path is set)
from chorus.newsletter.email import build_message, from_address, render  # noqa: E402
from chorus.newsletter.issue import load_issues  # noqa: E402
from chorus.newsletter.send import (  # noqa: E402
    Ledger,
    SmtpSettings,
    Subscriber,
    envelope_sender,
    send_issue,
)
from chorus.newsletter.settings import NewsletterConfig  # noqa: E402

SITE_URL = "https://loom.example"


class Sink:
    """Accepts every message and counts it."""

    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.count += 1
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=2000, help="addresses to send to")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        root = Path(temporary)
        shutil.copytree(REPO / "content", root / "content")
        settings_file = root / "pelicanconf.py"
        settings_file.write_text(
            "import runpy\n"
            f"globals().update({{k: v for k, v in runpy.run_path({str(REPO / 'pelicanconf.py')!r})"
            ".items() if k.isupper()})\n"
            f"THEME = {str(REPO / 'theme')!r}\nPATH = 'content'\n"
            f"SITEURL = {SITE_URL!r}\nRELATIVE_URLS = False\n"
            "CHORUS_NEWSLETTER_UNSUBSCRIBE_URL = "
            "'https://lists.loom.example/unsubscribe?address={email}'\n",
            encoding="utf-8",
        )
        settings = read_settings(str(settings_file))
        settings["PATH"] = str(root / "content")
        config = NewsletterConfig.from_settings(settings)
        issues, _ = load_issues(config.issues_dir)
        registry = load_registry(config.members_dir, content_dir=config.content_dir)
        rendered = render(issues[0], registry.members, config, site_url=SITE_URL)
        now = datetime.now(UTC)
        subscribers = [Subscriber(f"reader{n}@example.org") for n in range(arguments.count)]

        def make(subscriber: Subscriber) -> EmailMessage:
            return build_message(
                rendered, config, site_url=SITE_URL, to=subscriber.address, date=now
            )

        started = time.perf_counter()
        size = len(make(subscribers[0]).as_bytes())
        for subscriber in subscribers[:200]:
            make(subscriber).as_bytes()
        build_ms = (time.perf_counter() - started) / 201 * 1000

        sink = Sink()
        port = free_port()
        controller = Controller(sink, hostname="127.0.0.1", port=port)
        controller.start()
        try:
            started = time.perf_counter()
            report = send_issue(
                subscribers,
                Ledger(root / "ledger", 1),
                make_message=make,
                envelope_from=envelope_sender(from_address(config, SITE_URL)),
                smtp=SmtpSettings("127.0.0.1", port, "none"),
                rate=1e9,
            )
            elapsed = time.perf_counter() - started
        finally:
            controller.stop()
    assert report.complete and sink.count == arguments.count, report
    rate = arguments.count / elapsed
    print(f"message: {size / 1000:.1f} KB, built in {build_ms:.1f} ms")
    print(
        f"sent {arguments.count} over one connection in {elapsed:.1f} s: {rate:.0f} messages/s "
        f"({elapsed / arguments.count * 1000:.1f} ms each, ledger fsync included)"
    )
    print(f"10,000 addresses at this rate: {10_000 / rate / 60:.1f} minutes")


if __name__ == "__main__":
    main()
