"""Full-text search with Pagefind: the built pages indexed into a static bundle the browser reads.

Pagefind (a Rust binary, shipped on PyPI as ``pagefind[bin]``) reads the HTML the build wrote,
so it indexes exactly what a reader sees: the part of each page marked ``data-pagefind-body``
(a post's title, credit and text, never the navigation), with the filters marked
``data-pagefind-filter``. Its bundle is served from the site itself: no request to another host.
"""

from __future__ import annotations

import hashlib
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


def index_site(output_dir: Path, bundle: str, seal: Path) -> str | None:
    """Index every page under ``output_dir`` into ``output_dir/bundle``; Pagefind's summary,
    or None when no page changed since the bundle was made, which is then kept as it is.

    ``seal`` (in the build's cache, never the output: it holds times of writing) keeps the
    fingerprint of the pages the bundle was made from."""
    target = output_dir / bundle
    executable = pagefind_executable()
    # Pagefind reads every page each time (seconds for thousands), and its bundle differs
    # from run to run: a build that wrote no page keeps the bundle it has.
    pages = _pages_fingerprint(output_dir, target, executable)
    if (target / "pagefind-entry.json").is_file() and _read(seal) == pages:
        return None
    # Pagefind adds to a bundle folder: a post gone since the last build would stay findable.
    shutil.rmtree(target, ignore_errors=True)
    command = [
        str(executable),
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
    seal.parent.mkdir(parents=True, exist_ok=True)
    seal.write_text(pages, encoding="utf-8")
    return result.stdout


def _pages_fingerprint(output_dir: Path, bundle_dir: Path, executable: Path) -> str:
    """What the index is made from: every page's path, size and time of writing (a page
    written again has a new time), and the Pagefind that reads them."""
    digest = hashlib.sha256(str(executable.resolve()).encode())
    for page in sorted(output_dir.rglob("*.html")):
        if bundle_dir in page.parents:
            continue
        stat = page.stat()
        digest.update(
            f"{page.relative_to(output_dir)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode()
        )
    return digest.hexdigest()


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None
