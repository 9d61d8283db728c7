"""An issue as email: HTML for mail clients (CSS inlined), a plain-text alternative, and the
standard MIME message (``multipart/alternative``, plain first, then HTML) with list headers."""

from __future__ import annotations

import hashlib
import re
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote, urlsplit

import css_inline
import jinja2
from markupsafe import Markup, escape

from chorus.common.urls import web_url
from chorus.fetch.faces import Face
from chorus.members.registry import Member
from chorus.members.takedowns import Takedowns
from chorus.newsletter.addresses import ascii_domain
from chorus.newsletter.issue import Issue
from chorus.newsletter.present import present
from chorus.newsletter.settings import NewsletterConfig

HTML_TEMPLATE = "email/issue.html"
TEXT_TEMPLATE = "email/issue.txt"
EMAIL_PLACEHOLDER = "{email}"  # in CHORUS_NEWSLETTER_UNSUBSCRIBE_URL: the subscriber's address
_BLANK_LINES = re.compile(r"\n{3,}")
_TRAILING_SPACE = re.compile(r"[ \t]+\n")
_STYLE = re.compile(r"(<style[^>]*>)(.*?)(</style>)", re.DOTALL | re.IGNORECASE)
# css-inline leaves nothing in <style> but the at-rules it cannot inline; their innermost
# blocks hold the declarations.
_RULE_BODY = re.compile(r"\{([^{}]*)\}")
_INLINER = css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False)
# CRLF line ends as on the wire; headers folded only past RFC 5322's hard limit, so that a long
# List-Unsubscribe URL stays on its line instead of being folded after the colon.
POLICY = SMTP.clone(max_line_length=998)
# The parts are encoded with this one: quoted-printable lines of at most 76 characters
# (RFC 2045), 7-bit clean whatever the server offers.
BODY_POLICY = SMTP.clone(max_line_length=76)
SAMPLE_ADDRESS = "subscriber@example.invalid"  # fills {email} in the review copies


class EmailError(Exception):
    """The email cannot be made; the message says what to set or fix."""


@dataclass(frozen=True)
class Rendered:
    """One issue rendered for email, the same for every subscriber until personalised."""

    number: int
    subject: str
    html: str
    text: str
    preheader: str
    issue_url: str  # absolute: the "view in browser" link
    unsubscribe_url: str | None  # as configured, placeholders and all

    def personalised(self, address: str) -> Rendered:
        """The copy for one subscriber: ``{email}`` in the unsubscribe URL filled in."""
        raw = self.unsubscribe_url
        if not raw or EMAIL_PLACEHOLDER not in raw:
            return self
        mine = raw.replace(EMAIL_PLACEHOLDER, quote(address, safe="@"))
        return replace(
            self,
            html=self.html.replace(str(escape(raw)), str(escape(mine))),
            text=self.text.replace(raw, mine),
            unsubscribe_url=mine,
        )


def public_site_url(site_url: str) -> str:
    """The site's absolute URL, which every link in an email needs."""
    url = (site_url or "").rstrip("/")
    if not url or web_url(url) is None:
        raise EmailError(
            f"SITEURL is {site_url!r}, but emails need the site's public address for their "
            "links: use the settings you publish with (chorus --settings publishconf.py "
            "newsletter ..., or --publish)"
        )
    return url


def environment(theme: Path | None) -> jinja2.Environment:
    """Jinja2 for the theme's email templates (``templates/email/``)."""
    if theme is None or not (theme / "templates" / HTML_TEMPLATE).is_file():
        raise EmailError(
            f"the theme {theme} has no templates/{HTML_TEMPLATE}: copy templates/email/ "
            "from Chorus's own theme"
        )
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(theme / "templates")),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=False),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["wrap"] = wrap
    return env


def render(
    issue: Issue,
    members: Mapping[str, Member],
    config: NewsletterConfig,
    *,
    site_url: str,
    faces: Mapping[str, Face] | None = None,
    takedowns: Takedowns | None = None,
) -> Rendered:
    """The issue's HTML (CSS inlined) and plain text, every URL absolute; ``faces``: each
    member's picture, shown by their name."""
    base = public_site_url(site_url)
    shown = present(
        issue,
        members,
        member_url=config.member_url,
        base_url=base + "/",
        takedowns=takedowns,
        faces=faces,
    )
    issue = shown.issue  # without what was withheld since the issue was built
    issue_url = f"{base}/{config.issue_url(issue.number)}"
    archive_url = f"{base}/{config.archive_url}"
    subscribe_at_archive = _same_page(config.subscribe_url, archive_url)
    context = {
        "issue": issue,
        "subject": issue.subject,
        "preheader": issue.summary,
        "period": shown.period,
        "sections": shown.sections,
        "contributors": shown.contributors,
        "contributor_handles": {p.handle for p in shown.contributors if p.handle},
        "new_members": shown.new_members,
        "intro_html": Markup(shown.intro_html),  # sanitized
        "intro_text": html_to_text(shown.intro_html),
        "title": config.title,
        "site_name": config.site_name,
        "site_url": base,
        "issue_url": issue_url,
        "archive_url": archive_url,
        "unsubscribe_url": config.unsubscribe_url,
        # The archive link already leads there: one link, or the check counts a duplicate.
        "subscribe_url": None if subscribe_at_archive else config.subscribe_url,
        "subscribe_at_archive": subscribe_at_archive,
        "lang": config.language,
    }
    env = environment(config.theme)
    try:
        html = env.get_template(HTML_TEMPLATE).render(context)
        text = env.get_template(TEXT_TEMPLATE).render(context)
    except jinja2.TemplateError as error:
        raise EmailError(f"email template: {error}") from None
    return Rendered(
        number=issue.number,
        subject=issue.subject,
        html=inline_css(html),
        text=tidy_text(text),
        preheader=issue.summary,
        issue_url=issue_url,
        unsubscribe_url=config.unsubscribe_url,
    )


def _same_page(one: str | None, other: str) -> bool:
    """Whether two absolute URLs name one page (a trailing slash and the case of the host aside)."""
    if not one:
        return False
    first, second = urlsplit(one), urlsplit(other)
    return (first.scheme, first.netloc.lower(), first.path.rstrip("/"), first.query) == (
        second.scheme,
        second.netloc.lower(),
        second.path.rstrip("/"),
        second.query,
    )


def inline_css(html: str) -> str:
    """CSS moved into style attributes; @media rules kept in <style>, each one !important."""
    inlined = _INLINER.inline(html)
    return _STYLE.sub(lambda m: m[1] + important(m[2]) + m[3], inlined)


def important(css: str) -> str:
    """Every declaration in the innermost blocks of ``css`` marked ``!important``: rules in a
    <style> element must win over the inlined style attributes to take effect."""

    def mark(block: re.Match[str]) -> str:
        declarations = []
        for declaration in block[1].split(";"):
            if not declaration.strip():
                continue
            if "!important" not in declaration:
                declaration = declaration.rstrip() + " !important"
            declarations.append(declaration.strip())
        return "{ " + "; ".join(declarations) + "; }" if declarations else "{}"

    return _RULE_BODY.sub(mark, css)


def tidy_text(text: str) -> str:
    text = _TRAILING_SPACE.sub("\n", text.replace("\r\n", "\n"))
    return _BLANK_LINES.sub("\n\n", text).strip() + "\n"


def wrap(text: str, width: int = 72, indent: str = "") -> str:
    """Wrap plain text for the text part, never breaking a URL or a word."""
    return textwrap.fill(
        " ".join(str(text).split()),
        width=width,
        initial_indent=indent,
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    )


class _TextMaker(HTMLParser):
    """HTML (sanitized, so a small set of tags) to plain text; links written out."""

    BLOCKS = frozenset(
        {"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "ul", "ol", "li"}
        | {"table", "tr", "figure", "figcaption", "dl", "dt", "dd", "hr"}
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[str] = []
        self.current: list[str] = []
        self.links: list[str | None] = []
        self.link_text: list[list[str]] = []
        self.pre = 0
        self.prefix = ""

    def flush(self) -> None:
        text = "".join(self.current)
        if not self.pre:
            text = " ".join(text.split())
        if text.strip():
            self.blocks.append(self.prefix + text if self.prefix else text)
        self.current = []
        self.prefix = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag in self.BLOCKS:
            self.flush()
            if tag == "li":
                self.prefix = "- "
            if tag == "pre":
                self.pre += 1
        elif tag == "br":
            self.current.append("\n" if self.pre else " ")
        elif tag == "a":
            self.links.append(attributes.get("href"))
            self.link_text.append([])
        elif tag == "img" and attributes.get("alt"):
            self.data(f"[{attributes['alt']}]")

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self.links:
            href, text = self.links.pop(), "".join(self.link_text.pop()).strip()
            if href and href.removeprefix("mailto:") not in text:
                self.data(f" ({href})")
        elif tag in self.BLOCKS:
            self.flush()
            if tag == "pre":
                self.pre = max(0, self.pre - 1)

    def handle_data(self, data: str) -> None:
        self.data(data)

    def data(self, data: str) -> None:
        self.current.append(data)
        for text in self.link_text:
            text.append(data)


def html_to_text(fragment: str, width: int = 72) -> str:
    """Plain text of an HTML fragment: paragraphs wrapped, list items dashed, every link's
    URL written after its text."""
    if not fragment:
        return ""
    maker = _TextMaker()
    maker.feed(fragment)
    maker.close()
    maker.flush()
    out = []
    for block in maker.blocks:
        if "\n" in block:  # preformatted
            out.append(block.rstrip())
        elif block.startswith("- "):
            out.append(wrap(block[2:], width - 2, "  ").replace("  ", "- ", 1))
        else:
            out.append(wrap(block, width))
    return "\n\n".join(out)


def site_host(site_url: str) -> str:
    return urlsplit(site_url).hostname or "localhost"


def from_address(config: NewsletterConfig, site_url: str) -> str:
    """CHORUS_NEWSLETTER_FROM, or the newsletter's title at newsletter@<site's host>."""
    if config.from_address:
        return config.from_address
    return f'"{config.title.replace(chr(34), chr(39))}" <newsletter@{site_host(site_url)}>'


def list_id(config: NewsletterConfig, site_url: str) -> str:
    """The List-Id header (RFC 2919): the title, then <newsletter.host> or the configured id."""
    identifier = (config.list_id or f"newsletter.{site_host(site_url)}").strip("<>")
    return f'"{config.title.replace(chr(34), chr(39))}" <{identifier}>'


def message_id(number: int, site_url: str, address: str | None = None) -> str:
    """A Message-ID that is the same each time for one issue and one address: if a send is
    cut off between the server accepting a message and the ledger recording it, the copy
    sent again on resume carries the same id, which lets mailboxes drop the duplicate."""
    who = hashlib.sha256(address.casefold().encode()).hexdigest()[:20] if address else "all"
    return f"<issue-{number:04d}.{who}@{site_host(site_url)}>"


def build_message(
    rendered: Rendered,
    config: NewsletterConfig,
    *,
    site_url: str,
    to: str | None = None,
    date: datetime,
    subject_prefix: str = "",
) -> EmailMessage:
    """The MIME message: multipart/alternative with the plain text first, then the HTML.

    With ``to``, the copy for that address (its unsubscribe URL and Message-ID); without, the
    issue as an .eml file for review or for another tool.
    """
    base = public_site_url(site_url)
    if to is not None:
        rendered = rendered.personalised(to)
    message = EmailMessage(policy=BODY_POLICY)
    message.set_content(rendered.text, subtype="plain", charset="utf-8", cte="quoted-printable")
    message.add_alternative(rendered.html, subtype="html", charset="utf-8", cte="quoted-printable")
    message.policy = POLICY  # the parts are encoded; the headers fold at 998
    message["From"] = from_address(config, base)
    if to is not None:
        message["To"] = ascii_domain(to)
    if config.reply_to:
        message["Reply-To"] = config.reply_to
    message["Subject"] = subject_prefix + rendered.subject
    message["Date"] = format_datetime(date)
    message["Message-ID"] = message_id(rendered.number, base, to)
    message["List-Id"] = list_id(config, base)
    message["List-Archive"] = f"<{base}/{config.archive_url}>"
    message["List-Post"] = "NO"  # an announcement list: replies go to the editors, not the list
    if rendered.unsubscribe_url:
        message["List-Unsubscribe"] = f"<{rendered.unsubscribe_url}>"
        if rendered.unsubscribe_url.startswith("https://"):
            # RFC 8058: mail clients may then unsubscribe with one POST, without a page.
            message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    # A boundary that depends on the content only, so the same issue gives the same file.
    digest = hashlib.sha256((rendered.text + rendered.html).encode()).hexdigest()[:32]
    message.set_boundary(f"==chorus-{digest}==")
    return message
