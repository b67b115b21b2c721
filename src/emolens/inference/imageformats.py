"""What an image file is, from its bytes: the format, and its size and depth from the header.

The format comes from the file's signature, never from its name, and only the formats
listed in SUPPORTED ever reach a decoder. Known formats we refuse (SVG, PDF, HEIC,
Photoshop, HDR, ...) raise UnsupportedImage; bytes that match no signature raise
ImageError. `bytes_per_pixel` is what decoding costs per pixel: the BGR result
(3 bytes) plus the decoder's own buffers, so memory is known before decoding.
"""

from __future__ import annotations

import math
import re
import struct
from dataclasses import dataclass

from emolens.inference.jpeg_layout import JpegLayout, jpeg_layout
from emolens.inference.limits import ImageError, UnsupportedImage
from emolens.inference.tiff_jp2 import BITS, HEIGHT, SAMPLES, TILE_H, TILE_W, WIDTH, jp2_size, tiff_fields

SUPPORTED = {
    "jpeg": "JPEG",
    "png": "PNG",
    "gif": "GIF",
    "bmp": "BMP",
    "webp": "WebP",
    "tiff": "TIFF",
    "pnm": "PGM/PPM/PBM",
    "jp2": "JPEG 2000",
}
SIGNATURES = (  # (prefix, offset, format)
    (b"\xff\xd8\xff", 0, "jpeg"),
    (b"\x89PNG\r\n\x1a\n", 0, "png"),
    (b"GIF87a", 0, "gif"),
    (b"GIF89a", 0, "gif"),
    (b"BM", 0, "bmp"),
    (b"WEBP", 8, "webp"),
    (b"II*\x00", 0, "tiff"),
    (b"MM\x00*", 0, "tiff"),
    (b"\x00\x00\x00\x0cjP  \r\n\x87\n", 0, "jp2"),
    (b"\xff\x4f\xff\x51", 0, "jp2"),
)
REFUSED = (  # recognised, not supported: (prefix, offset, what it is)
    (b"II+\x00", 0, "BigTIFF"),
    (b"MM\x00+", 0, "BigTIFF"),
    (b"%PDF", 0, "PDF"),
    (b"8BPS", 0, "Photoshop"),
    (b"#?RADIANCE", 0, "Radiance HDR"),
    (b"#?RGBE", 0, "Radiance HDR"),
    (b"PF\n", 0, "PFM"),
    (b"Pf\n", 0, "PFM"),
    (b"P7", 0, "PAM"),
    (b"\x59\xa6\x6a\x95", 0, "Sun raster"),
    (b"\x76\x2f\x31\x01", 0, "OpenEXR"),
    (b"\x00\x00\x01\x00", 0, "Windows icon"),
    (b"PK\x03\x04", 0, "ZIP"),
    (b"\x1f\x8b", 0, "gzip"),
    (b"AVI ", 8, "AVI video"),
    (b"\x1a\x45\xdf\xa3", 0, "Matroska/WebM video"),
    (b"OggS", 0, "Ogg"),
    (b"#EXTM3U", 0, "playlist"),
    (b"\x00\x00\x01\xba", 0, "MPEG video"),
)
HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"msf1", b"avif", b"avis")
PNM_RE = re.compile(rb"P([1-6])(?:\s|#[^\n]*\n)+(\d+)(?:\s|#[^\n]*\n)+(\d+)(?:(?:\s|#[^\n]*\n)+(\d+))?")


@dataclass(frozen=True)
class ImageHeader:
    format: str  # a key of SUPPORTED
    width: int
    height: int
    bytes_per_pixel: float  # decoding cost: the 3-byte BGR result plus the decoder's buffers
    alpha: bool = False  # PNG with an alpha channel: decoded unchanged, then composited on white
    jpeg: JpegLayout | None = None

    @property
    def pixels(self) -> int:
        return self.width * self.height

    @property
    def decode_bytes(self) -> int:
        return math.ceil(self.pixels * self.bytes_per_pixel)


def supported_names() -> str:
    return ", ".join(SUPPORTED.values())


def sniff(data: bytes) -> str | None:
    """A key of SUPPORTED, or None; UnsupportedImage for formats we know and refuse."""
    for prefix, at, kind in SIGNATURES:
        if data[at : at + len(prefix)] == prefix and (kind != "webp" or data[:4] == b"RIFF"):
            return kind
    if data[:1] == b"P" and data[1:2] in b"123456" and data[2:3].isspace():
        return "pnm"
    refused = next((what for prefix, at, what in REFUSED if data[at : at + len(prefix)] == prefix), None)
    if refused is None and data[4:8] == b"ftyp":
        refused = "HEIC/AVIF" if data[8:12] in HEIF_BRANDS else "MP4/QuickTime video"
    head = data[:256].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if refused is None and (
        head.startswith(b"<svg")
        or head.startswith(b"<?xml")
        or head.startswith(b"<!doctype")
        or head.startswith(b"<html")
    ):
        refused = "SVG/XML/HTML"
    if refused is not None:
        raise UnsupportedImage(f"{refused} is not a supported image format: send {supported_names()}")
    return None


def read_header(data: bytes, name: str) -> ImageHeader:
    """The format, size and decoding cost of an image; ImageError when there is no usable header."""
    kind = sniff(data)
    if kind is None:
        raise ImageError(f"{name}: not an image (supported: {supported_names()})")
    try:
        return PARSERS[kind](data, name)
    except (struct.error, IndexError):
        raise ImageError(f"{name}: a truncated or corrupt {SUPPORTED[kind]} header") from None


def _jpeg(data: bytes, name: str) -> ImageHeader:
    layout = jpeg_layout(data, name)
    extra = 3 + 2 * layout.components if layout.progressive else 0.1  # coefficients + a second decode to check
    depth = 2 if layout.precision > 8 else 1
    return ImageHeader("jpeg", layout.width, layout.height, 3 + 3 * (depth - 1) + extra, jpeg=layout)


def _png(data: bytes, name: str) -> ImageHeader:
    if data[12:16] != b"IHDR":
        raise ImageError(f"{name}: a corrupt PNG (no IHDR chunk first)")
    width, height, depth, colour = struct.unpack(">IIBB", data[16:26])
    if depth not in (1, 2, 4, 8, 16) or colour not in (0, 2, 3, 4, 6):
        raise ImageError(f"{name}: a corrupt PNG (bit depth {depth}, colour type {colour})")
    _png_chunks(data, name)
    alpha = colour in (4, 6)
    per_pixel = 3 + (4 * depth / 8 if alpha else 0)  # alpha: RGBA kept at full depth, then composited
    return ImageHeader("png", width, height, per_pixel, alpha=alpha)


def _png_chunks(data: bytes, name: str) -> None:
    """Every chunk's length must fit in the file: decoders allocate what a chunk claims before reading it."""
    i = 8
    while i + 12 <= len(data):
        length, kind = struct.unpack(">I4s", data[i : i + 8])
        if i + 12 + length > len(data):
            raise ImageError(
                f"{name}: the PNG is truncated or corrupt (a {length}-byte {kind.decode('latin-1')!r} "
                f"chunk at byte {i} runs past the end of the file)"
            )
        if kind == b"IEND":
            return
        i += 12 + length


def _gif(data: bytes, name: str) -> ImageHeader:
    width, height, packed = struct.unpack("<HHB", data[6:11])
    i = 13 + (3 * 2 ** ((packed & 7) + 1) if packed & 0x80 else 0)
    while i < len(data):
        block = data[i]
        if block == 0x2C:  # the first image: it may reach past the logical screen
            left, top, w, h = struct.unpack("<HHHH", data[i + 1 : i + 9])
            return ImageHeader("gif", max(width, left + w), max(height, top + h), 8)
        if block != 0x21:  # anything but an extension before the first image
            break
        i += 2
        while i < len(data) and data[i]:
            i += data[i] + 1
        i += 1
    raise ImageError(f"{name}: a truncated or corrupt GIF (no image in it)")


def _bmp(data: bytes, name: str) -> ImageHeader:
    size = struct.unpack("<I", data[14:18])[0]
    if size == 12:
        width, height, _, bits = struct.unpack("<HHHH", data[18:26])
    elif size >= 40:
        width, height, _, bits = struct.unpack("<iiHH", data[18:30])
    else:
        raise ImageError(f"{name}: a corrupt BMP (header size {size})")
    if bits not in (1, 4, 8, 16, 24, 32):
        raise ImageError(f"{name}: a corrupt BMP ({bits} bits per pixel)")
    return ImageHeader("bmp", width, abs(height), 4)


def _webp(data: bytes, name: str) -> ImageHeader:
    if len(data) < 30:
        raise ImageError(f"{name}: a truncated WebP header")
    chunk = data[12:16]
    if chunk == b"VP8 ":
        if data[23:26] != b"\x9d\x01\x2a":
            raise ImageError(f"{name}: a corrupt WebP (bad VP8 start code)")
        w, h = struct.unpack("<HH", data[26:30])
        width, height = w & 0x3FFF, h & 0x3FFF
    elif chunk == b"VP8L":
        bits = struct.unpack("<I", data[21:25])[0]
        width, height = (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    elif chunk == b"VP8X":
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
    else:
        raise ImageError(f"{name}: a corrupt WebP (unknown chunk {chunk!r})")
    return ImageHeader("webp", width, height, 7)


def _tiff(data: bytes, name: str) -> ImageHeader:
    f = tiff_fields(data, name)
    samples, bits = f.get(SAMPLES, 1), f.get(BITS, 1)
    tile = f.get(TILE_W, 0) * f.get(TILE_H, 0)
    if tile > f[WIDTH] * f[HEIGHT] * 4:
        raise ImageError(f"{name}: a corrupt TIFF (tiles larger than the image)")
    return ImageHeader("tiff", f[WIDTH], f[HEIGHT], 3 + samples * max(bits, 8) / 8)


def _pnm(data: bytes, name: str) -> ImageHeader:
    m = PNM_RE.match(data[:1024])
    if m is None or (m.group(1) not in b"14" and m.group(4) is None):
        raise ImageError(f"{name}: a truncated or corrupt PGM/PPM header")
    channels = 3 if m.group(1) in b"36" else 1
    depth = 2 if m.group(1) not in b"14" and int(m.group(4)) > 255 else 1
    return ImageHeader("pnm", int(m.group(2)), int(m.group(3)), 3 + channels * depth)


def _jp2(data: bytes, name: str) -> ImageHeader:
    width, height, components, _ = jp2_size(data, name)
    return ImageHeader("jp2", width, height, 3 + 4 * max(components, 1))  # OpenJPEG keeps int32 samples


PARSERS = {"jpeg": _jpeg, "png": _png, "gif": _gif, "bmp": _bmp, "webp": _webp, "tiff": _tiff, "pnm": _pnm, "jp2": _jp2}
