"""Small file helpers: atomic writes, so a killed run never leaves half a file behind."""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def write_atomic(path: Path, text: str, *, durable: bool = False) -> None:
    """Write ``text`` to ``path`` via a temporary file in the same directory and a rename.

    The rename alone makes the write atomic for readers and survives the process being killed.
    ``durable`` also forces the bytes to disk before the rename, which only a power cut needs;
    it costs a disk flush per file, so a run of many writes flushes once (``flush_all``)
    before its final, durable write instead.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def paths_under(root: str | os.PathLike[str]) -> Callable[[str], str | None]:
    """A function that gives a path's place under ``root`` (as ``os.path.relpath`` does), or
    None for a path outside it. A build asks this of tens of thousands of files it wrote, and
    relpath reads the working directory twice for each; this reads it once."""
    cwd = os.getcwd()
    prefix = os.path.join(os.path.normpath(os.path.join(cwd, root)), "")

    def under(path: str) -> str | None:
        full = os.path.normpath(os.path.join(cwd, path))
        return full[len(prefix) :] if full.startswith(prefix) else None

    return under


def flush_all() -> None:
    """Put everything written so far on disk, in one flush rather than one per file."""
    os.sync()


class Unchanged(str):
    """Text known to be exactly what its output file holds already (a page kept from the last
    build), which WriteIfChanged need not compare."""


class WriteIfChanged(io.StringIO):
    """A text file to write, which on close replaces ``path`` only if what was written differs.

    A build that leaves unchanged pages untouched writes a fraction of the bytes, and keeps their
    modification times, so deploys that compare them (rsync) upload only what changed.
    """

    def __init__(self, path: str | os.PathLike[str], encoding: str = "utf-8") -> None:
        super().__init__()
        self.path = Path(path)
        self.target_encoding = encoding
        self.kept_length: int | None = None  # the length of a first write that was Unchanged

    def write(self, text: str) -> int:
        # Only a first write can be a page kept whole; the others (a feed writes thousands of
        # bits) go straight to StringIO's own write.
        if isinstance(text, Unchanged):
            self.kept_length = len(text)
        self.write = super().write  # type: ignore[method-assign]
        return self.write(text)

    def close(self) -> None:
        # Unchanged only if nothing was written after the kept page.
        unchanged = self.kept_length is not None and self.tell() == self.kept_length
        if not self.closed and not unchanged:
            text = self.getvalue()
            try:
                with self.path.open(encoding=self.target_encoding, newline="") as handle:
                    unchanged = handle.read() == text.replace("\n", os.linesep)
            except (OSError, UnicodeDecodeError):
                unchanged = False
            if not unchanged:
                with self.path.open("w", encoding=self.target_encoding) as handle:
                    handle.write(text)
        super().close()
