"""A new community site from the template shipped in this package (``chorus init``).

The template is package data, ``chorus/onboarding/site_template/``, read with
importlib.resources so that a wheel and an editable install find it alike. Files ending in
``.jinja`` are rendered (and lose the suffix); the others are copied as they are, the GitHub
workflows among them, whose ``${{ }}`` expressions must not meet Jinja. A leading ``dot-``
becomes ``.``: setuptools' package-data globs skip hidden files, so ``.github/`` and
``.gitignore`` are stored without their dot.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path, PurePosixPath

import jinja2

from chorus import __version__
from chorus.common.urls import web_url

TEMPLATE = "site_template"
RENDERED_SUFFIX = ".jinja"
DOT_PREFIX = "dot-"
SKIPPED = frozenset({"__pycache__", ".DS_Store"})
EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
MAX_TEXT = 200


class ScaffoldError(Exception):
    """The site cannot be created as asked; the message says why and what to do."""


@dataclass(frozen=True)
class SiteAnswers:
    """What a new site needs to know: checked once, at construction."""

    name: str
    url: str
    editor: str
    contact: str
    description: str = ""
    requirement: str = field(default=f"chorus=={__version__}")

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", check_text("site name", self.name))
        object.__setattr__(self, "url", check_site_url(self.url))
        object.__setattr__(self, "editor", check_text("editor", self.editor))
        object.__setattr__(self, "contact", check_contact(self.contact))
        description = self.description.strip()
        if description:
            description = check_text("description", description)
        object.__setattr__(self, "description", description)
        object.__setattr__(self, "requirement", check_text("requirement", self.requirement))

    @property
    def contact_is_email(self) -> bool:
        return bool(EMAIL.match(self.contact))


def check_text(what: str, value: str) -> str:
    """One line of text, not empty, not too long; return it stripped."""
    value = (value or "").strip()
    if not value:
        raise ScaffoldError(f"the {what} is empty")
    if "\n" in value or "\r" in value:
        raise ScaffoldError(f"the {what} must fit on one line")
    if len(value) > MAX_TEXT:
        raise ScaffoldError(f"the {what} is longer than {MAX_TEXT} characters")
    return value


def check_site_url(value: str) -> str:
    """An absolute http(s) URL without a trailing slash, as Pelican wants SITEURL."""
    value = (value or "").strip()
    url = web_url(value)
    if not url or url != value or "?" in url or "#" in url:
        raise ScaffoldError(
            f"{value!r} is not the site's address: give an absolute http(s) URL such as "
            "https://community.example.org"
        )
    return url.rstrip("/")


def check_contact(value: str) -> str:
    """An e-mail address or an http(s) URL where the editors can be reached."""
    value = (value or "").strip()
    if EMAIL.match(value) or (value and web_url(value) == value):
        return value
    raise ScaffoldError(
        f"{value!r} is not a contact: give an e-mail address or an http(s) URL (an issue "
        "tracker, a contact page)"
    )


def template_files() -> Iterator[tuple[PurePosixPath, Traversable]]:
    """Every file of the template, as (path in the new site, resource), sorted by path."""
    found: list[tuple[PurePosixPath, Traversable]] = []

    def walk(node: Traversable, parts: tuple[str, ...]) -> None:
        for child in node.iterdir():
            if child.name in SKIPPED:
                continue
            name = child.name
            if name.startswith(DOT_PREFIX):
                name = "." + name.removeprefix(DOT_PREFIX)
            if child.is_dir():
                walk(child, (*parts, name))
            else:
                found.append((PurePosixPath(*parts, name.removesuffix(RENDERED_SUFFIX)), child))

    walk(files("chorus.onboarding") / TEMPLATE, ())
    yield from sorted(found, key=lambda item: str(item[0]))


def render_template(answers: SiteAnswers, today: date) -> dict[PurePosixPath, bytes]:
    """Every file of the new site and its bytes."""
    environment = jinja2.Environment(
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False
    )
    # A Python string literal: JSON's escapes are all valid in Python, and it uses double quotes.
    environment.filters["py"] = lambda value: json.dumps(value, ensure_ascii=False)
    context = {
        "site_name": answers.name,
        "site_url": answers.url,
        "editor": answers.editor,
        "contact": answers.contact,
        "contact_is_email": answers.contact_is_email,
        "description": answers.description,
        "requirement": answers.requirement,
        "today": today.isoformat(),
        "version": __version__,
    }
    rendered: dict[PurePosixPath, bytes] = {}
    for path, resource in template_files():
        if resource.name.endswith(RENDERED_SUFFIX):
            template = environment.from_string(resource.read_text(encoding="utf-8"))
            rendered[path] = template.render(context).encode("utf-8")
        else:
            rendered[path] = resource.read_bytes()
    return rendered


def create_site(
    target: Path, answers: SiteAnswers, *, force: bool = False, today: date | None = None
) -> list[Path]:
    """Write a new site into ``target``; return the files written, sorted.

    Refuses a directory that is not empty unless ``force``, which overwrites the template's
    files and leaves every other file alone.
    """
    if target.exists() and not target.is_dir():
        raise ScaffoldError(f"{target} exists and is not a directory")
    if target.is_dir() and any(target.iterdir()) and not force:
        raise ScaffoldError(
            f"{target} is not empty: choose a new directory, or use --force to write the "
            "template's files into it (other files are left alone)"
        )
    contents = render_template(answers, today or date.today())
    written = []
    for relative, data in contents.items():
        path = target.joinpath(*relative.parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        written.append(path)
    return sorted(written)
