"""Photos on the server: every uploaded photo and live frame is decoded through one PhotoIntake.

The intake holds the server's image limits (max_pixels, max_decode_mb, named after their
EMOLENS_* variables in every refusal) and its decode gate (max_decodes at once, their
memory within max_decode_mb together). The runtime's errors become the web's MediaErrors:
over a limit 413, a refused format 415, anything else undecodable 400.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emolens.core.results import Face
from emolens.inference.decode_gate import DecodeGate
from emolens.inference.images import decode_bytes
from emolens.inference.limits import ImageError, ImageLimits, ImageTooLarge, UnsupportedImage
from emolens.web.services.engine import Engine
from emolens.web.services.media import InvalidMedia, MediaError, MediaTooLarge, UnsupportedMedia
from emolens.web.settings import Settings


@dataclass(frozen=True)
class PhotoResult:
    faces: list[Face]
    width: int
    height: int


@dataclass(frozen=True)
class PhotoIntake:
    limits: ImageLimits
    gate: DecodeGate

    @classmethod
    def from_settings(cls, settings: Settings) -> PhotoIntake:
        limits = ImageLimits(
            max_pixels=settings.max_pixels,
            max_decode_bytes=settings.max_decode_bytes,
            pixels_setting="EMOLENS_MAX_PIXELS",
            decode_setting="EMOLENS_MAX_DECODE_MB",
        )
        return cls(limits, DecodeGate(settings.max_decodes, settings.max_decode_bytes))

    def decode(self, data: bytes, *, name: str) -> np.ndarray:
        """Bytes -> BGR array, or a MediaError (413 / 415 / 400) whose message names the limit in force."""
        try:
            return decode_bytes(data, name=name, limits=self.limits, gate=self.gate)
        except ImageError as exc:
            raise media_error(exc) from None


def media_error(exc: ImageError) -> MediaError:
    if isinstance(exc, ImageTooLarge):
        return MediaTooLarge(str(exc))
    if isinstance(exc, UnsupportedImage):
        return UnsupportedMedia(str(exc))
    return InvalidMedia(str(exc))


def analyze_photo(engine: Engine, intake: PhotoIntake, data: bytes, *, name: str) -> PhotoResult:
    image = intake.decode(data, name=name)
    faces = engine.analyzer.analyze(image)
    return PhotoResult(faces=faces, width=image.shape[1], height=image.shape[0])
