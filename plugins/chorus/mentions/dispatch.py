"""Which Webmentions to send, and the log that makes sure none is sent twice.

The build writes a manifest of every published page (``chorus.mentions.manifest``): its absolute
URL, the external URLs it links to, and a hash of its content. The send log (committed to git,
like the fetch state) remembers, per source and target, the endpoint, the result, the source hash
last sent and when. ``plan`` compares the two, as the Webmention Recommendation asks (sections
3.1.4 and 3.1.5):

- a new source -> target pair is sent;
- when a source's content changes, every target it links to now and every target it linked to
  at the last send is sent again, so receivers re-fetch it and see links added and removed;
- when a source leaves the manifest (the page was deleted), every target it still linked to is
  sent again, so receivers re-fetch it, get a 404 or 410 and drop the mention.

A pair whose source is unchanged is never sent again once it succeeded, once its target turned
out to have no endpoint (or an address we refuse), or once the receiver refused it with a 4xx
answer. A failure (a network error, a timeout, a 5xx or 429) is retried with growing waits, and
given up after MAX_ATTEMPTS tries until the source changes: a POST that timed out may well have
been delivered, and a receiver should not hear the same mention on every run.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from chorus.common.config import SendConfig
from chorus.common.files import write_atomic
from chorus.mentions.manifest import Page, mention_target
from chorus.mentions.webmention import Discovery, Result, open_session, probe, send

log = logging.getLogger(__name__)
LOG_VERSION = 1
CHECKPOINT_SECONDS = 5.0  # save progress this often during a long run, should it be killed
# Outcomes that settle a pair until its source changes.
FINAL = frozenset({"sent", "no_endpoint", "refused", "rejected"})
# The waits after the first, second and third failure of a pair; the fourth failure gives up.
RETRY_WAITS = (timedelta(hours=1), timedelta(hours=6), timedelta(days=1))
MAX_ATTEMPTS = len(RETRY_WAITS) + 1
# A receiver that re-reads a source that no longer links to it may answer "no link here":
# for an unlink notice that is the news delivered, not a failure.
UNLINK_ACCEPTED_STATUS = frozenset({400})
UNLINK_ACCEPTED_FAULTS = frozenset({16, 17})  # Pingback: source gone, source has no link

Why = Literal["new", "updated", "removed", "deleted", "retry"]


class LogError(Exception):
    """The send log is unreadable; the message says what to do."""


# -- Send log --------------------------------------------------------------------------------


@dataclass(frozen=True)
class LogEntry:
    """The last send for one source -> target pair."""

    outcome: str  # sent | no_endpoint | failed | refused | rejected
    result: str  # the readable reason
    hash: str | None  # the source's content hash when this was sent
    linked: bool  # whether the source linked to the target when this was sent
    time: str  # ISO 8601, UTC
    endpoint: str | None = None
    kind: str | None = None  # webmention | pingback
    attempts: int | None = None  # failures in a row of this send (same hash, same linked)
    retry_at: str | None = None  # ISO 8601, UTC: not tried again before then

    @property
    def final(self) -> bool:
        return self.outcome in FINAL

    @property
    def given_up(self) -> bool:
        return self.outcome == "failed" and (self.attempts or 1) >= MAX_ATTEMPTS

    def due(self, now: datetime) -> bool:
        """Whether a failed send may be tried again at ``now``."""
        if self.final or self.given_up:
            return False
        return self.retry_at is None or datetime.fromisoformat(self.retry_at) <= now


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
        log = cls(path)
        try:
            for source, targets in document["mentions"].items():
                for target, values in targets.items():
                    entry, target = LogEntry(**values), mention_target(target)
                    # A log written before targets dropped their #fragment may hold one pair
                    # twice: the later send stands.
                    earlier = log.get(source, target)
                    if earlier is None or earlier.time <= entry.time:
                        log.record(source, target, entry)
        except (KeyError, TypeError, AttributeError, ValueError) as error:
            raise LogError(_log_advice(path, error)) from None
        return log

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


def plan(pages: Iterable[Page], log: SendLog, *, now: datetime | None = None) -> list[Send]:
    """Every mention to send now, sorted by source and target."""
    now = now or datetime.now(UTC)
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
                elif entry.due(now):
                    sends.append(Send(page.url, target, page.hash, True, "retry"))
            elif entry is not None and (entry.linked or entry.due(now)):
                # Linked at the last send, or the notice of its removal has not got through yet.
                sends.append(Send(page.url, target, page.hash, False, "removed"))
    for source in sorted(set(log.entries) - set(current)):
        for target, entry in sorted(log.entries[source].items()):
            if entry.linked or entry.due(now):
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
    if planned.linked or result.outcome not in ("failed", "rejected"):
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
    reason, attempts, retry_at = result.reason, None, None
    if result.failed:
        same_send = (
            previous is not None
            and previous.outcome == "failed"
            and (previous.hash, previous.linked) == (digest, planned.linked)
        )
        attempts = (previous.attempts or 1) + 1 if same_send and previous else 1
        if attempts < MAX_ATTEMPTS:
            wait = RETRY_WAITS[attempts - 1]
            retry_at = _iso(when + wait)
            reason += f"; try {attempts} of {MAX_ATTEMPTS}, next after {retry_at}"
        else:
            reason += f"; gave up after {attempts} tries (sent again when the page changes)"
    return LogEntry(
        outcome=result.outcome,
        result=reason,
        hash=digest,
        linked=planned.linked,
        time=_iso(when),
        endpoint=endpoint.url if endpoint else None,
        kind=endpoint.kind if endpoint else None,
        attempts=attempts,
        retry_at=retry_at,
    )


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).replace(microsecond=0).isoformat()
