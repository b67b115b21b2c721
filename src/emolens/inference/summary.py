"""Video summaries built while frames stream by: per face and for the whole video.

Share of time per emotion counts frames by their (smoothed) top label; valence
is the probability-weighted mean of core.labels.VALENCE, -1 unpleasant .. +1 pleasant.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from emolens.core.labels import VALENCE
from emolens.inference.stream import FrameResult


@dataclass(frozen=True)
class FaceSummary:
    id: int
    first_time: float
    last_time: float
    frames: int
    share: dict[str, float]  # fraction of this face's frames per top emotion
    dominant: str
    mean_probabilities: dict[str, float]
    mean_valence: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "first_time": round(self.first_time, 3),
            "last_time": round(self.last_time, 3),
            "frames": self.frames,
            "dominant": self.dominant,
            "mean_valence": round(self.mean_valence, 4),
            "share": _r(self.share),
            "mean_probabilities": _r(self.mean_probabilities),
        }


@dataclass(frozen=True)
class VideoSummary:
    frames: int
    duration: float  # seconds
    frames_with_faces: int
    share: dict[str, float]  # over all face-frames
    dominant: str | None
    mean_valence: float | None
    valence_over_time: list[dict[str, Any]]  # {"t": bucket start s, "valence": mean or None, "faces": mean count}
    faces: list[FaceSummary]

    def to_dict(self) -> dict[str, Any]:
        return {
            "frames": self.frames,
            "duration": round(self.duration, 3),
            "frames_with_faces": self.frames_with_faces,
            "face_count": len(self.faces),
            "dominant": self.dominant,
            "mean_valence": None if self.mean_valence is None else round(self.mean_valence, 4),
            "share": _r(self.share),
            "valence_over_time": self.valence_over_time,
            "faces": [f.to_dict() for f in self.faces],
        }


def _r(d: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 4) for k, v in d.items()}


class SummaryBuilder:
    """Accumulates counts and sums only, so memory does not grow with video length
    (beyond one entry per face id and per time bucket)."""

    def __init__(self, labels: Sequence[str], *, bucket_seconds: float = 1.0):
        self.labels = tuple(labels)
        self.valence = np.array([VALENCE.get(name, 0.0) for name in self.labels])
        self.bucket = bucket_seconds
        self.frames = 0
        self.frames_with_faces = 0
        self.last_time = 0.0
        self.counts = np.zeros(len(self.labels))
        self.per_face: dict[int, dict[str, Any]] = {}
        self.buckets: dict[int, list[float]] = {}  # bucket -> [valence sum, face-frames, frames]

    def add(self, result: FrameResult) -> None:
        self.frames += 1
        self.last_time = max(self.last_time, result.time)
        b = self.buckets.setdefault(int(result.time // self.bucket), [0.0, 0.0, 0.0])
        b[2] += 1
        if result.faces:
            self.frames_with_faces += 1
        for face in result.faces:
            probs = np.array([face.probabilities[name] for name in self.labels])
            top = int(probs.argmax())
            val = float(probs @ self.valence)
            self.counts[top] += 1
            b[0] += val
            b[1] += 1
            key = face.track_id if face.track_id is not None else 0
            f = self.per_face.setdefault(
                key,
                {
                    "first": result.time,
                    "frames": 0,
                    "counts": np.zeros(len(self.labels)),
                    "probs": np.zeros(len(self.labels)),
                    "valence": 0.0,
                },
            )
            f["last"] = result.time
            f["frames"] += 1
            f["counts"][top] += 1
            f["probs"] += probs
            f["valence"] += val

    def build(self, fps: float | None = None) -> VideoSummary:
        total = self.counts.sum()
        duration = self.last_time + (1.0 / fps if fps else 0.0)
        faces = [self._face(fid, f) for fid, f in sorted(self.per_face.items())]
        timeline = [
            {"t": round(k * self.bucket, 3), "valence": round(v / n, 4) if n else None, "faces": round(n / frames, 3)}
            for k, (v, n, frames) in sorted(self.buckets.items())
        ]
        return VideoSummary(
            frames=self.frames,
            duration=duration,
            frames_with_faces=self.frames_with_faces,
            share=self._share(self.counts),
            dominant=self.labels[int(self.counts.argmax())] if total else None,
            mean_valence=float(sum(b[0] for b in self.buckets.values()) / total) if total else None,
            valence_over_time=timeline,
            faces=faces,
        )

    def _share(self, counts: np.ndarray) -> dict[str, float]:
        total = counts.sum()
        return {name: float(c / total) if total else 0.0 for name, c in zip(self.labels, counts)}

    def _face(self, fid: int, f: dict[str, Any]) -> FaceSummary:
        n = f["frames"]
        return FaceSummary(
            id=fid,
            first_time=f["first"],
            last_time=f["last"],
            frames=n,
            share=self._share(f["counts"]),
            dominant=self.labels[int(f["counts"].argmax())],
            mean_probabilities={k: float(v / n) for k, v in zip(self.labels, f["probs"])},
            mean_valence=f["valence"] / n,
        )
