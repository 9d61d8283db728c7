"""Pelican plugin: members in the template context, a page per member, a community page.

Context keys: ``chorus_members`` (handle -> member view) and ``chorus_members_by_activity``.
"""

from __future__ import annotations

import logging
from typing import Any

from pelican import signals
from pelican.generators import Generator

from chorus.config import Config, apply_defaults
from chorus.credit import by_activity, member_views
from chorus.members import load_registry

log = logging.getLogger(__name__)


class MembersGenerator(Generator):
    """Reads content/members/ and writes members/<handle>/ and members/."""

    def generate_context(self) -> None:
        settings = self.settings
        config = Config.from_settings(settings)
        registry = load_registry(
            config.members_dir,
            content_dir=config.content_dir,
            local_feeds_dir=config.local_feeds_dir,
        )
        for problem in registry.problems:
            log.error("member file skipped: %s (run `chorus members check`)", problem)
        views = member_views(
            registry.members, settings["CHORUS_MEMBER_URL"], settings["CHORUS_MEMBER_SAVE_AS"]
        )
        for article in self.context.get("articles", []):
            handle = getattr(article, "member", None)
            if handle is None:
                continue
            if handle in views:
                views[handle].articles.append(article)
            else:
                log.warning(
                    "%s: member %r is not in the registry; no byline or member page",
                    article.source_path,
                    handle,
                )
        for view in views.values():
            view.articles.sort(key=lambda article: article.date, reverse=True)
        self.views = views
        self.context["chorus_members"] = views
        self.context["chorus_members_by_activity"] = by_activity(views)

    def generate_output(self, writer) -> None:
        relative = self.settings.get("RELATIVE_URLS", False)
        template = self.get_template("member")
        for view in self.views.values():
            writer.write_file(
                view.save_as,
                template,
                self.context,
                relative_urls=relative,
                url=view.url,
                member=view,
                page_name=view.url.rstrip("/"),
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


def get_generators(pelican_object: Any) -> type[Generator]:
    return MembersGenerator


def check_settings(pelican_object: Any) -> None:
    """Fill in and validate the CHORUS_* settings once, before anything is read."""
    apply_defaults(pelican_object.settings)


def register() -> None:
    signals.initialized.connect(check_settings)
    signals.get_generators.connect(get_generators)
