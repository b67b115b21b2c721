"""The rows a batch job writes: one per face (photos) or per (frame, face) (videos), one per failed input.

Every row names its input (`source`, the absolute path: what a rerun skips) and its `status`:
`ok` (a face), `no_face` (the input was read, no face in it: one row, so the input counts as done)
or `error` (the input could not be read: `error` says why). Numbers only: no pixels are kept.

Columns (K = the model card's labels, e.g. prob_happy):
  source kind status error width height frame time face detected x y w h score landmarks
  emotion confidence uncertain tiny blurry dark sharpness brightness prob_<label>...
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from emolens.core.results import Face

BASE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("source", "string"),
    ("kind", "string"),  # photo | video | session
    ("status", "string"),  # ok | no_face | error
    ("error", "string"),
    ("width", "int64"),  # the photo's (EXIF-rotated) size, or the video's frame size
    ("height", "int64"),
    ("frame", "int64"),  # videos: frame index from 0
    ("time", "float64"),  # videos: seconds from the start
    ("face", "int64"),  # photos: face number from 1 in reading order; videos: the track id
    ("detected", "bool"),  # videos: whether the detector ran on this frame (else the face was tracked)
    ("x", "int64"),
    ("y", "int64"),
    ("w", "int64"),
    ("h", "int64"),
    ("score", "float64"),  # detector confidence
    ("landmarks", "list<float64>"),  # x1, y1, ... x5, y5 (eyes, nose, mouth corners); empty when unknown
    ("emotion", "string"),
    ("confidence", "float64"),
    ("uncertain", "bool"),
    ("tiny", "bool"),
    ("blurry", "bool"),
    ("dark", "bool"),
    ("sharpness", "float64"),
    ("brightness", "float64"),
)


def prob_column(label: str) -> str:
    return f"prob_{label}"


def columns(labels: Sequence[str]) -> list[tuple[str, str]]:
    """Every column with its type name, the model's labels last."""
    return [*BASE_COLUMNS, *((prob_column(k), "float64") for k in labels)]


def empty_row(labels: Sequence[str]) -> dict[str, Any]:
    return {name: None for name, _ in columns(labels)}


def error_row(source: str, kind: str, message: str, labels: Sequence[str]) -> dict[str, Any]:
    """The row of an input that could not be analysed, with the reason."""
    return {**empty_row(labels), "source": source, "kind": kind, "status": "error", "error": message}


def no_face_row(source: str, kind: str, width: int, height: int, labels: Sequence[str]) -> dict[str, Any]:
    return {**empty_row(labels), "source": source, "kind": kind, "status": "no_face", "width": width, "height": height}


def face_row(
    source: str, kind: str, face: Face, number: int, size: tuple[int, int], labels: Sequence[str]
) -> dict[str, Any]:
    """A face's row: box, landmarks, probabilities, label, confidence, uncertainty, quality."""
    x, y, w, h = face.box
    q = face.quality
    row = {
        **empty_row(labels),
        "source": source,
        "kind": kind,
        "status": "ok",
        "width": size[0],
        "height": size[1],
        "face": number,
        "x": x,
        "y": y,
        "w": w,
        "h": h,
        "score": round(face.score, 4),
        "landmarks": [round(float(v), 1) for point in (face.landmarks or ()) for v in point],
        "emotion": face.emotion,
        "confidence": round(face.confidence, 4),
        "uncertain": face.uncertain,
        "tiny": q.tiny,
        "blurry": q.blurry,
        "dark": q.dark,
        "sharpness": round(q.sharpness, 2),
        "brightness": round(q.brightness, 2),
    }
    for label in labels:
        row[prob_column(label)] = round(float(face.probabilities[label]), 4)
    return row


def photo_rows(source: str, faces: Sequence[Face], size: tuple[int, int], labels: Sequence[str]) -> list[dict]:
    """A photo's rows: one per face (numbered from 1, reading order), or one `no_face` row."""
    if not faces:
        return [no_face_row(source, "photo", size[0], size[1], labels)]
    return [face_row(source, "photo", f, n, size, labels) for n, f in enumerate(faces, 1)]


def frame_rows(
    source: str, frame: int, time: float, detected: bool, faces: Sequence[Face], size: tuple[int, int], labels
) -> list[dict]:
    """A video frame's rows, one per tracked face (`face` is the track id), as `emolens video --timeline`."""
    out = []
    for f in faces:
        row = face_row(source, "video", f, f.track_id if f.track_id is not None else 0, size, labels)
        row.update(frame=frame, time=round(time, 3), detected=detected)
        out.append(row)
    return out
