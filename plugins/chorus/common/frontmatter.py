"""Files of YAML front matter and a Markdown body: member files and newsletter issues."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

# libyaml's safe loader when present: ten times faster, and a registry is hundreds of files.
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
FRONT_MATTER = re.compile(
    r"\A---[ \t]*\r?\n(?P<yaml>.*?)^---[ \t]*(?:\r?\n|\Z)(?P<body>.*)\Z", re.DOTALL | re.MULTILINE
)


@dataclass(frozen=True)
class Problem:
    """Something wrong in a file of front matter (a member file, a newsletter issue)."""

    path: Path
    field: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.path}: {self.field}" if self.field else str(self.path)
        return f"{where}: {self.message}"


# Aliases let a few hundred bytes expand into gigabytes once a caller walks the value (the
# "billion laughs" of YAML); nothing a member or an editor writes needs them. Deep nesting is
# refused too, before the constructor's recursion could hit Python's limit.
MAX_NESTING = 32


class RefusedYAML(yaml.YAMLError):
    """YAML that parses but is refused: an alias or nesting deeper than MAX_NESTING."""


def load_yaml(text: str) -> Any:
    """The value of ``text``, read in time and memory bounded by its length."""
    depth = 0
    for event in yaml.parse(text, Loader=SAFE_LOADER):
        if isinstance(event, yaml.AliasEvent):
            raise RefusedYAML(
                f"line {event.start_mark.line + 1}: YAML aliases (*{event.anchor}) are not "
                "allowed: write the value out in full"
            )
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_NESTING:
                raise RefusedYAML(
                    f"line {event.start_mark.line + 1}: lists and mappings nested more than "
                    f"{MAX_NESTING} deep"
                )
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1
    return yaml.load(text, Loader=SAFE_LOADER)


def read_capped_text(path: Path, max_bytes: int) -> str:
    """The UTF-8 text of ``path``; ValueError when it is over ``max_bytes``.

    Reads at most one byte past the cap, so a huge file costs no more than a small one.
    """
    with path.open("rb") as file:
        data = file.read(max_bytes + 1)
    if len(data) > max_bytes:
        size = path.stat().st_size
        raise ValueError(
            f"the file is {_kib(size)}, over the {_kib(max_bytes)} a file of this kind may be"
        )
    return data.decode("utf-8")


def _kib(size: int) -> str:
    return f"{size / 1024:,.0f} KiB" if size >= 1024 else f"{size} bytes"


def read_front_matter(
    path: Path,
    keys: Collection[str],
    problem: Callable[[str | None, str], None],
    *,
    doc: str,
    max_bytes: int,
) -> tuple[dict[str, Any], str] | None:
    """The front matter mapping and the body of ``path``, or None after reporting why not.

    Unknown keys are reported (with the closest known one) but do not stop the reading.
    """
    try:
        text = read_capped_text(path, max_bytes)
    except (OSError, UnicodeDecodeError, ValueError) as error:
        problem(None, f"cannot read the file: {error}")
        return None
    match = FRONT_MATTER.match(text)
    if not match:
        problem(
            None,
            "no front matter: the file must start with a '---' line, then YAML, "
            f"then another '---' line (see {doc})",
        )
        return None
    try:
        data = load_yaml(match["yaml"]) or {}
    except RefusedYAML as error:
        problem(None, f"front matter refused: {error} (see {doc})")
        return None
    except yaml.YAMLError as error:
        problem(None, f"front matter is not valid YAML: {error}")
        return None
    if not isinstance(data, dict):
        problem(None, "front matter must be a mapping of keys to values")
        return None
    for key in data:
        if key not in keys:
            close = difflib.get_close_matches(str(key), keys, n=1)
            problem(str(key), "unknown key" + (f" (did you mean {close[0]!r}?)" if close else ""))
    return data, match["body"]
