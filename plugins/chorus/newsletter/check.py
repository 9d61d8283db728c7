"""What makes an email break, found before it is sent.

Each rule looks at the MIME message as a mail client would get it and returns findings with a
message that says what is wrong and what to do. Errors stop ``chorus newsletter send``;
warnings are printed.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Literal
from urllib.parse import urlsplit

from bs4 import BeautifulSoup

from chorus.newsletter.issue import Issue, period_label, subject_dates
from chorus.newsletter.settings import HARD_LIMIT

Severity = Literal["error", "warning"]
DEFAULT_BUDGET = 90_000
SUBJECT_MIN, SUBJECT_MAX = 10, 78  # shorter says nothing; longer is cut in most inboxes
URL_ATTRIBUTES = ("href", "src", "background", "action", "poster", "cite", "longdesc")
_CSS_URL = re.compile(r"url\(\s*(['\"]?)(?P<url>[^'\")]*)\1\s*\)", re.IGNORECASE)
PLACEHOLDERS = (
    re.compile(r"\{\{.*?\}\}", re.DOTALL),  # Jinja, Liquid, Handlebars, listmonk, Buttondown
    re.compile(r"\{%.*?%\}", re.DOTALL),
    re.compile(r"\*\|[A-Za-z0-9_:]+\|\*"),  # Mailchimp merge tags
    re.compile(r"%%[A-Za-z0-9_]+%%"),
    re.compile(r"\{[a-z_]+\}"),  # Python format fields: {email}, {name}
    re.compile(r"\b(?:TODO|FIXME|TBD|XXX)\b"),
    re.compile(r"\blorem ipsum\b", re.IGNORECASE),
)


@dataclass(frozen=True)
class Finding:
    """One problem of an email."""

    rule: str
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        return f"{self.severity}: {self.rule}: {self.message}"


@dataclass(frozen=True)
class Mail:
    """The parts of a message the rules read."""

    subject: str
    html: str
    text: str
    soup: BeautifulSoup
    headers: dict[str, str]
    allowed: tuple[str, ...]  # placeholders a service fills in (the unsubscribe URL)

    def urls(self) -> Iterator[tuple[str, str]]:
        """(where, URL) for every URL in the HTML: attributes, srcset and CSS url()."""
        for tag in self.soup.find_all(True):
            for attribute in URL_ATTRIBUTES:
                value = tag.get(attribute)
                if isinstance(value, str):
                    yield f"<{tag.name} {attribute}>", value.strip()
            srcset = tag.get("srcset")
            if isinstance(srcset, str):
                for candidate in srcset.split(","):
                    if candidate.strip():
                        yield f"<{tag.name} srcset>", candidate.split()[0]
            style = tag.get("style")
            if isinstance(style, str):
                for found in _CSS_URL.finditer(style):
                    yield f"<{tag.name} style>", found["url"].strip()
        for style in self.soup.find_all("style"):
            for found in _CSS_URL.finditer(style.get_text()):
                yield "<style>", found["url"].strip()

    def links(self) -> list[str]:
        return [a["href"].strip() for a in self.soup.find_all("a", href=True)]

    def is_allowed(self, url: str) -> bool:
        return any(url == allowed for allowed in self.allowed)


def read_mail(message: EmailMessage, allowed: Iterable[str] = ()) -> Mail:
    html_part = message.get_body(preferencelist=("html",))
    text_part = message.get_body(preferencelist=("plain",))
    html = html_part.get_content() if html_part is not None else ""
    text = text_part.get_content() if text_part is not None else ""
    return Mail(
        subject=str(message.get("Subject") or ""),
        html=html,
        text=text,
        soup=BeautifulSoup(html, "html.parser"),
        headers={key.lower(): str(value) for key, value in message.items()},
        allowed=tuple(a for a in allowed if a),
    )


def check_size(mail: Mail, budget: int) -> Iterator[Finding]:
    size = len(mail.html.encode("utf-8"))
    if size > HARD_LIMIT:
        yield Finding(
            "size",
            f"the HTML is {size / 1000:.1f} KB: Gmail clips messages over 102 KB, hiding the "
            "end of the issue and the unsubscribe link. Shorten the intro or the excerpts, or "
            "leave some posts out (exclude:).",
        )
    elif size > budget:
        yield Finding(
            "size",
            f"the HTML is {size / 1000:.1f} KB, over the budget of {budget / 1000:.1f} KB "
            "(CHORUS_NEWSLETTER_SIZE_BUDGET); Gmail clips at 102 KB. Shorten the issue.",
        )


def check_urls(mail: Mail) -> Iterator[Finding]:
    reported: set[str] = set()
    for where, url in mail.urls():
        if url in reported or mail.is_allowed(url) or url.lower().startswith("data:"):
            continue
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme == "mailto":
            continue
        reported.add(url)
        if not scheme:
            yield Finding(
                "urls",
                f"{where} {url!r} is relative: mail has no page to be relative to. "
                "Use an absolute https URL (is SITEURL set?).",
            )
        elif scheme not in ("http", "https") or not parts.hostname:
            yield Finding("urls", f"{where} {url!r}: only https (and http) URLs work in mail")
        elif scheme == "http":
            yield Finding(
                "urls",
                f"{where} {url!r} is not https; some clients warn about it",
                "warning",
            )
    header = mail.headers.get("list-unsubscribe", "")
    targets = re.findall(r"<([^>]*)>", header)
    if header and not any(
        t.startswith(("https://", "mailto:")) or mail.is_allowed(t) for t in targets
    ):
        yield Finding("urls", f"List-Unsubscribe {header!r} has no https or mailto URL")


def check_data_uris(mail: Mail) -> Iterator[Finding]:
    seen = 0
    for where, url in mail.urls():
        if url.lower().startswith("data:"):
            seen += 1
            if seen <= 3:
                yield Finding(
                    "data-uri",
                    f"{where} holds a data: URI ({url[:40]}...): Gmail and Outlook block "
                    "them. Link the image from the site with an https URL instead.",
                )


def check_alt_text(mail: Mail) -> Iterator[Finding]:
    for image in mail.soup.find_all("img"):
        decorative = image.get("role") in ("presentation", "none") or (
            image.get("aria-hidden") == "true"
        )
        alt = image.get("alt")
        if alt is None or (not alt.strip() and not decorative):
            yield Finding(
                "alt-text",
                f"image {image.get('src', '')!r} has no alt text: many clients block images, "
                'and screen readers need it. Describe it in alt="..." (or mark a decorative '
                'one role="presentation").',
            )


def check_subject(mail: Mail) -> Iterator[Finding]:
    length = len(mail.subject.strip())
    if length < SUBJECT_MIN:
        yield Finding(
            "subject",
            f"the subject {mail.subject!r} is {length} characters; write at least "
            f"{SUBJECT_MIN} so readers know what the issue holds",
        )
    elif length > SUBJECT_MAX:
        yield Finding(
            "subject",
            f"the subject is {length} characters, over {SUBJECT_MAX}: inboxes cut it off and "
            "some servers fold it. Shorten the issue's subject.",
        )


def check_duplicate_links(mail: Mail) -> Iterator[Finding]:
    for url, count in Counter(mail.links()).items():
        if count > 1:
            yield Finding(
                "duplicate-links",
                f"{url!r} is linked {count} times; link each page once (spam filters and "
                "readers both notice repeats)",
            )


def check_placeholders(mail: Mail) -> Iterator[Finding]:
    places = {
        "the subject": mail.subject,
        "the HTML": _visible_text(mail.soup),
        "the plain text": mail.text,
    }
    found: dict[str, list[str]] = {}
    for where, text in places.items():
        for allowed in mail.allowed:
            text = text.replace(allowed, " ")
        for pattern in PLACEHOLDERS:
            for match in pattern.finditer(text):
                found.setdefault(match.group(0), [])
                if where not in found[match.group(0)]:
                    found[match.group(0)].append(where)
    for placeholder, wheres in found.items():
        yield Finding(
            "placeholders",
            f"{placeholder[:60]!r} left in {' and '.join(wheres)}: fill it in or remove it",
        )


def check_text_links(mail: Mail) -> Iterator[Finding]:
    missing = [
        url
        for url in dict.fromkeys(mail.links())
        if url.startswith(("http://", "https://")) and url not in mail.text
    ]
    for url in missing[:5]:
        yield Finding(
            "text-links",
            f"the plain-text part lacks the link {url}: readers of plain text get every link",
        )
    if not mail.text.strip():
        yield Finding("text-links", "there is no plain-text part (multipart/alternative)")


def check_unsubscribe(mail: Mail) -> Iterator[Finding]:
    if "list-unsubscribe" not in mail.headers:
        yield Finding(
            "unsubscribe",
            "no List-Unsubscribe header and no unsubscribe link: set "
            "CHORUS_NEWSLETTER_UNSUBSCRIBE_URL (Gmail and Yahoo require one-click "
            "unsubscribe from bulk senders)",
            "warning",
        )


def check_preheader(mail: Mail) -> Iterator[Finding]:
    hidden = [
        tag
        for tag in mail.soup.find_all(style=True)
        if re.search(r"display\s*:\s*none", tag["style"]) and tag.get_text(strip=True)
    ]
    if not hidden:
        yield Finding(
            "preheader",
            "no preheader: inboxes show the first words of the email instead. Write the "
            "issue's summary.",
            "warning",
        )


def check_period(issue: Issue) -> Iterator[Finding]:
    """The subject's dates against the issue's period: a range must be the period, a single
    day must fall in it (or be the issue's date)."""
    for text, start, end in subject_dates(issue.subject, issue.period_start, issue.period_end):
        if start == end:
            fits = issue.period_start <= start <= issue.period_end or start == issue.date
        else:
            fits = (start, end) == (issue.period_start, issue.period_end)
        if not fits:
            yield Finding(
                "subject-period",
                f"the subject {issue.subject!r} says {text!r}, but the issue covers "
                f"{period_label(issue.period_start, issue.period_end)}: make the subject say "
                "that (or fix period_start and period_end)",
            )


RULES: dict[str, Callable[[Mail], Iterator[Finding]]] = {
    "urls": check_urls,
    "data-uri": check_data_uris,
    "alt-text": check_alt_text,
    "subject": check_subject,
    "duplicate-links": check_duplicate_links,
    "placeholders": check_placeholders,
    "text-links": check_text_links,
    "unsubscribe": check_unsubscribe,
    "preheader": check_preheader,
}


def check_message(
    message: EmailMessage, *, budget: int = DEFAULT_BUDGET, allowed: Iterable[str] = ()
) -> list[Finding]:
    """Every finding for the message, rule by rule; ``allowed`` are strings a mail service
    fills in later (the configured unsubscribe URL), never reported as placeholders."""
    mail = read_mail(message, allowed)
    findings = list(check_size(mail, budget))
    for rule in RULES.values():
        findings.extend(rule(mail))
    return findings


def _visible_text(soup: BeautifulSoup) -> str:
    parts = [
        text
        for text in soup.find_all(string=True)
        if text.parent is None or text.parent.name not in ("style", "script", "title")
    ]
    attributes = [
        str(tag.get(name))
        for tag in soup.find_all(True)
        for name in ("alt", "title")
        if tag.get(name)
    ]
    return " ".join([*parts, *attributes])
