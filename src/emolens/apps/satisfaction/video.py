"""Scoring a service session from its frames: record each frame's faces, pick the customer, score, store.
The one use case behind a session's uploaded video and counter camera on the web and `emolens session analyze`.

The caller reads the video (or camera) through the runtime and feeds each frame's faces to the
recorder it is handed, so the app never imports the runtime:

    analysis, summary = score_video(lambda rec: run_video(source, stream, [rec]), labels, scoring)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

from emolens.apps.db import Database
from emolens.apps.satisfaction import store
from emolens.apps.satisfaction.analysis import SessionAnalysis, analyze_recording
from emolens.apps.satisfaction.customer import CustomerRule
from emolens.apps.satisfaction.recording import SessionRecorder
from emolens.apps.satisfaction.score import ScoreParams
from emolens.settings import AppSettings

T = TypeVar("T")


@dataclass(frozen=True)
class Scoring:
    """How sessions are scored: who the customer is (the rule) and the score's parameters."""

    rule: CustomerRule
    params: ScoreParams = ScoreParams()

    @classmethod
    def from_settings(cls, settings: AppSettings) -> Scoring:
        """Raises ValueError naming the setting when the rule or region is malformed."""
        try:
            rule = CustomerRule.from_text(
                pick=settings.satisfaction_rule,
                roi=settings.satisfaction_roi,
                staff_seconds=settings.satisfaction_staff_seconds,
            )
        except ValueError as exc:
            raise ValueError(f"EMOLENS_SATISFACTION_RULE / _ROI / _STAFF_SECONDS: {exc}") from None
        return cls(rule=rule)

    def analyze(self, recorder: SessionRecorder) -> SessionAnalysis:
        """The recorded frames scored: the customer picked, the score, its explanation."""
        return analyze_recording(recorder.recording(), self.rule, self.params)


def score_video(
    run: Callable[[SessionRecorder], T], labels: Sequence[str], scoring: Scoring
) -> tuple[SessionAnalysis, T]:
    """`run(recorder)` feeds the recorder every frame's faces (and returns what the caller wants back, such as
    a video summary); then the recording is scored. Nothing is stored."""
    recorder = SessionRecorder(tuple(labels))
    result = run(recorder)
    return scoring.analyze(recorder), result


@contextmanager
def failing_session(db: Database, session_id: str) -> Iterator[None]:
    """Any error inside marks the session failed, with the error's message as the reason, and goes on up."""
    try:
        yield
    except BaseException as exc:
        store.set_status(db, session_id, "failed", error=str(exc) or type(exc).__name__)
        raise


def save_scored_session(
    db: Database,
    user_id: int,
    analysis: SessionAnalysis,
    *,
    location: str,
    agent: str,
    customer_ref: str | None = None,
    source: str = "cli",
    started_at: str | None = None,
    model_sha256: str | None = None,
    session_id: str | None = None,
) -> store.ServiceSession:
    """A session of user_id holding an analysis made beforehand (the CLI scores first, then stores). With
    session_id, written once: a session of that id that exists already gets the analysis (if it lacks one)."""
    existing = store.get_session(db, user_id, session_id) if session_id else None
    if existing is not None and existing.status == "done":
        return existing
    session = existing or store.create_session(
        db,
        user_id,
        location=location,
        agent=agent,
        customer_ref=customer_ref,
        source=source,
        started_at=started_at,
        session_id=session_id,
    )
    store.save_analysis(db, session.id, analysis, model_sha256)
    return store.get_session(db, user_id, session.id) or session
