"""Per-frame analysis for videos and cameras: detect every N frames, track, smooth."""

from __future__ import annotations

from dataclasses import dataclass
from time import perf_counter
from typing import Any

import numpy as np

from emolens.core.results import Face
from emolens.inference.analyzer import Analyzer, make_face
from emolens.inference.detectors.base import clip_detection
from emolens.inference.eta import StreamCosts
from emolens.inference.tracking import Tracker


@dataclass(frozen=True)
class StreamOptions:
    """every: run the detector on every Nth frame (tracks move in between);
    alpha: EMA weight of the newest probabilities (1 = no smoothing);
    max_missed: detection rounds a face may be lost before its id is retired."""

    every: int = 1
    alpha: float = 0.4
    iou_threshold: float = 0.3
    max_missed: int = 2

    def __post_init__(self) -> None:
        if self.every < 1:
            raise ValueError(f"--every must be at least 1, got {self.every}")
        if not 0.0 < self.alpha <= 1.0:
            raise ValueError(f"smoothing alpha must be in (0, 1], got {self.alpha}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "every": self.every,
            "alpha": self.alpha,
            "iou_threshold": self.iou_threshold,
            "max_missed": self.max_missed,
        }


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
        self.tracker = Tracker(iou_threshold=options.iou_threshold, max_missed=options.max_missed, alpha=options.alpha)
        self._seen = 0
        self.costs = StreamCosts()

    def process(self, frame: np.ndarray, index: int, time: float) -> FrameResult:
        """One BGR frame -> tracked, smoothed faces."""
        detect = self._seen % self.options.every == 0
        self._seen += 1
        self.costs.frames += 1
        if detect:
            t0 = perf_counter()
            dets = self.analyzer.detector.detect(frame)
            self.costs.detect_s += perf_counter() - t0
            self.costs.detect_calls += 1
            tracks = self.tracker.update(dets, index)
        else:
            h, w = frame.shape[:2]
            tracks, dets = [], []
            for t in self.tracker.active():
                d = clip_detection(t.at(index), w, h)
                if min(d.box[2], d.box[3]) >= 2:  # still (partly) inside the frame
                    tracks.append(t)
                    dets.append(d)
        if not dets:
            return FrameResult(index, time, (), detect)
        t0 = perf_counter()
        crops, probs = self.analyzer.crops_and_probs([frame], [dets])
        self.costs.classify_s += perf_counter() - t0
        self.costs.faces += len(crops)
        labels, below = self.analyzer.labels, self.analyzer.card.uncertain_below
        faces = tuple(
            make_face(d, self.tracker.smooth(t, p), c, labels, below, t.id)  # smoothed along the track
            for d, t, p, c in zip(dets, tracks, probs, crops)
        )
        return FrameResult(index, time, faces, detect)
