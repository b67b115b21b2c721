"""Generated bad (and a few good) video uploads, each with the answer POST /api/v1/analyze/video must give.

202: accepted, and `frames` is how many frames the finished job analysed (the CLI reads
the same). Zero frames, broken codecs, truncated files, playlists, text and stills are
refused before a job is queued.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from helpers import astronaut_bgr


@dataclass(frozen=True)
class VideoCase:
    name: str
    data: bytes
    status: int  # 202, 400, 413 or 415
    frames: int | None = None  # frames analysed when accepted (None: whatever `emolens video` reads)
    content_type: str = "video/mp4"


def write_video(
    path: Path, *, frames: int, fps: float = 10.0, size: tuple[int, int] = (160, 120), fourcc: str = "MJPG"
) -> bytes:
    face = cv2.resize(astronaut_bgr(), (size[1], size[1]))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, size)
    assert writer.isOpened(), path
    for i in range(frames):
        frame = np.full((size[1], size[0], 3), 40 + 10 * i, np.uint8)
        frame[:, : size[1]] = face
        writer.write(frame)
    writer.release()
    return path.read_bytes()


def slow_avi(path: Path, fps_scale: int = 1000, frames: int = 3) -> bytes:
    """An MJPG AVI at 1/fps_scale frames per second (0.001 fps): OpenCV's writer refuses under 1 fps, so
    the stream header's rate and scale are patched."""
    data = bytearray(write_video(path, frames=frames, fps=1))
    strh = data.find(b"strh")
    struct.pack_into("<II", data, strh + 8 + 20, fps_scale, 1)  # dwScale, dwRate: fps = rate / scale
    struct.pack_into("<I", data, data.find(b"avih") + 8, fps_scale * 1_000_000)  # microseconds per frame
    return bytes(data)


def video_cases(folder: Path) -> list[VideoCase]:
    folder.mkdir(parents=True, exist_ok=True)
    good_avi = write_video(folder / "ok.avi", frames=6)
    good_mp4 = write_video(folder / "ok.mp4", frames=12, fourcc="mp4v")
    empty_avi = write_video(folder / "zero.avi", frames=0)
    return [
        VideoCase("ok.avi", good_avi, 202, frames=6, content_type="video/x-msvideo"),
        VideoCase("ok.mp4", good_mp4, 202, frames=12),
        VideoCase("slow-0.001fps.avi", slow_avi(folder / "slow.avi"), 202, frames=3),
        VideoCase("named.mov", good_mp4, 202, frames=12, content_type="application/octet-stream"),
        VideoCase("zero-frames.avi", empty_avi, 400),
        VideoCase("zero-frames.mp4", write_video(folder / "zero.mp4", frames=0, fourcc="mp4v"), 400),
        VideoCase("wrong-codec.avi", good_avi.replace(b"MJPG", b"XQZW"), 400),
        VideoCase("mjpeg-said-h264.avi", good_avi.replace(b"MJPG", b"H264"), 400),  # opens, no frame decodes
        VideoCase("mjpeg-said-vp9.avi", good_avi.replace(b"MJPG", b"VP90"), 400),
        VideoCase("truncated.mp4", good_mp4[: len(good_mp4) // 2], 400),
        VideoCase("truncated.avi", good_avi[: len(good_avi) // 3], 202),  # the frames that are there (as the CLI)
        VideoCase("header-only.mp4", good_mp4[:40], 400),
        VideoCase("huge-frames.avi", write_video(folder / "huge.avi", frames=2, size=(5000, 4000)), 413),
        VideoCase("playlist.m3u8", b"#EXTM3U\n#EXTINF:1,\nok.mp4\n", 415, content_type="application/vnd.apple.mpegurl"),
        VideoCase("hls.mp4", b"#EXTM3U\n#EXT-X-VERSION:3\n#EXTINF:1,\nfile:///etc/passwd\n", 415),
        VideoCase("concat.mp4", b"ffconcat version 1.0\nfile '/etc/passwd'\n", 415),
        VideoCase(
            "stream.sdp.mp4", b"v=0\no=- 0 0 IN IP4 127.0.0.1\ns=x\nc=IN IP4 10.0.0.1\nm=video 5004 RTP/AVP 96\n", 415
        ),
        VideoCase("list.pls.mp4", b"[playlist]\nFile1=http://10.0.0.1/x.mp4\n", 415),
        VideoCase("urls.mp4", b"http://10.0.0.1/internal.mp4\n", 415),
        VideoCase("notes.mp4", b"these are my notes, not a video\n" * 20, 415),
        VideoCase("photo.mp4", cv2.imencode(".jpg", astronaut_bgr())[1].tobytes(), 415),
        VideoCase("heic.mp4", b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(64), 415),
        VideoCase("noise.mp4", np.random.default_rng(3).integers(0, 256, 50_000, dtype=np.uint8).tobytes(), 400),
        VideoCase("empty.mp4", b"", 400),
    ]
