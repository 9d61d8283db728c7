"""Sites in temporary directories, for the tests and bench/run.py: their settings files, and
Pelican's log filter."""

from __future__ import annotations

from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


def write_site_settings(root: Path, **overrides: Any) -> Path:
    """Write ``root/pelicanconf.py``: the repository's real settings, theme and plugins,
    with ``content/`` and ``output/`` taken relative to ``root``, then ``overrides``."""
    lines = [
        "import runpy",
        f"globals().update({{k: v for k, v in runpy.run_path({str(REPO / 'pelicanconf.py')!r})"
        ".items() if k.isupper()})",
        f"THEME = {str(REPO / 'theme')!r}",
        f"PLUGIN_PATHS = [{str(REPO / 'plugins')!r}]",
        "PATH = 'content'",
        "OUTPUT_PATH = 'output'",
    ]
    lines += [f"{key} = {value!r}" for key, value in overrides.items()]
    path = root / "pelicanconf.py"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def forget_logged_messages() -> None:
    """Make Pelican's log filter, which drops a message it has logged before in this process,
    let every message through again."""
    from pelican.log import LimitFilter

    LimitFilter._ignore.clear()
    LimitFilter._raised_messages.clear()
    LimitFilter._group_count.clear()
