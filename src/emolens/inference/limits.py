"""Limits on untrusted images, and the errors that name them. No OpenCV here.

A photo's cost is known from its header before any pixel is decoded: width x height
(`max_pixels`) and the memory its decoding needs (`max_decode_bytes`). Every refusal
names the limit in force and the setting that changes it, so a server's message says
"the 40 MP limit (EMOLENS_MAX_PIXELS)" and the CLI's says "(--max-megapixels)".

OpenCV has its own pixel check (OPENCV_IO_MAX_IMAGE_PIXELS) but reads it once, when
the library loads: `limit_opencv` sets it, and must run before the first `import cv2`
(the CLI's main and `emolens serve` call it first thing).
"""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass

log = logging.getLogger(__name__)

MB = 1024 * 1024
DEFAULT_MAX_PIXELS = 100_000_000  # 100 MP: the library's and the CLI's default
DEFAULT_DECODE_BYTES = 1024 * MB
MAX_SIDE = 65_535  # longest side of any supported format's header; wider images are refused
OPENCV_PIXELS_ENV = "OPENCV_IO_MAX_IMAGE_PIXELS"


class ImageError(ValueError):
    """An input that is not a usable image; the message names the file (answered 400)."""


class ImageTooLarge(ImageError):
    """Over a size limit: pixels, decode memory, file size (answered 413)."""


class UnsupportedImage(ImageError):
    """A format we recognise and refuse, such as SVG, PDF or HEIC (answered 415)."""


class DecoderBusy(RuntimeError):
    """Every decode slot stayed taken while we waited (answered 503, try again)."""


@dataclass(frozen=True)
class ImageLimits:
    """What one decode may cost; `pixels_setting` / `decode_setting` name the knobs in messages."""

    max_pixels: int = DEFAULT_MAX_PIXELS
    max_decode_bytes: int = DEFAULT_DECODE_BYTES
    pixels_setting: str = "max_pixels"
    decode_setting: str = "max_decode_bytes"

    def __post_init__(self) -> None:
        if self.max_pixels <= 0 or self.max_decode_bytes <= 0:
            raise ValueError(
                f"image limits must be positive, got {self.max_pixels} pixels, {self.max_decode_bytes} bytes"
            )

    def check_pixels(self, width: int, height: int, name: str) -> None:
        if width <= 0 or height <= 0:
            raise ImageError(f"{name}: the header says {width}x{height} pixels: a corrupt image")
        if max(width, height) > MAX_SIDE:
            raise ImageTooLarge(f"{name}: {width}x{height} has a side over {MAX_SIDE} pixels: downscale it first")
        if width * height > self.max_pixels:
            raise ImageTooLarge(
                f"{name}: {width}x{height} is {megapixels(width * height)} megapixels, over the "
                f"{megapixels(self.max_pixels)} MP limit ({self.pixels_setting}): downscale it first"
            )

    def check_decode(self, needed: int, name: str, what: str = "decoding it") -> None:
        if needed > self.max_decode_bytes:
            raise ImageTooLarge(
                f"{name}: {what} needs about {needed / MB:.0f} MB, over the "
                f"{self.max_decode_bytes / MB:.0f} MB decode budget ({self.decode_setting}): "
                "send a smaller or 8-bit image"
            )


def megapixels(pixels: int) -> str:
    """40000000 -> '40', 1234567 -> '1.2' (one decimal only when it matters)."""
    value = pixels / 1e6
    return f"{value:.0f}" if value >= 10 or value == int(value) else f"{value:.1f}"


def limit_opencv(max_pixels: int) -> bool:
    """Set OpenCV's own pixel limit; True when it will apply (OpenCV not loaded yet).

    A smaller value already in the environment is kept. Once cv2 is imported the
    variable is read and changing it does nothing: then emolens' header checks
    are the only guard, which is logged.
    """
    current = os.environ.get(OPENCV_PIXELS_ENV, "")
    value = min(int(current), max_pixels) if current.isdigit() else max_pixels
    if "cv2" in sys.modules:
        log.debug("OpenCV was loaded before its pixel limit could be set; emolens checks headers itself")
        return False
    os.environ[OPENCV_PIXELS_ENV] = str(value)
    return True
