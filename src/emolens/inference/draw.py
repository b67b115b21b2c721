"""Annotated images and frames: a box, a number and the top emotion per face, labels never overlapping."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from emolens.core.results import Face

# BGR colours; labels a card adds beyond these get gray.
COLOURS = {
    "angry": (40, 40, 220),
    "disgust": (40, 140, 60),
    "fear": (160, 60, 160),
    "happy": (40, 200, 240),
    "sad": (200, 120, 40),
    "surprise": (240, 200, 40),
    "neutral": (200, 200, 200),
}

Rect = tuple[int, int, int, int]  # x, y, w, h


def _overlap(a: Sequence[float], b: Sequence[float]) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def place_labels(
    boxes: Sequence[Sequence[float]], sizes: Sequence[tuple[int, int]], width: int, height: int
) -> list[Rect]:
    """One label rectangle per box (label sizes (w, h)), no two overlapping while the image has room.

    The same rule as the web page's layoutLabels (static/js/faces.js): each label tries above its
    box, below it, inside its top or bottom edge (left-, right- or centre-aligned), then rows further
    up or down, then any free spot; a spot covering another face is taken only when nothing else is.
    """
    placed: list[Rect] = []
    for i, ((x, y, w, h), (tw, th)) in enumerate(zip(boxes, sizes)):
        tw, th = min(tw, width), min(th, height)
        xs = (x, x + w - tw, x + (w - tw) / 2)
        cands = [(cx, cy) for cx in xs for cy in (y - th, y + h)] + [(cx, cy) for cx in xs for cy in (y, y + h - th)]
        cands += [
            (cx, cy) for k in range(1, -(-height // th) + 1) for cx in xs for cy in (y - th - k * th, y + h + k * th)
        ]
        rects = [
            (int(max(0, min(width - tw, round(cx)))), int(max(0, min(height - th, round(cy)))), tw, th)
            for cx, cy in cands
        ]
        others = [b for j, b in enumerate(boxes) if j != i]

        def free(r: Rect) -> bool:
            return not any(_overlap(r, p) for p in placed)

        best = (
            next((r for r in rects if free(r) and not any(_overlap(r, b) for b in others)), None)
            or next((r for r in rects if free(r)), None)
            or next(
                (
                    (gx, gy, tw, th)
                    for gy in range(0, height - th + 1, th)
                    for gx in range(0, width - tw + 1, 4)
                    if free((gx, gy, tw, th))
                ),
                None,
            )
        )
        placed.append(best or rects[0])  # an image full of labels: nothing is free
    return placed


def face_label(face: Face, number: int) -> str:
    """'3 happy 88%' ('?' when uncertain); video faces carry their track id: '#3 happy 88%'."""
    who = f"#{face.track_id}" if face.track_id is not None else str(number)
    return f"{who} {face.emotion} {face.confidence:.0%}" + ("?" if face.uncertain else "")


def annotate(image: np.ndarray, faces: Sequence[Face], *, fps: float | None = None) -> np.ndarray:
    """A copy of a BGR image with each face's box, landmarks and numbered label drawn."""
    out = image.copy()
    thick = max(1, round(max(out.shape[:2]) / 500))
    font = 0.4 + 0.1 * thick
    texts = [face_label(face, i) for i, face in enumerate(faces, 1)]
    metrics = [cv2.getTextSize(t, cv2.FONT_HERSHEY_SIMPLEX, font, 1) for t in texts]
    sizes = [(tw + 4, th + base + 4) for (tw, th), base in metrics]
    rects = place_labels([f.box for f in faces], sizes, out.shape[1], out.shape[0])
    for face in faces:
        x, y, w, h = face.box
        colour = COLOURS.get(face.emotion, (160, 160, 160))
        cv2.rectangle(out, (x, y), (x + w, y + h), colour, thick)
        for px, py in face.landmarks or ():
            cv2.circle(out, (int(px), int(py)), thick, colour, -1)
    for face, text, (rx, ry, rw, rh), ((_, th), _base) in zip(faces, texts, rects, metrics):
        x, y, w, h = face.box
        colour = COLOURS.get(face.emotion, (160, 160, 160))
        if not (rx <= x + w and x <= rx + rw and ry <= y + h and y <= ry + rh):  # away from its box: a leader line
            lx = int(min(max(rx + rw / 2, x), x + w))
            above = ry + rh < y
            end = (int(min(max(lx, rx), rx + rw - 1)), ry + rh if above else ry)
            cv2.line(out, (lx, y if above else y + h), end, colour, 1, cv2.LINE_AA)
        cv2.rectangle(out, (rx, ry), (rx + rw - 1, ry + rh - 1), colour, -1)
        cv2.putText(out, text, (rx + 2, ry + 2 + th), cv2.FONT_HERSHEY_SIMPLEX, font, (0, 0, 0), 1, cv2.LINE_AA)
    if fps is not None:
        cv2.putText(out, f"{fps:.1f} fps", (8, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 255, 0), 1, cv2.LINE_AA)
    return out
