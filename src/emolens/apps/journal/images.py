"""The one way a journal photo is kept: pixels re-encoded as JPEG, so no EXIF (place, device, time) survives."""

from __future__ import annotations

import cv2
import numpy as np

MAX_SIDE = 1024  # a kept photo is downscaled to this; it is a memory, not evidence


def private_jpeg(image_bgr: np.ndarray, *, quality: int = 88) -> bytes:
    h, w = image_bgr.shape[:2]
    scale = min(1.0, MAX_SIDE / max(h, w))
    if scale < 1.0:
        image_bgr = cv2.resize(image_bgr, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", image_bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("could not encode the photo as JPEG")
    return buf.tobytes()
