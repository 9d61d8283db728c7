"""Issue files: ``content/newsletter/<NNNN>.md``, YAML front matter and the editor's intro.

The front matter holds the editor's fields (number, subject, date, period, summary, status,
exclude) and the fields ``chorus newsletter build`` writes (items, new_members). Rewriting the
generated fields leaves every other line of the file as the editor wrote it.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import yaml

from chorus.common.files import write_atomic
from chorus.common.frontmatter import (
    FRONT_MATTER,
    Problem,
    load_yaml,
    read_capped_text,
    read_front_matter,
)
from chorus.newsletter.addresses import control_character

Status = Literal["draft", "ready", "sent"]
STATUSES: tuple[Status, ...] = ("draft", "ready", "sent")
PUBLISHED: frozenset[str] = frozenset({"ready", "sent"})  # shown on the site and in the feed
EDITOR_KEYS = (
    "number",
    "subject",
    "date",
    "period_start",
    "period_end",
    "summary",
    "status",
    "exclude",
)
GENERATED_KEYS = ("items", "new_members")
KEYS = EDITOR_KEYS + GENERATED_KEYS
ITEM_KEYS = ("section", "title", "url", "original_url", "author", "shared_by", "excerpt")
INTRO_STUB = (
    "TODO: write the editor's intro here, in Markdown: what happened in the community this "
    "time, and what to read first. `chorus newsletter check` fails while this line is here."
)
# An issue holds an intro and the generated list of its items (a few hundred at most); the
# cap bounds what a mistaken edit can cost every build and send.
MAX_ISSUE_FILE_BYTES = 1024 * 1024
FILE_NAME = re.compile(r"^(?P<number>\d{4,})\.md$")
_TOP_KEY = re.compile(r"^(?P<key>[A-Za-z_][A-Za-z0-9_-]*)[ \t]*:")
_MONTH_NAMES = [calendar.month_name[n].casefold() for n in range(1, 13)]
_MONTH = "|".join(_MONTH_NAMES)
_MENTION = re.compile(
    rf"\b(?P<d1>\d{{1,2}})(?:\s+(?P<m1>{_MONTH})(?:\s+(?P<y1>\d{{4}}))?)?"
    rf"(?:\s*[-\u2013\u2014]\s*(?P<d2>\d{{1,2}})\s+(?P<m2>{_MONTH})(?:\s+(?P<y2>\d{{4}}))?)?\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Item:
    """One post in an issue, as `newsletter build` chose it."""

    section: str
    title: str  # plain text
    url: str  # our page, relative to SITEURL
    author: str  # a member's handle, or a plain name for writers who are not members
    excerpt: str = ""  # plain text; empty for members who allow links only
    original_url: str | None = None  # the original, for curated posts
    shared_by: str | None = None  # the member who shared it, when not the author

    def as_yaml(self) -> dict[str, str]:
        data = {key: getattr(self, key) for key in ITEM_KEYS}
        return {key: value for key, value in data.items() if value not in (None, "")}


@dataclass(frozen=True)
class Issue:
    """One newsletter issue."""

    number: int
    subject: str
    date: date
    period_start: date
    period_end: date
    summary: str = ""  # the email's preheader and the feed's summary
    status: Status = "draft"
    items: tuple[Item, ...] = ()
    new_members: tuple[str, ...] = ()  # handles of members who joined in the period
    exclude: tuple[str, ...] = ()  # URLs (ours or originals) the editor left out
    intro: str = ""  # Markdown
    source: Path | None = None

    @property
    def published(self) -> bool:
        return self.status in PUBLISHED

    def sections(self) -> list[tuple[str, list[Item]]]:
        """The items grouped by section, sections and items in the order of the file."""
        grouped: dict[str, list[Item]] = {}
        for item in self.items:
            grouped.setdefault(item.section, []).append(item)
        return list(grouped.items())

    def contributors(self) -> list[str]:
        """Every author and sharer (handles or names), each once, in order of appearance."""
        seen: dict[str, None] = {}
        for item in self.items:
            for person in (item.author, item.shared_by):
                if person:
                    seen.setdefault(person, None)
        return list(seen)


def issue_path(directory: Path, number: int) -> Path:
    return directory / f"{number:04d}.md"


def load_issues(directory: Path) -> tuple[list[Issue], list[Problem]]:
    """Every valid issue in ``directory``, by number, and the problems of the others."""
    issues: list[Issue] = []
    problems: list[Problem] = []
    for path in sorted(directory.glob("*.md")) if directory.is_dir() else []:
        if FILE_NAME.match(path.name) is None:
            problems.append(
                Problem(path, None, "not an issue file name: use the 4-digit number, 0001.md")
            )
            continue
        issue, found = read_issue(path)
        problems.extend(found)
        if issue is not None:
            issues.append(issue)
    issues.sort(key=lambda issue: issue.number)
    return issues, problems


def read_issue(path: Path) -> tuple[Issue | None, list[Problem]]:
    """Parse one issue file; return the issue (None if unusable) and its problems."""
    problems: list[Problem] = []

    def problem(key: str | None, message: str) -> None:
        problems.append(Problem(path, key, message))

    found = read_front_matter(
        path, KEYS, problem, doc="README.md, The newsletter", max_bytes=MAX_ISSUE_FILE_BYTES
    )
    if found is None:
        return None, problems
    data, body = found

    number = data.get("number")
    named = FILE_NAME.match(path.name)
    if isinstance(number, bool) or not isinstance(number, int) or number < 1:
        problem("number", f"{number!r} is not an issue number (1, 2, ...)")
    elif named and int(named["number"]) != number:
        problem("number", f"{number} does not match the file name {path.name}")
    subject = data.get("subject")
    if not isinstance(subject, str) or not subject.strip():
        problem("subject", "required: the email's subject and the issue's title")
    elif (control := control_character(subject.strip())) is not None:
        problem(
            "subject",
            f"holds a control character ({control}) in {subject!r}: the subject is one "
            "line of the email's header; remove it",
        )
    dates = {key: _date(data.get(key)) for key in ("date", "period_start", "period_end")}
    for key, value in dates.items():
        if value is None:
            problem(key, f"{data.get(key)!r} is not a date: write it as YYYY-MM-DD")
    start, end = dates["period_start"], dates["period_end"]
    if start and end and start > end:
        problem("period_end", f"the period ends ({end}) before it starts ({start})")
    summary = data.get("summary") or ""
    if not isinstance(summary, str):
        problem("summary", "must be text: one or two sentences for the inbox preview")
        summary = ""
    status = data.get("status", "draft")
    if status not in STATUSES:
        problem("status", f"{status!r} is not one of: {', '.join(STATUSES)}")
    items = _items(data.get("items"), problem)
    new_members = _strings(data.get("new_members"), "new_members", problem)
    exclude = _strings(data.get("exclude"), "exclude", problem)
    if problems:
        return None, problems
    assert dates["date"] and start and end  # checked above; for the type checker
    return (
        Issue(
            number=number,
            subject=subject.strip(),
            date=dates["date"],
            period_start=start,
            period_end=end,
            summary=" ".join(summary.split()),
            status=status,
            items=items,
            new_members=new_members,
            exclude=exclude,
            intro=body.strip(),
            source=path,
        ),
        problems,
    )


def _date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def _strings(value: Any, key: str, problem: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        problem(key, "must be a list of strings")
        return ()
    return tuple(v.strip() for v in value)


def _items(value: Any, problem: Any) -> tuple[Item, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        problem("items", "must be a list (written by `chorus newsletter build`)")
        return ()
    items = []
    for index, raw in enumerate(value):
        where = f"items[{index}]"
        if not isinstance(raw, dict):
            problem(where, "must be a mapping")
            continue
        unknown = [str(key) for key in raw if key not in ITEM_KEYS]
        if unknown:
            problem(where, f"unknown key(s): {', '.join(unknown)}")
        fields = {key: raw.get(key) for key in ITEM_KEYS}
        missing = [key for key in ("section", "title", "url", "author") if not fields[key]]
        if missing:
            problem(where, f"missing {', '.join(missing)}")
            continue
        if not all(isinstance(v, str) for v in fields.values() if v is not None):
            problem(where, "every value must be text")
            continue
        items.append(
            Item(
                section=fields["section"],
                title=fields["title"],
                url=fields["url"],
                author=fields["author"],
                excerpt=fields["excerpt"] or "",
                original_url=fields["original_url"] or None,
                shared_by=fields["shared_by"] or None,
            )
        )
    return tuple(items)


def next_period(previous: Issue | None, issue_date: date, days: int) -> tuple[date, date]:
    """The period the next issue covers.

    The first issue covers the ``days`` days before its date. Each later one starts the day
    after the previous one ended and lasts ``days`` days, or until the day before its date if
    issues were skipped: a post is never left out because no issue covered its week.
    """
    if previous is None:
        end = issue_date - timedelta(days=1)
        return end - timedelta(days=days - 1), end
    start = previous.period_end + timedelta(days=1)
    return start, max(start + timedelta(days=days - 1), issue_date - timedelta(days=1))


def period_label(start: date, end: date) -> str:
    """A period for people: "16-22 November 2026" (an en dash), across months and years too."""
    if start == end:
        return f"{end.day} {end:%B %Y}"
    if (start.year, start.month) == (end.year, end.month):
        return f"{start.day}\u2013{end.day} {end:%B %Y}"
    if start.year == end.year:
        return f"{start.day} {start:%B} \u2013 {end.day} {end:%B %Y}"
    return f"{start.day} {start:%B %Y} \u2013 {end.day} {end:%B %Y}"


def subject_dates(subject: str, first: date, last: date) -> Iterator[tuple[str, date, date]]:
    """(text, start, end) for every day ("24 November") and range ("24-30 November",
    "1 September - 30 November 2026") named in ``subject``; a missing year is the one that
    puts the day nearest to the period from ``first`` to ``last``."""
    for found in _MENTION.finditer(subject):
        if not (found["m1"] or found["m2"]):
            continue  # a bare number ("#12"), not a date
        try:
            end_year = int(found["y2"] or found["y1"] or 0) or None
            if found["d2"]:
                end = _day(int(found["d2"]), found["m2"], end_year, first, last)
                start = _day(
                    int(found["d1"]),
                    found["m1"] or found["m2"],
                    int(found["y1"] or 0) or None,
                    end,
                    end,
                )
                if start > end:  # "28 December - 3 January 2027"
                    start = start.replace(year=start.year - 1)
            else:
                start = end = _day(int(found["d1"]), found["m1"], end_year, first, last)
        except ValueError:  # 31 February: not a date
            continue
        yield found[0].strip(), start, end


def _day(day: int, month: str, year: int | None, first: date, last: date) -> date:
    number = _MONTH_NAMES.index(month.casefold()) + 1
    if year is not None:
        return date(year, number, day)
    candidates = [
        date(y, number, day) for y in (first.year - 1, first.year, last.year, last.year + 1)
    ]
    return min(
        candidates,
        key=lambda d: 0 if first <= d <= last else min(abs(d - first), abs(d - last)).days,
    )


def subject_in_step(issue: Issue) -> str:
    """The subject with each date range in it that is not the period made the period's label
    (the editor moved the period after `newsletter new` wrote the subject)."""
    subject = issue.subject
    label = period_label(issue.period_start, issue.period_end)
    for text, start, end in subject_dates(subject, issue.period_start, issue.period_end):
        if start != end and (start, end) != (issue.period_start, issue.period_end):
            subject = subject.replace(text, label, 1)
    return subject


def new_issue_text(
    *, number: int, title: str, subject: str, issue_date: date, start: date, end: date
) -> str:
    """The file `chorus newsletter new` writes: the editor's fields, then the intro to fill."""
    front = {
        "number": number,
        "subject": subject,
        "date": issue_date,
        "period_start": start,
        "period_end": end,
        "summary": "",
        "status": "draft",
        "items": [],
        "new_members": [],
    }
    return (
        "---\n"
        f"# Issue {number} of {title}. `chorus newsletter build` writes items and\n"
        "# new_members from the site's posts; edit the rest, and the intro below.\n"
        f"{_dump(front)}"
        "---\n"
        f"{INTRO_STUB}\n"
    )


def create_issue(path: Path, text: str) -> None:
    """Write a new issue file; never overwrite one."""
    if path.exists():
        raise FileExistsError(f"{path} already exists")
    write_atomic(path, text)


def update_issue(path: Path, changes: Mapping[str, Any]) -> None:
    """Set some front-matter keys; every other line of the file stays as it is."""
    text = read_capped_text(path, MAX_ISSUE_FILE_BYTES)
    match = FRONT_MATTER.match(text)
    if match is None:
        raise ValueError(f"{path}: no front matter")
    front = _replace_keys(match["yaml"], changes)
    before = load_yaml(match["yaml"]) or {}
    after = load_yaml(front) or {}
    expected = {**before, **{key: _plain(value) for key, value in changes.items()}}
    if after != expected:
        # An unusual layout (a comment inside a list, flow style across lines): write the
        # front matter afresh rather than risk a wrong edit. Only comments are lost.
        front = _dump(expected)
    write_atomic(path, f"---\n{front}---\n{match['body']}")


def _replace_keys(front: str, changes: Mapping[str, Any]) -> str:
    lines = front.splitlines(keepends=True)
    out: list[str] = []
    done: set[str] = set()
    index = 0
    while index < len(lines):
        found = _TOP_KEY.match(lines[index])
        if found and found["key"] in changes and found["key"] not in done:
            key = found["key"]
            index += 1
            # The key's value goes on while lines are indented, list items or blank.
            while index < len(lines) and (
                lines[index].startswith((" ", "\t", "-")) or not lines[index].strip()
            ):
                index += 1
            out.append(_dump({key: changes[key]}))
            done.add(key)
            continue
        out.append(lines[index])
        index += 1
    if out and not out[-1].endswith("\n"):
        out[-1] += "\n"
    out += [_dump({key: value}) for key, value in changes.items() if key not in done]
    return "".join(out)


def _plain(value: Any) -> Any:
    if isinstance(value, Item):
        return value.as_yaml()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _dump(data: Mapping[str, Any]) -> str:
    return yaml.safe_dump(
        {key: _plain(value) for key, value in data.items()},
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=100,
    )


def generated_fields(items: Iterable[Item], new_members: Iterable[str]) -> dict[str, Any]:
    """The front-matter keys `newsletter build` owns."""
    return {"items": list(items), "new_members": list(new_members)}
