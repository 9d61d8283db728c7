"""Members' faces on pages: the avatar kept in the repository (``chorus.fetch.avatars``), a
local file named in the member file, or a picture generated from the handle for everyone who
gives none (never anything a member sends). No network here: the build uses it.

A local file is checked and resized as a fetched avatar is (``resize_avatar``), into the build's
cache by the hash of its bytes; the build copies those files into the site (``Face.built``).
A local file that is not an image we keep (an SVG, say) is reported, and the member's
generated picture shows instead.
"""

from __future__ import annotations

import colorsys
import hashlib
import io
import json
import logging
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageOps

from chorus.common.config import Config
from chorus.fetch.images import MAX_PIXELS, MediaError, check_image, write_bytes
from chorus.members.registry import Member

log = logging.getLogger(__name__)
MANIFEST_FORMAT = 1
AVATAR_SIZES = (64, 128, 256)  # the theme shows 32 to 96 px, at up to twice the density
GENERATED_DIR = "generated"  # under the avatars folder of the built site
GENERATED_SIZE = 256
GENERATED_STYLE = 1  # part of generated file names: a new style gets new names
GRID = 5  # identicon cells a side; the left half is mirrored
LOCAL_DIR = "local"  # under the avatars folder of the built site: local files, resized
LOCAL_CACHE = "chorus/avatars"  # under the build's cache: the same files


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


def resize_avatar(body: bytes) -> dict[int, bytes]:
    """The image as centre-cropped square PNGs of each of ``AVATAR_SIZES``; MediaError if it
    is not an image we keep. The pixel cap is checked again as Pillow decodes
    (``MAX_IMAGE_PIXELS``), so that a header that lied costs nothing either."""
    check_image(body)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(body)) as image:
                if image.width * image.height > MAX_PIXELS:
                    raise MediaError(f"{image.width}x{image.height} pixels is over the cap")
                image.seek(0)  # an animated GIF or WebP: its first frame
                image.load()
                picture = ImageOps.exif_transpose(image).convert("RGBA")
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise MediaError(f"too many pixels ({error})") from None
        except (OSError, SyntaxError, ValueError) as error:
            raise MediaError(f"a broken image ({error})") from None
    side = min(picture.size)
    square = ImageOps.fit(picture, (side, side), Image.Resampling.LANCZOS)
    return {
        size: png_bytes(square.resize((size, size), Image.Resampling.LANCZOS))
        for size in AVATAR_SIZES
    }


def avatar_files(name: str) -> dict[int, str]:
    """The file of each size for a kept avatar, relative to the avatars folder."""
    return {size: f"{name}-{size}.png" for size in AVATAR_SIZES}


def load_avatar_records(path: Path) -> dict[str, dict[str, str]]:
    """The avatar manifest: URL -> the name of its kept files, and its validators."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        if document.get("format") == MANIFEST_FORMAT:
            return {url: dict(record) for url, record in document["avatars"].items()}
    except FileNotFoundError:
        pass
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        log.warning("ignoring the unreadable avatar manifest %s (%s)", path, error)
    return {}


@dataclass(frozen=True)
class Face:
    """The picture that shows a member: files by size, as paths under SITEURL (or absolute
    URLs for a remote avatar the site shows as it is), and where its pixels are on disk."""

    sources: tuple[tuple[int, str], ...]  # (size in px, path or URL), smallest first
    alt: str
    generated: bool = False
    file: Path | None = None  # the largest size on disk (None: generated, or remote)
    built: tuple[tuple[str, Path], ...] = ()  # (path under SITEURL, file) the build copies

    def src(self, size: int) -> str:
        """The smallest file at least ``size`` px wide, else the largest there is."""
        for width, source in self.sources:
            if width >= size:
                return source
        return self.sources[-1][1]


def generated_avatar_path(handle: str, prefix: str) -> str:
    """Where a member's generated picture is on the site (a name that does not show the
    handle's letters, and changes with the style)."""
    digest = hashlib.sha256(f"{GENERATED_STYLE}:{handle}".encode()).hexdigest()[:20]
    return f"{prefix}/{GENERATED_DIR}/{digest}.png"


def face_of(
    member: Member,
    config: Config,
    records: Mapping[str, Mapping[str, str]],
    *,
    keep_remote: bool = False,
) -> Face:
    """Which picture shows ``member``; ``keep_remote``: CHORUS_REMOTE_IMAGES is "keep", so an
    avatar never fetched may be shown from the member's own site."""
    avatar = member.avatar
    if avatar and "://" in avatar:
        name = records.get(avatar, {}).get("name")
        files = avatar_files(name) if name else {}
        if files and all((config.avatars_dir / f).is_file() for f in files.values()):
            return Face(
                tuple((size, f"{config.avatars_prefix}/{f}") for size, f in files.items()),
                member.name,
                file=config.avatars_dir / files[max(files)],
            )
        if keep_remote:
            return Face(((0, avatar),), member.name)
    elif avatar:
        local = _local_face(member, avatar, config)
        if local is not None:
            return local
    path = generated_avatar_path(member.handle, config.avatars_prefix)
    return Face(((GENERATED_SIZE, path),), member.name, generated=True)


def _local_face(member: Member, avatar: str, config: Config) -> Face | None:
    """A local avatar resized into the cache (once per content); None, reported, if it is
    not an image we keep."""
    source = config.content_dir / avatar
    try:
        with source.open("rb") as handle:
            body = handle.read(config.max_avatar_bytes + 1)
        if len(body) > config.max_avatar_bytes:
            raise MediaError(f"over the cap of {config.max_avatar_bytes} bytes")
        name = hashlib.sha256(body).hexdigest()[:20]
        cached = {
            size: config.cache_dir / LOCAL_CACHE / file for size, file in avatar_files(name).items()
        }
        if not all(path.is_file() for path in cached.values()):
            for size, png in resize_avatar(body).items():
                write_bytes(cached[size], png)
    except (OSError, MediaError) as error:
        log.warning(
            "member %s: avatar %s: %s; their generated picture shows instead (use a PNG, JPEG, "
            "GIF or WebP file)",
            member.handle,
            source,
            error,
        )
        return None
    paths = {size: f"{config.avatars_prefix}/{LOCAL_DIR}/{cached[size].name}" for size in cached}
    return Face(
        tuple(sorted(paths.items())),
        member.name,
        file=cached[max(cached)],
        built=tuple((paths[size], cached[size]) for size in sorted(cached)),
    )


def faces(
    members: Mapping[str, Member], config: Config, *, keep_remote: bool = False
) -> dict[str, Face]:
    """Every member's face, by handle."""
    records = load_avatar_records(config.avatar_manifest)
    return {h: face_of(m, config, records, keep_remote=keep_remote) for h, m in members.items()}


def generated_avatar(handle: str, size: int = GENERATED_SIZE) -> bytes:
    """A PNG drawn from the handle alone: a mirrored 5x5 pattern in a colour of its own on a
    pale ground of the same hue. The same handle always gives the same bytes."""
    digest = hashlib.sha256(handle.encode("utf-8")).digest()
    hue = int.from_bytes(digest[:2], "big") / 65536
    ink = _rgb(hue, 0.42, 0.55)
    ground = _rgb(hue, 0.92, 0.35)
    image = Image.new("RGB", (size, size), ground)
    draw = ImageDraw.Draw(image)
    margin = size // 8
    cell = (size - 2 * margin) / GRID
    bits = int.from_bytes(digest[2:6], "big")
    half = (GRID + 1) // 2
    for row in range(GRID):
        for column in range(half):
            if bits >> (row * half + column) & 1:
                for x in {column, GRID - 1 - column}:
                    left, top = margin + x * cell, margin + row * cell
                    draw.rectangle(
                        (round(left), round(top), round(left + cell) - 1, round(top + cell) - 1),
                        fill=ink,
                    )
    return png_bytes(image)


def _rgb(hue: float, lightness: float, saturation: float) -> tuple[int, int, int]:
    red, green, blue = colorsys.hls_to_rgb(hue, lightness, saturation)
    return round(red * 255), round(green * 255), round(blue * 255)


def face_pixels(face: Face, handle: str) -> Image.Image:
    """The face as an RGBA image to draw with (share cards): the kept or local file when
    Pillow can read it as a raster image we keep, else the generated picture."""
    if face.file is not None:
        try:
            body = face.file.read_bytes()
            check_image(body)
            with Image.open(io.BytesIO(body)) as image:
                image.load()
                return image.convert("RGBA")
        except (OSError, MediaError) as error:
            log.info(
                "%s: %s cannot be drawn (%s); its generated picture is", handle, face.file, error
            )
    with Image.open(io.BytesIO(generated_avatar(handle))) as image:
        image.load()
        return image.convert("RGBA")


def face_fingerprint(face: Face, handle: str) -> str:
    """What a picture drawn from this face depends on: its file's bytes, or the handle."""
    if face.file is not None:
        try:
            return hashlib.sha256(face.file.read_bytes()).hexdigest()
        except OSError:
            pass  # face_pixels draws the generated picture then
    return f"generated:{GENERATED_STYLE}:{handle}"
