"""OpenCV's Haar cascade: no landmarks, no real score; a fallback and a baseline.

The cascades ship with OpenCV 4.x wheels (cv2.data); OpenCV 5 dropped
CascadeClassifier from the main module, so there this backend says so and stops.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from emolens.inference.detectors.base import Detection, Detector, DetectorError

CASCADE = "haarcascade_frontalface_default.xml"


class HaarDetector(Detector):
    """Frontal faces only; every detection scores 1.0 (use min_neighbors to be stricter)."""

    name = "haar"
    default_threshold = 0.0

    def __init__(self, *, min_neighbors: int = 5, scale_factor: float = 1.1, threads: int = 1, **kw):
        super().__init__(**kw)
        if not hasattr(cv2, "CascadeClassifier"):
            raise DetectorError(f"the haar detector needs OpenCV 4.x (this is OpenCV {cv2.__version__}, which has no "
                                "CascadeClassifier): use --detector centerface, or pip install 'opencv-python-headless<5'")
        path = Path(getattr(getattr(cv2, "data", None), "haarcascades", "")) / CASCADE
        self.cascade = cv2.CascadeClassifier(str(path))
        if self.cascade.empty():
            raise DetectorError(f"could not load the Haar cascade {path}: use --detector centerface")
        self.min_neighbors = int(min_neighbors)
        self.scale_factor = float(scale_factor)

    def _detect(self, image: np.ndarray) -> list[Detection]:
        gray = cv2.equalizeHist(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))
        boxes = self.cascade.detectMultiScale(gray, scaleFactor=self.scale_factor, minNeighbors=self.min_neighbors,
                                              minSize=(12, 12))
        return [Detection((float(x), float(y), float(w), float(h)), 1.0) for x, y, w, h in boxes]
