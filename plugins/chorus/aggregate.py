"""The fetch run: fetch every feed, parse what changed, curate, write posts, report."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import partial
from multiprocessing import get_context
from pathlib import Path

from chorus.config import Config
from chorus.entries import FeedError, ParsedFeed
from chorus.fetch import Response, Validators, fetch_all
from chorus.files import flush_all
from chorus.members import Member
from chorus.parse import parse_feed
from chorus.state import FeedState, load_state, save_state
from chorus.store import CommunityStore, make_post

log = logging.getLogger(__name__)
# Below this many feeds, starting worker processes costs more than parsing in one.
PROCESS_POOL_THRESHOLD = 16


@dataclass
class FeedReport:
    """What happened to one feed."""

    url: str
    outcome: str = "pending"  # ok | not_modified | failed | deferred | gone
    error: str | None = None
    warning: str | None = None
    moved_to: str | None = None


@dataclass
class MemberReport:
    """What one fetch run did for one member."""

    handle: str
    new: list[str] = field(default_factory=list)  # file paths, relative to the community dir
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0
    duplicates: int = 0
    filtered: int = 0
    feeds: list[FeedReport] = field(default_factory=list)

    @property
    def failed(self) -> list[FeedReport]:
        return [feed for feed in self.feeds if feed.outcome == "failed"]

    @property
    def not_modified(self) -> int:
        return sum(feed.outcome in ("not_modified", "unchanged") for feed in self.feeds)


@dataclass
class FetchReport:
    """The whole run, member by member."""

    members: list[MemberReport]

    @property
    def ok(self) -> bool:
        """No feed failed this run (feeds set aside as gone or asked to wait do not count)."""
        return not any(member.failed for member in self.members)


def run_fetch(
    config: Config,
    members: Iterable[Member],
    *,
    on_feed_done: Callable[[FeedReport], None] | None = None,
    now: datetime | None = None,
) -> FetchReport:
    """Fetch, curate and write every member's feeds; never raises for one bad feed."""
    members = list(members)
    now = now or datetime.now(UTC)
    remove_stale_temporaries(config.community_dir)
    state = load_state(config.state_file)
    reports = {
        m.handle: MemberReport(m.handle, feeds=[FeedReport(u) for u in m.feeds]) for m in members
    }
    reports_by_url: dict[str, list[FeedReport]] = {}
    for report in reports.values():
        for feed_report in report.feeds:
            reports_by_url.setdefault(feed_report.url, []).append(feed_report)
    parsed: dict[str, ParsedFeed] = {}
    responses: dict[str, Response] = {}  # without their bodies, which are parsed and let go
    to_fetch = []
    for url in sorted(reports_by_url):
        reason = _set_aside(state.get(url), now)
        if reason is None:
            to_fetch.append(url)
            continue
        for feed_report in reports_by_url[url]:
            feed_report.outcome, feed_report.warning = reason
            if on_feed_done:
                on_feed_done(feed_report)

    with _parser_pool(len(to_fetch)) as pool:

        async def on_response(response: Response) -> None:
            known = state.get(response.url)
            if response.outcome == "ok" and known and known.sha256 == response.sha256:
                # Same bytes as last time (a server that ignores conditional requests).
                response = replace(response, outcome="not_modified", body=b"")
            elif response.outcome == "ok":
                job = partial(
                    parse_feed,
                    response.body,
                    response.url,
                    dict(response.headers),
                    max_entries=config.max_entries_per_feed,
                    now=now,
                )
                try:
                    parsed[response.url] = await asyncio.get_running_loop().run_in_executor(
                        pool, job
                    )
                except FeedError as error:
                    response = replace(response, outcome="failed", error=str(error))
                except Exception as error:  # a parser bug must cost one feed, not the run
                    log.exception("%s: parser failure", response.url)
                    response = replace(
                        response,
                        outcome="failed",
                        error=f"parser failure: {type(error).__name__}: {error}",
                    )
                response = replace(response, body=b"")
            responses[response.url] = response
            for feed_report in reports_by_url[response.url]:
                _record(feed_report, response, parsed.get(response.url))
                if on_feed_done:
                    on_feed_done(feed_report)

        asyncio.run(
            fetch_all(
                [(url, _validators(state, url)) for url in to_fetch],
                config,
                on_response,
            )
        )

    store = CommunityStore(config.community_dir, config.curated_category)
    if parsed:
        store.scan()
    for member in members:
        _curate(member, parsed, store, reports[member.handle], config, now)
    for url, response in responses.items():
        state[url] = _next_state(state.get(url, FeedState()), response, now)
    # The state may only say "seen" once the posts it stands for are safely on disk.
    flush_all()
    save_state(config.state_file, state)
    return FetchReport([reports[m.handle] for m in members])


def _validators(state: dict[str, FeedState], url: str) -> Validators | None:
    return state[url].validators if url in state else None


def _record(report: FeedReport, response: Response, feed: ParsedFeed | None) -> None:
    report.outcome = response.outcome
    report.error = response.error
    report.moved_to = response.moved_to
    report.warning = feed.warning if feed else None
    if response.outcome == "failed":
        log.info("%s: %s", response.url, response.error)


def _curate(
    member: Member,
    parsed: dict[str, ParsedFeed],
    store: CommunityStore,
    report: MemberReport,
    config: Config,
    now: datetime,
) -> None:
    written_now: set[str] = set()
    for url in member.feeds:
        feed = parsed.get(url)
        if feed is None:
            continue
        for entry in feed.entries:
            tags = entry.tags
            folded = {tag.casefold() for tag in tags}
            if (
                not member.accepts_tags(tags)
                or folded & config.exclude_tags
                or (config.include_tags and not folded & config.include_tags)
            ):
                report.filtered += 1
                continue
            existing = store.find(entry)
            if existing is not None and (
                existing.handle != member.handle or existing.id in written_now
            ):
                report.duplicates += 1
                continue
            post = make_post(member, entry, feed, excerpt_chars=config.excerpt_chars)
            outcome, stored = store.write(post, existing, published=member.trusted, now=now)
            written_now.add(stored.id)
            relative = str(stored.path.relative_to(config.community_dir))
            if outcome == "new":
                report.new.append(relative)
            elif outcome == "updated":
                report.updated.append(relative)
            else:
                report.unchanged += 1


def _next_state(previous: FeedState, response: Response, now: datetime) -> FeedState:
    if response.outcome == "failed":
        return previous.updated(
            last_error=response.error,
            failures=previous.failures + 1,
            moved_to=response.moved_to,
            retry_after=response.retry_after.isoformat() if response.retry_after else None,
            gone=f"{now:%Y-%m-%d}" if response.status == 410 else None,
        )
    health = {
        "last_success": f"{now:%Y-%m-%d}",
        "last_error": None,
        "failures": 0,
        "retry_after": None,
        "gone": None,
        "moved_to": response.moved_to,
    }
    if response.outcome == "not_modified":
        return previous.updated(
            etag=response.etag or previous.etag,
            last_modified=response.last_modified or previous.last_modified,
            **health,
        )
    return FeedState(
        etag=response.etag,
        last_modified=response.last_modified,
        sha256=response.sha256,
        **health,
    )


def _set_aside(known: FeedState | None, now: datetime) -> tuple[str, str] | None:
    """Why a feed is not to be asked this run (its outcome and a note), or None to fetch it."""
    if known is None:
        return None
    if known.gone:
        return "gone", (
            f"answered 410 Gone on {known.gone}; not asked again: remove it from "
            "the member file (or delete its entry in the state file to retry)"
        )
    if known.retry_after and datetime.fromisoformat(known.retry_after) > now:
        return "deferred", f"the server asked us to wait until {known.retry_after}"
    return None


def remove_stale_temporaries(root: Path) -> None:
    """Temporary files a killed run left behind (atomic writes that never got renamed)."""
    for temporary in root.glob("**/.*.tmp"):
        log.info("removing %s, left by an interrupted run", temporary)
        temporary.unlink(missing_ok=True)


def _parser_pool(feeds: int) -> Executor:
    """Processes for many feeds (parsing is CPU-bound), one thread for a handful."""
    if feeds < PROCESS_POOL_THRESHOLD:
        return ThreadPoolExecutor(max_workers=1)
    # "spawn": the fetching process runs an event loop and resolver threads, unsafe to fork.
    return ProcessPoolExecutor(max_workers=os.cpu_count() or 2, mp_context=get_context("spawn"))
