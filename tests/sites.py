"""Settings files for sites in temporary directories (used by the tests and by bench/run.py)."""

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
