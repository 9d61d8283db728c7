"""Members' avatars fetched into the repository and resized.

``fetch_avatars`` asks each member's ``avatar:`` URL for its image the way feeds are asked
(``chorus.fetch.http``: conditionally, with ETag and Last-Modified remembered in
``avatar-state.json``, within ``CHORUS_MAX_AVATAR_BYTES``), checks it as post images are
checked (``chorus.fetch.images.check_image``: a raster format on the allow-list, SVG refused,
declared dimensions read before anything is decoded) and keeps it as square PNGs of
``AVATAR_SIZES`` pixels named by the hash of the fetched bytes. A failure keeps the avatar
fetched before. ``chorus.fetch.faces`` tells pages which picture shows each member.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from chorus.common.config import Config
from chorus.common.files import write_atomic
from chorus.fetch.faces import MANIFEST_FORMAT, avatar_files, load_avatar_records, resize_avatar
from chorus.fetch.http import Response, fetch_all
from chorus.fetch.images import MediaError, write_bytes
from chorus.fetch.state import Validators
from chorus.members.registry import Member

log = logging.getLogger(__name__)


@dataclass
class AvatarReport:
    """What one run did with avatars, by member handle."""

    fetched: list[str] = field(default_factory=list)
    unchanged: int = 0
    failed: dict[str, tuple[str, str]] = field(default_factory=dict)  # handle -> (URL, why)
    removed: list[str] = field(default_factory=list)  # URLs no member gives any more


class AvatarLibrary:
    """The avatars kept under ``config.avatars_dir``, and what each URL last answered."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.records: dict[str, dict[str, str]] = load_avatar_records(config.avatar_manifest)
        self._changed = False

    def fetch(self, members: Iterable[Member], *, every_member: bool = False) -> AvatarReport:
        """Ask every member's http(s) avatar URL again, conditionally; resize what changed.
        ``every_member``: ``members`` is the whole community (every member file read), so an
        avatar none of them gives any more (a member left, or changed theirs) is deleted."""
        report = AvatarReport()
        owners: dict[str, list[str]] = {}
        for member in members:
            if member.avatar and "://" in member.avatar:
                owners.setdefault(member.avatar, []).append(member.handle)
        if every_member:
            report.removed = self._remove_unused(set(owners))
        if not owners:
            self.save()
            return report
        limits = replace(self.config, max_feed_bytes=self.config.max_avatar_bytes)

        async def on_response(response: Response) -> None:
            self._record(response, owners[response.url], report)

        jobs = [(url, self._validators(url)) for url in sorted(owners)]
        asyncio.run(fetch_all(jobs, limits, on_response))
        self.save()
        return report

    def _remove_unused(self, in_use: set[str]) -> list[str]:
        """Forget the avatars of URLs not in ``in_use`` and delete their files: a face that
        left with its member leaves the site too."""
        unused = sorted(set(self.records) - in_use)
        kept_names = {self.records[url].get("name") for url in in_use if url in self.records}
        for url in unused:
            name = self.records.pop(url).get("name")
            if name and name not in kept_names:
                self._delete_files(name)
        self._changed = self._changed or bool(unused)
        return unused

    def _validators(self, url: str) -> Validators | None:
        record = self.records.get(url)
        if not record or "name" not in record or not self._files_present(record["name"]):
            return None  # nothing kept (or its files were deleted): ask for the whole image
        return Validators(etag=record.get("etag"), last_modified=record.get("last_modified"))

    def _files_present(self, name: str) -> bool:
        return all((self.config.avatars_dir / f).is_file() for f in avatar_files(name).values())

    def _record(self, response: Response, handles: list[str], report: AvatarReport) -> None:
        url = response.url
        if response.outcome == "not_modified":
            report.unchanged += len(handles)
            return
        error = response.error or "failed"
        if response.outcome == "ok":
            try:
                self._keep(url, response)
            except MediaError as refused:
                error = str(refused)
            else:
                report.fetched.extend(handles)
                return
        # The avatar kept before, if any, stays in use: its record is left as it was.
        for handle in handles:
            report.failed[handle] = (url, error)
        log.info("%s: avatar %s: %s", ", ".join(handles), url, error)

    def _keep(self, url: str, response: Response) -> None:
        """Resize and keep a fetched avatar; MediaError if it is not one we keep."""
        name = hashlib.sha256(response.body).hexdigest()[:20]
        if not self._files_present(name):
            for size, png in resize_avatar(response.body).items():
                write_bytes(self.config.avatars_dir / avatar_files(name)[size], png)
        record = {"name": name}
        if response.etag:
            record["etag"] = response.etag
        if response.last_modified:
            record["last_modified"] = response.last_modified
        replaced = self.records.get(url, {}).get("name")
        if self.records.get(url) != record:
            self.records[url] = record
            self._changed = True
        if (
            replaced
            and replaced != name
            and all(kept.get("name") != replaced for kept in self.records.values())
        ):
            # A new face at the same address: the old one is no member's any more.
            self._delete_files(replaced)

    def _delete_files(self, name: str) -> None:
        for file in avatar_files(name).values():
            (self.config.avatars_dir / file).unlink(missing_ok=True)

    def save(self) -> None:
        """Write the manifest if anything changed, in a stable order (it is committed)."""
        if not self._changed:
            return
        document = {"format": MANIFEST_FORMAT, "avatars": dict(sorted(self.records.items()))}
        write_atomic(
            self.config.avatar_manifest, json.dumps(document, indent=1, ensure_ascii=False) + "\n"
        )
        self._changed = False


def fetch_avatars(
    config: Config, members: Iterable[Member], *, every_member: bool = False
) -> AvatarReport:
    """Fetch, check and resize every member's http(s) avatar (``AvatarLibrary.fetch``)."""
    return AvatarLibrary(config).fetch(members, every_member=every_member)
