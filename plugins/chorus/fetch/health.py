"""Feed health: how each member's feeds have been answering, for editors and members."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from chorus.fetch.state import FeedState
from chorus.members.registry import Member

FAILING_AFTER = 3  # consecutive failures before a feed counts as failing, not just unlucky


@dataclass(frozen=True)
class FeedHealth:
    """One feed of one member, as the last fetches left it."""

    handle: str
    url: str
    state: FeedState | None

    @property
    def status(self) -> str:
        """ok, never fetched, gone, waiting, failing, failed once or twice, or moved."""
        known = self.state
        if known is None:
            return "never fetched"
        if known.gone:
            return "gone"
        if known.retry_after and known.failures:
            return "waiting"
        if known.failures >= FAILING_AFTER:
            return "failing"
        if known.failures:
            return "failed"
        return "moved" if known.moved_to else "ok"

    @property
    def advice(self) -> str | None:
        """What an editor should do about it, if anything."""
        known = self.state
        if known is None:
            return None
        if known.gone:
            return f"answered 410 Gone on {known.gone}: remove it from the member file"
        if known.moved_to:
            return f"moved permanently to {known.moved_to}: put that URL in the member file"
        if known.failures >= FAILING_AFTER:
            since = f" (last success {known.last_success})" if known.last_success else ""
            return f"failed {known.failures} times in a row{since}: {known.last_error}"
        return None


def feed_health(members: Iterable[Member], state: dict[str, FeedState]) -> list[FeedHealth]:
    """Every feed of every member, in member then declaration order."""
    return [FeedHealth(m.handle, url, state.get(url)) for m in members for url in m.feeds]
