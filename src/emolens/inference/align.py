"""Face crop: square box around a detection, eyes levelled when landmarks are known.

One affine warp does rotation, crop and border padding together, so faces at
the image edge get replicated borders instead of being cut or shifted.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from emolens.inference.detectors.base import Detection


def eye_angle(landmarks: tuple[tuple[float, float], ...]) -> float:
    """Degrees to rotate (counter-clockwise, OpenCV convention) so the eyes are level."""
    (ax, ay), (bx, by) = landmarks[0], landmarks[1]
    if bx < ax:  # order the eyes left to right in the image
        ax, ay, bx, by = bx, by, ax, ay
    return math.degrees(math.atan2(by - ay, bx - ax))


def crop_face(image: np.ndarray, det: Detection, *, margin: float = 0.0, align: bool = True) -> np.ndarray:
    """uint8 image -> square crop of side max(w, h) * (1 + 2 * margin) centred on the box.

    margin is the card's crop_margin: extra border on each side as a fraction of the
    box side. With align and landmarks, the crop is rotated about the box centre so
    the eye line is horizontal.
    """
    x, y, w, h = det.box
    side = max(w, h) * (1.0 + 2.0 * margin)
    out = max(1, int(round(side)))
    cx, cy = x + w / 2.0, y + h / 2.0
    angle = eye_angle(det.landmarks) if align and det.landmarks and len(det.landmarks) >= 2 else 0.0
    rot = cv2.getRotationMatrix2D((cx, cy), angle, out / side)
    rot[0, 2] += out / 2.0 - cx
    rot[1, 2] += out / 2.0 - cy
    return cv2.warpAffine(image, rot, (out, out), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
