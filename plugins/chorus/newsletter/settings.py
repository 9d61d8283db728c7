"""The newsletter's settings, read once from Pelican-style settings, validated, frozen."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from chorus.common.config import DEFAULTS, ConfigError, check_setting_names
from chorus.common.urls import web_url
from chorus.newsletter.addresses import AddressError, control_character, parse_address

SECURITY = ("starttls", "tls", "none")
DEFAULT_PORTS = {"starttls": 587, "tls": 465, "none": 25}
# Gmail clips a message whose HTML is larger than about 102 KB ("[Message clipped]"), hiding
# the rest of the issue and the unsubscribe link; no budget may go past it.
HARD_LIMIT = 102_000


@dataclass(frozen=True)
class NewsletterConfig:
    """Everything the newsletter needs to know about a site."""

    content_dir: Path
    issues_dir: Path
    members_dir: Path
    period_days: int
    title: str
    sections: tuple[tuple[str, str], ...]  # (casefolded tag, label), in order
    from_address: str | None
    reply_to: str | None
    list_id: str | None
    unsubscribe_url: str | None
    subscribe_url: str | None
    subscribers: Path
    ledger_dir: Path
    rate: float
    size_budget: int
    url: str
    save_as: str
    archive_url: str
    archive_save_as: str
    feed_atom: str | None
    member_url: str
    smtp_host: str | None
    smtp_port: int
    smtp_security: str
    buttondown_api_url: str
    listmonk_url: str | None
    listmonk_lists: tuple[int, ...]
    site_name: str
    site_url: str
    timezone: tzinfo
    language: str
    theme: Path | None

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> NewsletterConfig:
        """Build from a Pelican settings mapping whose ``PATH`` is the content directory."""
        check_setting_names(settings)
        value = {**DEFAULTS, **{k: v for k, v in settings.items() if k.startswith("CHORUS_")}}
        content_dir = Path(settings.get("PATH", "content")).resolve()
        site_name = one_line("SITENAME", str(settings.get("SITENAME") or "A Chorus site"))

        def text(name: str, *, optional: bool = True) -> str | None:
            raw = value[name]
            if raw is None and optional:
                return None
            if not isinstance(raw, str) or not raw.strip():
                raise ConfigError(f"{name} must be a non-empty string, not {raw!r}")
            return one_line(name, raw.strip())

        def address(name: str) -> str | None:
            raw = text(name)
            if raw is not None:
                try:
                    parse_address(raw)
                except AddressError as error:
                    raise ConfigError(f"{name} = {raw!r} {error}") from None
            return raw

        def pattern(name: str, *, optional: bool = False) -> str | None:
            raw = value[name]
            if optional and not raw:
                return None
            if not isinstance(raw, str):
                raise ConfigError(f"{name} must be a string, not {raw!r}")
            try:
                raw.format(number=1)
            except (KeyError, IndexError, ValueError) as error:
                raise ConfigError(
                    f"{name} = {raw!r}: only {{number}} may appear in braces ({error})"
                ) from None
            return raw

        def web(name: str) -> str | None:
            raw = text(name)
            if raw is not None and web_url(raw) != raw and "{{" not in raw:
                raise ConfigError(f"{name} must be an absolute http(s) URL, not {raw!r}")
            return raw

        days = value["CHORUS_NEWSLETTER_PERIOD_DAYS"]
        if isinstance(days, bool) or not isinstance(days, int) or days < 1:
            raise ConfigError(
                f"CHORUS_NEWSLETTER_PERIOD_DAYS must be a whole number of days, not {days!r}"
            )
        rate = value["CHORUS_NEWSLETTER_RATE"]
        if isinstance(rate, bool) or not isinstance(rate, int | float) or rate <= 0:
            raise ConfigError(
                f"CHORUS_NEWSLETTER_RATE must be a positive number of messages per second, "
                f"not {rate!r}"
            )
        budget = value["CHORUS_NEWSLETTER_SIZE_BUDGET"]
        if isinstance(budget, bool) or not isinstance(budget, int) or budget <= 0:
            raise ConfigError(f"CHORUS_NEWSLETTER_SIZE_BUDGET must be bytes, not {budget!r}")
        if budget > HARD_LIMIT:
            raise ConfigError(
                f"CHORUS_NEWSLETTER_SIZE_BUDGET = {budget} is over {HARD_LIMIT} bytes, where "
                "Gmail clips messages; keep it at or below"
            )
        security = value["CHORUS_SMTP_SECURITY"]
        if security not in SECURITY:
            raise ConfigError(
                f"CHORUS_SMTP_SECURITY must be one of {', '.join(SECURITY)}, not {security!r}"
            )
        port = value["CHORUS_SMTP_PORT"]
        if port is None:
            port = DEFAULT_PORTS[security]
        elif isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise ConfigError(f"CHORUS_SMTP_PORT must be a port number, not {port!r}")
        lists = value["CHORUS_LISTMONK_LISTS"]
        if isinstance(lists, int | str) or not all(
            isinstance(i, int) and not isinstance(i, bool) for i in lists
        ):
            raise ConfigError(f"CHORUS_LISTMONK_LISTS must be a list of list ids, not {lists!r}")
        timezone_name = str(settings.get("TIMEZONE") or "UTC")
        try:
            timezone = ZoneInfo(timezone_name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"TIMEZONE {timezone_name!r} is not a known time zone") from None
        listmonk = text("CHORUS_LISTMONK_URL")
        if listmonk is not None and web_url(listmonk) is None:
            raise ConfigError(f"CHORUS_LISTMONK_URL must be an http(s) URL, not {listmonk!r}")
        buttondown = text("CHORUS_BUTTONDOWN_API_URL", optional=False)
        if web_url(buttondown or "") is None:
            raise ConfigError(
                f"CHORUS_BUTTONDOWN_API_URL must be an http(s) URL, not {buttondown!r}"
            )
        theme = settings.get("THEME")
        return cls(
            content_dir=content_dir,
            issues_dir=content_dir / str(value["CHORUS_NEWSLETTER_DIR"]),
            members_dir=content_dir / str(value["CHORUS_MEMBERS_DIR"]),
            period_days=days,
            title=text("CHORUS_NEWSLETTER_TITLE") or f"{site_name} newsletter",
            sections=_sections(value["CHORUS_NEWSLETTER_SECTIONS"]),
            from_address=address("CHORUS_NEWSLETTER_FROM"),
            reply_to=address("CHORUS_NEWSLETTER_REPLY_TO"),
            list_id=text("CHORUS_NEWSLETTER_LIST_ID"),
            unsubscribe_url=text("CHORUS_NEWSLETTER_UNSUBSCRIBE_URL"),
            subscribe_url=web("CHORUS_NEWSLETTER_SUBSCRIBE_URL"),
            subscribers=(content_dir / str(value["CHORUS_NEWSLETTER_SUBSCRIBERS"])).resolve(),
            ledger_dir=(content_dir / str(value["CHORUS_NEWSLETTER_LEDGER_DIR"])).resolve(),
            rate=float(rate),
            size_budget=budget,
            url=pattern("CHORUS_NEWSLETTER_URL") or "",
            save_as=pattern("CHORUS_NEWSLETTER_SAVE_AS") or "",
            archive_url=str(value["CHORUS_NEWSLETTER_ARCHIVE_URL"] or ""),
            archive_save_as=str(value["CHORUS_NEWSLETTER_ARCHIVE_SAVE_AS"] or ""),
            feed_atom=value["CHORUS_NEWSLETTER_FEED_ATOM"] or None,
            member_url=str(value["CHORUS_MEMBER_URL"]),
            smtp_host=text("CHORUS_SMTP_HOST"),
            smtp_port=port,
            smtp_security=security,
            buttondown_api_url=(buttondown or "").rstrip("/"),
            listmonk_url=listmonk.rstrip("/") if listmonk else None,
            listmonk_lists=tuple(lists),
            site_name=site_name,
            site_url=str(settings.get("SITEURL") or "").rstrip("/"),
            timezone=timezone,
            language=str(settings.get("DEFAULT_LANG") or "en"),
            theme=Path(theme) if theme else None,
        )

    def issue_url(self, number: int) -> str:
        """The issue page's URL, relative to SITEURL."""
        return self.url.format(number=number)

    def issue_save_as(self, number: int) -> str:
        return self.save_as.format(number=number)


def one_line(name: str, value: str) -> str:
    """``value``, refused if it holds a line break or another control character: it goes into
    mail headers (From, Subject, List-Id), where one would start a header of its own."""
    control = control_character(value)
    if control is not None:
        raise ConfigError(
            f"{name} holds a control character ({control}) in {value!r}: it goes into mail "
            "headers, which must be one line; remove it"
        )
    return value


def _sections(raw: Any) -> tuple[tuple[str, str], ...]:
    """(casefolded tag, label) pairs from a list of tags or of (tag, label) pairs."""
    name = "CHORUS_NEWSLETTER_SECTIONS"
    if isinstance(raw, str) or not isinstance(raw, list | tuple):
        raise ConfigError(f"{name} must be a list of tags or (tag, label) pairs, not {raw!r}")
    sections = []
    for entry in raw:
        if isinstance(entry, str) and entry.strip():
            tag, label = entry.strip(), entry.strip()
        elif (
            isinstance(entry, list | tuple)
            and len(entry) == 2
            and all(isinstance(part, str) and part.strip() for part in entry)
        ):
            tag, label = entry[0].strip(), entry[1].strip()
        else:
            raise ConfigError(f"{name}: {entry!r} is neither a tag nor a (tag, label) pair")
        sections.append((tag.casefold(), label))
    return tuple(sections)
