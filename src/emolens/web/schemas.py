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


class FaceOut(BaseModel):
    box: list[int] = Field(min_length=4, max_length=4, description="[x, y, w, h] in image pixels",
                           examples=[[182, 58, 88, 120]])
    score: float = Field(description="face detector confidence")
    emotion: str = Field(examples=["happy"])
    confidence: float = Field(description="probability of `emotion`", examples=[0.93])
    probabilities: dict[str, float] = Field(description="one probability per label, in the model card's order")
    uncertain: bool = Field(description="top probability under the card's uncertain_below: do not trust the label")
    quality: QualityOut
    track_id: int | None = Field(None, description="stable id across frames (live camera and videos)")

    @classmethod
    def from_face(cls, face: Face) -> FaceOut:
        q = face.quality
        return cls(box=list(face.box), score=round(face.score, 4), emotion=face.emotion,
                   confidence=round(face.confidence, 4), uncertain=face.uncertain,
                   probabilities={k: round(float(v), 4) for k, v in face.probabilities.items()},
                   quality=QualityOut(tiny=q.tiny, blurry=q.blurry, dark=q.dark, sharpness=round(q.sharpness, 2),
                                      brightness=round(q.brightness, 2)),
                   track_id=face.track_id)


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
    metrics: dict[str, Any]
    detector: str
