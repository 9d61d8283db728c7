"""Pelican plugin: members in the template context, a page per member, a community page.

Context keys: ``chorus_members`` (handle -> member view), ``chorus_member_articles`` (handle ->
their posts, newest first), ``chorus_members_by_activity``, ``chorus_activity`` (handle -> their
posts per month over the year up to the site's newest post) and ``chorus_new_members`` (the
members welcomed as new, newest first). Each article gets ``chorus_image``: the first image of
its own that the site serves, for the cards of timelines (None for posts shared as links).
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

from pelican import signals
from pelican.generators import Generator
from pelican.writers import Writer

from chorus.common.config import Config, apply_defaults
from chorus.fetch.faces import faces, generated_avatar
from chorus.fetch.health import feed_health
from chorus.fetch.state import load_state
from chorus.members.registry import load_registry
from chorus.site.activity import activity, is_new, lead_image
from chorus.site.credit import by_activity, member_views, opml

log = logging.getLogger(__name__)


class MembersGenerator(Generator):
    """Reads content/members/ and writes members/<handle>/ and members/."""

    def generate_context(self) -> None:
        settings = self.settings
        config = Config.from_settings(settings)
        # Read already by the chorus_curated plugin (which applies each member's consent to
        # their posts) when it is on; once a build is enough.
        registry = self.context.get("chorus_registry") or load_registry(
            config.members_dir,
            content_dir=config.content_dir,
            local_feeds_dir=config.local_feeds_dir,
        )
        for problem in registry.problems:
            log.error("member file skipped: %s (run `chorus members check`)", problem)
        views = member_views(
            registry.members,
            {
                "url": settings["CHORUS_MEMBER_URL"],
                "save_as": settings["CHORUS_MEMBER_SAVE_AS"],
                "atom_feed": settings["CHORUS_MEMBER_FEED_ATOM"],
                "rss_feed": settings["CHORUS_MEMBER_FEED_RSS"],
                "file_url": settings["CHORUS_MEMBER_FILE_URL"],
            },
            settings["CHORUS_REMOTE_IMAGES"],
            faces(registry.members, config, keep_remote=settings["CHORUS_REMOTE_IMAGES"] == "keep"),
        )
        articles: dict[str, list[Any]] = {handle: [] for handle in views}
        for article in self.context.get("articles", []):
            shown_in_full = getattr(article, "chorus_consent", None) != "link"
            article.chorus_image = (
                lead_image(article._content, config.content_dir) if shown_in_full else None
            )
            handle = getattr(article, "member", None)
            if handle is None:
                continue
            if handle in views:
                view = views[handle]
                articles[handle].append(article)
                feed_url = getattr(article, "chorus_feed_url", None)
                if feed_url and feed_url not in view.found_feeds:
                    view.found_feeds.append(feed_url)
            else:
                log.warning(
                    "%s: member %r is not in the registry; no byline or member page",
                    article.source_path,
                    handle,
                )
        for posts in articles.values():
            posts.sort(key=lambda article: article.date, reverse=True)
        self.views = views
        self.posts_by_member = articles
        self.health = feed_health(registry.members.values(), load_state(config.state_file))
        self.context["chorus_feed_health"] = self.health
        self.context["chorus_members"] = views
        self.context["chorus_member_articles"] = articles
        self.context["chorus_members_by_activity"] = by_activity(views, articles)
        self._add_activity(registry.members, articles)

    def _add_activity(self, members: dict[str, Any], articles: dict[str, list[Any]]) -> None:
        """Posts per month and new members, counted back from the newest post (not from the
        clock: the same repository builds the same pages on any day)."""
        newest = max((a.date.date() for a in self.context.get("articles", [])), default=None)
        if newest is None:
            self.context["chorus_activity"] = {}
            self.context["chorus_new_members"] = []
            return
        self.context["chorus_activity"] = {
            handle: activity((post.date.date() for post in posts), newest)
            for handle, posts in articles.items()
        }
        first_post = {h: posts[-1].date.date() for h, posts in articles.items() if posts}
        days = self.settings["CHORUS_NEW_MEMBER_DAYS"]
        new = [
            handle
            for handle in self.views
            if is_new(members[handle].joined, first_post.get(handle), newest, days)
        ]
        new.sort(key=lambda h: (members[h].joined or first_post[h], h), reverse=True)
        self.context["chorus_new_members"] = [self.views[handle] for handle in new]

    def generate_output(self, writer: Writer) -> None:
        relative = self.settings.get("RELATIVE_URLS", False)
        self._write_faces()
        template = self.get_template("member")
        for view in self.views.values():
            writer.write_file(
                view.save_as,
                template,
                self.context,
                relative_urls=relative,
                url=view.url,
                member=view,
                member_articles=self.posts_by_member[view.handle],
                page_name=view.url.rstrip("/"),
            )
            for path, kind in ((view.atom_feed, "atom"), (view.rss_feed, "rss")):
                if path:
                    writer.write_feed(
                        self.posts_by_member[view.handle],
                        self.context,
                        path,
                        feed_type=kind,
                        feed_title=view.name,
                    )
        writer.write_file(
            self.settings["CHORUS_COMMUNITY_SAVE_AS"],
            self.get_template("community"),
            self.context,
            relative_urls=relative,
            url=self.settings["CHORUS_COMMUNITY_URL"],
            members=self.context["chorus_members_by_activity"],
            page_name="members",
        )
        self._write_blogroll(writer, relative)
        if self.settings["CHORUS_HEALTH_SAVE_AS"]:
            writer.write_file(
                self.settings["CHORUS_HEALTH_SAVE_AS"],
                self.get_template("feed_health"),
                self.context,
                relative_urls=relative,
                url=self.settings["CHORUS_HEALTH_URL"],
                feeds=self.health,
                page_name="feed-health",
            )

    def _write_faces(self) -> None:
        """Each member's picture that the build makes: the generated one of every member
        without an avatar (drawn from the handle) and local avatars resized in the cache. Both
        are named by what they show, so a file already there is already right."""
        for view in self.views.values():
            if view.face is None:
                continue
            if view.face.generated:
                target = Path(self.output_path, view.face.src(0))
                if not target.is_file():
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(generated_avatar(view.handle))
                written = [target]
            else:
                written = []
                for path, cached in view.face.built:
                    target = Path(self.output_path, path)
                    if not target.is_file():
                        target.parent.mkdir(parents=True, exist_ok=True)
                        shutil.copyfile(cached, target)
                    written.append(target)
            for target in written:
                # Written output, as pages are: a rebuild removes the pictures of members gone.
                signals.content_written.send(str(target), context=self.context)

    def _write_blogroll(self, writer: Writer, relative: bool) -> None:
        """The human blogroll page and the OPML file of every member's public feeds."""
        members = sorted(self.views.values(), key=lambda view: view.name.casefold())
        if self.settings["CHORUS_BLOGROLL_SAVE_AS"]:
            writer.write_file(
                self.settings["CHORUS_BLOGROLL_SAVE_AS"],
                self.get_template("blogroll"),
                self.context,
                relative_urls=relative,
                url=self.settings["CHORUS_BLOGROLL_URL"],
                members=members,
                page_name="blogroll",
            )
        if self.settings["CHORUS_BLOGROLL_OPML"]:
            outlines = [(view.name, feed, view.site) for view in members for feed in view.feeds]
            site_url = self.settings.get("SITEURL", "")
            text = opml(f"{self.settings['SITENAME']}: members' feeds", site_url, outlines)
            target = Path(self.output_path, self.settings["CHORUS_BLOGROLL_OPML"])
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")


def get_generators(pelican_object: Any) -> type[Generator]:
    return MembersGenerator


def check_settings(pelican_object: Any) -> None:
    """Fill in and validate the CHORUS_* settings once, before anything is read."""
    apply_defaults(pelican_object.settings)


def register() -> None:
    signals.initialized.connect(check_settings)
    signals.get_generators.connect(get_generators)
