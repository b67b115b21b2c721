"""Sizes from TIFF and JPEG 2000 headers, read without decoding (see imageformats.py for the rest)."""

from __future__ import annotations

import struct

from emolens.inference.limits import ImageError

TIFF_TYPES = {3: ("H", 2), 4: ("I", 4), 1: ("B", 1)}  # SHORT, LONG, BYTE: struct code and size
WIDTH, HEIGHT, BITS, SAMPLES, TILE_W, TILE_H = 256, 257, 258, 277, 322, 323
MAX_TIFF_ENTRIES = 1000


def tiff_fields(data: bytes, name: str) -> dict[int, int]:
    """The first page's width, height, bits per sample, samples per pixel and tile size (tag -> value)."""
    order = "<" if data[:2] == b"II" else ">"
    if len(data) < 8:
        raise ImageError(f"{name}: the TIFF is truncated (no header)")
    offset = struct.unpack(order + "I", data[4:8])[0]
    if offset + 2 > len(data):
        raise ImageError(f"{name}: the TIFF is truncated (its first page is past the end of the file)")
    count = struct.unpack(order + "H", data[offset : offset + 2])[0]
    if count > MAX_TIFF_ENTRIES or offset + 2 + 12 * count > len(data):
        raise ImageError(f"{name}: a truncated or corrupt TIFF ({count} header entries)")
    fields: dict[int, int] = {}
    for k in range(count):
        start = offset + 2 + 12 * k
        tag, kind, n = struct.unpack(order + "HHI", data[start : start + 8])
        if tag in (WIDTH, HEIGHT, BITS, SAMPLES, TILE_W, TILE_H) and kind in TIFF_TYPES and n >= 1:
            fields[tag] = _tiff_value(data, order, kind, n, start + 8, name)
    if WIDTH not in fields or HEIGHT not in fields:
        raise ImageError(f"{name}: a corrupt TIFF (no width or height)")
    return fields


def _tiff_value(data: bytes, order: str, kind: int, n: int, at: int, name: str) -> int:
    """The first value of an entry: inline when it fits 4 bytes, else at the offset stored there."""
    code, size = TIFF_TYPES[kind]
    if n * size > 4:
        at = struct.unpack(order + "I", data[at : at + 4])[0]
        if at + size > len(data):
            raise ImageError(f"{name}: a truncated TIFF (a header value past the end of the file)")
    return struct.unpack(order + code, data[at : at + size])[0]


def jp2_size(data: bytes, name: str) -> tuple[int, int, int, int]:
    """(width, height, components, bits) from a JP2 file's 'ihdr' box or a raw codestream's SIZ marker."""
    if data[:4] == b"\xff\x4f\xff\x51":
        return _siz(data[4:], name)
    at = 0
    while at + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[at : at + 8])
        header = 8
        if length == 1 and at + 16 <= len(data):
            length, header = struct.unpack(">Q", data[at + 8 : at + 16])[0], 16
        if kind == b"jp2h":  # a superbox: its boxes follow its header
            at += header
            continue
        if kind == b"ihdr" and at + 22 <= len(data):
            height, width, components, bits = struct.unpack(">IIHB", data[at + 8 : at + 19])
            return width, height, components, (bits & 0x7F) + 1
        if kind == b"jp2c":
            return _siz(data[at + header + 4 :], name)
        if length < header:
            break
        at += length
    raise ImageError(f"{name}: a truncated or corrupt JPEG 2000 file (no image header)")


def _siz(siz: bytes, name: str) -> tuple[int, int, int, int]:
    if len(siz) < 38:
        raise ImageError(f"{name}: a truncated JPEG 2000 codestream")
    xsiz, ysiz, xo, yo = struct.unpack(">IIII", siz[4:20])
    components = struct.unpack(">H", siz[36:38])[0]
    bits = (siz[38] & 0x7F) + 1 if len(siz) > 38 else 8
    return xsiz - xo, ysiz - yo, components, bits
