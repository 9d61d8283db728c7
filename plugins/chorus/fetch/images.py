"""Checking and storing image bytes (no network here: the build uses it too).

``check_image`` reads an image's header only (format and declared size) before anything is
decoded, so that an image bomb costs nothing; the allow-list holds the raster formats every
browser shows.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
import warnings
from pathlib import Path

from PIL import Image, UnidentifiedImageError

# Raster formats every browser shows; SVG is refused (it is a document that can carry script).
RASTER_FORMATS = {"PNG": ".png", "JPEG": ".jpg", "GIF": ".gif", "WEBP": ".webp"}
MAX_PIXELS = 40_000_000  # 40 megapixels: a large photo; a decompression bomb is far more
MAX_SIDE = 20_000
# An SVG document, with or without an XML declaration, comments or a doctype before it.
_SVG = re.compile(
    rb"^\s*(<\?xml[^>]*>\s*)?(<!--.*?-->\s*|<!DOCTYPE[^>]*>\s*)*<svg[\s>]", re.I | re.S
)


class MediaError(Exception):
    """The bytes are not an image we keep; the message says why."""


def check_image(body: bytes) -> str:
    """The file extension for an image we keep; MediaError if it is not one.

    Pillow reads the header only (format and size) before anything is decoded."""
    if _SVG.match(body[:4096]):
        raise MediaError(
            "SVG is not kept (an SVG file is a document that can carry scripts): "
            "give a PNG, JPEG, GIF or WebP"
        )
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(body)) as image:
                kind, (width, height) = image.format, image.size
                if kind not in RASTER_FORMATS:
                    raise MediaError(f"{kind} images are not kept (only PNG, JPEG, GIF, WebP)")
                if width * height > MAX_PIXELS or max(width, height) > MAX_SIDE:
                    raise MediaError(f"{width}x{height} pixels is over the cap")
                image.verify()  # a cheap structural check that decodes no pixels
        except UnidentifiedImageError as error:
            raise MediaError(f"not an image we can read ({error})") from None
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise MediaError(f"too many pixels, an image bomb? ({error})") from None
        except (OSError, SyntaxError, ValueError) as error:
            raise MediaError(f"a broken image ({error})") from None
    return RASTER_FORMATS[kind]


def write_bytes(path: Path, body: bytes) -> None:
    """As ``write_atomic``, for bytes: a reader never sees half an image."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(body)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
