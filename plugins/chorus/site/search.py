"""Full-text search with Pagefind: the built pages indexed into a static bundle the browser reads.

Pagefind (a Rust binary, shipped on PyPI as ``pagefind[bin]``) reads the HTML the build wrote,
so it indexes exactly what a reader sees: the part of each page marked ``data-pagefind-body``
(a post's title, credit and text, never the navigation), with the filters marked
``data-pagefind-filter``. Its bundle is served from the site itself: no request to another host.

Pagefind has no way to add one page to an index: it reads every page each time, seconds for
thousands. So the posts are split into indexes of ``per_index`` posts numbered from the oldest,
as lists are paginated (``chorus.site.pagination``): ``0/``, ``1/``, ... under the bundle
folder, the site's other searched pages with the newest. A full index never changes, and a new
post indexes again only the newest one; the search page loads the first and merges the others
(Pagefind's ``mergeIndex``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

from chorus.common.files import paths_under

# What Pagefind's globs (wax) read as more than a name, escaped in the paths it is given.
_GLOB_SYNTAX = re.compile(r"([][{}*?,<>:!\\$#()])")


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


def plan_indexes(
    posts: Sequence[tuple[datetime, str]], pages: Sequence[str], per_index: int
) -> list[list[str]]:
    """The pages of each index: ``posts`` (date and path in the output) by ``per_index`` from
    the oldest, then ``pages`` (the site's own, which rarely change) with the newest posts."""
    ordered = [path for _, path in sorted(posts)]
    indexes = [ordered[start : start + per_index] for start in range(0, len(ordered), per_index)]
    if pages:
        if not indexes:
            indexes.append([])
        indexes[-1] = indexes[-1] + sorted(pages)
    return indexes


class SiteIndexer:
    """The search indexes of one build: each of ``indexes`` (paths under ``output_dir``) made
    into ``output_dir/bundle/<n>`` as soon as its last page is written (``written``), while the
    build writes the others, unless none of its pages changed since that index was made.

    ``seals`` (in the build's cache, never the output: it holds times of writing) keeps the
    fingerprint of the pages each index was made from. ``finish`` makes the indexes whose pages
    were not all written, and waits for them all.
    """

    def __init__(self, output_dir: Path, bundle: str, seals: Path, indexes: list[list[str]]):
        self.output_dir = output_dir
        self.target = output_dir / bundle
        self.seals = seals
        self.indexes = indexes
        self.executable = pagefind_executable()
        self.previous = _read_seals(seals)
        self.current: dict[str, str] = {}
        self.made: list[int] = []
        self.index_of = {page: number for number, pages in enumerate(indexes) for page in pages}
        self.under_output = paths_under(output_dir)
        self.unwritten = [len(pages) for pages in indexes]
        # Side by side: one Pagefind keeps about 1.5 CPUs busy, and a first build makes them all.
        self.pool = ThreadPoolExecutor(min(os.cpu_count() or 1, len(indexes)) or 1)
        self.runs: list[Future[None]] = []

    def written(self, path: str) -> None:
        """A file the build wrote (``path`` as it names it), for the last time this build."""
        page = self.under_output(path)
        number = self.index_of.pop(page, None) if page is not None else None
        if number is None:
            return
        self.unwritten[number] -= 1
        if not self.unwritten[number]:
            self._start(number)

    def finish(self) -> list[int]:
        """Once the build has written everything: the numbers of the indexes made again."""
        try:
            for number in range(len(self.indexes)):
                if str(number) not in self.current:  # a page of it was not written
                    self._start(number)
            for run in self.runs:
                run.result()  # the first failure stops the build, as one run alone would
        finally:
            self.pool.shutdown()
        # Indexes past the last (the site had more posts) go; so does anything else there.
        if self.target.is_dir():
            for entry in self.target.iterdir():
                if entry.name in self.current:
                    continue
                if entry.is_dir():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()
        self.seals.parent.mkdir(parents=True, exist_ok=True)
        self.seals.write_text(json.dumps(self.current, indent=0), encoding="utf-8")
        return sorted(self.made)

    def abandon(self) -> None:
        """The build stopped before ``finish``: wait for the runs started, record nothing."""
        self.pool.shutdown(cancel_futures=True)

    def _start(self, number: int) -> None:
        pages = self.indexes[number]
        folder = self.target / str(number)
        fingerprint = _pages_fingerprint(self.output_dir, pages, self.executable)
        self.current[str(number)] = fingerprint
        kept = (folder / "pagefind-entry.json").is_file()
        if self.previous.get(str(number)) == fingerprint and kept:
            return
        self.made.append(number)
        self.runs.append(
            self.pool.submit(_run_pagefind, self.executable, self.output_dir, folder, pages)
        )


def _run_pagefind(executable: Path, site: Path, folder: Path, pages: list[str]) -> None:
    # Pagefind adds to a bundle folder: a post gone since the last build would stay findable.
    shutil.rmtree(folder, ignore_errors=True)
    glob = "{" + ",".join(_GLOB_SYNTAX.sub(r"\\\1", page) for page in pages) + "}"
    # The glob names every page, longer than a command line may be: Pagefind reads it from
    # its configuration file, in the folder it runs in.
    with tempfile.TemporaryDirectory(prefix="chorus-pagefind-") as directory:
        config = {"site": str(site.resolve()), "output_path": str(folder.resolve()), "glob": glob}
        Path(directory, "pagefind.json").write_text(json.dumps(config), encoding="utf-8")
        result = subprocess.run(
            [str(executable)], cwd=directory, capture_output=True, text=True, check=False
        )
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise SearchIndexError(
            f"Pagefind could not index {site}: {' / '.join(detail[-3:]) or 'no message'}"
        )


def _pages_fingerprint(output_dir: Path, pages: list[str], executable: Path) -> str:
    """What an index is made from: each page's path, size and time of writing (a page
    written again has a new time), and the Pagefind that reads them."""
    digest = hashlib.sha256(f"{executable.resolve()}\n".encode())
    for page in pages:
        try:
            stat = (output_dir / page).stat()
        except OSError:  # not written: taken off the site, or its page could not be written
            continue
        digest.update(f"{page}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def _read_seals(path: Path) -> dict[str, str]:
    try:
        seals = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return seals if isinstance(seals, dict) else {}
