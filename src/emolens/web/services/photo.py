"""Photo analysis for the API: bytes -> decoded image -> faces, with the pixel limit as its own error."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emolens.core.results import Face
from emolens.inference.images import MAX_PIXELS, ImageError, decode_bytes, header_size
from emolens.web.services.engine import Engine
from emolens.web.services.media import InvalidMedia, MediaTooLarge


@dataclass(frozen=True)
class PhotoResult:
    faces: list[Face]
    width: int
    height: int


def _too_many_pixels(width: int, height: int, max_pixels: int, name: str) -> MediaTooLarge:
    return MediaTooLarge(f"{name}: {width}x{height} is {width * height / 1e6:.1f} megapixels, over the "
                         f"{max_pixels / 1e6:.1f} MP limit: downscale it first")


def decode_photo(data: bytes, *, name: str, max_pixels: int) -> np.ndarray:
    """Bytes -> BGR array; MediaTooLarge above max_pixels, InvalidMedia when undecodable.

    PNG/JPEG sizes are checked from the header before decoding; other formats after.
    """
    size = header_size(data)
    if size is not None and size[0] * size[1] > max_pixels:
        raise _too_many_pixels(size[0], size[1], max_pixels, name)
    try:
        image = decode_bytes(data, name=name, max_pixels=max(max_pixels, MAX_PIXELS))
    except ImageError as exc:
        raise InvalidMedia(str(exc)) from None
    h, w = image.shape[:2]
    if w * h > max_pixels:
        raise _too_many_pixels(w, h, max_pixels, name)
    return image


def analyze_photo(engine: Engine, data: bytes, *, name: str, max_pixels: int) -> PhotoResult:
    image = decode_photo(data, name=name, max_pixels=max_pixels)
    faces = engine.analyzer.analyze(image)
    return PhotoResult(faces=faces, width=image.shape[1], height=image.shape[0])
