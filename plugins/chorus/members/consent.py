"""What a member's consent lets the site republish of a post, decided from the member file.

The member file is the truth: a post written under a wider consent than the member gives today
is shown, and rewritten by the next fetch, with no more than today's consent keeps. The
consent a post file records can only narrow that (a post written as an excerpt has no more than
an excerpt to show, whatever the member allows since).
"""

from __future__ import annotations

from chorus.common.sanitize import excerpt_html
from chorus.members.registry import CONSENTS, Consent

# Each consent keeps no more than the next: link < excerpt < full.
_RANK = {consent: rank for rank, consent in enumerate(CONSENTS)}


def narrower(first: Consent, second: Consent) -> Consent:
    """The consent that keeps less of the two."""
    return first if _RANK[first] <= _RANK[second] else second


def effective_consent(current: Consent | None, written: str | None) -> Consent | None:
    """What a post may show: the member's ``current`` consent (None: no member file), never
    more than the consent it was ``written`` with (None or unknown: a file that does not say)."""
    if written not in _RANK:
        return current
    if current is None:
        return written  # type: ignore[return-value]  # checked just above
    return narrower(current, written)  # type: ignore[arg-type]  # checked just above


def kept_body(body_html: str, consent: Consent, excerpt_chars: int) -> str:
    """What ``consent`` keeps of a post's HTML: all of it, a bounded excerpt, or nothing."""
    if consent == "full":
        return body_html
    if consent == "excerpt":
        return excerpt_html(body_html, excerpt_chars)
    return ""


def widens(before: str | None, after: Consent) -> bool:
    """Whether ``after`` keeps more than ``before`` (None: nothing recorded, so no)."""
    return before in _RANK and _RANK[after] > _RANK[before]  # type: ignore[index]
