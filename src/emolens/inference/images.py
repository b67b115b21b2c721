"""Image decoding for the runtime: path, bytes or array -> uint8 BGR, or a clear ImageError.

OpenCV's IMREAD_COLOR already applies EXIF orientation, reduces 16-bit to 8-bit and
expands gray; here we add what it lacks: a pixel limit checked from the header
before decoding, truncated-JPEG detection, and alpha composited onto white.
"""
from __future__ import annotations

import struct
from pathlib import Path

import cv2
import numpy as np

MAX_PIXELS = 100_000_000  # 100 MP: above this we refuse rather than risk memory
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".jp2", ".pgm", ".ppm")
ImageInput = str | Path | bytes | bytearray | memoryview | np.ndarray


class ImageError(ValueError):
    """An input that is not a usable image; the message names the file."""


def load_image(image: ImageInput, *, rgb: bool = False, max_pixels: int = MAX_PIXELS,
               name: str | None = None) -> np.ndarray:
    """Any supported input -> contiguous uint8 BGR (H, W, 3).

    Arrays are taken as OpenCV-style BGR (or gray / BGRA); pass rgb=True for
    arrays from PIL, matplotlib or skimage, which are RGB.
    """
    if isinstance(image, np.ndarray):
        return _from_array(image, rgb=rgb, max_pixels=max_pixels, name=name or "array")
    if isinstance(image, (bytes, bytearray, memoryview)):
        return decode_bytes(bytes(image), name=name or "<bytes>", max_pixels=max_pixels)
    path = Path(image)
    if not path.is_file():
        raise ImageError(f"{path}: no such file" if not path.exists() else f"{path}: not a file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImageError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    return decode_bytes(data, name=str(path), max_pixels=max_pixels)


def decode_bytes(data: bytes, *, name: str, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    if not data:
        raise ImageError(f"{name}: the file is empty (0 bytes)")
    size = header_size(data)
    if size is not None:
        _check_pixels(size[0], size[1], name, max_pixels)
    if data[:2] == b"\xff\xd8" and not _jpeg_complete(data):
        raise ImageError(f"{name}: the JPEG is truncated (the file ends before the image does); re-copy or re-export it")
    buf = np.frombuffer(data, np.uint8)
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 25 and data[25] in (4, 6):  # PNG with alpha
        img = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    else:
        img = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    if img is None:
        kind = "a truncated or corrupt image" if size is not None else "not an image OpenCV can read"
        raise ImageError(f"{name}: {kind} (supported: {', '.join(IMAGE_SUFFIXES)})")
    return _from_array(img, rgb=False, max_pixels=max_pixels, name=name)


def _from_array(img: np.ndarray, *, rgb: bool, max_pixels: int, name: str) -> np.ndarray:
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    if img.ndim not in (2, 3) or (img.ndim == 3 and img.shape[2] not in (3, 4)) or img.size == 0:
        raise ImageError(f"{name}: expected a gray, BGR or BGRA image array, got shape {img.shape}")
    _check_pixels(img.shape[1], img.shape[0], name, max_pixels)
    img = _to_uint8(img, name)
    if img.ndim == 2:
        return cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    if img.shape[2] == 4:
        img = _composite_on_white(img)
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


def _composite_on_white(bgra: np.ndarray) -> np.ndarray:
    alpha = bgra[:, :, 3:4].astype(np.float32) / 255.0
    out = bgra[:, :, :3].astype(np.float32) * alpha + 255.0 * (1.0 - alpha)
    return out.round().astype(np.uint8)


def _check_pixels(width: int, height: int, name: str, max_pixels: int) -> None:
    if width * height > max_pixels:
        raise ImageError(f"{name}: {width}x{height} is {width * height / 1e6:.0f} megapixels, over the "
                         f"{max_pixels / 1e6:.0f} MP limit: downscale it first (or raise max_pixels)")


def header_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) read from a PNG or JPEG header without decoding, else None."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        return struct.unpack(">II", data[16:24])
    if data[:2] == b"\xff\xd8":
        for marker, start in _jpeg_segments(data):
            if marker in _SOF and start + 7 <= len(data):
                h, w = struct.unpack(">HH", data[start + 3:start + 7])
                return w, h
    return None


_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _jpeg_segments(data: bytes):
    """(marker, payload start) of each JPEG header segment up to the first scan (SOS)."""
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            return
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        length = struct.unpack(">H", data[i + 2:i + 4])[0]
        yield marker, i + 2
        if marker == 0xDA:
            return
        i += 2 + length


def _jpeg_complete(data: bytes) -> bool:
    """True when an end-of-image marker follows the main image's first scan.

    Searching after the scan skips the EXIF thumbnail's own EOI; data appended
    after the EOI (motion photos) is fine.
    """
    sos = next((start for marker, start in _jpeg_segments(data) if marker == 0xDA), None)
    return sos is not None and data.find(b"\xff\xd9", sos) != -1
