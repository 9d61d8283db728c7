"""Pelican plugin: the newsletter on the site. A page per published issue, an archive of all
issues, and an Atom feed of issues (full content, absolute URLs) that newsletter services'
RSS-to-email can send as it is.

Issue files (``content/newsletter/<NNNN>.md``) are read by the core (chorus.newsletter), not
by Pelican's readers: they are not articles. An issue is published once its status is
``ready`` or ``sent``.

Context keys: ``chorus_newsletter_issues`` (published issues, newest first) and
``chorus_featured_in`` (member handle -> the issues that featured them, as author or sharer).
Reads ``chorus_members`` (set by the chorus_members plugin) when it is there.
"""

from __future__ import annotations

import html
import itertools
import logging
from collections.abc import Callable
from datetime import datetime, time
from typing import Any

from pelican import signals
from pelican.generators import Generator
from pelican.writers import Writer

from chorus.common.config import Config, apply_defaults
from chorus.common.urls import web_url
from chorus.fetch.faces import Face, faces
from chorus.members.registry import Member, load_registry
from chorus.members.takedowns import Takedowns, TakedownsError, load_takedowns
from chorus.newsletter.issue import load_issues
from chorus.newsletter.present import Presented, present, render_intro
from chorus.newsletter.settings import NewsletterConfig

log = logging.getLogger(__name__)


class IssueView:
    """A published issue as templates see it; it also has what Pelican's feed writer reads
    from an article (title, url, date, summary, get_content)."""

    def __init__(
        self,
        shown: Presented,
        *,
        url: str,
        save_as: str,
        date: datetime,
        author: str,
        content: Callable[[str], str],
    ) -> None:
        issue = shown.issue
        self.number = issue.number
        self.subject = issue.subject
        self.title = html.escape(issue.subject, quote=False)  # Pelican prints titles as HTML
        self.summary = html.escape(issue.summary, quote=False)
        self.status = issue.status
        self.period = shown.period
        self.period_start = issue.period_start
        self.period_end = issue.period_end
        self.sections = shown.sections
        self.contributors = shown.contributors
        self.new_members = shown.new_members
        self.intro_html = shown.intro_html
        self.entry_count = shown.entry_count
        self.issue = issue
        self.url = url
        self.save_as = save_as
        self.date = date
        self.author = author
        self.newer: IssueView | None = None
        self.older: IssueView | None = None
        self._content = content

    def featured(self) -> set[str]:
        """Handles of the members the issue credits as authors or sharers."""
        return {
            person.handle
            for section in self.sections
            for entry in section.entries
            for person in (entry.author, entry.shared_by)
            if person is not None and person.handle
        }

    def get_content(self, site_url: str) -> str:
        """The whole issue as HTML with links absolute against ``site_url`` (for feeds)."""
        return self._content(site_url)

    def render_key(self) -> dict[str, Any]:
        """What of the issue reaches a page, for the render cache (``chorus.site.render_cache``):
        everything it was made from, and its neighbours by number."""
        hidden = {"_content", "newer", "older"}
        return {key: value for key, value in vars(self).items() if key not in hidden} | {
            "newer": self.newer and self.newer.number,
            "older": self.older and self.older.number,
        }


class NewsletterGenerator(Generator):
    """Reads content/newsletter/ and writes the issue pages, the archive and the feed."""

    def generate_context(self) -> None:
        self.config = config = NewsletterConfig.from_settings(self.settings)
        issues, problems = load_issues(config.issues_dir)
        for problem in problems:
            log.error("newsletter issue skipped: %s", problem)
        members = self._members(config)
        member_faces = self._faces(members)
        takedowns = self._takedowns()
        views: list[IssueView] = []
        for issue in reversed(issues):
            if not issue.published:
                continue
            shown = present(
                issue,
                members,
                member_url=config.member_url,
                takedowns=takedowns,
                faces=member_faces,
            )
            views.append(
                IssueView(
                    shown,
                    url=config.issue_url(issue.number),
                    save_as=config.issue_save_as(issue.number),
                    date=datetime.combine(issue.date, time(0), config.timezone),
                    author=config.title,
                    content=self._feed_content(shown, members),
                )
            )
        for newer, older in itertools.pairwise(views):
            newer.older, older.newer = older, newer
        featured: dict[str, list[IssueView]] = {}
        for view in views:
            for handle in sorted(view.featured()):
                featured.setdefault(handle, []).append(view)
        self.issues = views
        self.context["chorus_newsletter_issues"] = views
        self.context["chorus_featured_in"] = featured
        self.context["CHORUS_NEWSLETTER_TITLE"] = config.title

    def _takedowns(self) -> Takedowns:
        """The posts taken down, which issues not sent yet leave out: as the chorus_takedowns
        plugin read them for this build, or read here without it."""
        known = self.context.get("chorus_takedowns")
        if known is not None:
            return known
        path = Config.from_settings(self.settings).takedowns_file
        try:
            return load_takedowns(path)
        except TakedownsError as error:
            # Building without it would put back in an issue what was taken down.
            raise RuntimeError(f"{error}; fix it before building (docs/members.md)") from None

    def _members(self, config: NewsletterConfig) -> dict[str, Member]:
        views = self.context.get("chorus_members")
        if views:
            return {handle: view.member for handle, view in views.items()}
        # Without the chorus_members plugin: the registry itself, as chorus_curated read it
        # for this build or read here (its problems are reported by `chorus members check`).
        core = Config.from_settings(self.settings)
        registry = self.context.get("chorus_registry") or load_registry(
            core.members_dir, content_dir=core.content_dir, local_feeds_dir=core.local_feeds_dir
        )
        return dict(registry.members)

    def _faces(self, members: dict[str, Member]) -> dict[str, Face]:
        """Members' faces: as the chorus_members plugin found them for this build, or found
        here without it."""
        views = self.context.get("chorus_members")
        if views:
            return {handle: view.face for handle, view in views.items() if view.face is not None}
        keep_remote = self.settings["CHORUS_REMOTE_IMAGES"] == "keep"
        return faces(members, Config.from_settings(self.settings), keep_remote=keep_remote)

    def _feed_content(self, shown: Presented, members: dict[str, Member]) -> Callable[[str], str]:
        def content(site_url: str) -> str:
            base = site_url.rstrip("/")
            return self.get_template("newsletter_content").render(
                {
                    **self.context,
                    "SITEURL": base,
                    "issue": shown,
                    "intro_html": render_intro(shown.issue.intro, base + "/" if base else None),
                    "in_feed": True,
                }
            )

        return content

    def generate_output(self, writer: Writer) -> None:
        if not self.issues:
            return
        config = self.config
        relative = self.settings.get("RELATIVE_URLS", False)
        template = self.get_template("newsletter_issue")
        for view in self.issues:
            writer.write_file(
                view.save_as,
                template,
                self.context,
                relative_urls=relative,
                url=view.url,
                issue=view,
                page_name=view.url.rstrip("/") or "newsletter",
            )
        if config.archive_save_as:
            writer.write_file(
                config.archive_save_as,
                self.get_template("newsletter"),
                self.context,
                relative_urls=relative,
                url=config.archive_url,
                issues=self.issues,
                page_name=config.archive_url.rstrip("/") or "newsletter",
            )
        if config.feed_atom:
            self._write_feed(writer, config)

    def _write_feed(self, writer: Writer, config: NewsletterConfig) -> None:
        """The feed of issues, every link absolute so RSS-to-email can send it unchanged."""
        base = next(
            (
                str(url).rstrip("/")
                for url in (self.settings.get("SITEURL"), self.settings.get("FEED_DOMAIN"))
                if url and web_url(str(url))
            ),
            "",
        )
        if not base:
            log.info("newsletter feed: no absolute SITEURL or FEED_DOMAIN; its links are relative")
        site_name = str(self.settings.get("SITENAME") or "")
        title = config.title
        if site_name and title.startswith(site_name):
            title = title.removeprefix(site_name).strip().capitalize() or "Newsletter"
        writer.write_feed(
            self.issues,
            {**self.context, "SITEURL": base, "FEED_DOMAIN": base},
            config.feed_atom,
            feed_type="atom",
            feed_title=title,
        )


def get_generators(pelican_object: Any) -> type[Generator]:
    return NewsletterGenerator


def check_settings(pelican_object: Any) -> None:
    """Fill in and validate the CHORUS_* settings (the newsletter's included) once."""
    settings = pelican_object.settings
    apply_defaults(settings)
    NewsletterConfig.from_settings(settings)
    # Issue files are not articles or pages, even where ARTICLE_PATHS covers all of content/.
    folder = str(settings["CHORUS_NEWSLETTER_DIR"]).strip("/")
    for key in ("ARTICLE_EXCLUDES", "PAGE_EXCLUDES"):
        excludes = list(settings.get(key) or [])
        if folder not in excludes:
            settings[key] = [*excludes, folder]


def register() -> None:
    signals.initialized.connect(check_settings)
    signals.get_generators.connect(get_generators)
