"""Photo processing and storage: check what was uploaded, strip its metadata, keep it in a few sizes.

Every upload is decoded by Pillow (the declared content type is not trusted), limited in bytes and
pixels (decompression bombs), re-encoded as JPEG without EXIF (a phone photo's EXIF carries the GPS
position of the seller's home) and stored as ``original`` (at most 2048 px), ``medium`` (1024 px) and
``thumb`` (320 px). Storage is behind :class:`PhotoStore`; the local store writes under the data directory.
"""

from __future__ import annotations

import asyncio
import io
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from PIL import Image, ImageOps, UnidentifiedImageError

from accorria_agent.errors import BadRequest, PayloadTooLarge

VARIANTS: dict[str, int] = {"original": 2048, "medium": 1024, "thumb": 320}
ACCEPTED_FORMATS = frozenset({"JPEG", "PNG", "WEBP"})
MAX_PIXELS = 40_000_000
_KEY = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


@dataclass(frozen=True)
class ProcessedPhoto:
    """The stored sizes of one photo (JPEG bytes by variant) and the original's dimensions."""

    variants: dict[str, bytes]
    width: int
    height: int


def process_upload(data: bytes, *, max_bytes: int) -> ProcessedPhoto:
    """Validate and re-encode an uploaded image; raises a typed error a seller can act on."""
    if len(data) > max_bytes:
        raise PayloadTooLarge(f"a photo may be at most {max_bytes // 1_000_000} MB")
    if not data:
        raise BadRequest("the photo is empty", code="photo_invalid")
    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.format not in ACCEPTED_FORMATS:
                raise BadRequest("photos must be JPEG, PNG or WebP", code="photo_type")
            if probe.width * probe.height > MAX_PIXELS:
                raise BadRequest("the photo has too many pixels", code="photo_too_large")
            probe.verify()
        with Image.open(io.BytesIO(data)) as image:
            # Apply the camera's rotation before the EXIF that carries it is dropped.
            upright = ImageOps.exif_transpose(image).convert("RGB")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise BadRequest("the file is not a readable image", code="photo_invalid") from None
    variants: dict[str, bytes] = {}
    for name, limit in VARIANTS.items():
        copy = upright.copy()
        copy.thumbnail((limit, limit))
        buffer = io.BytesIO()
        copy.save(buffer, format="JPEG", quality=85, optimize=True)
        variants[name] = buffer.getvalue()
    return ProcessedPhoto(variants=variants, width=upright.width, height=upright.height)


class PhotoStore(Protocol):
    """Where photo bytes live (local directory; an S3-compatible store would implement the same)."""

    async def put(self, key: str, variant: str, data: bytes) -> None: ...

    async def get(self, key: str, variant: str) -> bytes | None: ...

    async def delete(self, key: str) -> None: ...


class LocalPhotoStore:
    """Photos under ``<data dir>/media/photos/<key>/<variant>.jpg``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str, variant: str) -> Path:
        if not _KEY.match(key) or variant not in VARIANTS:
            raise ValueError("bad photo key or variant")
        return self.root / key / f"{variant}.jpg"

    async def put(self, key: str, variant: str, data: bytes) -> None:
        path = self._path(key, variant)

        def write() -> None:
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_suffix(".tmp")
            temporary.write_bytes(data)
            os.replace(temporary, path)

        await asyncio.to_thread(write)

    async def get(self, key: str, variant: str) -> bytes | None:
        try:
            path = self._path(key, variant)
        except ValueError:
            return None
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            return None

    async def delete(self, key: str) -> None:
        def remove() -> None:
            for variant in VARIANTS:
                self._path(key, variant).unlink(missing_ok=True)
            directory = self.root / key
            if directory.exists():
                directory.rmdir()

        await asyncio.to_thread(remove)
