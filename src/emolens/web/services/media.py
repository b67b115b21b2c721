"""Checks on uploaded media, as plain exceptions the web layer maps to HTTP statuses.

InvalidMedia -> 400, MediaTooLarge -> 413, UnsupportedMedia -> 415. The declared type
is a first filter only: the format is then sniffed from the bytes (photo.py, video.py).
"""

from __future__ import annotations

import re
from pathlib import Path, PurePath
from typing import BinaryIO

from emolens.inference.imageformats import supported_names
from emolens.inference.images import IMAGE_SUFFIXES

VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".wmv", ".ogv")
IMAGE_TYPES = (
    "image/jpeg",
    "image/png",
    "image/gif",
    "image/bmp",
    "image/x-ms-bmp",
    "image/webp",
    "image/tiff",
    "image/jp2",
    "image/x-portable-graymap",
    "image/x-portable-pixmap",
    "image/x-portable-anymap",
    "image/x-portable-bitmap",
)
GENERIC_TYPES = ("", "application/octet-stream")


class MediaError(ValueError):
    """An upload we refuse; the message says why and what to send instead."""


class InvalidMedia(MediaError):
    pass


class MediaTooLarge(MediaError):
    pass


class UnsupportedMedia(MediaError):
    pass


def _base_type(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def check_image_type(content_type: str | None, filename: str | None) -> None:
    """Accept image/* types OpenCV decodes, or a generic type with an image file suffix."""
    kind, suffix = _base_type(content_type), PurePath(filename or "").suffix.lower()
    if kind in IMAGE_TYPES or (kind in GENERIC_TYPES and suffix in IMAGE_SUFFIXES):
        return
    raise UnsupportedMedia(
        f"unsupported image type {kind or 'none'!r} for {filename or 'the upload'}: "
        f"send {supported_names()} (suffixes {', '.join(IMAGE_SUFFIXES)})"
    )


def check_video_type(content_type: str | None, filename: str | None) -> str:
    """Accept video/* or a generic type with a video suffix; returns the suffix to store the file under."""
    kind, suffix = _base_type(content_type), PurePath(filename or "").suffix.lower()
    if kind.startswith("video/") or (kind in GENERIC_TYPES and suffix in VIDEO_SUFFIXES):
        return suffix if suffix in VIDEO_SUFFIXES else ".mp4"
    raise UnsupportedMedia(
        f"unsupported video type {kind or 'none'!r} for {filename or 'the upload'}: "
        f"send a video file ({', '.join(VIDEO_SUFFIXES)}); photos go to /api/v1/analyze"
    )


def clean_filename(name: str | None, default: str) -> str:
    """An uploaded name safe to show and to send back in Content-Disposition: its last path part,
    letters, digits, '.', '_', '-' and spaces only, at most 100 characters."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = re.sub(r"[^A-Za-z0-9._ -]", "_", base).strip(" .")[:100]
    return base or default


def check_size(size: int, limit: int, what: str) -> None:
    if size > limit:
        raise MediaTooLarge(
            f"the {what} is over the {limit / 2**20:.0f} MB upload limit: send a smaller file "
            f"(the server's limit is set by EMOLENS_MAX_{'VIDEO' if what == 'video' else 'UPLOAD'}_MB)"
        )
    if size == 0:
        raise InvalidMedia(f"the {what} is empty (0 bytes)")


def copy_limited(src: BinaryIO, dest: Path, limit: int, what: str) -> int:
    """Copy an upload to dest in 1 MB chunks, refusing it (and deleting dest) past limit bytes."""
    size = 0
    try:
        with open(dest, "wb") as out:
            while chunk := src.read(1 << 20):
                size += len(chunk)
                check_size(size, limit, what)
                out.write(chunk)
        check_size(size, limit, what)
    except BaseException:
        dest.unlink(missing_ok=True)
        raise
    return size
