"""The benchmarks' temporary sites: settings files (ours and plain Pelican's) and member files."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path
from typing import Any

from harness import REPO
from synthetic import handle_of, site_of

sys.path.insert(0, str(REPO / "tests"))
from sites import write_site_settings  # shared with the tests, found via tests/


def chorus_settings(root: Path, **overrides: Any) -> Path:
    """The real pelicanconf.py, theme and plugins, pointed at ``root`` (as the tests do), as a
    new site has them (Pelican's content cache on)."""
    settings = {"CHORUS_LOCAL_FEEDS_DIR": None, **overrides}
    return write_site_settings(root, **settings)


def plain_settings(root: Path, **overrides: Any) -> Path:
    """Pelican's defaults (theme notmyidea), with the paths and the feeds of pelicanconf.py."""
    ours = runpy.run_path(str(REPO / "pelicanconf.py"))
    feeds = {
        key: value
        for key, value in ours.items()
        if key.isupper() and (key.startswith("FEED_") or "_FEED_" in key)
    }
    settings = {
        "PATH": "content",
        "OUTPUT_PATH": "output",
        "ARTICLE_PATHS": ours["ARTICLE_PATHS"],
        "TIMEZONE": ours["TIMEZONE"],  # only silences the "no timezone" warning: dates carry UTC
        "CACHE_CONTENT": False,
        **feeds,  # FEED_DOMAIN, FEED_ALL_ATOM, CATEGORY_FEED_ATOM, the others off
        **overrides,
    }
    path = root / "pelicanconf.py"
    path.write_text("".join(f"{k} = {v!r}\n" for k, v in settings.items()), encoding="utf-8")
    return path


def write_member(members_dir: Path, index: int, feeds: list[str]) -> None:
    import yaml

    data = {
        "name": f"Member {index:04d}",
        "site": site_of(index),
        "feeds": feeds,
        "consent": "full",
        "trusted": True,
    }
    text = "---\n" + yaml.safe_dump(data, sort_keys=False) + "---\nA member of the bench.\n"
    (members_dir / f"{handle_of(index)}.md").write_text(text, encoding="utf-8")
