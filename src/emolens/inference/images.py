"""Image decoding for the runtime: path, bytes or array -> uint8 BGR, or a clear ImageError.

Every byte string goes through the same intake, whether it came from the CLI, the
REST API, a live WebSocket frame or an app: the format is sniffed from the bytes
(only SUPPORTED formats reach OpenCV), the size and decoding cost are checked from
the header against ImageLimits before decoding, OpenCV's own errors are caught, a
truncated JPEG is refused (also when a forged end marker was appended), and alpha
is composited onto white in bounded blocks. OpenCV's IMREAD_COLOR applies EXIF
orientation and reduces 16-bit to 8-bit. A DecodeGate, when given, bounds how many
decodes run at once and the memory they hold together.
"""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path

import cv2
import numpy as np

from emolens.inference.decode_gate import DecodeGate
from emolens.inference.imageformats import SUPPORTED, ImageHeader, read_header
from emolens.inference.libjpeg_quiet import quiet_libjpeg
from emolens.inference.limits import (
    DEFAULT_MAX_PIXELS,
    OPENCV_PIXELS_ENV,
    ImageError,
    ImageLimits,
    ImageTooLarge,
    UnsupportedImage,
)

__all__ = [
    "IMAGE_SUFFIXES",
    "MAX_PIXELS",
    "ImageError",
    "ImageInput",
    "ImageLimits",
    "ImageTooLarge",
    "UnsupportedImage",
    "decode_bytes",
    "header_size",
    "load_image",
]

MAX_PIXELS = DEFAULT_MAX_PIXELS  # kept for callers of the old name
IMAGE_SUFFIXES = (
    ".jpg",
    ".jpeg",
    ".png",
    ".gif",
    ".bmp",
    ".webp",
    ".tif",
    ".tiff",
    ".jp2",
    ".j2k",
    ".pgm",
    ".ppm",
    ".pbm",
    ".pnm",
)
ImageInput = str | Path | bytes | bytearray | memoryview | np.ndarray
JUNK = bytes((i * 167 + 13) % 254 + 1 for i in range(256))  # never 0x00 or 0xFF: pure entropy-coded data
BLOCK_ROWS = 256  # alpha compositing works on this many rows at a time


def load_image(
    image: ImageInput,
    *,
    rgb: bool = False,
    max_pixels: int = MAX_PIXELS,
    name: str | None = None,
    limits: ImageLimits | None = None,
    gate: DecodeGate | None = None,
) -> np.ndarray:
    """Any supported input -> contiguous uint8 BGR (H, W, 3).

    Arrays are taken as OpenCV-style BGR (or gray / BGRA); pass rgb=True for
    arrays from PIL, matplotlib or skimage, which are RGB. `limits` (default: 100 MP,
    1 GB to decode) wins over max_pixels.
    """
    limits = limits or ImageLimits(max_pixels=max_pixels)
    if isinstance(image, np.ndarray):
        if image.ndim == 3 and image.shape[2] == 2:
            raise ImageError(f"{name or 'array'}: expected a gray, BGR or BGRA image array, got shape {image.shape}")
        return _from_array(image, rgb=rgb, limits=limits, name=name or "array")
    if isinstance(image, (bytes, bytearray, memoryview)):
        return decode_bytes(bytes(image), name=name or "<bytes>", limits=limits, gate=gate)
    path = Path(image)
    if not path.is_file():
        raise ImageError(f"{path}: no such file" if not path.exists() else f"{path}: not a file")
    try:
        size = path.stat().st_size
        if size > limits.max_decode_bytes:
            limits.check_decode(size, str(path), what="the file alone")
        data = path.read_bytes()
    except OSError as exc:
        raise ImageError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    return decode_bytes(data, name=str(path), limits=limits, gate=gate)


def decode_bytes(
    data: bytes,
    *,
    name: str,
    max_pixels: int = MAX_PIXELS,
    limits: ImageLimits | None = None,
    gate: DecodeGate | None = None,
) -> np.ndarray:
    """Untrusted bytes -> BGR: ImageError (bad), ImageTooLarge (over a limit), UnsupportedImage (format)."""
    limits = limits or ImageLimits(max_pixels=max_pixels)
    if not data:
        raise ImageError(f"{name}: the file is empty (0 bytes)")
    if len(data) > limits.max_decode_bytes:
        limits.check_decode(len(data), name, what="the file alone")
    header = read_header(data, name)
    limits.check_pixels(header.width, header.height, name)
    limits.check_decode(header.decode_bytes, name)
    with gate.reserve(header.decode_bytes) if gate is not None else nullcontext():
        img = _decode(data, header, name)
        return _from_array(img, rgb=False, limits=limits, name=name)


def header_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from the header of a supported image without decoding, else None."""
    try:
        header = read_header(data, "<bytes>")
    except ImageError:
        return None
    return header.width, header.height


def _decode(data: bytes, header: ImageHeader, name: str) -> np.ndarray:
    flags = cv2.IMREAD_UNCHANGED if header.alpha else cv2.IMREAD_COLOR
    img = _imdecode(data, flags, name)
    if img is None:
        raise ImageError(f"{name}: a truncated or corrupt {SUPPORTED[header.format]} image")
    if header.jpeg is not None and _forged_end(data, header, img, name):
        raise ImageError(
            f"{name}: the JPEG is truncated (its data stops early and an end marker was added); re-copy or re-export it"
        )
    return img


def _imdecode(data: bytes, flags: int, name: str) -> np.ndarray | None:
    """cv2.imdecode with OpenCV's own refusals (its pixel limit, allocation failures) as ImageErrors."""
    try:
        return cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    except cv2.error as exc:
        if "CV_IO_MAX_IMAGE" in str(exc):
            raise ImageTooLarge(
                f"{name}: over OpenCV's pixel limit ({OPENCV_PIXELS_ENV}) for this process: downscale it first"
            ) from None
        raise ImageError(f"{name}: OpenCV cannot decode it ({str(exc).strip().splitlines()[-1][:200]})") from None
    except MemoryError:
        raise ImageTooLarge(f"{name}: not enough memory to decode it: send a smaller image") from None


def _forged_end(data: bytes, header: ImageHeader, img: np.ndarray, name: str) -> bool:
    """True when bytes put before the end marker change the picture: the image data stopped early.

    A complete JPEG ignores bytes between its last scan and its end marker; a cut one decodes
    them as the missing data. Sequential JPEGs are compared at 1/8 scale (every block's DC
    changes), progressive ones at full size (their last scans may refine fine detail only).
    """
    layout = header.jpeg
    assert layout is not None
    variant = data[: layout.eoi] + JUNK + data[layout.eoi :]
    if layout.progressive:
        with quiet_libjpeg():  # the slipped-in bytes make libjpeg warn about a file that is fine
            other = _imdecode(variant, cv2.IMREAD_COLOR, name)
        return other is None or not np.array_equal(other, img)
    small = _imdecode(data, cv2.IMREAD_REDUCED_COLOR_8, name)
    with quiet_libjpeg():
        other = _imdecode(variant, cv2.IMREAD_REDUCED_COLOR_8, name)
    return small is None or other is None or not np.array_equal(small, other)


def _from_array(img: np.ndarray, *, rgb: bool, limits: ImageLimits, name: str) -> np.ndarray:
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    if img.ndim not in (2, 3) or (img.ndim == 3 and img.shape[2] not in (2, 3, 4)) or img.size == 0:
        raise ImageError(f"{name}: expected a gray, BGR or BGRA image array, got shape {img.shape}")
    limits.check_pixels(img.shape[1], img.shape[0], name)
    if img.ndim == 3 and img.shape[2] in (2, 4):
        return _composite_on_white(img, rgb=rgb, name=name)
    img = _to_uint8(img, name)
    if img.ndim == 2:
        return cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    if rgb:
        img = img[:, :, ::-1]
    return np.ascontiguousarray(img)


def _to_uint8(img: np.ndarray, name: str) -> np.ndarray:
    if img.dtype == np.uint8:
        return img
    if img.dtype == np.uint16:
        return (img >> 8).astype(np.uint8)
    if img.dtype.kind == "f":
        if not np.isfinite(img).all():
            raise ImageError(f"{name}: float image holds NaN or inf values")
        top = 255.0 if img.max() > 1.0 else 1.0  # 0..1 floats (skimage) or 0..255
        return np.clip(img * (255.0 / top), 0, 255).round().astype(np.uint8)
    raise ImageError(f"{name}: unsupported pixel type {img.dtype} (use uint8, uint16 or float)")


def _composite_on_white(img: np.ndarray, *, rgb: bool, name: str) -> np.ndarray:
    """Gray+alpha or BGRA (8- or 16-bit) -> BGR on white, BLOCK_ROWS rows at a time (memory ~ the result)."""
    out = np.empty((*img.shape[:2], 3), np.uint8)
    for y in range(0, img.shape[0], BLOCK_ROWS):
        block = _to_uint8(img[y : y + BLOCK_ROWS], name)
        colour = block[:, :, :3] if block.shape[2] == 4 else block[:, :, :1]
        alpha = block[:, :, -1:].astype(np.uint16)
        mixed = (colour.astype(np.uint16) * alpha + 255 * (255 - alpha) + 127) // 255
        out[y : y + BLOCK_ROWS] = mixed.astype(np.uint8)[:, :, ::-1] if rgb and block.shape[2] == 4 else mixed
    return out
