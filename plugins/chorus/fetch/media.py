"""Images fetched into the repository, so that pages show them without third-party requests.

``MediaLibrary`` fetches remote images (concurrently, conditionally and within the feed fetcher's
limits), checks each one (a raster format on the allow-list, within a size and pixel cap, read
before it is decoded, so that an image bomb costs nothing), and keeps it under a name made of
its content's hash: the same image from two posts is stored once, and git sees a changed
image as a new file. Post images use it through ``localise_post_images``; member avatars
(``chorus.fetch.avatars``) are fetched with the same client and the same checks
(``chorus.fetch.images``), then resized.
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from chorus.common.config import Config
from chorus.common.files import write_atomic
from chorus.common.urls import web_url
from chorus.fetch.http import Response, fetch_all
from chorus.fetch.images import MediaError, check_image, write_bytes
from chorus.fetch.state import Validators

log = logging.getLogger(__name__)
MANIFEST_FORMAT = 1
PENDING_NAME = ".images-pending"  # next to the state file: posts whose images are not kept yet
_IMG_SRC = re.compile(r'(<img\b[^>]*?\bsrc=")(https?://[^"]+)(")')


@dataclass
class MediaReport:
    """What one run did with images: fetched now, already kept, refused or failed (and why)."""

    fetched: int = 0
    kept: int = 0
    failed: dict[str, str] = field(default_factory=dict)  # URL -> why
    bytes_written: int = 0


class MediaLibrary:
    """Images kept under ``root`` (in the repository), with a manifest of where each came from."""

    def __init__(self, root: Path, manifest: Path, public_prefix: str) -> None:
        self.root = root
        self.manifest = manifest
        self.public_prefix = public_prefix.rstrip("/")  # how content files refer to root
        self.records: dict[str, dict[str, str]] = {}
        self._changed = False
        try:
            document = json.loads(manifest.read_text(encoding="utf-8"))
            if document.get("format") == MANIFEST_FORMAT:
                self.records = dict(document["images"])
        except FileNotFoundError:
            pass
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
            log.warning("ignoring the unreadable image manifest %s (%s)", manifest, error)

    def public_path(self, url: str) -> str | None:
        """How a content file refers to the kept copy of ``url`` (None: none kept)."""
        name = self.records.get(url, {}).get("file")
        return f"{self.public_prefix}/{name}" if name else None

    def fetch(self, urls: Iterable[str], config: Config, *, refresh: bool = False) -> MediaReport:
        """Fetch the images not kept yet (``refresh``: ask again, conditionally, for all)."""
        report = MediaReport()
        wanted = []
        for url in dict.fromkeys(urls):
            if web_url(url) != url:
                report.failed[url] = "not an http(s) URL"
            elif "file" in self.records.get(url, {}) and not refresh:
                report.kept += 1
            else:
                wanted.append(url)
        if not wanted:
            return report
        limits = replace(config, max_feed_bytes=config.max_image_bytes)

        async def on_response(response: Response) -> None:
            self._record(response, report)

        jobs = [(url, self._validators(url)) for url in wanted]
        asyncio.run(fetch_all(jobs, limits, on_response, spare_unreachable_hosts=True))
        self.save()
        return report

    def _validators(self, url: str) -> Validators | None:
        record = self.records.get(url, {})
        if "file" not in record:
            return None
        return Validators(etag=record.get("etag"), last_modified=record.get("last_modified"))

    def _record(self, response: Response, report: MediaReport) -> None:
        url = response.url
        if response.outcome == "not_modified":
            report.kept += 1
            return
        if response.outcome == "failed":
            report.failed[url] = response.error or "failed"
            self._remember_failure(url, report.failed[url])
            return
        try:
            extension = check_image(response.body)
        except MediaError as error:
            report.failed[url] = str(error)
            self._remember_failure(url, str(error))
            return
        digest = hashlib.sha256(response.body).hexdigest()
        name = f"{digest[:2]}/{digest}{extension}"
        target = self.root / name
        if not target.exists():
            write_bytes(target, response.body)
            report.bytes_written += len(response.body)
        record = {"file": name}
        if response.etag:
            record["etag"] = response.etag
        if response.last_modified:
            record["last_modified"] = response.last_modified
        self.records[url] = record
        self._changed = True
        report.fetched += 1

    def _remember_failure(self, url: str, error: str) -> None:
        if "file" in self.records.get(url, {}):
            return  # a copy kept earlier stays in use
        self.records[url] = {"error": error[:300], "tried": f"{datetime.now(UTC):%Y-%m-%d}"}
        self._changed = True

    def save(self) -> None:
        """Write the manifest if anything changed, in a stable order (it is committed)."""
        if not self._changed:
            return
        document = {"format": MANIFEST_FORMAT, "images": dict(sorted(self.records.items()))}
        write_atomic(self.manifest, json.dumps(document, indent=1, ensure_ascii=False) + "\n")
        self._changed = False


class PendingImages:
    """The post files whose images are still to be fetched, one path (under ``root``) a line.

    A fetch writes its posts, saves its state, and only then fetches their images: a run killed
    in between leaves posts that the next run sees unchanged (a 304, the same hash) and would
    never look at again, showing their images from the member's site for good. So each post is
    noted here before its file is written, and the list goes only once the images are kept.
    """

    def __init__(self, path: Path, root: Path) -> None:
        self.path = path
        self.root = root
        self._file: TextIO | None = None

    def add(self, post: Path) -> None:
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("a", encoding="utf-8")
        self._file.write(f"{post.relative_to(self.root).as_posix()}\n")
        self._file.flush()  # in the kernel's hands before the post file exists

    def posts(self) -> list[Path]:
        """The noted posts still on disk (a run may have removed one it wrote)."""
        self.close()
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        found = (self.root / line for line in dict.fromkeys(lines) if line and ".." not in line)
        return [path for path in found if path.is_file()]

    def clear(self) -> None:
        self.close()
        self.path.unlink(missing_ok=True)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def pending_images(config: Config) -> PendingImages:
    """The site's list of posts whose images are still to be fetched."""
    return PendingImages(config.state_file.with_name(PENDING_NAME), config.community_dir)


def image_urls(text: str) -> list[str]:
    """The remote image URLs of a post file's body (sanitized HTML: attributes double-quoted
    and escaped), unescaped."""
    body = text.partition("</head>")[2] or text
    return [html.unescape(match[2]) for match in _IMG_SRC.finditer(body)]


def localise_post_images(config: Config, paths: Iterable[Path]) -> MediaReport:
    """Fetch the images of these post files and make the files show the kept copies.

    A post file's head (its hash above all) is left as it is: the next fetch still sees the
    entry unchanged. An image that cannot be kept stays remote, for ``CHORUS_REMOTE_IMAGES``.
    """
    library = MediaLibrary(config.images_dir, config.media_manifest, config.images_prefix)
    texts = {}
    for path in paths:
        try:
            texts[path] = path.read_text(encoding="utf-8")
        except OSError as error:
            log.warning("%s: cannot read (%s)", path, error)
    report = library.fetch((u for text in texts.values() for u in image_urls(text)), config)
    for path, text in texts.items():
        head, separator, body = text.partition("</head>")

        def local(match: re.Match[str]) -> str:
            kept = library.public_path(html.unescape(match[2]))
            return f"{match[1]}{html.escape(kept)}{match[3]}" if kept else match[0]

        rewritten = head + separator + _IMG_SRC.sub(local, body)
        if rewritten != text:
            write_atomic(path, rewritten)
    return report
