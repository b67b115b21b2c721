"""Request/response shapes of /api/v1/journal, apart from the stored rows (apps.journal.store)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from emolens.core.labels import EMOTIONS

Emotion = Literal[EMOTIONS]  # type: ignore[valid-type]


class MoodIn(BaseModel):
    """A manual check-in: the user picks a mood."""

    model_config = ConfigDict(extra="forbid")
    mood: Emotion = Field(examples=["happy"])  # type: ignore[valid-type]
    note: str = Field("", max_length=2000, examples=["slept well, long walk"])
    tags: list[str] = Field(default_factory=list, max_length=8, examples=[["sleep", "exercise"]])
    at: datetime | None = Field(None, description="when (ISO 8601 with offset; default now), e.g. to log yesterday")
    tz_offset_minutes: int | None = Field(
        None, ge=-840, le=840, description="your UTC offset in minutes east (days follow your clock)"
    )


class DeviceIn(BaseModel):
    """A camera check-in (or calibration) read on the user's device: only its numbers, never a frame.

    shares: the mean probabilities of the largest face over the frames that had one (they sum to 1);
    confidence: the mean top probability over those frames."""

    model_config = ConfigDict(extra="forbid")
    source: Literal["device"]
    shares: dict[str, float] = Field(examples=[{"happy": 0.7, "neutral": 0.2, "surprise": 0.1}], max_length=16)
    confidence: float = Field(ge=0, le=1, examples=[0.72])
    frames: int = Field(ge=1, le=1000, description="frames in which a face was found")
    total_frames: int | None = Field(None, ge=1, le=1000, description="frames read (default: frames)")
    most_faces: int = Field(1, ge=1, le=100, description="the most faces seen in one frame (the largest is yours)")
    note: str = Field("", max_length=2000)
    tags: list[str] = Field(default_factory=list, max_length=8)
    tz_offset_minutes: int | None = Field(None, ge=-840, le=840)


class CheckInPatch(BaseModel):
    """Correct the emotion (null clears the correction), or change the note or tags; omitted fields stay."""

    model_config = ConfigDict(extra="forbid")
    corrected: Emotion | None = Field(None, examples=["neutral"])  # type: ignore[valid-type]
    note: str | None = Field(None, max_length=2000)
    tags: list[str] | None = Field(None, max_length=8)


class CheckInOut(BaseModel):
    id: int
    created_at: str = Field(description="UTC")
    local_time: str = Field(description="your wall clock at check-in")
    source: Literal["camera", "photo", "manual", "device"]
    emotion: str = Field(description="what was read (relative to your baseline when you have one), or your mood")
    confidence: float | None = Field(description="mean top probability over the frames; null for a mood")
    corrected: str | None = Field(description="your correction, kept next to the estimate")
    final_emotion: str = Field(description="the correction if any, else `emotion`")
    shares: dict[str, float] = Field(description="share of each emotion: mean probabilities over the frames")
    adjusted: dict[str, float] | None = Field(description="shares relative to your baseline (null without one)")
    final_shares: dict[str, float] = Field(description="what trends count")
    frames: int
    note: str
    tags: list[str]
    has_image: bool = Field(description="true only when you chose to keep the photo")
    personal: dict[str, float] | None = Field(
        None, description="shares after your personal adaptation (null: not adapted: off, no corrections yet, a mood)"
    )
    model_sha256: str | None = Field(None, description="sha256 of the model that read it (null for a mood)")
    contributed: bool = Field(False, description="you contributed its 48x48 face crop to improve the model")
    notice: str | None = Field(
        None,
        description="when creating from a photo or frames with several faces: which "
        'one was read, e.g. "6 faces found, used the largest"',
    )


class BaselineOut(BaseModel):
    probabilities: dict[str, float]
    frames: int
    created_at: str
    warning: str | None = Field(
        None,
        description="set when the resting face is not near neutral (e.g. smiling): calibrate again with a relaxed face",
    )
    notice: str | None = Field(
        None, description="when calibrating: several faces were in a picture, the largest was used"
    )
    model_sha256: str | None = Field(None, description="sha256 of the model that read the resting face")


class SummaryOut(BaseModel):
    start: str
    end: str
    days: int
    checkins: int
    days_with_checkins: int
    shares: dict[str, float]
    indexes: dict[str, float] | None = Field(description="happiness, sadness, stress (0..100), valence (-1..1)")
    streak: dict[str, Any]
    group: Literal["day", "week", "month"]
    series: list[dict[str, Any]] = Field(description="one entry per day, week or month with check-ins")
    daily: list[dict[str, Any]]
    weekdays: list[dict[str, Any]]
    tags: list[dict[str, Any]]
    suggestions: list[dict[str, Any]]
    crisis: dict[str, Any] | None = Field(description="helplines, shown when a sustained negative pattern appears")
    disclaimer: str
    has_baseline: bool
    model_changes: list[dict[str, Any]] = Field(
        default_factory=list,
        description="days on which a new model version started reading your check-ins (day, bucket, sha256, previous)",
    )


class AdaptationIn(BaseModel):
    """Switch your personal adaptation on or off (what it learned is kept)."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool


class AdaptationOut(BaseModel):
    enabled: bool = Field(description="later camera and photo check-ins are adapted (on by default)")
    active: bool = Field(description="on, and fitted on at least one correction")
    corrections: int = Field(description="how many of your corrections it rests on")
    evaluation: dict[str, Any] | None = Field(
        description="accuracy on your own corrected check-ins before and after it, each predicted by an adaptation "
        "fitted without it (k-fold: n, folds, before, after); null below 2 corrections"
    )
    calibration: dict[str, Any] | None = Field(description="the numbers: a bias per emotion and a scale")
    fitted_at: str | None
    reset_at: str | None


class ContributionOut(BaseModel):
    id: int
    checkin_id: int
    label: str | None = Field(description="the check-in's correction: the crop teaches the model only with one")
    created_at: str
    model_sha256: str | None
    size: list[int] = Field(description="[48, 48]: a gray crop, the model's input; never the photo")
    used_for_training: bool
