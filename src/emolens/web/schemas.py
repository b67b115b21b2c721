"""API request/response shapes, kept apart from the engine's result types (core.results)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from emolens.core.results import Face


class ErrorOut(BaseModel):
    detail: str = Field(examples=["photo.jpg: not an image OpenCV can read"])


class QualityOut(BaseModel):
    tiny: bool
    blurry: bool
    dark: bool
    sharpness: float
    brightness: float


class BoxOut(BaseModel):
    x: int = Field(description="left edge, pixels of the EXIF-rotated image")
    y: int = Field(description="top edge")
    w: int = Field(description="width")
    h: int = Field(description="height")


class FaceOut(BaseModel):
    """One face: the same JSON as `Face.to_dict()` and `emolens analyze --json` (one shape everywhere)."""

    box: BoxOut = Field(examples=[{"x": 182, "y": 58, "w": 88, "h": 120}])
    score: float = Field(description="face detector confidence")
    emotion: str = Field(examples=["happy"])
    confidence: float = Field(description="probability of `emotion`", examples=[0.93])
    uncertain: bool = Field(description="top probability under the card's uncertain_below: do not trust the label")
    probabilities: dict[str, float] = Field(description="one probability per label, in the model card's order")
    quality: QualityOut
    landmarks: list[list[float]] | None = Field(
        None,
        description="5 points [x, y] in image pixels: eye, eye, nose, mouth corner, mouth corner "
        "(image-left first in each pair); null when the detector gives none",
        examples=[[[205.3, 102.1], [246.8, 100.9], [226.0, 125.4], [209.7, 148.2], [243.1, 147.5]]],
    )
    track_id: int | None = Field(None, description="stable id across frames (live camera and videos)")

    @classmethod
    def from_face(cls, face: Face) -> FaceOut:
        return cls.model_validate(face.to_dict())


class ModelRef(BaseModel):
    name: str
    sha256: str


class AnalyzeOut(BaseModel):
    faces: list[FaceOut]
    width: int
    height: int
    model: ModelRef


class JobCreated(BaseModel):
    id: str
    status: str
    url: str = Field(description="poll this for progress and results")


class JobOut(BaseModel):
    id: str
    status: Literal["queued", "running", "done", "failed", "cancelled"]
    filename: str
    progress: float = Field(description="0..1")
    frames_done: int
    frame_count: int = Field(description="frames to analyse; 0 while unknown")
    eta_s: float | None = Field(
        None,
        description="seconds left, estimated from the speed so far; null while queued, finished or of unknown length",
    )
    video: dict[str, Any] | None = None
    error: str | None = None
    summary: dict[str, Any] | None = Field(None, description="when done: shares, dominant emotion, valence, faces")
    timeline: dict[str, Any] | None = Field(None, description="when done: binned mean probabilities over time")
    csv_url: str | None = None
    created: float
    finished: float | None = None


class HealthOut(BaseModel):
    status: Literal["ok"]
    version: str
    model: ModelRef
    detector: str
    jobs: dict[str, int]


class ModelCardOut(BaseModel):
    name: str
    arch: str
    sha256: str
    labels: list[str]
    input_size: int
    channels: int
    uncertain_below: float
    temperature: float
    tta: list[str]
    precision: str  # the graph that reads faces: int8 or float
    metrics: dict[str, Any]
    detector: str
