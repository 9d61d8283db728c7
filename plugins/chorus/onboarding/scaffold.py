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
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from importlib import metadata
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path, PurePosixPath
from typing import Any

import jinja2

from chorus import __version__
from chorus.common.urls import web_url

DISTRIBUTION = "pelican-chorus"  # the name on the Python Package Index
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
    requirement: str = field(default=f"{DISTRIBUTION}=={__version__}")
    # Why the requirement line only works on this machine, and what to put there instead.
    requirement_note: str = ""

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


@dataclass(frozen=True)
class Requirement:
    """A requirements.txt line that installs Chorus, and a note when it is good here only."""

    line: str
    note: str = ""


def installed_requirement() -> Requirement:
    """The line that installs the very Chorus that is running: how pip installed it is in the
    distribution's ``direct_url.json`` (PEP 610), absent when it came from an index."""
    # Installers leave an INSTALLER file; the egg-info that a build leaves in the source tree
    # (on the path when running from a checkout) has none and says nothing of how.
    installed = (d for d in metadata.distributions(name=DISTRIBUTION) if d.read_text("INSTALLER"))
    distribution = next(installed, None)
    if distribution is None:
        return Requirement(
            f"{DISTRIBUTION}=={__version__}",
            f"Chorus ran from its sources without being installed, so this names the release "
            f"of the same version, {__version__}.",
        )
    text = distribution.read_text("direct_url.json")
    return requirement_for(distribution.version, json.loads(text) if text else None)


def requirement_for(version: str, direct_url: dict[str, Any] | None) -> Requirement:
    """The requirements.txt line for a Chorus of ``version`` installed as ``direct_url`` says."""
    if not direct_url:
        return Requirement(f"{DISTRIBUTION}=={version}")
    url = str(direct_url.get("url", ""))
    subdirectory = direct_url.get("subdirectory")
    fragment = f"#subdirectory={subdirectory}" if subdirectory else ""
    vcs = direct_url.get("vcs_info")
    if isinstance(vcs, dict) and vcs.get("commit_id"):
        return Requirement(f"{DISTRIBUTION} @ {vcs['vcs']}+{url}@{vcs['commit_id']}{fragment}")
    if not url.startswith("file:"):
        return Requirement(f"{DISTRIBUTION} @ {url}{fragment}")  # an archive on a web server
    dir_info = direct_url.get("dir_info")
    editable = isinstance(dir_info, dict) and bool(dir_info.get("editable"))
    what = "an editable checkout" if editable else "a local directory" if dir_info else "a file"
    line = f"--editable {url}{fragment}" if editable else f"{DISTRIBUTION} @ {url}{fragment}"
    return Requirement(
        line,
        f"Chorus was installed from {what}, {url}, so this line works on this machine only: "
        f"CI and other machines cannot reach it. Before you push, replace it with a release "
        f"({DISTRIBUTION}=={version}) or a git URL ({DISTRIBUTION} @ "
        f"git+https://HOST/REPO@COMMIT), or run chorus init again with --requirement LINE.",
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
        "requirement_note": textwrap.wrap(answers.requirement_note, 96),
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
