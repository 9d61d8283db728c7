"""Full-text search with Pagefind: the built pages indexed into a static bundle the browser reads.

Pagefind (a Rust binary, shipped on PyPI as ``pagefind[bin]``) reads the HTML the build wrote,
so it indexes exactly what a reader sees: the part of each page marked ``data-pagefind-body``
(a post's title, credit and text, never the navigation), with the filters marked
``data-pagefind-filter``. Its bundle is served from the site itself: no request to another host.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


class SearchIndexError(Exception):
    """Pagefind could not index the site; the message says why."""


def pagefind_executable() -> Path:
    """The Pagefind binary that ``pagefind[bin]`` installed."""
    try:
        from pagefind_bin import get_executable
    except ImportError:
        raise SearchIndexError(
            "the search needs Pagefind: pip install 'pagefind[bin]' (or set CHORUS_SEARCH_BUNDLE "
            "= None to build without search)"
        ) from None
    try:
        return get_executable()
    except FileNotFoundError as error:
        raise SearchIndexError(f"the Pagefind binary is missing: {error}") from None


def index_site(output_dir: Path, bundle: str) -> str:
    """Index every page under ``output_dir`` into ``output_dir/bundle``; Pagefind's summary."""
    target = output_dir / bundle
    # Pagefind adds to a bundle folder: a post gone since the last build would stay findable.
    shutil.rmtree(target, ignore_errors=True)
    command = [
        str(pagefind_executable()),
        "--site",
        str(output_dir),
        "--output-subdir",
        bundle,
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise SearchIndexError(
            f"Pagefind could not index {output_dir}: {' / '.join(detail[-3:]) or 'no message'}"
        )
    return result.stdout
