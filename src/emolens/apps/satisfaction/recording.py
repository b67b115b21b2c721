"""What a service session keeps of its frames: per-frame numbers, never images.

A `SessionRecorder` is fed the tracked, smoothed faces of each frame (from a
video file or the live camera) and keeps, per face, the track id, the box as
fractions of the frame, the smoothed probabilities and whether the face was
usable (not tiny, not dark). `Recording` is the frozen result the customer
rule and the score work on.

    recorder = SessionRecorder(labels)
    run_video(source, stream, [recorder])      # a recorder is a video sink
    recording = recorder.recording()
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from emolens.core.results import Face


@dataclass(frozen=True, slots=True)
class FaceSample:
    """One face in one frame. box is (x, y, w, h) as fractions of the frame's width and height."""

    frame: int  # index into Recording.times
    track: int
    box: tuple[float, float, float, float]
    probs: tuple[float, ...]  # smoothed probabilities, Recording.labels order
    usable: bool  # False when the face was flagged tiny or dark (blur alone is tolerated)

    @property
    def centre(self) -> tuple[float, float]:
        x, y, w, h = self.box
        return x + w / 2, y + h / 2

    @property
    def area(self) -> float:
        return self.box[2] * self.box[3]


@dataclass(frozen=True)
class Recording:
    """A session's frames: their times (s from the start) and the faces seen in each."""

    labels: tuple[str, ...]
    times: tuple[float, ...]
    faces: tuple[FaceSample, ...]

    @property
    def duration(self) -> float:
        return float(frame_durations(self.times).sum())

    def track_ids(self) -> list[int]:
        return sorted({f.track for f in self.faces})

    def to_dict(self) -> dict[str, Any]:
        return {
            "labels": list(self.labels),
            "frames": len(self.times),
            "duration": round(self.duration, 3),
            "tracks": self.track_ids(),
        }


MAX_GAP_S = 1.0  # a frame never stands for more than this (a stalled live connection is not face time)


def frame_durations(times: Sequence[float] | np.ndarray, max_gap: float = MAX_GAP_S) -> np.ndarray:
    """Seconds each frame stands for: the gap to the next frame, capped at max_gap; the
    last frame gets the median gap (a single frame stands for 0 s: no rate to judge by)."""
    t = np.asarray(times, dtype=float)
    if len(t) < 2:
        return np.zeros(len(t))
    gaps = np.clip(np.diff(t), 0.0, max_gap)
    return np.append(gaps, float(np.median(gaps)))


class _FrameLike(Protocol):
    time: float
    faces: Sequence[Face]


class SessionRecorder:
    """Collects FaceSamples frame by frame; also usable as a video sink (`write` / `close`)."""

    def __init__(self, labels: Sequence[str]):
        self.labels = tuple(labels)
        self.times: list[float] = []
        self.faces: list[FaceSample] = []

    def add(self, time: float, faces: Sequence[Face], width: int, height: int) -> None:
        """One frame: its time (s from the session's start), its tracked faces and its size in pixels."""
        if self.times and time < self.times[-1]:
            raise ValueError(f"frame times must not go back ({time} after {self.times[-1]})")
        index = len(self.times)
        self.times.append(float(time))
        for n, face in enumerate(faces):
            x, y, w, h = face.box
            self.faces.append(
                FaceSample(
                    frame=index,
                    track=face.track_id if face.track_id is not None else -(n + 1),
                    box=(x / width, y / height, w / width, h / height),
                    probs=tuple(float(face.probabilities[k]) for k in self.labels),
                    usable=not (face.quality.tiny or face.quality.dark),
                )
            )

    def write(self, frame: np.ndarray, result: _FrameLike) -> bool:
        """Video sink protocol (emolens.inference.video.run_video): frame is only used for its size."""
        height, width = frame.shape[:2]
        self.add(result.time, result.faces, width, height)
        return True

    def close(self) -> None:
        pass

    @property
    def frames(self) -> int:
        return len(self.times)

    def recording(self) -> Recording:
        return Recording(labels=self.labels, times=tuple(self.times), faces=tuple(self.faces))
