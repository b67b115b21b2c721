"""The marker structure of a JPEG, walked without decoding: size, scans, restart markers, the end.

`jpeg_layout(data)` goes from the start marker to the end-of-image marker (EOI),
skipping entropy-coded data (in which 0xFF is always followed by 0x00 or a restart
marker) and counting, per scan, the restart markers the scan's size calls for.
It refuses a file that ends before its EOI, a scan that has fewer restart markers
than its MCUs need (cut, then given a forged EOI), and more scans than any real
encoder writes (a progressive file of thousands of tiny scans costs minutes).
A cut inside the last restart interval, or in a file without restart markers, is
found after decoding (see images.py: the forged-end check).
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass

from emolens.inference.limits import ImageError, ImageTooLarge

MAX_SCANS = 100  # libjpeg-turbo's tools stop at 500; real encoders write 1 (baseline) to ~12 (progressive)
SOF_MARKERS = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
PROGRESSIVE = frozenset({0xC2, 0xC6, 0xCA, 0xCE})
EOI, SOS, DRI = 0xD9, 0xDA, 0xDD


@dataclass(frozen=True)
class JpegLayout:
    width: int
    height: int
    components: int
    precision: int  # bits per sample: 8, 12 or 16
    progressive: bool
    scans: int
    eoi: int  # offset of the end-of-image marker
    restarts: bool  # some scan uses restart intervals


@dataclass
class _Frame:
    width: int = 0
    height: int = 0
    precision: int = 8
    progressive: bool = False
    sampling: dict[int, tuple[int, int]] | None = None  # component id -> (h, v) factors


def jpeg_layout(data: bytes, name: str) -> JpegLayout:
    """Walk a JPEG from SOI to EOI; ImageError when it is cut or malformed, ImageTooLarge past MAX_SCANS."""
    frame, scans, interval, restarts, i = _Frame(), 0, 0, False, 2
    while True:
        i = _next_marker(data, i, name)
        marker = data[i + 1]
        if marker == EOI:
            break
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # restart markers and TEM stand alone
            i += 2
            continue
        end = _segment_end(data, i, name)
        body = data[i + 4 : end]
        if marker in SOF_MARKERS and frame.sampling is None:
            frame = _frame(body, marker, name)
        elif marker == DRI and len(body) >= 2:
            interval = struct.unpack(">H", body[:2])[0]
        elif marker == SOS:
            if frame.sampling is None:
                raise ImageError(f"{name}: a corrupt JPEG (image data before the frame header)")
            scans += 1
            if scans > MAX_SCANS:
                raise ImageTooLarge(
                    f"{name}: the JPEG has more than {MAX_SCANS} scans (a decoder stress file, not a photo): re-save it"
                )
            i, found = _skip_scan(data, end, name)
            expected = _restarts_needed(frame, body, interval)
            if found < expected:
                raise _truncated(name)
            restarts = restarts or interval > 0
            continue
        i = end
    if frame.sampling is None or scans == 0:
        raise ImageError(f"{name}: a corrupt JPEG (no image data before its end marker)")
    return JpegLayout(
        frame.width, frame.height, len(frame.sampling), frame.precision, frame.progressive, scans, i, restarts
    )


def _truncated(name: str) -> ImageError:
    return ImageError(f"{name}: the JPEG is truncated (the file ends before the image does); re-copy or re-export it")


def _next_marker(data: bytes, i: int, name: str) -> int:
    """Offset of the marker at i (fill bytes 0xFF skipped); ImageError when the file ends first."""
    while i + 1 < len(data) and data[i] == 0xFF and data[i + 1] == 0xFF:
        i += 1
    if i + 1 >= len(data):
        raise _truncated(name)
    if data[i] != 0xFF:
        raise ImageError(f"{name}: a corrupt JPEG (no marker at byte {i})")
    return i


def _segment_end(data: bytes, i: int, name: str) -> int:
    if i + 4 > len(data):
        raise _truncated(name)
    length = struct.unpack(">H", data[i + 2 : i + 4])[0]
    if length < 2:
        raise ImageError(f"{name}: a corrupt JPEG (segment length {length} at byte {i})")
    if i + 2 + length > len(data):
        raise _truncated(name)
    return i + 2 + length


def _frame(body: bytes, marker: int, name: str) -> _Frame:
    if len(body) < 6:
        raise ImageError(f"{name}: a corrupt JPEG (short frame header)")
    precision, height, width, count = struct.unpack(">BHHB", body[:6])
    if count == 0 or len(body) < 6 + 3 * count:
        raise ImageError(f"{name}: a corrupt JPEG (frame header with {count} components)")
    sampling = {}
    for k in range(count):
        cid, factors = body[6 + 3 * k], body[7 + 3 * k]
        h, v = factors >> 4, factors & 15
        if not (1 <= h <= 4 and 1 <= v <= 4):
            raise ImageError(f"{name}: a corrupt JPEG (sampling factors {h}x{v})")
        sampling[cid] = (h, v)
    return _Frame(width, height, precision, marker in PROGRESSIVE, sampling)


def _skip_scan(data: bytes, i: int, name: str) -> tuple[int, int]:
    """Past a scan's entropy-coded data: (offset of the next marker, restart markers seen)."""
    restarts = 0
    while True:
        k = data.find(b"\xff", i)
        if k < 0 or k + 1 >= len(data):
            raise _truncated(name)
        nxt = data[k + 1]
        if nxt == 0x00:
            i = k + 2
        elif 0xD0 <= nxt <= 0xD7:
            restarts += 1
            i = k + 2
        elif nxt == 0xFF:
            i = k + 1
        else:
            return k, restarts


def _restarts_needed(frame: _Frame, sos: bytes, interval: int) -> int:
    """Restart markers a complete scan holds: one between every `interval` MCUs."""
    if interval == 0 or not sos or frame.width == 0 or frame.height == 0:
        return 0
    ids = [sos[1 + 2 * k] for k in range(sos[0]) if 2 + 2 * k < len(sos)]
    sampling = frame.sampling or {}
    hmax = max(h for h, _ in sampling.values())
    vmax = max(v for _, v in sampling.values())
    if len(ids) == 1:  # non-interleaved: one block per MCU, the component's own size
        h, v = sampling.get(ids[0], (hmax, vmax))
        mcus = math.ceil(math.ceil(frame.width * h / hmax) / 8) * math.ceil(math.ceil(frame.height * v / vmax) / 8)
    else:
        mcus = math.ceil(frame.width / (8 * hmax)) * math.ceil(frame.height / (8 * vmax))
    return max(0, math.ceil(mcus / interval) - 1)
