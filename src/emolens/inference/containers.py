"""What an uploaded video file is, from its first bytes: only real video containers reach FFmpeg.

FFmpeg guesses formats from content, and some of its formats open other files or
URLs: an HLS playlist (#EXTM3U), a concat list, an SDP description. An upload that
is text, a playlist, a still image or anything unknown is refused before FFmpeg
sees it. Pure Python, no OpenCV.
"""

from __future__ import annotations

CONTAINERS = {
    "mp4": ".mp4",
    "matroska": ".mkv",
    "avi": ".avi",
    "mpeg-ps": ".mpg",
    "mpeg-ts": ".ts",
    "ogg": ".ogv",
    "asf": ".wmv",
    "mpeg-es": ".m1v",
}
SNIFF_BYTES = 4096
ASF = b"\x30\x26\xb2\x75\x8e\x66\xcf\x11\xa6\xd9\x00\xaa\x00\x62\xce\x6c"
MP4_BOXES = (b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot")
STILL_BRANDS = (b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis")
PLAYLISTS = (
    b"#extm3u",
    b"#ext-x-",
    b"ffconcat",
    b"[playlist]",
    b"v=0",
    b"<?xml",
    b"<smil",
    b"<mpd",
    b"<asx",
    b"file ",
    b"file:",
    b"http:",
    b"https:",
    b"rtsp:",
    b"rtmp:",
    b"concat:",
    b"subfile,",
)
NAMES = "MP4/MOV, Matroska/WebM, AVI, MPEG, Ogg or WMV"


class VideoFormatError(ValueError):
    """Not a video container we accept; `unsupported` tells a refused kind (415) from unknown bytes (400)."""

    def __init__(self, message: str, *, unsupported: bool):
        super().__init__(message)
        self.unsupported = unsupported


def sniff_video(head: bytes, name: str) -> str:
    """The container (a key of CONTAINERS) of a file starting with `head`, else VideoFormatError."""
    if head[4:8] in MP4_BOXES:
        if head[4:8] == b"ftyp" and head[8:12] in STILL_BRANDS:
            raise VideoFormatError(
                f"{name}: a still image (HEIC/AVIF), not a video: photos go to /api/v1/analyze", unsupported=True
            )
        return "mp4"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "matroska"
    if head[:4] == b"RIFF" and head[8:12] in (b"AVI ", b"AVIX"):
        return "avi"
    if head[:4] == b"\x00\x00\x01\xba":
        return "mpeg-ps"
    if head[:4] == b"\x00\x00\x01\xb3":
        return "mpeg-es"
    if _transport_stream(head):
        return "mpeg-ts"
    if head[:4] == b"OggS":
        return "ogg"
    if head[:16] == ASF:
        return "asf"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith(PLAYLISTS):
        raise VideoFormatError(
            f"{name}: a playlist or stream description, not a video file: send the video itself "
            f"({NAMES}); lists of files and URLs are refused",
            unsupported=True,
        )
    if (
        head[:3] == b"\xff\xd8\xff"
        or head[:8] == b"\x89PNG\r\n\x1a\n"
        or head[:4] == b"GIF8"
        or (head[:4] == b"RIFF" and head[8:12] == b"WEBP")
    ):
        raise VideoFormatError(f"{name}: a still image, not a video: photos go to /api/v1/analyze", unsupported=True)
    if head and _is_text(head):
        raise VideoFormatError(f"{name}: a text file, not a video: send {NAMES}", unsupported=True)
    raise VideoFormatError(f"{name}: not a video file we can read (send {NAMES})", unsupported=False)


def _transport_stream(head: bytes) -> bool:
    """MPEG-TS: a sync byte every 188 bytes (192 for M2TS with its 4-byte time codes)."""
    for start, step in ((0, 188), (4, 192)):
        if len(head) >= start + 2 * step + 1 and all(head[start + k * step] == 0x47 for k in range(3)):
            return True
    return False


def _is_text(head: bytes) -> bool:
    sample = head[:512]
    return all(b in b"\t\n\r" or 32 <= b < 127 or b >= 0x80 for b in sample) and b"\x00" not in sample
