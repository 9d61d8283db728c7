"""The fetch state file: what each feed last answered, and the consent each member's posts were
written with, committed to git with the posts.

Keeping it in the repository means a fresh CI runner still sends If-None-Match and
If-Modified-Since, and still recognises unchanged bytes by their hash; and that a member who
changes their consent has their posts rewritten for it by the next run, wherever it runs.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from chorus.common.files import write_atomic
from chorus.fetch.store import POST_FORMAT

log = logging.getLogger(__name__)
# A state written for another post format is set aside: the next run fetches every feed in full
# and rewrites every post in the current form.
FORMAT_VERSION = POST_FORMAT


@dataclass(frozen=True)
class Validators:
    """What we remember of a feed's last good response, to ask only for changes."""

    etag: str | None = None
    last_modified: str | None = None
    sha256: str | None = None


@dataclass(frozen=True)
class FeedState:
    """What we know about one feed URL."""

    etag: str | None = None
    last_modified: str | None = None
    sha256: str | None = None
    moved_to: str | None = None
    # Feed health, for the report, `chorus members check` and the site's feed-health page.
    # Days rather than instants, so a feed that keeps answering changes the file once a day.
    last_success: str | None = None  # YYYY-MM-DD
    last_error: str | None = None
    failures: int = 0  # consecutive
    retry_after: str | None = None  # ISO instant a 429/503 asked us to wait for
    gone: str | None = None  # YYYY-MM-DD the feed answered 410 Gone

    @property
    def validators(self) -> Validators:
        return Validators(self.etag, self.last_modified, self.sha256)

    def updated(self, **changes: Any) -> FeedState:
        return replace(self, **changes)


def load_state(path: Path) -> dict[str, FeedState]:
    """Read the state file; a missing or unreadable one means "fetch everything afresh"."""
    return load_full_state(path)[0]


def load_full_state(path: Path) -> tuple[dict[str, FeedState], dict[str, str]]:
    """The feeds' state and, per member handle, the consent their posts were last written with
    (none known: a missing or unreadable file, or one that predates the record)."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        if document.get("version") != FORMAT_VERSION:
            log.info("%s is from another version of Chorus; every feed is fetched in full", path)
            return {}, {}
        feeds = document["feeds"]
        written = document.get("consent", {})
        return (
            {url: FeedState(**values) for url, values in feeds.items()},
            {str(handle): str(consent) for handle, consent in written.items()},
        )
    except FileNotFoundError:
        return {}, {}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        log.warning(
            "ignoring unreadable fetch state %s (%s); every feed will be fetched in full",
            path,
            error,
        )
        return {}, {}


def state_digest(path: Path) -> str:
    """What identifies the state file as it is now ("" when there is none)."""
    try:
        return _digest(path.read_bytes())
    except FileNotFoundError:
        return ""


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def save_state(
    path: Path, feeds: dict[str, FeedState], written_consent: Mapping[str, str] | None = None
) -> str:
    """Write the state deterministically (sorted, no empty fields) so git diffs stay small;
    return its ``state_digest``."""
    document: dict[str, Any] = {
        "version": FORMAT_VERSION,
        "feeds": {
            url: {key: value for key, value in asdict(state).items() if value not in (None, 0)}
            for url, state in sorted(feeds.items())
        },
    }
    if written_consent:
        document["consent"] = dict(sorted(written_consent.items()))
    text = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    try:
        if path.read_text(encoding="utf-8") == text:
            return _digest(text.encode())  # leave the file (and its mtime, and git) alone
    except OSError:
        pass
    write_atomic(path, text, durable=True)
    return _digest(text.encode())
