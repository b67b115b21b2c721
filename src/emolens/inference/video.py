"""Frames in, results out: video files and cameras, streamed one frame at a time.

`run_video` reads a source, runs a StreamAnalyzer on each frame and hands the
result to sinks (annotated video, timeline CSV, live window); only counters for
the summary are kept, never the frames (a bounded number wait between the stages).
"""

from __future__ import annotations

import csv
import logging
import math
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np

from emolens.inference.containers import SNIFF_BYTES, VideoFormatError, sniff_video
from emolens.inference.draw import annotate
from emolens.inference.pipeline import Prefetch
from emolens.inference.stream import FrameResult, Located, StreamAnalyzer
from emolens.inference.summary import SummaryBuilder, VideoSummary

log = logging.getLogger(__name__)


class VideoError(RuntimeError):
    """A video or camera that cannot be opened or written."""


class VideoTooLarge(VideoError):
    """Frames over the pixel limit given to VideoSource."""


class UnsupportedVideo(VideoError):
    """A local file that is a playlist, text or a still image: FFmpeg would open what it lists."""


def refuse_playlists(path: Path) -> None:
    """UnsupportedVideo for a local file that is a playlist, text or a still (unknown binary formats pass)."""
    with open(path, "rb") as fh:
        head = fh.read(SNIFF_BYTES)
    try:
        sniff_video(head, str(path))
    except VideoFormatError as exc:
        if exc.unsupported:
            raise UnsupportedVideo(str(exc)) from None


def frame_limit(fps: float, max_seconds: float) -> int:
    """Frames analysed of a video cut at max_seconds: those that start before it, at least one.

    Below 1 fps (slide shows, broken headers such as 0.001 fps) the budget is max_seconds
    frames instead, so a three-frame video is read whole, as the CLI does.
    """
    return max(1, math.ceil(max_seconds * max(fps, 1.0)))


@dataclass(frozen=True)
class VideoInfo:
    source: str
    fps: float  # frames per second (a guess of 30 for cameras that do not say)
    frame_count: int  # 0 when unknown (cameras, some streams)
    width: int
    height: int
    camera: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "fps": round(self.fps, 3),
            "frame_count": self.frame_count,
            "width": self.width,
            "height": self.height,
            "camera": self.camera,
        }


def parse_source(source: str | int) -> str | int:
    """'0' or 0 -> camera index 0; anything else is a file path or stream URL."""
    if isinstance(source, int) or (isinstance(source, str) and source.isdigit()):
        return int(source)
    return source


class VideoSource:
    """An opened video file or camera; iterate for (index, time_s, BGR frame).

    Uploads pass api=cv2.CAP_FFMPEG (no other backend guesses at the file) and max_pixels,
    checked on the header's frame size and again on every frame read.
    """

    def __init__(
        self,
        source: str | int,
        *,
        api: int | None = None,
        max_pixels: int | None = None,
        limit_name: str = "max_pixels",
    ):
        source = parse_source(source)
        self.max_pixels, self.limit_name = max_pixels, limit_name
        self.camera = isinstance(source, int)
        if not isinstance(source, int) and not Path(source).exists() and "://" not in source:
            raise VideoError(f"{source}: no such video file (for a camera give its index, e.g. 0)")
        if not isinstance(source, int) and Path(source).is_file():
            refuse_playlists(Path(source))
        self.cap = cv2.VideoCapture(source) if api is None else cv2.VideoCapture(source, api)
        if not self.cap.isOpened():
            self.cap.release()
            what = f"camera {source}" if self.camera else str(source)
            hint = (
                "is it connected and not used by another program?"
                if self.camera
                else "not a video OpenCV can read (try converting it to mp4/H.264)"
            )
            raise VideoError(f"{what} could not be opened: {hint}")
        fps = self.cap.get(cv2.CAP_PROP_FPS)
        self.info = VideoInfo(
            str(source),
            fps if 0 < fps < 1000 else 30.0,
            max(0, int(self.cap.get(cv2.CAP_PROP_FRAME_COUNT))) if not self.camera else 0,
            int(self.cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
            int(self.cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
            self.camera,
        )
        self._check_size(self.info.width, self.info.height, "its frames are")

    def _check_size(self, width: int, height: int, what: str) -> None:
        if self.max_pixels is not None and width * height > self.max_pixels:
            self.cap.release()
            raise VideoTooLarge(
                f"{self.info.source}: {what} {width}x{height}, over the limit of "
                f"{self.max_pixels / 1e6:.1f} MP per frame ({self.limit_name}): "
                "send a smaller video, e.g. 1920x1080"
            )

    def __iter__(self) -> Iterator[tuple[int, float, np.ndarray]]:
        start, index = time.monotonic(), 0
        while True:
            ok, frame = self.cap.read()
            if not ok or frame is None:
                if index == 0:
                    raise VideoError(f"{self.info.source}: no frame could be read (empty or unsupported video)")
                return
            if self.max_pixels is not None and frame.shape[0] * frame.shape[1] > self.max_pixels:
                self._check_size(frame.shape[1], frame.shape[0], f"frame {index} is")
            # Cameras: wall-clock time; files: frame index over fps (steady even if we fall behind).
            t = time.monotonic() - start if self.camera else index / self.info.fps
            yield index, t, frame
            index += 1

    def close(self) -> None:
        self.cap.release()

    def __enter__(self) -> VideoSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Sink(Protocol):
    def write(self, frame: np.ndarray, result: FrameResult) -> bool:
        """Consume one frame; return False to stop the run (a closed window)."""

    def close(self) -> None: ...


class AnnotatedVideo:
    """Writes annotated frames to an .mp4 (mp4v) or .avi (MJPG) file."""

    def __init__(self, path: str | Path, fps: float, size: tuple[int, int]):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fourcc = "MJPG" if self.path.suffix.lower() == ".avi" else "mp4v"
        self.writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter.fourcc(*fourcc), fps, size)
        if not self.writer.isOpened():
            raise VideoError(f"cannot write {self.path}: use a .mp4 or .avi name in a writable folder")

    def write(self, frame: np.ndarray, result: FrameResult) -> bool:
        self.writer.write(annotate(frame, result.faces))
        return True

    def close(self) -> None:
        self.writer.release()


class TimelineCsv:
    """One row per (frame, face id): time, box, smoothed probabilities, label."""

    def __init__(self, path: str | Path, labels: Sequence[str]):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.labels = tuple(labels)
        self.fh = open(self.path, "w", newline="")
        self.csv = csv.writer(self.fh)
        self.csv.writerow(
            [
                "frame",
                "time",
                "face_id",
                "x",
                "y",
                "w",
                "h",
                "detected",
                "emotion",
                "confidence",
                "uncertain",
                *self.labels,
            ]
        )

    def write(self, frame: np.ndarray, result: FrameResult) -> bool:
        for f in result.faces:
            self.csv.writerow(
                [
                    result.index,
                    f"{result.time:.3f}",
                    f.track_id,
                    *f.box,
                    int(result.detected),
                    f.emotion,
                    f"{f.confidence:.4f}",
                    int(f.uncertain),
                    *(f"{f.probabilities[k]:.4f}" for k in self.labels),
                ]
            )
        return True

    def close(self) -> None:
        self.fh.close()


DECODE_AHEAD = 8  # decoded frames waiting for the detector
WINDOW_MAX = 8  # frames classified together at most (a detection round with --every N: N frames)


def run_video(
    source: Iterable[tuple[int, float, np.ndarray]] | VideoSource,
    stream: StreamAnalyzer,
    sinks: Sequence[Sink] = (),
    *,
    max_frames: int | None = None,
    on_progress: Callable[[FrameResult], None] | None = None,
) -> VideoSummary:
    """Analyse every frame of an opened source; sinks are closed at the end, even on errors.

    Three stages overlap (inference/pipeline.py): a thread decodes at most DECODE_AHEAD frames
    ahead, a second one finds the faces (detector or tracks) and hands on windows of frames, and
    this thread classifies each window's faces in one call, then feeds the results to the sinks.
    """
    summary = SummaryBuilder(stream.analyzer.labels)
    decoded: Prefetch[tuple[int, float, np.ndarray]] = Prefetch(_limited(source, max_frames), DECODE_AHEAD, "decode")
    located: Prefetch[Window] = Prefetch(_windows(stream, decoded), 2, "locate")
    try:
        for frames, where in located:
            for result, (_, _, frame) in zip(stream.finish(frames, where), frames):
                summary.add(result)
                if on_progress:
                    on_progress(result)
                if not all([sink.write(frame, result) for sink in sinks]):  # noqa: C419 - every sink gets it
                    return summary.build(None if _camera(source) else _fps(source))
    finally:
        located.close()
        decoded.close()
        for sink in sinks:
            sink.close()
    return summary.build(None if _camera(source) else _fps(source))


Window = tuple[list[tuple[int, float, np.ndarray]], list[Located]]


def _limited(source: Iterable[tuple[int, float, np.ndarray]], max_frames: int | None) -> Iterator:
    for item in source:
        if max_frames is not None and item[0] >= max_frames:
            return
        yield item


def _windows(stream: StreamAnalyzer, frames: Iterable[tuple[int, float, np.ndarray]]) -> Iterator[Window]:
    """Frames located in order, grouped from one detection round to the next (at most WINDOW_MAX)."""
    window: list[tuple[int, float, np.ndarray]] = []
    where: list[Located] = []
    for index, t, frame in frames:
        loc = stream.locate(frame, index)
        if window and (loc.detected or len(window) >= WINDOW_MAX):
            yield window, where
            window, where = [], []
        window.append((index, t, frame))
        where.append(loc)
    if window:
        yield window, where


def _camera(source: object) -> bool:
    return bool(getattr(source, "camera", False))


def _fps(source: object) -> float | None:
    info = getattr(source, "info", None)
    return info.fps if info is not None else None
