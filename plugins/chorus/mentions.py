"""Which Webmentions to send, and the log that makes sure none is sent twice.

The build writes a manifest of every published page: its absolute URL, the external URLs it
links to, and a hash of its content. The send log (committed to git, like the fetch state)
remembers, per source and target, the endpoint, the result, the source hash last sent and
when. ``plan`` compares the two, as the Webmention Recommendation asks (section 3.1.4 and 3.1.5):

- a new source -> target pair is sent;
- when a source's content changes, every target it links to now and every target it linked to
  at the last send is sent again, so receivers re-fetch it and see links added and removed;
- when a source leaves the manifest (the page was deleted), every target it still linked to is
  sent again, so receivers re-fetch it, get a 404 or 410 and drop the mention.

A pair whose source is unchanged is never sent again once it succeeded, or once its target
turned out to have no endpoint (or an address we refuse); a failure is retried on the next run.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from chorus.files import write_atomic
from chorus.urls import web_url
from chorus.webmention import Discovery, Result, SendConfig, open_session, probe, send

log = logging.getLogger(__name__)
LOG_VERSION = 1
MANIFEST_NAME = Path("chorus") / "mentions.json"
CHECKPOINT_SECONDS = 5.0  # save progress this often during a long run, should it be killed
# Outcomes that settle a pair until its source changes.
FINAL = frozenset({"sent", "no_endpoint", "refused"})
# A receiver that re-reads a source that no longer links to it may answer "no link here":
# for an unlink notice that is the news delivered, not a failure.
UNLINK_ACCEPTED_STATUS = frozenset({400})
UNLINK_ACCEPTED_FAULTS = frozenset({16, 17})  # Pingback: source gone, source has no link

Why = Literal["new", "updated", "removed", "deleted", "retry"]


class ManifestError(Exception):
    """The manifest is missing or unreadable; the message says what to do."""


class LogError(Exception):
    """The send log is unreadable; the message says what to do."""


# -- Manifest --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    """One published page: where it lives, what it links to, and a hash of its content."""

    url: str
    targets: tuple[str, ...]
    hash: str


def manifest_path(settings: Mapping[str, Any]) -> Path:
    """``<CACHE_PATH>/chorus/mentions.json``; a relative CACHE_PATH is taken from the current
    directory, as Pelican does."""
    return (Path(settings.get("CACHE_PATH") or "cache") / MANIFEST_NAME).resolve()


def content_hash(content: str) -> str:
    """The hash that says a page changed."""
    return hashlib.sha256(content.encode("utf-8", "surrogatepass")).hexdigest()


def external_links(content: str, site_url: str) -> list[str]:
    """Absolute http(s) link targets in ``content`` that are not on the site's own host,
    in document order, each once."""
    if "<" not in content:
        return []
    from bs4 import BeautifulSoup, SoupStrainer

    own = (urlsplit(site_url).hostname or "").lower()
    links: dict[str, None] = {}
    soup = BeautifulSoup(content, "html.parser", parse_only=SoupStrainer("a"))
    for anchor in soup.find_all("a", href=True):
        url = web_url(str(anchor["href"]))  # None for relative, mailto:, javascript: and such
        if url and (urlsplit(url).hostname or "").lower() != own:
            links.setdefault(url, None)
    return list(links)


def make_page(url: str, content: str, site_url: str, original: str | None = None) -> Page:
    """The manifest entry for one page; a curated post also mentions its original post."""
    targets = dict.fromkeys(external_links(content, site_url))
    if original and (original := web_url(original)):
        targets.setdefault(original, None)
    targets.pop(url, None)
    return Page(url=url, targets=tuple(sorted(targets)), hash=content_hash(content))


def write_manifest(path: Path, site_url: str, pages: Iterable[Page]) -> None:
    """Write the manifest deterministically (pages sorted by URL)."""
    document = {
        "siteurl": site_url,
        "pages": [asdict(page) for page in sorted(pages, key=lambda page: page.url)],
    }
    text = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    try:
        if path.read_text(encoding="utf-8") == text:
            return
    except OSError:
        pass
    write_atomic(path, text)


def load_manifest(path: Path) -> tuple[str | None, list[Page]]:
    """The site URL and pages of a manifest; raises ManifestError when it is missing or bad."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ManifestError(
            f"no manifest at {path}: run `chorus build --publish` first (the manifest is written "
            "by the chorus_mentions plugin when SITEURL is an absolute URL)"
        ) from None
    except (OSError, ValueError) as error:
        raise ManifestError(
            f"cannot read the manifest {path} ({error}); run `chorus build --publish` again"
        ) from None
    try:
        pages = []
        for entry in document["pages"]:
            url, targets, digest = entry["url"], entry["targets"], entry["hash"]
            if web_url(url) != url or not isinstance(digest, str):
                raise ValueError(f"page {url!r} is not an absolute http(s) URL with a hash")
            bad = [target for target in targets if web_url(target) != target]
            if bad or isinstance(targets, str):
                raise ValueError(f"page {url}: target {bad[:1] or targets!r} is not an http(s) URL")
            pages.append(Page(url, tuple(targets), digest))
        site_url = document.get("siteurl")
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise ManifestError(
            f"{path} is not a Chorus mentions manifest ({error}); "
            "run `chorus build --publish` again"
        ) from None
    return (site_url if isinstance(site_url, str) else None), pages


# -- Send log --------------------------------------------------------------------------------


@dataclass(frozen=True)
class LogEntry:
    """The last send for one source -> target pair."""

    outcome: str  # sent | no_endpoint | failed | refused
    result: str  # the readable reason
    hash: str | None  # the source's content hash when this was sent
    linked: bool  # whether the source linked to the target when this was sent
    time: str  # ISO 8601, UTC
    endpoint: str | None = None
    kind: str | None = None  # webmention | pingback

    @property
    def final(self) -> bool:
        return self.outcome in FINAL


class SendLog:
    """Every source -> target pair ever sent, read from and written to one JSON file."""

    def __init__(self, path: Path, entries: dict[str, dict[str, LogEntry]] | None = None) -> None:
        self.path = path
        self.entries: dict[str, dict[str, LogEntry]] = entries or {}

    @classmethod
    def load(cls, path: Path) -> SendLog:
        """Read the log; a missing file is an empty log, an unreadable one an error (starting
        afresh would send every mention again)."""
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls(path)
        except (OSError, ValueError) as error:
            raise LogError(_log_advice(path, error)) from None
        try:
            entries = {
                source: {target: LogEntry(**values) for target, values in targets.items()}
                for source, targets in document["mentions"].items()
            }
        except (KeyError, TypeError, AttributeError) as error:
            raise LogError(_log_advice(path, error)) from None
        return cls(path, entries)

    def get(self, source: str, target: str) -> LogEntry | None:
        return self.entries.get(source, {}).get(target)

    def record(self, source: str, target: str, entry: LogEntry) -> None:
        self.entries.setdefault(source, {})[target] = entry

    def text(self) -> str:
        """The file's content: sorted keys, indent 2, no empty fields, so git diffs stay small."""
        mentions = {
            source: {
                target: {k: v for k, v in asdict(entry).items() if v is not None}
                for target, entry in targets.items()
            }
            for source, targets in self.entries.items()
        }
        document = {"version": LOG_VERSION, "mentions": mentions}
        return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"

    def save(self, *, durable: bool = True) -> None:
        text = self.text()
        try:
            if self.path.read_text(encoding="utf-8") == text:
                return
        except OSError:
            pass
        write_atomic(self.path, text, durable=durable)


def _log_advice(path: Path, error: Exception) -> str:
    return (
        f"cannot read the Webmention log {path} ({error}). Restore it from git; removing it "
        "would send every mention again"
    )


# -- Plan ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Send:
    """One mention to send: from ``source`` to ``target``, and why."""

    source: str
    target: str
    hash: str | None  # the source's current hash; None when the source was deleted
    linked: bool  # False for the notice that a link was removed, or its page deleted
    why: Why


def plan(pages: Iterable[Page], log: SendLog) -> list[Send]:
    """Every mention to send now, sorted by source and target."""
    sends = []
    current = {page.url: page for page in pages}
    for page in current.values():
        targets = set(page.targets)
        for target in sorted(targets | set(log.entries.get(page.url, {}))):
            entry = log.get(page.url, target)
            if target in targets:
                if entry is None:
                    sends.append(Send(page.url, target, page.hash, True, "new"))
                elif entry.hash != page.hash or not entry.linked:
                    sends.append(Send(page.url, target, page.hash, True, "updated"))
                elif not entry.final:
                    sends.append(Send(page.url, target, page.hash, True, "retry"))
            elif entry is not None and (entry.linked or not entry.final):
                # Linked at the last send, or the notice of its removal has not got through yet.
                sends.append(Send(page.url, target, page.hash, False, "removed"))
    for source in sorted(set(log.entries) - set(current)):
        for target, entry in sorted(log.entries[source].items()):
            if entry.linked or not entry.final:
                sends.append(Send(source, target, None, False, "deleted"))
    return sorted(sends, key=lambda send: (send.source, send.target))


# -- Run -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sent:
    """What became of one planned mention."""

    send: Send
    result: Result


def run(
    sends: Iterable[Send],
    log: SendLog,
    config: SendConfig,
    *,
    dry_run: bool = False,
    on_result: Callable[[Sent], None] | None = None,
    now: Callable[[], datetime] | None = None,
) -> list[Sent]:
    """Send every planned mention, at most ``config.concurrency`` at a time, and log each.

    A dry run discovers endpoints (GET requests only), sends nothing and leaves the log alone.
    The log is saved now and then during the run and once, durably, at its end.
    """
    return asyncio.run(
        _run(list(sends), log, config, dry_run=dry_run, on_result=on_result, now=now)
    )


async def _run(
    sends: list[Send],
    log: SendLog,
    config: SendConfig,
    *,
    dry_run: bool,
    on_result: Callable[[Sent], None] | None,
    now: Callable[[], datetime] | None,
) -> list[Sent]:
    clock = now or (lambda: datetime.now(UTC))
    results: list[Sent] = []
    if not sends:
        return results
    last_save = time.monotonic()
    async with open_session(config) as session:
        limit = asyncio.Semaphore(config.concurrency)
        # One discovery per target per run, however many pages link to it.
        discoveries: dict[str, asyncio.Task[Discovery]] = {}

        async def one(planned: Send) -> None:
            nonlocal last_save
            async with limit:
                task = discoveries.get(planned.target)
                if task is None:
                    task = asyncio.ensure_future(probe(session, planned.target, config))
                    discoveries[planned.target] = task
                discovery = await task
                if discovery.endpoint is None:
                    result = _unreachable(discovery)
                elif dry_run:
                    endpoint = discovery.endpoint
                    result = Result("dry_run", f"would send ({discovery.reason})", endpoint)
                else:
                    result = await send(
                        session, discovery.endpoint, planned.source, planned.target, config
                    )
                    result = _judge_unlink(planned, result)
            done = Sent(planned, result)
            results.append(done)
            if not dry_run:
                log.record(planned.source, planned.target, _entry(planned, result, log, clock()))
                if time.monotonic() - last_save > CHECKPOINT_SECONDS:
                    log.save(durable=False)
                    last_save = time.monotonic()
            if on_result:
                on_result(done)

        try:
            await asyncio.gather(*(one(planned) for planned in sends))
        finally:
            if not dry_run:
                log.save(durable=True)  # what was sent stays sent, even if the run broke off
    results.sort(key=lambda sent: (sent.send.source, sent.send.target))
    return results


def _unreachable(discovery: Discovery) -> Result:
    if discovery.outcome == "refused":
        return Result("refused", discovery.reason)
    if discovery.outcome == "failed":
        return Result("failed", discovery.reason)
    return Result("no_endpoint", discovery.reason)


def _judge_unlink(planned: Send, result: Result) -> Result:
    """An unlink notice answered "source has no link to target" has done its job."""
    if planned.linked or not result.failed:
        return result
    if result.status in UNLINK_ACCEPTED_STATUS or result.fault in UNLINK_ACCEPTED_FAULTS:
        return replace(
            result,
            outcome="sent",
            reason=f"sent: {result.reason.removeprefix('failed: ')} (the receiver no longer "
            "sees the link, as intended)",
        )
    return result


def _entry(planned: Send, result: Result, log: SendLog, when: datetime) -> LogEntry:
    previous = log.get(planned.source, planned.target)
    digest = planned.hash if planned.hash is not None else (previous.hash if previous else None)
    endpoint = result.endpoint
    return LogEntry(
        outcome=result.outcome,
        result=result.reason,
        hash=digest,
        linked=planned.linked,
        time=when.astimezone(UTC).replace(microsecond=0).isoformat(),
        endpoint=endpoint.url if endpoint else None,
        kind=endpoint.kind if endpoint else None,
    )
