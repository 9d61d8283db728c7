"""Shared by the newsletter tests: a community site set up to publish and send an issue."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chorus.newsletter.issue import update_issue

SITE_URL = "https://loom.example"
UNSUBSCRIBE = "https://lists.loom.example/unsubscribe?address={email}"
INTRO = """Welcome to issue one. Ada and Bob wrote about looms this week, and
[the archive](https://loom.example/archives.html) has everything older.
"""
# The community fixture's posts are dated 2 and 3 November 2026: an issue of 9 November covers
# the week from 2 to 8 November.
ISSUE_DATE = "2026-11-09"


def publish(site: Any, **settings: Any) -> None:
    """Settings as for deployment (absolute https URLs), plus ``settings``."""
    defaults = {
        "SITEURL": SITE_URL,
        "FEED_DOMAIN": SITE_URL,
        "RELATIVE_URLS": False,
        "CHORUS_NEWSLETTER_UNSUBSCRIBE_URL": UNSUBSCRIBE,
    }
    site.write_settings(**{**defaults, **settings})


def make_issue(
    site: Any, cli: Any, *, intro: str = INTRO, status: str = "ready", date: str = ISSUE_DATE
) -> Path:
    """`newsletter new` and `newsletter build` through the real CLI, then the editor's part."""
    cli("newsletter", "new", "--date", date)
    [path] = sorted((site.content / "newsletter").glob("*.md"))[-1:]
    cli("newsletter", "build")
    write_intro(path, intro)
    update_issue(path, {"status": status})
    return path


def write_intro(path: Path, intro: str) -> None:
    text = path.read_text(encoding="utf-8")
    head, _, _ = text.rpartition("---\n")
    path.write_text(head + "---\n" + intro, encoding="utf-8")
