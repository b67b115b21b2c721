"""Result types shared by the runtime, the CLI and the apps: plain data, JSON-ready."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Quality:
    """Why a prediction may be unreliable: face too small, blurred or dark.

    sharpness is the variance of the Laplacian on the crop scaled to 96 px;
    brightness is its mean gray level (0..255).
    """

    tiny: bool
    blurry: bool
    dark: bool
    sharpness: float
    brightness: float

    @property
    def flags(self) -> tuple[str, ...]:
        return tuple(name for name in ("tiny", "blurry", "dark") if getattr(self, name))

    def to_dict(self) -> dict[str, Any]:
        return {
            "tiny": self.tiny,
            "blurry": self.blurry,
            "dark": self.dark,
            "sharpness": round(self.sharpness, 2),
            "brightness": round(self.brightness, 2),
        }


@dataclass(frozen=True)
class Face:
    """One analysed face. box is (x, y, w, h) in pixels of the (EXIF-rotated) image.

    probabilities follow the model card's label order; emotion is the top label
    and uncertain is True when its probability is under the card's uncertain_below.
    In videos, track_id is stable across frames and probabilities are smoothed.
    """

    box: tuple[int, int, int, int]
    score: float
    landmarks: tuple[tuple[float, float], ...] | None
    probabilities: Mapping[str, float]
    emotion: str
    confidence: float
    uncertain: bool
    quality: Quality
    track_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        x, y, w, h = self.box
        out: dict[str, Any] = {
            "box": {"x": x, "y": y, "w": w, "h": h},
            "score": round(self.score, 4),
            "emotion": self.emotion,
            "confidence": round(self.confidence, 4),
            "uncertain": self.uncertain,
            "probabilities": {k: round(float(v), 4) for k, v in self.probabilities.items()},
            "quality": self.quality.to_dict(),
            "landmarks": None
            if self.landmarks is None
            else [[round(px, 1), round(py, 1)] for px, py in self.landmarks],
        }
        if self.track_id is not None:
            out["track_id"] = self.track_id
        return out
