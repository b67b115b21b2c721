"""Video jobs: an uploaded file -> tracked, smoothed faces per frame -> summary, timeline, CSV.

Uploads go through one intake (`open_upload`): the container is sniffed from the bytes
(playlists, text and stills are refused before FFmpeg sees them), the file is opened
with FFmpeg only, and frames over max_video_pixels are refused. Frames are never kept:
the timeline is binned on the fly and the per-face rows go to the job's CSV (the
engine's TimelineCsv format, same as `emolens video`).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from emolens.core.labels import VALENCE
from emolens.inference.containers import CONTAINERS, SNIFF_BYTES, VideoFormatError, sniff_video
from emolens.inference.stream import FrameResult, StreamAnalyzer, StreamOptions
from emolens.inference.video import (
    TimelineCsv,
    VideoError,
    VideoInfo,
    VideoSource,
    VideoTooLarge,
    frame_limit,
    run_video,
)
from emolens.web.services.engine import Engine
from emolens.web.services.jobs import Job
from emolens.web.services.media import InvalidMedia, MediaError, MediaTooLarge, UnsupportedMedia

log = logging.getLogger(__name__)

MAX_POINTS = 300  # timeline bins sent to the browser


def _sniff(path: Path, name: str) -> str:
    with open(path, "rb") as fh:
        head = fh.read(SNIFF_BYTES)
    try:
        return sniff_video(head, name)
    except VideoFormatError as exc:
        raise (UnsupportedMedia if exc.unsupported else InvalidMedia)(str(exc)) from None


def video_error(exc: VideoError, path: Path, name: str) -> MediaError:
    message = str(exc).replace(str(path), name)
    return MediaTooLarge(message) if isinstance(exc, VideoTooLarge) else InvalidMedia(message)


def open_upload(path: Path, name: str, *, max_pixels: int) -> VideoSource:
    """An uploaded video opened with FFmpeg alone, after its container was sniffed (MediaError if refused)."""
    _sniff(path, name)
    try:
        return VideoSource(str(path), api=cv2.CAP_FFMPEG, max_pixels=max_pixels, limit_name="EMOLENS_MAX_VIDEO_PIXELS")
    except VideoError as exc:
        raise video_error(exc, path, name) from None  # the message starts with the name


def probe_video(path: Path, name: str, *, max_pixels: int) -> tuple[VideoInfo, Path]:
    """Refuse before a job is queued what cannot be analysed: the container, the frame size, no first frame.

    Returns the video's info and its path, renamed to the sniffed container's suffix.
    """
    target = path.with_suffix(CONTAINERS[_sniff(path, name)])
    path.rename(target)
    source = open_upload(target, name, max_pixels=max_pixels)
    try:
        next(iter(source))
    except VideoError as exc:
        raise video_error(exc, target, name) from None
    finally:
        source.close()
    return source.info, target


class TimelineBins:
    """A sink that averages face probabilities over fixed time bins (memory: one row per bin)."""

    def __init__(self, labels: Sequence[str], step: float):
        self.labels = tuple(labels)
        self.step = step
        self.valence = np.array([VALENCE.get(k, 0.0) for k in self.labels])
        self.bins: dict[int, np.ndarray] = {}  # bin -> [prob sums (K), face-frames, frames]

    def write(self, frame: np.ndarray, result: FrameResult) -> bool:
        k = len(self.labels)
        row = self.bins.setdefault(int(result.time // self.step), np.zeros(k + 2))
        for face in result.faces:
            row[:k] += [face.probabilities[name] for name in self.labels]
            row[k] += 1
        row[k + 1] += 1
        return True

    def close(self) -> None:
        pass

    def build(self) -> dict[str, Any]:
        """{"step", "t", "faces", "valence", "probabilities": {label: [...]}}; None where no face was seen."""
        k = len(self.labels)
        keys = sorted(self.bins)
        rows = [self.bins[b] for b in keys]
        means = [r[:k] / r[k] if r[k] else None for r in rows]
        return {
            "step": self.step,
            "t": [round(b * self.step, 3) for b in keys],
            "faces": [round(r[k] / r[k + 1], 3) for r in rows],
            "valence": [None if m is None else round(float(m @ self.valence), 4) for m in means],
            "probabilities": {
                name: [None if m is None else round(float(m[i]), 4) for m in means]
                for i, name in enumerate(self.labels)
            },
        }


def timeline_step(info: VideoInfo, max_seconds: float) -> float:
    """Bin width so that a video gives at most MAX_POINTS points (0.5 s when the length is unknown)."""
    if not info.frame_count:
        return 0.5
    duration = min(info.frame_count, frame_limit(info.fps, max_seconds)) / info.fps
    return max(1.0 / info.fps, math.ceil(duration / MAX_POINTS * 10) / 10)


def run_video_job(
    engine: Engine, job: Job, source: VideoSource, sinks: Sequence, *, every: int, alpha: float, max_seconds: float
):
    """Stream an opened video through the engine for `job`: fills job.video, frame_count and progress."""
    info = source.info
    max_frames = frame_limit(info.fps, max_seconds)
    job.video = {**info.to_dict(), "source": job.filename}
    job.frame_count = min(info.frame_count, max_frames) if info.frame_count else 0

    def progress(result: FrameResult) -> None:
        job.frames_done = result.index + 1
        job.check_cancelled()

    stream = StreamAnalyzer(engine.analyzer, StreamOptions(every=every, alpha=alpha))
    return run_video(source, stream, sinks, max_frames=max_frames, on_progress=progress)


def analyze_video_job(
    engine: Engine, job: Job, video: Path, *, every: int, alpha: float, max_seconds: float, max_pixels: int
) -> None:
    """The job body: fills job.video, progress, summary, timeline and the CSV; always deletes the video."""
    try:
        with open_upload(video, job.filename, max_pixels=max_pixels) as source:
            bins = TimelineBins(engine.labels, timeline_step(source.info, max_seconds))
            summary = run_video_job(
                engine,
                job,
                source,
                [bins, TimelineCsv(job.csv_path, engine.labels)],
                every=every,
                alpha=alpha,
                max_seconds=max_seconds,
            )
    except VideoError as exc:
        raise video_error(exc, video, job.filename) from None
    finally:
        video.unlink(missing_ok=True)
    job.frame_count = job.frames_done
    job.summary = summary.to_dict()
    job.timeline = bins.build()
    log.info("job %s: %d frames, %d faces", job.id, job.frames_done, len(summary.faces))
