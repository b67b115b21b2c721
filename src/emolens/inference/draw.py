"""Annotated images and frames: a box, an id and the top emotion per face."""
from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from emolens.core.results import Face

# BGR colours; labels a card adds beyond these get gray.
COLOURS = {
    "angry": (40, 40, 220), "disgust": (40, 140, 60), "fear": (160, 60, 160), "happy": (40, 200, 240),
    "sad": (200, 120, 40), "surprise": (240, 200, 40), "neutral": (200, 200, 200),
}


def annotate(image: np.ndarray, faces: Sequence[Face], *, fps: float | None = None) -> np.ndarray:
    """A copy of a BGR image with each face's box, landmarks and label drawn."""
    out = image.copy()
    thick = max(1, round(max(out.shape[:2]) / 500))
    font = 0.4 + 0.1 * thick
    for face in faces:
        x, y, w, h = face.box
        colour = COLOURS.get(face.emotion, (160, 160, 160))
        cv2.rectangle(out, (x, y), (x + w, y + h), colour, thick)
        for px, py in face.landmarks or ():
            cv2.circle(out, (int(px), int(py)), thick, colour, -1)
        text = f"{face.emotion} {face.confidence:.0%}" + ("?" if face.uncertain else "")
        if face.track_id is not None:
            text = f"#{face.track_id} {text}"
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, font, 1)
        ty = y - 4 if y - th - base - 4 >= 0 else y + h + th + 4
        cv2.rectangle(out, (x, ty - th - base), (x + tw + 4, ty + base), colour, -1)
        cv2.putText(out, text, (x + 2, ty), cv2.FONT_HERSHEY_SIMPLEX, font, (0, 0, 0), 1, cv2.LINE_AA)
    if fps is not None:
        cv2.putText(out, f"{fps:.1f} fps", (8, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 255, 0), 1, cv2.LINE_AA)
    return out
