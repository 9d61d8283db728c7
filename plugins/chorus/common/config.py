"""Chorus settings: read once from Pelican-style settings, validated, frozen."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chorus import __version__
from chorus.common.urls import web_url


class ConfigError(Exception):
    """A setting is missing or wrong; the message says which and what to do."""


# Every CHORUS_* setting with its default. Paths are relative to Pelican's PATH (content/).
DEFAULTS: dict[str, Any] = {
    "CHORUS_MEMBERS_DIR": "members",
    "CHORUS_COMMUNITY_DIR": "community",
    "CHORUS_STATE_FILE": "community/fetch-state.json",
    # Posts taken down and drafts rejected, kept in git (chorus.moderation).
    "CHORUS_TAKEDOWNS_FILE": "takedowns.yml",
    "CHORUS_LOCAL_FEEDS_DIR": None,
    "CHORUS_USER_AGENT": None,
    "CHORUS_FETCH_TIMEOUT": 30.0,
    "CHORUS_CONNECT_TIMEOUT": 10.0,
    "CHORUS_MAX_FEED_BYTES": 5 * 1024 * 1024,
    "CHORUS_MAX_REDIRECTS": 5,
    "CHORUS_CONCURRENCY": 128,
    "CHORUS_MAX_ENTRIES_PER_FEED": 100,
    "CHORUS_EXCERPT_CHARS": 400,
    "CHORUS_CURATED_CATEGORY": "Community",
    "CHORUS_INCLUDE_TAGS": (),
    # Post images fetched into the repository by `chorus fetch` (chorus.fetch.media).
    "CHORUS_FETCH_IMAGES": True,
    "CHORUS_IMAGES_DIR": "images/community",  # under content/, in STATIC_PATHS
    "CHORUS_MEDIA_STATE_FILE": "community/media-state.json",
    "CHORUS_MAX_IMAGE_BYTES": 5 * 1024 * 1024,
    "CHORUS_EXCLUDE_TAGS": (),
    # Member avatars fetched and resized by `chorus fetch` (chorus.fetch.avatars).
    "CHORUS_AVATARS_DIR": "images/avatars",  # under content/, in STATIC_PATHS
    "CHORUS_MAX_AVATAR_BYTES": 2 * 1024 * 1024,
    # Share cards (the chorus_cards plugin): how many posts' cards one build may draw.
    "CHORUS_SHARE_CARDS_PER_BUILD": 100,
    # Sending Webmentions (chorus.mentions; `chorus mentions send`).
    "CHORUS_WEBMENTION_LOG": "webmention-log.json",
    "CHORUS_WEBMENTION_TIMEOUT": 15,
    "CHORUS_WEBMENTION_ALLOW_PRIVATE": False,  # True only for tests against 127.0.0.1
    # Used by the Pelican plugins only.
    "CHORUS_MEMBER_URL": "members/{handle}/",
    "CHORUS_MEMBER_SAVE_AS": "members/{handle}/index.html",
    "CHORUS_COMMUNITY_URL": "members/",
    "CHORUS_COMMUNITY_SAVE_AS": "members/index.html",
    "CHORUS_MEMBER_FEED_ATOM": "members/{handle}/feed.atom.xml",
    "CHORUS_MEMBER_FEED_RSS": None,
    # Where member pages link for "change this": the member file in the site's repository.
    "CHORUS_MEMBER_FILE_URL": None,
    "CHORUS_BLOGROLL_URL": "blogroll/",
    "CHORUS_BLOGROLL_SAVE_AS": "blogroll/index.html",
    "CHORUS_BLOGROLL_OPML": "blogroll.opml",
    "CHORUS_JSON_FEED": "feeds/all.json",
    "CHORUS_NOINDEX_FULL_COPIES": False,
    "CHORUS_RENDER_CACHE": True,
    "CHORUS_FIXED_PAGES": True,
    # "link": images on members' sites become links, so pages make no third-party request;
    # "keep": show them (readers' browsers then fetch them from the members' sites).
    "CHORUS_REMOTE_IMAGES": "link",
    # The folder Pagefind writes the search index into, in the output (None: no search).
    "CHORUS_SEARCH_BUNDLE": "pagefind",
    # Posts per search index, from the oldest: a new post indexes only the newest one again.
    "CHORUS_SEARCH_POSTS_PER_INDEX": 500,
    # The site's logo (shown in the header) and favicon: files under content/, in STATIC_PATHS.
    "CHORUS_LOGO": None,
    "CHORUS_FAVICON": None,  # None: the theme's Chorus icon
    # Written once the site is: the sitemap of every page a reader should find, and robots.txt.
    "CHORUS_SITEMAP": "sitemap.xml",
    "CHORUS_ROBOTS_TXT": "robots.txt",
    # A member is new (welcomed on the home page) this many days after their `joined:` date,
    # or without one after their first post, counted back from the site's newest post.
    "CHORUS_NEW_MEMBER_DAYS": 30,
    "CHORUS_HEALTH_URL": "members/health/",
    "CHORUS_HEALTH_SAVE_AS": "members/health/index.html",
    # The newsletter (chorus.newsletter, the chorus_newsletter plugin; `chorus newsletter`).
    # Checked by chorus.newsletter.settings; documented in docs/settings.md.
    "CHORUS_NEWSLETTER_DIR": "newsletter",  # issue files, under content/
    "CHORUS_NEWSLETTER_PERIOD_DAYS": 7,
    "CHORUS_NEWSLETTER_TITLE": None,  # None: "<SITENAME> newsletter"
    "CHORUS_NEWSLETTER_SECTIONS": (),  # tags (or (tag, label) pairs) that name sections
    "CHORUS_NEWSLETTER_FROM": None,  # None: "<title> <newsletter@<SITEURL's host>>"
    "CHORUS_NEWSLETTER_REPLY_TO": None,
    "CHORUS_NEWSLETTER_LIST_ID": None,  # None: "newsletter.<SITEURL's host>"
    "CHORUS_NEWSLETTER_UNSUBSCRIBE_URL": None,
    "CHORUS_NEWSLETTER_SUBSCRIBE_URL": None,
    "CHORUS_NEWSLETTER_SUBSCRIBERS": "../private/subscribers.txt",  # personal data: not in git
    "CHORUS_NEWSLETTER_LEDGER_DIR": "../private/newsletter-ledger",
    "CHORUS_NEWSLETTER_RATE": 5.0,  # messages per second
    "CHORUS_NEWSLETTER_SIZE_BUDGET": 90_000,  # bytes of HTML; Gmail clips at 102 KB
    "CHORUS_NEWSLETTER_URL": "newsletter/{number}/",
    "CHORUS_NEWSLETTER_SAVE_AS": "newsletter/{number}/index.html",
    "CHORUS_NEWSLETTER_ARCHIVE_URL": "newsletter/",
    "CHORUS_NEWSLETTER_ARCHIVE_SAVE_AS": "newsletter/index.html",
    "CHORUS_NEWSLETTER_FEED_ATOM": "newsletter/feed.atom.xml",
    "CHORUS_SMTP_HOST": None,
    "CHORUS_SMTP_PORT": None,  # None: 587 for starttls, 465 for tls, 25 for none
    "CHORUS_SMTP_SECURITY": "starttls",  # starttls | tls | none
    "CHORUS_BUTTONDOWN_API_URL": "https://api.buttondown.com/v1",
    "CHORUS_LISTMONK_URL": None,
    "CHORUS_LISTMONK_LISTS": (),  # listmonk list ids a campaign goes to
}

# Credentials read from the environment only, so that they never land in a repository.
ENVIRONMENT_ONLY = frozenset(
    {
        "CHORUS_SMTP_USER",
        "CHORUS_SMTP_PASSWORD",
        "CHORUS_BUTTONDOWN_API_KEY",
        "CHORUS_LISTMONK_USER",
        "CHORUS_LISTMONK_TOKEN",
    }
)


@dataclass(frozen=True)
class Config:
    """What the core needs to know about a site."""

    content_dir: Path
    members_dir: Path
    community_dir: Path
    state_file: Path
    takedowns_file: Path
    cache_dir: Path  # Pelican's CACHE_PATH: what may be rebuilt, never committed
    local_feeds_dir: Path | None
    site_name: str
    site_url: str
    user_agent: str
    fetch_timeout: float
    connect_timeout: float
    max_feed_bytes: int
    max_redirects: int
    concurrency: int
    max_entries_per_feed: int
    excerpt_chars: int
    curated_category: str
    include_tags: frozenset[str]
    exclude_tags: frozenset[str]
    fetch_images: bool = True
    images_dir: Path = Path("content/images/community")
    images_prefix: str = "{static}/images/community"  # how post files refer to images_dir
    media_manifest: Path = Path("content/community/media-state.json")
    max_image_bytes: int = 5 * 1024 * 1024
    avatars_dir: Path = Path("content/images/avatars")
    avatars_prefix: str = "images/avatars"  # where avatars_dir is on the site, under SITEURL
    max_avatar_bytes: int = 2 * 1024 * 1024

    @property
    def avatar_manifest(self) -> Path:
        """What each avatar URL last answered and which resized files it gave (committed)."""
        return self.state_file.with_name("avatar-state.json")

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> Config:
        """Build from a Pelican settings mapping whose ``PATH`` is the content directory."""
        check_setting_names(settings)
        if settings.get("CHORUS_REMOTE_IMAGES", "link") not in ("link", "keep"):
            raise ConfigError("CHORUS_REMOTE_IMAGES must be 'link' or 'keep'")
        value = {**DEFAULTS, **{k: v for k, v in settings.items() if k.startswith("CHORUS_")}}
        content_dir = Path(settings.get("PATH", "content")).resolve()

        def positive(name: str, kind: type) -> Any:
            raw = value[name]
            if isinstance(raw, bool) or not isinstance(raw, int | float) or raw <= 0:
                raise ConfigError(f"{name} must be a positive number, not {raw!r}")
            return kind(raw)

        local = value["CHORUS_LOCAL_FEEDS_DIR"]
        images = str(value["CHORUS_IMAGES_DIR"]).strip("/")
        if not images or ".." in Path(images).parts:
            raise ConfigError(f"CHORUS_IMAGES_DIR must be a folder under content/, not {images!r}")
        bundle = value["CHORUS_SEARCH_BUNDLE"]
        if bundle is not None and (
            not isinstance(bundle, str)
            or not bundle.strip("/")
            or ".." in Path(bundle).parts
            or Path(bundle).is_absolute()
        ):
            raise ConfigError(
                "CHORUS_SEARCH_BUNDLE must be a folder name in the output (or None), "
                f"not {bundle!r}"
            )
        per_index = value["CHORUS_SEARCH_POSTS_PER_INDEX"]
        if isinstance(per_index, bool) or not isinstance(per_index, int) or per_index < 1:
            raise ConfigError(
                "CHORUS_SEARCH_POSTS_PER_INDEX must be a whole number of posts (1 or more), "
                f"not {per_index!r}"
            )
        for name in ("CHORUS_LOGO", "CHORUS_FAVICON"):
            path = value[name]
            if path is not None and (
                not isinstance(path, str) or ".." in Path(path).parts or "://" in path
            ):
                raise ConfigError(
                    f"{name} must be a file's path under content/ (or None), not {path!r}"
                )
        avatars = str(value["CHORUS_AVATARS_DIR"]).strip("/")
        if not avatars or ".." in Path(avatars).parts:
            raise ConfigError(
                f"CHORUS_AVATARS_DIR must be a folder under content/, not {avatars!r}"
            )
        site_name = str(settings.get("SITENAME") or "A Chorus site")
        site_url = str(settings.get("SITEURL") or "")
        user_agent = value["CHORUS_USER_AGENT"] or (
            f"Chorus/{__version__} (+{site_url or 'no SITEURL set'}; feed fetcher for {site_name})"
        )
        return cls(
            content_dir=content_dir,
            members_dir=content_dir / value["CHORUS_MEMBERS_DIR"],
            community_dir=content_dir / value["CHORUS_COMMUNITY_DIR"],
            state_file=content_dir / value["CHORUS_STATE_FILE"],
            takedowns_file=content_dir / value["CHORUS_TAKEDOWNS_FILE"],
            cache_dir=Path(settings.get("CACHE_PATH") or "cache").resolve(),
            local_feeds_dir=(content_dir / local).resolve() if local else None,
            site_name=site_name,
            site_url=site_url,
            user_agent=user_agent,
            fetch_timeout=positive("CHORUS_FETCH_TIMEOUT", float),
            connect_timeout=positive("CHORUS_CONNECT_TIMEOUT", float),
            max_feed_bytes=positive("CHORUS_MAX_FEED_BYTES", int),
            max_redirects=positive("CHORUS_MAX_REDIRECTS", int),
            concurrency=positive("CHORUS_CONCURRENCY", int),
            max_entries_per_feed=positive("CHORUS_MAX_ENTRIES_PER_FEED", int),
            excerpt_chars=positive("CHORUS_EXCERPT_CHARS", int),
            curated_category=str(value["CHORUS_CURATED_CATEGORY"]),
            include_tags=_tag_set(value, "CHORUS_INCLUDE_TAGS"),
            exclude_tags=_tag_set(value, "CHORUS_EXCLUDE_TAGS"),
            fetch_images=bool(value["CHORUS_FETCH_IMAGES"]),
            images_dir=content_dir / images,
            images_prefix="{static}/" + images,
            media_manifest=content_dir / value["CHORUS_MEDIA_STATE_FILE"],
            max_image_bytes=positive("CHORUS_MAX_IMAGE_BYTES", int),
            avatars_dir=content_dir / avatars,
            avatars_prefix=avatars,
            max_avatar_bytes=positive("CHORUS_MAX_AVATAR_BYTES", int),
        )


def apply_defaults(settings: dict[str, Any]) -> Config:
    """Fill in every missing CHORUS_* setting, then validate them all once."""
    for name, default in DEFAULTS.items():
        settings.setdefault(name, default)
    return Config.from_settings(settings)


def check_setting_names(settings: Mapping[str, Any]) -> None:
    """Refuse unknown CHORUS_* names: a typo would otherwise be silently ignored."""
    for name in settings:
        if name in ENVIRONMENT_ONLY:
            raise ConfigError(
                f"{name} is a secret: set it in the environment, never in a settings file "
                "(see the README's Newsletter section)"
            )
        if name.startswith("CHORUS_") and name not in DEFAULTS:
            close = difflib.get_close_matches(name, DEFAULTS, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise ConfigError(f"unknown setting {name}{hint}; see docs/settings.md")


def _tag_set(value: Mapping[str, Any], name: str) -> frozenset[str]:
    raw = value[name]
    if isinstance(raw, str) or not all(isinstance(tag, str) for tag in raw):
        raise ConfigError(f"{name} must be a list of tag names, not {raw!r}")
    return frozenset(tag.strip().casefold() for tag in raw)


# Endpoints sit in the head of a page: its first megabyte is plenty.
WEBMENTION_DISCOVERY_BYTES = 1024 * 1024


@dataclass(frozen=True)
class SendConfig:
    """What sending Webmentions (``chorus.mentions.webmention``) needs to know: limits, identity
    and the address policy."""

    user_agent: str
    timeout: float
    connect_timeout: float
    max_redirects: int
    concurrency: int
    allow_private: bool = False
    max_bytes: int = WEBMENTION_DISCOVERY_BYTES

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any], site_url: str | None = None) -> SendConfig:
        """Build from Pelican-style settings; ``site_url`` names the site when SITEURL does not."""
        config = Config.from_settings(settings)  # checks every CHORUS_* name and shared limit
        value = {**DEFAULTS, **{k: v for k, v in settings.items() if k.startswith("CHORUS_")}}
        timeout = value["CHORUS_WEBMENTION_TIMEOUT"]
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
            raise ConfigError(
                f"CHORUS_WEBMENTION_TIMEOUT must be a positive number, not {timeout!r}"
            )
        allow_private = value["CHORUS_WEBMENTION_ALLOW_PRIVATE"]
        if not isinstance(allow_private, bool):
            raise ConfigError(
                f"CHORUS_WEBMENTION_ALLOW_PRIVATE must be True or False, not {allow_private!r}"
            )
        site = web_url(config.site_url) or (web_url(site_url) if site_url else None)
        # Receivers see this in their logs: say what the request is, and whose site sends it.
        user_agent = f"Chorus/{__version__} Webmention (+{site or 'no SITEURL set'})"
        return cls(
            user_agent=user_agent,
            timeout=float(timeout),
            connect_timeout=config.connect_timeout,
            max_redirects=config.max_redirects,
            concurrency=config.concurrency,
            allow_private=allow_private,
        )
