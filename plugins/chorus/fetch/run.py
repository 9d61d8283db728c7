"""The fetch run: fetch every feed, parse what changed, curate and write its posts, report."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import partial
from multiprocessing import get_context
from pathlib import Path

from chorus.common.config import Config
from chorus.common.files import flush_all
from chorus.common.urls import LOCAL_SCHEME
from chorus.fetch.entries import Entry, FeedError, LeftOut, ParsedFeed
from chorus.fetch.http import Response, fetch_all
from chorus.fetch.media import pending_images
from chorus.fetch.parse import parse_compressed_feed
from chorus.fetch.state import (
    FeedState,
    Validators,
    load_full_state,
    save_state,
    state_digest,
)
from chorus.fetch.store import (
    INDEX_NAME,
    CommunityStore,
    StoredPost,
    link_key,
    make_post,
    narrow_posts,
)
from chorus.members.consent import widens
from chorus.members.registry import CONSENTS, Member
from chorus.members.takedowns import Takedowns, load_takedowns

log = logging.getLogger(__name__)
# Below this many feeds, starting worker processes costs more than parsing in one.
PROCESS_POOL_THRESHOLD = 16
PARENT_POLL_SECONDS = 0.5  # how soon a parser process notices the fetch was killed
JOURNAL_NAME = ".fetch-journal.jsonl"  # next to the state file: the posts of an unfinished run


@dataclass
class FeedReport:
    """What happened to one feed."""

    url: str
    outcome: str = "pending"  # ok | not_modified | failed | deferred | gone
    error: str | None = None
    warning: str | None = None
    moved_to: str | None = None
    left_out: LeftOut = field(default_factory=LeftOut)  # of the feed as read this run


@dataclass
class MemberReport:
    """What one fetch run did for one member."""

    handle: str
    new: list[str] = field(default_factory=list)  # file paths, relative to the community dir
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0
    duplicates: int = 0
    filtered: int = 0
    rejected: int = 0  # entries kept out by content/takedowns.yml: drafts an editor rejected
    removed: int = 0  # and posts taken down
    feeds: list[FeedReport] = field(default_factory=list)
    # Post files rewritten to hold no more than the member's consent, now narrower.
    narrowed: list[str] = field(default_factory=list)
    reread: bool = False  # their consent widened: their feeds were read in full again

    @property
    def failed(self) -> list[FeedReport]:
        return [feed for feed in self.feeds if feed.outcome == "failed"]

    @property
    def left_out(self) -> int:
        """Entries of this member's feeds that give no post (no link, over the cap, twice)."""
        return sum(feed.left_out.total for feed in self.feeds)

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
    """Fetch, curate and write every member's feeds; never raises for one bad feed.

    Raises TakedownsError before fetching anything when the takedowns file is unusable: a
    fetch without it would bring back what was taken down.
    """
    members = list(members)
    now = now or datetime.now(UTC)
    takedowns = load_takedowns(config.takedowns_file)
    for folder in (config.community_dir, config.images_dir, config.avatars_dir):
        remove_stale_temporaries(folder)
    state, written_consent = load_full_state(config.state_file)
    reports = {
        m.handle: MemberReport(m.handle, feeds=[FeedReport(u) for u in m.feeds]) for m in members
    }
    widened = follow_consent_changes(config, members, written_consent, reports)
    # Their feeds are read and parsed again whatever they answered last time: the entries they
    # still list are written anew, with all the member's wider consent allows.
    reread = {url for member in members if member.handle in widened for url in member.feeds}
    reports_by_url: dict[str, list[FeedReport]] = {}
    for report in reports.values():
        for feed_report in report.feeds:
            reports_by_url.setdefault(feed_report.url, []).append(feed_report)
    # Noted before each post is written: its images are fetched after this run (the CLI's
    # step), and a kill before then must leave the next run to fetch them.
    pending = pending_images(config) if config.fetch_images else None
    store = CommunityStore(
        config.community_dir,
        config.curated_category,
        index_file=config.cache_dir / INDEX_NAME,
        journal_file=config.state_file.with_name(JOURNAL_NAME),
        begun_from=state_digest(config.state_file),
        before_write=pending.add if pending else None,
    )
    curator = Curator(members, store, reports, config, now, takedowns)
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
            feed = None
            if (
                response.outcome == "ok"
                and response.url not in reread
                and known
                and known.sha256 is not None
                and known.sha256 == response.sha256
            ):
                # Same bytes as last time (a server that ignores conditional requests).
                response = replace(response, outcome="not_modified", body=b"")
            elif response.outcome == "ok":
                # Parsing is slower than the network, and fetching must not wait for it (a
                # stalled feed would then start late and hold up the end of the run); so the
                # bodies waiting for a parser wait compressed, at a fifth of their size.
                compressed = zlib.compress(response.body, 1)
                response = replace(response, body=b"")
                job = partial(
                    parse_compressed_feed,
                    compressed,
                    response.url,
                    dict(response.headers),
                    max_entries=config.max_entries_per_feed,
                    now=now,
                )
                try:
                    feed = await asyncio.get_running_loop().run_in_executor(pool, job)
                except FeedError as error:
                    response = replace(response, outcome="failed", error=str(error))
                except Exception as error:  # a parser bug must cost one feed, not the run
                    log.exception("%s: parser failure", response.url)
                    response = replace(
                        response,
                        outcome="failed",
                        error=f"parser failure: {type(error).__name__}: {error}",
                    )
            responses[response.url] = response
            if feed is not None:
                # Written now, so that no parsed feed waits in memory for the others.
                curator.curate(response.url, feed)
            for feed_report in reports_by_url[response.url]:
                _record(feed_report, response, feed)
                if on_feed_done:
                    on_feed_done(feed_report)

        asyncio.run(
            fetch_all(
                [(url, None if url in reread else _validators(state, url)) for url in to_fetch],
                config,
                on_response,
            )
        )

    for url, response in responses.items():
        state[url] = _next_state(state.get(url, FeedState()), response, now)
    for member in members:
        if member.handle in widened and any(
            feed.outcome in ("failed", "deferred") for feed in reports[member.handle].feeds
        ):
            continue  # not every feed was read again: the next run tries again
        written_consent[member.handle] = member.consent
    # The state may only say "seen" once the posts it stands for are safely on disk.
    flush_all()
    saved = save_state(config.state_file, state, written_consent)
    store.finish_journal(reports, saved=saved)
    store.save_index()
    if pending is not None:
        pending.close()
    return FetchReport([reports[m.handle] for m in members])


def follow_consent_changes(
    config: Config,
    members: list[Member],
    written_consent: dict[str, str],
    reports: dict[str, MemberReport],
) -> set[str]:
    """Rewrite the posts of every member whose consent narrowed since their posts were written;
    return the handles of those whose consent widened, whose feeds must be read again.

    A member with no consent on record (a state file older than the record) has their posts
    looked at: narrowed where they hold too much, and their feeds read again if one holds less
    than the member now allows.
    """
    widened: set[str] = set()
    for member in members:
        before = written_consent.get(member.handle)
        if before == member.consent:
            continue
        if before in CONSENTS and widens(before, member.consent):
            widened.add(member.handle)
            reports[member.handle].reread = True
            continue
        done = narrow_posts(
            config.community_dir, member.handle, member.consent, config.excerpt_chars
        )
        reports[member.handle].narrowed = [
            str(path.relative_to(config.community_dir)) for path in done.rewritten
        ]
        if before not in CONSENTS and done.narrowest and widens(done.narrowest, member.consent):
            widened.add(member.handle)
            reports[member.handle].reread = True
    return widened


def _validators(state: dict[str, FeedState], url: str) -> Validators | None:
    return state[url].validators if url in state else None


def _record(report: FeedReport, response: Response, feed: ParsedFeed | None) -> None:
    report.outcome = response.outcome
    report.error = response.error
    report.moved_to = response.moved_to
    report.warning = feed.warning if feed else None
    report.left_out = feed.left_out if feed else LeftOut()
    if response.outcome == "failed":
        log.info("%s: %s", response.url, response.error)


@dataclass
class _Claim:
    """A post this run wrote or kept, and which feed of which member it came from."""

    rank: tuple[int, int]  # (member's place in the registry, feed's place in the member file)
    report: MemberReport
    outcome: str  # new | updated | unchanged
    stored: StoredPost
    unfinished: bool = False  # created by a run that was killed, not yet seen by this one


class Curator:
    """Filters a parsed feed's entries and writes them as posts, one feed at a time.

    Feeds are curated in whatever order the network delivers them, yet a run's result must not
    depend on that order: an entry found in several feeds in one run goes to the first of them
    in registry order (members in order, then each member's feeds in order), even when a later
    one arrived, and was written, first. A post created by a run that was killed before it
    saved its state counts as this run's, so that the run that finishes the work gives it to
    the member an uninterrupted run would have.
    """

    def __init__(
        self,
        members: list[Member],
        store: CommunityStore,
        reports: dict[str, MemberReport],
        config: Config,
        now: datetime,
        takedowns: Takedowns | None = None,
    ) -> None:
        self.store = store
        self.takedowns = takedowns or Takedowns()
        self.reports = reports
        self.config = config
        self.now = now
        self.readers: dict[str, list[tuple[tuple[int, int], Member]]] = {}
        self.ranks: dict[tuple[str, str], tuple[int, int]] = {}
        for member_rank, member in enumerate(members):
            for feed_rank, url in enumerate(member.feeds):
                self.readers.setdefault(url, []).append(((member_rank, feed_rank), member))
                self.ranks[(member.handle, url)] = (member_rank, feed_rank)
        self.claims: dict[Path, _Claim] = {}  # post file -> the feed this run took it from
        self.scanned = False

    def curate(self, url: str, feed: ParsedFeed) -> None:
        if not self.scanned:
            # Only once some feed brings entries: a run of 304s never reads the posts.
            self.store.scan()
            self.scanned = True
            for stored, feed_url in self.store.unfinished():
                rank = self.ranks.get((stored.handle, feed_url))
                if rank is not None:
                    report = self.reports[stored.handle]
                    self.claims[stored.path] = _Claim(rank, report, "new", stored, True)
        # Two entries of one feed with one link are two posts: only their ids can say which
        # post of an earlier run each one is.
        links = Counter(link_key(entry.link) for entry in feed.entries)
        shared = {link for link, count in links.items() if count > 1}
        for rank, member in self.readers.get(url, ()):
            for entry in feed.entries:
                self._curate_entry(rank, member, entry, feed, link_key(entry.link) not in shared)

    def _curate_entry(
        self, rank: tuple[int, int], member: Member, entry: Entry, feed: ParsedFeed, by_link: bool
    ) -> None:
        report = self.reports[member.handle]
        tags = entry.tags
        folded = {tag.casefold() for tag in tags}
        config = self.config
        if (
            not member.accepts_tags(tags)
            or folded & config.exclude_tags
            or (config.include_tags and not folded & config.include_tags)
        ):
            report.filtered += 1
            return
        takedown = self.takedowns.match(member.handle, (entry.id, *entry.former_ids), entry.link)
        if takedown is not None:
            # Taken down or rejected: never written again, whatever the feed still says.
            if takedown.kind == "rejected":
                report.rejected += 1
            else:
                report.removed += 1
            return
        existing, own = self.store.find(member.handle, entry, by_link=by_link)
        claim = self.claims.get(existing.path) if existing is not None else None
        if claim is not None and claim.rank < rank:
            report.duplicates += 1  # an earlier feed in registry order has it
            return
        new = False
        if claim is not None and own:
            # This member's own post, taken this run from one of their later feeds (or by the
            # killed run from this very feed): this feed comes first, so its version counts.
            new = claim.outcome == "new"
            self._withdraw(claim, counted=claim.rank != rank)
            if new:
                # Written this run (or by the killed one) from the later feed: made again from
                # this one, its file name too, as if this feed had answered first.
                self.store.remove(claim.stored)
                existing = None
        elif existing is not None and not own:
            if claim is None or claim.outcome != "new":
                report.duplicates += 1  # someone's post since an earlier run: it stays theirs
                return
            # A duplicate a later feed created this run: nothing published is lost.
            self._withdraw(claim, counted=True)
            self.store.remove(claim.stored)
            existing = None
        post = make_post(member, entry, feed, excerpt_chars=config.excerpt_chars)
        outcome, stored = self.store.write(post, existing, published=member.trusted, now=self.now)
        outcome = "new" if new else outcome
        relative = str(stored.path.relative_to(config.community_dir))
        self.claims[stored.path] = _Claim(rank, report, outcome, stored)
        if outcome == "new":
            report.new.append(relative)
        elif outcome == "updated":
            report.updated.append(relative)
        else:
            report.unchanged += 1

    def _withdraw(self, claim: _Claim, *, counted: bool) -> None:
        """Undo what a later feed did with a post, counting it as its duplicate if ``counted``."""
        report = claim.report
        relative = str(claim.stored.path.relative_to(self.config.community_dir))
        if claim.unfinished:
            pass  # the killed run's report was never given
        elif claim.outcome == "new":
            report.new.remove(relative)
        elif claim.outcome == "updated":
            report.updated.remove(relative)
        else:
            report.unchanged -= 1
        if counted:
            report.duplicates += 1
        del self.claims[claim.stored.path]


def _next_state(previous: FeedState, response: Response, now: datetime) -> FeedState:
    if response.outcome == "failed":
        return previous.updated(
            last_error=response.error,
            failures=previous.failures + 1,
            moved_to=response.moved_to,
            retry_after=response.retry_after.isoformat() if response.retry_after else None,
            gone=f"{now:%Y-%m-%d}" if response.status == 410 else None,
        )
    day = f"{now:%Y-%m-%d}"
    if response.url.startswith(LOCAL_SCHEME) and response.outcome == "not_modified":
        # A file in the repository (the demo's sample feeds) is read, not fetched: its day moves
        # only when its bytes change, so re-reading an unchanged checkout leaves git clean.
        day = previous.last_success or day
    health = {
        "last_success": day,
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
    return ProcessPoolExecutor(
        max_workers=os.cpu_count() or 2,
        mp_context=get_context("spawn"),
        initializer=_watch_parent,
        initargs=(os.getpid(),),
    )


def _watch_parent(parent: int) -> None:
    """In a parser process: exit once the fetch that started it is gone (killed, say)."""
    threading.Thread(target=_exit_when_orphaned, args=(parent,), daemon=True).start()


def _exit_when_orphaned(parent: int) -> None:
    # A killed parent never shuts its pool down; its orphans are re-parented, which shows here.
    while os.getppid() == parent:
        time.sleep(PARENT_POLL_SECONDS)
    os._exit(1)
