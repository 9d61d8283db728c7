"""Full-text search with Pagefind: the built pages indexed into a static bundle the browser reads.

Pagefind (a Rust binary, shipped on PyPI as ``pagefind[bin]``) reads the HTML the build wrote,
so it indexes exactly what a reader sees: the part of each page marked ``data-pagefind-body``
(a post's title, credit and text, never the navigation), with the filters marked
``data-pagefind-filter``. Its bundle is served from the site itself: no request to another host.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

# Past this many folders and top-level pages, the glob would be longer than it saves.
MOST_PATTERNS = 200
# What Pagefind's globs (wax) read as more than a name.
_GLOB_SYNTAX = re.compile(r"[][{}*?,<>:!\\$#]")


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


def searched_glob(pages: Iterable[str]) -> str | None:
    """A Pagefind glob for ``pages`` (paths in the output of the pages a search finds) that
    leaves out what no search finds, the lists and member pages, which Pagefind would
    otherwise read and parse only to skip them: each page's top folder, or the page itself
    at the top. None (every page) when there would be too many patterns or a name looks
    like glob syntax."""
    patterns = set()
    for page in pages:
        top, _, rest = page.partition("/")
        if _GLOB_SYNTAX.search(top):
            return None
        patterns.add(f"{top}/**/*.html" if rest else top)
    if not patterns or len(patterns) > MOST_PATTERNS:
        return None
    return "{" + ",".join(sorted(patterns)) + "}"


def index_site(
    output_dir: Path, bundle: str, seal: Path, pages: Iterable[str] | None = None
) -> str | None:
    """Index ``pages`` (paths under ``output_dir``; default every page) into
    ``output_dir/bundle``; Pagefind's summary, or None when none of them changed since the
    bundle was made, which is then kept as it is.

    ``seal`` (in the build's cache, never the output: it holds times of writing) keeps the
    fingerprint of the pages the bundle was made from."""
    target = output_dir / bundle
    executable = pagefind_executable()
    if pages is None:
        paths = [page for page in sorted(output_dir.rglob("*.html")) if target not in page.parents]
        glob = None
    else:
        pages = sorted(set(pages))
        paths = [output_dir / page for page in pages]
        glob = searched_glob(pages)
    # Pagefind reads every page each time (seconds for thousands), and its bundle differs
    # from run to run: a build that changed no page it reads keeps the bundle it has.
    fingerprint = _pages_fingerprint(output_dir, paths, executable, glob)
    if (target / "pagefind-entry.json").is_file() and _read(seal) == fingerprint:
        return None
    # Pagefind adds to a bundle folder: a post gone since the last build would stay findable.
    shutil.rmtree(target, ignore_errors=True)
    command = [
        str(executable),
        "--site",
        str(output_dir),
        "--output-subdir",
        bundle,
        *(["--glob", glob] if glob else []),
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise SearchIndexError(
            f"Pagefind could not index {output_dir}: {' / '.join(detail[-3:]) or 'no message'}"
        )
    seal.parent.mkdir(parents=True, exist_ok=True)
    seal.write_text(fingerprint, encoding="utf-8")
    return result.stdout


def _pages_fingerprint(
    output_dir: Path, pages: list[Path], executable: Path, glob: str | None
) -> str:
    """What the index is made from: each page's path, size and time of writing (a page
    written again has a new time), and the Pagefind that reads them and how."""
    digest = hashlib.sha256(f"{executable.resolve()}\0{glob}\n".encode())
    for page in pages:
        try:
            stat = page.stat()
        except FileNotFoundError:  # a post another plugin took off the site
            continue
        digest.update(
            f"{page.relative_to(output_dir)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode()
        )
    return digest.hexdigest()


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None
