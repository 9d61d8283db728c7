"""Slugs for tags and categories whose names leave nothing a URL can use."""

from __future__ import annotations

import hashlib
import unicodedata


def usable_slug(kind: str, name: str, slug: str) -> str:
    """``slug`` when it has a letter or digit; otherwise one made from a digest of ``name``.

    A feed's category ``">`` slugifies to nothing (a page ``tag/.html``), and ``-->`` or
    ``<->`` to ``-``, which would merge every such tag into one. A digest of the name gives
    each its own page, the same on every build.
    """
    if any(character.isalnum() for character in slug):
        return slug
    key = unicodedata.normalize("NFKC", name).strip()
    digest = hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=5).hexdigest()
    return f"{kind}-{digest}"
