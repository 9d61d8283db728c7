"""Small file helpers: atomic writes, so a killed run never leaves half a file behind."""

from __future__ import annotations

import os
import tempfile
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


def flush_all() -> None:
    """Put everything written so far on disk, in one flush rather than one per file."""
    os.sync()
