"""Per-frame analysis for videos and cameras: detect every N frames, track, smooth."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from time import perf_counter
from typing import Any

import numpy as np

from emolens.core.results import Face
from emolens.inference.analyzer import Analyzer, make_face
from emolens.inference.detectors.base import Detection, clip_detection
from emolens.inference.eta import StreamCosts
from emolens.inference.tracking import Track, Tracker


@dataclass(frozen=True)
class StreamOptions:
    """every: run the detector on every Nth frame (tracks move in between);
    alpha: EMA weight of the newest probabilities (1 = no smoothing);
    max_missed: detection rounds a face may be lost before its id is retired;
    reentry: frames a retired id waits for its face to come back (near where it left)."""

    every: int = 1
    alpha: float = 0.4
    iou_threshold: float = 0.3
    max_missed: int = 2
    reentry: int = 75  # 3 s at 25 fps

    def __post_init__(self) -> None:
        if self.every < 1:
            raise ValueError(f"--every must be at least 1, got {self.every}")
        if not 0.0 < self.alpha <= 1.0:
            raise ValueError(f"smoothing alpha must be in (0, 1], got {self.alpha}")
        if self.reentry < 0:
            raise ValueError(f"the re-entry window must be 0 or more frames, got {self.reentry}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "every": self.every,
            "alpha": self.alpha,
            "iou_threshold": self.iou_threshold,
            "max_missed": self.max_missed,
            "reentry": self.reentry,
        }


@dataclass(frozen=True)
class Located:
    """A frame's faces before classification: their tracks and boxes, and whether the detector ran."""

    detected: bool
    tracks: tuple[Track, ...]
    detections: tuple[Detection, ...]


@dataclass(frozen=True)
class FrameResult:
    """Faces of one frame; probabilities are the smoothed ones, track_id is set."""

    index: int
    time: float  # seconds from the start
    faces: tuple[Face, ...]
    detected: bool  # whether the detector ran on this frame

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "time": round(self.time, 3),
            "detected": self.detected,
            "faces": [f.to_dict() for f in self.faces],
        }


class StreamAnalyzer:
    """Feed frames in order with `process`; keeps the tracker between calls.

    `costs` counts detector calls and classified faces and the seconds each took (for ETAs).
    """

    def __init__(self, analyzer: Analyzer, options: StreamOptions = StreamOptions()):
        self.analyzer = analyzer
        self.options = options
        self.tracker = Tracker(
            iou_threshold=options.iou_threshold,
            max_missed=options.max_missed,
            alpha=options.alpha,
            reentry=options.reentry,
        )
        self._seen = 0
        self.costs = StreamCosts()

    def process(self, frame: np.ndarray, index: int, time: float) -> FrameResult:
        """One BGR frame -> tracked, smoothed faces."""
        return self.finish([(index, time, frame)], [self.locate(frame, index)])[0]

    def process_many(self, frames: Sequence[tuple[int, float, np.ndarray]]) -> list[FrameResult]:
        """(index, time, frame) in order -> their results; all their faces go through the classifier at once."""
        return self.finish(frames, [self.locate(frame, index) for index, _, frame in frames])

    def locate(self, frame: np.ndarray, index: int) -> Located:
        """Where the faces of the next frame are: detected (every Nth frame) or moved along their tracks.

        Frames must be located in order; `finish` may come later, for several frames at once.
        """
        detect = self._seen % self.options.every == 0
        self._seen += 1
        self.costs.frames += 1
        if detect:
            t0 = perf_counter()
            dets = self.analyzer.detector.detect(frame)
            self.costs.detect_s += perf_counter() - t0
            self.costs.detect_calls += 1
            return Located(detect, tuple(self.tracker.update(dets, index)), tuple(dets))
        h, w = frame.shape[:2]
        tracks, moved = [], []
        for t in self.tracker.active():
            d = clip_detection(t.at(index), w, h)
            if min(d.box[2], d.box[3]) >= 2:  # still (partly) inside the frame
                tracks.append(t)
                moved.append(d)
        return Located(detect, tuple(tracks), tuple(moved))

    def finish(self, frames: Sequence[tuple[int, float, np.ndarray]], located: Sequence[Located]) -> list[FrameResult]:
        """Classify the located faces of these frames in one call, then smooth each track in frame order."""
        t0 = perf_counter()
        crops, probs = self.analyzer.crops_and_probs([f for _, _, f in frames], [loc.detections for loc in located])
        if crops:
            self.costs.classify_s += perf_counter() - t0
            self.costs.faces += len(crops)
        labels, below = self.analyzer.labels, self.analyzer.card.uncertain_below
        out, k = [], 0
        for (index, time, _), loc in zip(frames, located):
            faces = tuple(
                make_face(d, self.tracker.smooth(t, probs[k + j]), crops[k + j], labels, below, t.id)
                for j, (d, t) in enumerate(zip(loc.detections, loc.tracks))
            )
            k += len(loc.detections)
            out.append(FrameResult(index, time, faces, loc.detected))
        return out
