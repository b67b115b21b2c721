"""Request/response shapes of /api/v1/sessions, apart from the storage rows (apps.satisfaction.store)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class SessionCreate(BaseModel):
    location: str = Field(min_length=1, max_length=100, examples=["Main St"])
    agent: str = Field(min_length=1, max_length=100, description="staff member or counter label", examples=["ana"])
    customer_ref: str | None = Field(
        None, max_length=100, description="your own reference (a ticket number), never a name or photo"
    )


class SessionCreated(BaseModel):
    id: str
    status: str
    url: str = Field(description="the session: score, explanation and timeline once analysed")


class SessionSummaryOut(BaseModel):
    id: str
    location: str
    agent: str
    customer_ref: str | None
    source: Literal["live", "video", "cli"]
    status: Literal["open", "recording", "processing", "done", "failed"]
    created_at: str
    started_at: str
    ended_at: str | None
    frames: int
    duration: float | None = Field(description="seconds")
    score: float | None = Field(description="0..100; null when there was too little usable signal (see reason)")
    confidence: float | None = Field(description="0..1, from the customer's usable face time")
    reason: str | None = Field(description="why there is no score")
    error: str | None
    model_sha256: str | None = Field(None, description="sha256 of the model that read it (null before analysis)")


class SessionOut(SessionSummaryOut):
    explanation: dict[str, Any] | None = Field(
        description="summary, start and end mood, negative and positive moments, share of time per emotion, episodes"
    )
    timeline: dict[str, Any] | None = Field(
        description='the customer\'s binned timeline: {"step", "t", "present", "valence", "probabilities"}'
    )
    customer: dict[str, Any] | None = Field(description="the customer rule and the role of each tracked face")
    details: dict[str, Any] | None = Field(description="terms of the score: valence, penalty, usable seconds")


class SessionJobCreated(BaseModel):
    job: str
    status: str
    url: str = Field(description="poll this for progress; then GET the session")
    session_url: str


class GroupOut(BaseModel):
    key: str
    sessions: int
    scored: int
    unscored: int
    mean_score: float | None
    weighted_score: float | None = Field(description="confidence-weighted mean score")
    min_score: float | None
    max_score: float | None
    mean_confidence: float | None
    first: str
    last: str
    change: float | None = Field(description="day/week: mean score minus the previous period's")
    slope_per_week: float | None = Field(description="location/agent: least-squares trend, points per week")


class AggregateOut(BaseModel):
    by: Literal["day", "week", "location", "agent"]
    groups: list[GroupOut]
