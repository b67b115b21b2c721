"""A generated corpus of hostile image files, each with the status the API must answer.

Bombs (tiny files whose headers ask for gigabytes), truncated and corrupt files,
formats we refuse, files that must still work, and seeded bit flips. Nothing is
decoded here: bombs are only headers plus a few bytes. `image_cases()` -> list[Case].
"""

from __future__ import annotations

import random
import struct
import zlib
from dataclasses import dataclass

import cv2
import numpy as np

from helpers import astronaut_bgr

OK, BAD, TOO_LARGE, UNSUPPORTED = 200, 400, 413, 415
ANY = (200, 400, 413, 415)  # fuzzed files: any clear answer, never a 500


@dataclass(frozen=True)
class Case:
    name: str  # file name; bombs are named .jpg on purpose: the format comes from the bytes
    data: bytes
    status: int | tuple[int, ...]  # what POST /api/v1/analyze must answer
    kind: str  # bomb, budget, truncated, corrupt, unsupported, valid, fuzz
    content_type: str = "image/jpeg"

    @property
    def statuses(self) -> tuple[int, ...]:
        return self.status if isinstance(self.status, tuple) else (self.status,)


def enc(ext: str, img: np.ndarray, params: list[int] | None = None) -> bytes:
    ok, buf = cv2.imencode(ext, img, params or [])
    assert ok, ext
    return buf.tobytes()


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def png(width: int, height: int, depth: int = 8, colour: int = 2, interlace: int = 0, rows: int = 4) -> bytes:
    """A PNG header for any size, with the first `rows` rows of zeros (a decoder would allocate it all)."""
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[colour]
    row = 1 + (width * channels * depth + 7) // 8
    body = png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, interlace))
    if colour == 3:
        body += png_chunk(b"PLTE", bytes(range(48)))
    idat = zlib.compress(bytes(min(row * rows, 1 << 20)), 9)
    return b"\x89PNG\r\n\x1a\n" + body + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


def jpeg_resized(data: bytes, width: int, height: int) -> bytes:
    """A real JPEG whose frame header claims another size (the scan data stays small)."""
    out = bytearray(data)
    i = 2
    while True:
        marker, length = out[i + 1], struct.unpack(">H", out[i + 2 : i + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2):
            struct.pack_into(">HH", out, i + 5, height, width)
            return bytes(out)
        i += 2 + length


def gif(width: int, height: int, frame: tuple[int, int, int, int] | None = None) -> bytes:
    left, top, w, h = frame or (0, 0, width, height)
    return (
        b"GIF89a"
        + struct.pack("<HHBBB", width, height, 0x80, 0, 0)
        + bytes(6)
        + b"\x2c"
        + struct.pack("<HHHHB", left, top, w, h, 0)
        + b"\x02\x02\x44\x01\x00\x3b"
    )


def bmp(width: int, height: int, bits: int = 8, compression: int = 1, header: int = 40) -> bytes:
    palette = bytes(1024) if bits <= 8 else b""
    if header == 12:
        dib = struct.pack("<IHHHH", 12, width, height, 1, bits)
    else:
        dib = struct.pack("<IiiHHIIiiII", header, width, height, 1, bits, compression, 0, 2835, 2835, 0, 0)
        dib += bytes(header - 40)
    pixels = b"\x00\x01"  # RLE: end of bitmap
    offset = 14 + len(dib) + len(palette)
    return b"BM" + struct.pack("<IHHI", offset + len(pixels), 0, 0, offset) + dib + palette + pixels


def webp(kind: str, width: int, height: int) -> bytes:
    if kind == "VP8L":
        bits = (width - 1) | ((height - 1) << 14) | (1 << 28)
        chunk = b"VP8L" + struct.pack("<I", 10) + b"\x2f" + struct.pack("<I", bits) + bytes(5)
    elif kind == "VP8 ":
        body = b"\x50\x02\x00\x9d\x01\x2a" + struct.pack("<HH", width, height) + bytes(10)
        chunk = b"VP8 " + struct.pack("<I", len(body)) + body
    else:  # VP8X canvas, then a small lossless frame
        chunk = (
            b"VP8X"
            + struct.pack("<I", 10)
            + b"\x10\x00\x00\x00"
            + (width - 1).to_bytes(3, "little")
            + (height - 1).to_bytes(3, "little")
            + webp("VP8L", 16, 16)[12:]
        )
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk


def tiff(width: int, height: int, bits: int = 8, samples: int = 3, big_endian: bool = False) -> bytes:
    o = ">" if big_endian else "<"
    entries = [
        (256, 4, 1, width),
        (257, 4, 1, height),
        (258, 3, 1, bits),
        (259, 3, 1, 8),
        (262, 3, 1, 2),
        (273, 4, 1, 200),
        (277, 3, 1, samples),
        (278, 4, 1, height),
        (279, 4, 1, 8),
    ]
    ifd = struct.pack(o + "H", len(entries))
    for tag, kind, count, value in entries:
        ifd += struct.pack(o + "HHI", tag, kind, count) + (
            struct.pack(o + "HH", value, 0) if kind == 3 else struct.pack(o + "I", value)
        )
    head = (b"MM\x00*" if big_endian else b"II*\x00") + struct.pack(o + "I", 8)
    body = head + ifd + struct.pack(o + "I", 0)
    return body + bytes(200 - len(body)) + zlib.compress(bytes(64))


def j2k(width: int, height: int, components: int = 3) -> bytes:
    siz = struct.pack(">HHIIIIIIIIH", 38 + 3 * components, 0, width, height, 0, 0, width, height, 0, 0, components)
    return b"\xff\x4f\xff\x51" + siz + b"\x07\x01\x01" * components + b"\xff\x52" + bytes(12) + b"\xff\xd9"


def jp2(width: int, height: int, components: int = 3) -> bytes:
    ihdr = struct.pack(">I4sIIHBBBB", 22, b"ihdr", height, width, components, 7, 7, 0, 0)
    jp2h = struct.pack(">I4s", 8 + len(ihdr), b"jp2h") + ihdr
    return (
        b"\x00\x00\x00\x0cjP  \r\n\x87\n"
        + struct.pack(">I4s4sI4s", 20, b"ftyp", b"jp2 ", 0, b"jp2 ")
        + jp2h
        + struct.pack(">I4s", 8 + 60, b"jp2c")
        + j2k(width, height, components)
    )


def bombs() -> list[Case]:
    """Headers that ask for far more pixels than the 40 MP server limit (each a few KB at most)."""
    small = enc(".jpg", astronaut_bgr()[:64, :64])
    prog = enc(".jpg", astronaut_bgr()[:64, :64], [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])
    files = {
        "png-16bit-rgba": png(16384, 16384, 16, 6),
        "png-rgb": png(100_000, 100_000),
        "png-1bit": png(60_000, 60_000, 1, 0),
        "png-palette": png(30_000, 30_000, 8, 3),
        "png-interlaced": png(20_000, 20_000, 8, 6, interlace=1),
        "png-wide": png(65_535, 700),
        "png-too-wide": png(2_000_000, 1),
        "png-41mp": png(6500, 6400, 8, 2),
        "jpeg-baseline": jpeg_resized(small, 65_000, 65_000),
        "jpeg-progressive": jpeg_resized(prog, 30_000, 20_000),
        "jpeg-41mp": jpeg_resized(small, 8000, 5200),
        "gif-screen": gif(65_535, 65_535),
        "gif-frame-offset": gif(16, 16, (60_000, 60_000, 5000, 5000)),
        "gif-10k": gif(10_000, 10_000),
        "bmp-rle8": bmp(60_000, 60_000),
        "bmp-24bit": bmp(20_000, 20_000, 24, 0),
        "bmp-top-down": bmp(30_000, -30_000, 8, 0),
        "bmp-core": bmp(65_535, 65_535, 24, 0, header=12),
        "bmp-v5-32bit": bmp(12_000, 12_000, 32, 3, header=124),
        "webp-lossless": webp("VP8L", 16_384, 16_384),
        "webp-lossy": webp("VP8 ", 16_383, 16_383),
        "webp-canvas": webp("VP8X", 1 << 24, 1 << 24),
        "webp-8k": webp("VP8X", 8000, 8000),
        "tiff-le": tiff(100_000, 100_000),
        "tiff-be": tiff(70_000, 7000, big_endian=True),
        "tiff-16bit": tiff(9000, 9000, 16, 4),
        "pnm-p6": b"P6\n60000 60000\n255\n" + bytes(64),
        "pnm-p5-16bit": b"P5\n# c\n20000 20000\n65535\n" + bytes(64),
        "pnm-p4": b"P4\n100000 100000\n" + bytes(64),
        "pnm-p3": b"P3 9000 9000 255 0 0 0",
        "j2k": j2k(100_000, 100_000),
        "jp2": jp2(50_000, 50_000),
        "jp2-gray": jp2(60_000, 1000, 1),
    }
    cases = [Case(f"bomb-{k}.jpg", v, TOO_LARGE, "bomb") for k, v in files.items()]
    cases += [
        Case(f"bomb-{k}.png", v, TOO_LARGE, "bomb", "application/octet-stream") for k, v in list(files.items())[::3]
    ]  # again under another name and type
    return cases


def budget_bombs() -> list[Case]:
    """Under 40 MP, but their decoders need more than the 512 MB budget (the pixel check alone passes)."""
    return [
        Case("budget-jp2-rgba.jp2", jp2(6000, 5500, 4), TOO_LARGE, "budget"),
        Case("budget-tiff-float.tif", tiff(6000, 5500, 32, 4), TOO_LARGE, "budget"),
        Case("budget-j2k.jpg", j2k(6200, 6200, 4), TOO_LARGE, "budget"),
    ]


def scan_bomb() -> Case:
    """A progressive JPEG with 150 scans: a decoder stress file (minutes of CPU in some decoders)."""
    data = enc(".jpg", astronaut_bgr()[:32, :32], [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])
    sos = data.find(b"\xff\xda")
    eoi = data.rfind(b"\xff\xd9")
    last = data.rfind(b"\xff\xda")
    return Case("scans.jpg", data[:eoi] + data[last:eoi] * 150 + data[eoi:] if sos > 0 else data, TOO_LARGE, "bomb")


def _cuts(data: bytes, count: int) -> list[bytes]:
    out = []
    for frac in np.linspace(0.15, 0.97, count):
        cut = data[: int(len(data) * frac)]
        out.append(cut[:-1] if cut.endswith(b"\xff") else cut)
    return out


def truncated() -> list[Case]:
    img = cv2.resize(astronaut_bgr(), (384, 288))
    baseline, progressive = enc(".jpg", img), enc(".jpg", img, [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])
    restarts = enc(".jpg", img, [cv2.IMWRITE_JPEG_RST_INTERVAL, 3])
    cases = [Case(f"cut-{i}.jpg", d, BAD, "truncated") for i, d in enumerate(_cuts(baseline, 10))]
    for label, data in (("baseline", baseline), ("progressive", progressive), ("restarts", restarts)):
        cases += [
            Case(f"forged-end-{label}-{i}.jpg", d + b"\xff\xd9", BAD, "truncated")
            for i, d in enumerate(_cuts(data, 10))
        ]
    bgra = np.dstack([img, np.full(img.shape[:2], 200, np.uint8)])
    others = {
        "png": enc(".png", img),
        "png-rgba": enc(".png", bgra),
        "gif": enc(".gif", img),
        "webp": enc(".webp", img),
        "bmp": enc(".bmp", img),
        "tiff": enc(".tiff", img),
        "ppm": enc(".ppm", img),
        "jp2": enc(".jp2", img),
    }
    for label, data in others.items():
        cases += [Case(f"cut-{label}-{i}.jpg", d, BAD, "truncated") for i, d in enumerate(_cuts(data, 4))]
    return cases


def corrupt() -> list[Case]:
    rng = np.random.default_rng(7)
    noise = [rng.integers(0, 256, n, dtype=np.uint8).tobytes() for n in (1, 17, 300, 5000, 70_000)]
    small = enc(".jpg", astronaut_bgr()[:64, :64])
    magic = {
        "jpeg": b"\xff\xd8\xff\xe0",
        "png": b"\x89PNG\r\n\x1a\n",
        "gif": b"GIF89a",
        "bmp": b"BM",
        "webp": b"RIFF\x00\x01\x00\x00WEBP",
        "tiff": b"II*\x00",
        "jp2": b"\xff\x4f\xff\x51",
        "pnm": b"P6\n",
    }
    files = {f"noise-{i}": d for i, d in enumerate(noise)}
    files.update({f"magic-{k}": v + noise[3] for k, v in magic.items()})
    files.update(
        {
            "empty": b"",
            "text": b"this is not an image\n",
            "png-zero-size": png(0, 0),
            "jpeg-zero-size": jpeg_resized(small, 0, 0),
            "png-bad-depth": png(10, 10)[:24] + b"\x07" + png(10, 10)[25:],
            "png-no-ihdr": b"\x89PNG\r\n\x1a\n" + bytes(30),
            "png-bad-crc": png(64, 64)[:-20] + b"\x00\x00\x00\x00" + png(64, 64)[-16:],
            "jpeg-no-scan": small[: small.find(b"\xff\xda")] + b"\xff\xd9",
            "jpeg-no-frame": b"\xff\xd8\xff\xda\x00\x02\xff\xd9",
            "jpeg-bad-length": b"\xff\xd8\xff\xe0\x00\x01" + bytes(20),
            "gif-no-image": b"GIF89a" + bytes(7) + b"\x3b",
            "bmp-bad-bits": bmp(10, 10, 7, 0),
            "bmp-bad-header": b"BM" + bytes(12) + struct.pack("<I", 20) + bytes(40),
            "tiff-past-end": b"II*\x00" + struct.pack("<I", 1 << 30),
            "tiff-no-size": b"II*\x00\x08\x00\x00\x00\x00\x00",
            "webp-bad-chunk": b"RIFF\x20\x00\x00\x00WEBPXXXX" + bytes(20),
            "pnm-no-size": b"P6\n# nothing\n",
            "jp2-no-header": b"\x00\x00\x00\x0cjP  \r\n\x87\n" + bytes(40),
            "only-magic-png": b"\x89PNG\r\n\x1a\n",
            "only-magic-jpeg": b"\xff\xd8\xff",
        }
    )
    # random bytes after the JPEG 2000 marker read as a 3414120392-pixel-wide header: a bomb, 413
    return [Case(f"corrupt-{k}.jpg", v, TOO_LARGE if k == "magic-jp2" else BAD, "corrupt") for k, v in files.items()]


def unsupported() -> list[Case]:
    img = astronaut_bgr()[:64, :64]
    files = {
        "svg": b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="99999" height="99999"/>',
        "svg-bare": b"<svg width='1' height='1'></svg>",
        "html": b"<!DOCTYPE html><html></html>",
        "pdf": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n",
        "psd": b"8BPS\x00\x01" + bytes(40),
        "hdr": enc(".hdr", img.astype(np.float32) / 255),
        "pfm": enc(".pfm", img.astype(np.float32) / 255),
        "sunras": enc(".ras", img),
        "pam": enc(".pam", img),
        "avif": enc(".avif", img),
        "heic": b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(40),
        "exr": b"\x76\x2f\x31\x01" + bytes(40),
        "ico": b"\x00\x00\x01\x00\x01\x00" + bytes(40),
        "zip": b"PK\x03\x04" + bytes(40),
        "gzip": b"\x1f\x8b\x08" + bytes(20),
        "bigtiff": b"II+\x00\x08\x00\x00\x00" + bytes(40),
        "mp4": b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00" + bytes(40),
        "mkv": b"\x1a\x45\xdf\xa3" + bytes(40),
        "m3u8": b"#EXTM3U\n#EXTINF:1,\nfile:///etc/passwd\n",
    }
    return [Case(f"unsupported-{k}.jpg", v, UNSUPPORTED, "unsupported") for k, v in files.items()]


def valid() -> list[Case]:
    face = astronaut_bgr()
    gray = cv2.cvtColor(face, cv2.COLOR_BGR2GRAY)
    bgra = np.dstack([face, np.full(face.shape[:2], 255, np.uint8)])
    bgra[:40, :, 3] = 0
    files = {
        "baseline.jpg": enc(".jpg", face),
        "progressive.jpg": enc(".jpg", face, [cv2.IMWRITE_JPEG_PROGRESSIVE, 1]),
        "restarts.jpg": enc(".jpg", face, [cv2.IMWRITE_JPEG_RST_INTERVAL, 2]),
        "gray.jpg": enc(".jpg", gray),
        "optimized.jpg": enc(".jpg", face, [cv2.IMWRITE_JPEG_OPTIMIZE, 1]),
        "motion-photo.jpg": enc(".jpg", face) + b"\x00\x00\x00\x18ftypmp42" + bytes(64),  # data after the end
        "rgb.png": enc(".png", face),
        "16bit.png": enc(".png", face.astype(np.uint16) * 257),
        "rgba.png": enc(".png", bgra),
        "16bit-rgba.png": enc(".png", bgra.astype(np.uint16) * 257),
        "gray.png": enc(".png", gray),
        "gray-alpha.png": _gray_alpha_png(gray),
        "interlaced.png": _pil(face, "PNG", interlace=1),
        "palette.png": _pil(face, "PNG", mode="P"),
        "still.gif": enc(".gif", face),
        "24bit.bmp": enc(".bmp", face),
        "32bit.bmp": enc(".bmp", bgra),
        "lossy.webp": enc(".webp", face, [cv2.IMWRITE_WEBP_QUALITY, 80]),
        "lossless.webp": enc(".webp", face),
        "alpha.webp": enc(".webp", bgra),
        "8bit.tif": enc(".tiff", face),
        "16bit.tif": enc(".tiff", face.astype(np.uint16) * 257),
        "face.ppm": enc(".ppm", face),
        "face.pgm": enc(".pgm", gray),
        "face.pbm": enc(".pbm", gray),
        "face.jp2": enc(".jp2", face),
        "tiny.png": enc(".png", face[:1, :1]),
        "png-named.jpg": enc(".png", face),
        "jpeg-named.png": enc(".jpg", face),
        "exif-rotated.jpg": _pil(face, "JPEG", exif_orientation=6),
        "big-39mp.jpg": enc(".jpg", np.full((5400, 7200, 3), 90, np.uint8)),  # under 40 MP: decoded
    }
    return [Case(f"valid-{k}", v, OK, "valid", "application/octet-stream") for k, v in files.items()]


def _gray_alpha_png(gray: np.ndarray) -> bytes:
    return _pil(np.dstack([gray, np.full(gray.shape, 128, np.uint8)]), "PNG", mode="LA")


def _pil(img: np.ndarray, fmt: str, *, mode: str | None = None, exif_orientation: int | None = None, **kw) -> bytes:
    import io

    from PIL import Image

    if mode == "LA":
        pil = Image.fromarray(img, "LA")
    else:
        pil = Image.fromarray(np.ascontiguousarray(img[:, :, ::-1]))
        pil = pil.convert(mode) if mode else pil
    if exif_orientation:
        exif = Image.Exif()
        exif[0x0112] = exif_orientation
        kw["exif"] = exif
    out = io.BytesIO()
    pil.save(out, fmt, **kw)
    return out.getvalue()


def fuzz(seeds: int = 40) -> list[Case]:
    """Valid files with a few random bytes changed: any clear answer is right, a 500 never is."""
    sources = [c.data for c in valid() if len(c.data) < 2_000_000]
    cases = []
    for seed in range(seeds):
        rnd = random.Random(seed)
        data = bytearray(sources[seed % len(sources)])
        for _ in range(rnd.randint(1, 8)):
            data[rnd.randrange(min(len(data), 400))] = rnd.randrange(256)  # mostly in the headers
        cases.append(Case(f"fuzz-{seed}.jpg", bytes(data), ANY, "fuzz"))
    return cases


def image_cases() -> list[Case]:
    return [*bombs(), *budget_bombs(), scan_bomb(), *truncated(), *corrupt(), *unsupported(), *valid(), *fuzz()]
