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


def load_yaml(text: str) -> Any:
    return yaml.load(text, Loader=SAFE_LOADER)


def read_front_matter(
    path: Path, keys: Collection[str], problem: Callable[[str | None, str], None], *, doc: str
) -> tuple[dict[str, Any], str] | None:
    """The front matter mapping and the body of ``path``, or None after reporting why not.

    Unknown keys are reported (with the closest known one) but do not stop the reading.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
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
