"""The detector interface: a BGR image in, face boxes (+ 5 landmarks when known) out.

Backends only implement `_detect` on an already downscaled image; thresholds,
minimum face size and mapping boxes back to full resolution live here once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

log = logging.getLogger(__name__)

Point = tuple[float, float]


class DetectorError(RuntimeError):
    """A detector that cannot be built or run (unknown name, missing or damaged model, bad options)."""


@dataclass(frozen=True)
class Detection:
    """One face in image pixels: box (x, y, w, h), detector score and optional landmarks.

    Landmarks, when the backend gives them, are 5 points in the order
    eye, eye, nose, mouth corner, mouth corner (image-left first in each pair).
    """

    box: tuple[float, float, float, float]
    score: float
    landmarks: tuple[Point, ...] | None = None

    def scaled(self, factor: float) -> Detection:
        x, y, w, h = self.box
        lms = None if self.landmarks is None else tuple((px * factor, py * factor) for px, py in self.landmarks)
        return Detection((x * factor, y * factor, w * factor, h * factor), self.score, lms)

    def shifted(self, dx: float, dy: float) -> Detection:
        x, y, w, h = self.box
        lms = None if self.landmarks is None else tuple((px + dx, py + dy) for px, py in self.landmarks)
        return Detection((x + dx, y + dy, w, h), self.score, lms)

    def to_dict(self) -> dict[str, Any]:
        x, y, w, h = self.box
        return {
            "box": [x, y, w, h],
            "score": self.score,
            "landmarks": None if self.landmarks is None else [list(p) for p in self.landmarks],
        }


class Detector:
    """Base class: downscale, call the backend, filter, scale boxes back.

    threshold: minimum backend score; min_face: smallest face side kept, in
    original pixels; max_side: the image is shrunk so its longer side is at most
    this before detection. A backend that finds faces down to `smallest_face` pixels
    of its input also shrinks the image until the smallest face asked for (min_face)
    is that size there: the cost follows the faces wanted, not the image size.
    """

    name = "base"
    default_threshold = 0.5
    smallest_face: int | None = None  # pixels at the backend's input it still finds reliably; None: no matching

    def __init__(self, *, threshold: float | None = None, min_face: int = 20, max_side: int = 640):
        self.threshold = self.default_threshold if threshold is None else float(threshold)
        if not 0.0 <= self.threshold < 1.0:
            raise DetectorError(f"detector threshold must be between 0 and 1, got {self.threshold}")
        self.min_face = int(min_face)
        self.max_side = int(max_side)
        if self.max_side < 64:
            raise DetectorError(f"max_side must be at least 64 pixels, got {self.max_side}")

    def detect(self, image: np.ndarray) -> list[Detection]:
        """Faces in a uint8 BGR (or gray) image, best score first."""
        if image.ndim == 2:
            image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        h, w = image.shape[:2]
        scale = self.scale_for(w, h)
        small = (
            image
            if scale == 1.0
            else cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
        )
        found = [d.scaled(1.0 / scale) if scale != 1.0 else d for d in self._detect(small)]
        keep = [d for d in found if d.score >= self.threshold and min(d.box[2], d.box[3]) >= self.min_face]
        return sorted((clip_detection(d, w, h) for d in keep), key=lambda d: -d.score)

    def scale_for(self, width: int, height: int) -> float:
        """The factor the image is shrunk by before detection (1.0: as it is; never enlarged)."""
        scale = min(1.0, self.max_side / max(width, height, 1))
        if self.smallest_face is not None and self.min_face > self.smallest_face:
            scale = min(scale, self.smallest_face / self.min_face)
        return max(scale, 64 / max(width, height, 64))  # at least 64 pixels on the longer side

    def _detect(self, image: np.ndarray) -> list[Detection]:
        raise NotImplementedError


def clip_detection(det: Detection, width: int, height: int) -> Detection:
    x, y, w, h = det.box
    x0, y0 = max(0.0, x), max(0.0, y)
    x1, y1 = min(float(width), x + w), min(float(height), y + h)
    return Detection((x0, y0, max(0.0, x1 - x0), max(0.0, y1 - y0)), det.score, det.landmarks)


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float = 0.3) -> list[int]:
    """Greedy non-maximum suppression over (N, 4) x0, y0, x1, y1 boxes; kept indexes."""
    order = np.argsort(-scores)
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    keep: list[int] = []
    while order.size:
        i = int(order[0])
        keep.append(i)
        rest = order[1:]
        iw = np.clip(np.minimum(boxes[i, 2], boxes[rest, 2]) - np.maximum(boxes[i, 0], boxes[rest, 0]), 0, None)
        ih = np.clip(np.minimum(boxes[i, 3], boxes[rest, 3]) - np.maximum(boxes[i, 1], boxes[rest, 1]), 0, None)
        inter = iw * ih
        iou = inter / np.maximum(areas[i] + areas[rest] - inter, 1e-9)
        order = rest[iou < iou_threshold]
    return keep
