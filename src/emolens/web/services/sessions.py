"""Service sessions on the web (plain Python, no FastAPI): a live counter camera, an uploaded video,
the retention loop. Each live connection owns its recorder, so sessions from different browsers never mix.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path

from emolens.apps.db import Database
from emolens.apps.satisfaction import store
from emolens.apps.satisfaction.analysis import SessionAnalysis, analyze_recording
from emolens.apps.satisfaction.customer import CustomerRule
from emolens.apps.satisfaction.recording import SessionRecorder
from emolens.apps.satisfaction.score import ScoreParams
from emolens.inference.video import VideoError
from emolens.web.services.engine import Engine
from emolens.web.services.jobs import Job
from emolens.web.services.live import LiveFrame, LiveSession
from emolens.web.services.photo import PhotoIntake
from emolens.web.services.video import open_upload, run_video_job, video_error
from emolens.web.settings import Settings

log = logging.getLogger(__name__)

RETENTION_EVERY_S = 3600.0


@dataclass(frozen=True)
class Scoring:
    """How sessions are scored on this server (from Settings)."""

    rule: CustomerRule
    params: ScoreParams = ScoreParams()

    @classmethod
    def from_settings(cls, settings: Settings) -> Scoring:
        """Raises ValueError naming the setting when the rule or region is malformed."""
        try:
            rule = CustomerRule.from_text(pick=settings.satisfaction_rule, roi=settings.satisfaction_roi,
                                          staff_seconds=settings.satisfaction_staff_seconds)
        except ValueError as exc:
            raise ValueError(f"EMOLENS_SATISFACTION_RULE / _ROI / _STAFF_SECONDS: {exc}") from None
        return cls(rule=rule)

    def analyze(self, recorder: SessionRecorder) -> SessionAnalysis:
        return analyze_recording(recorder.recording(), self.rule, self.params)


class LiveRecording:
    """One counter camera connection for one session: frames -> tracked faces -> per-frame numbers."""

    def __init__(self, engine: Engine, intake: PhotoIntake, settings: Settings, session_id: str):
        self.session_id = session_id
        self.live = LiveSession(engine, intake, alpha=settings.live_alpha, max_bytes=settings.max_upload_bytes)
        self.recorder = SessionRecorder(engine.labels)

    def process(self, data: bytes) -> LiveFrame:
        """One JPEG/PNG frame (MediaError when it cannot be used; the session goes on)."""
        out = self.live.process(data)
        self.recorder.add(out.result.time, out.result.faces, out.width, out.height)
        return out

    def finish(self, db: Database, scoring: Scoring) -> SessionAnalysis:
        """Score what was recorded and store it (numbers only); the frames are long gone."""
        store.set_status(db, self.session_id, "processing")
        try:
            analysis = scoring.analyze(self.recorder)
            store.save_analysis(db, self.session_id, analysis)
        except Exception as exc:
            store.set_status(db, self.session_id, "failed", error=str(exc) or type(exc).__name__)
            raise
        log.info("live session %s: %d frames, score %s", self.session_id, analysis.frames, analysis.score)
        return analysis


def analyze_session_video(engine: Engine, job: Job, video: Path, *, db: Database, session_id: str, scoring: Scoring,
                          every: int, alpha: float, max_seconds: float, max_pixels: int) -> None:
    """The job body for a session's uploaded video; always deletes the video; the session ends done or failed."""
    try:
        with open_upload(video, job.filename, max_pixels=max_pixels) as source:
            recorder = SessionRecorder(engine.labels)
            summary = run_video_job(engine, job, source, [recorder], every=every, alpha=alpha, max_seconds=max_seconds)
        analysis = scoring.analyze(recorder)
        store.save_analysis(db, session_id, analysis)
    except VideoError as exc:
        error = video_error(exc, video, job.filename)
        store.set_status(db, session_id, "failed", error=str(error))
        raise error from None
    except BaseException as exc:
        store.set_status(db, session_id, "failed", error=str(exc) or type(exc).__name__)
        raise
    finally:
        video.unlink(missing_ok=True)
    job.frame_count = job.frames_done
    job.summary = {"session": session_id, "score": analysis.score, "confidence": analysis.confidence,
                   "reason": analysis.reason, "video": summary.to_dict()}
    job.timeline = analysis.timeline
    log.info("session %s: video of %d frames, score %s", session_id, job.frames_done, analysis.score)


def start_retention(db: Database, days: float) -> asyncio.Task:
    """The retention loop as a task of the running event loop (the app's lifespan cancels it)."""
    return asyncio.get_running_loop().create_task(retention_loop(db, days), name="emolens-retention")


async def retention_loop(db: Database, days: float, every_s: float = RETENTION_EVERY_S) -> None:
    """Delete sessions older than `days` now and then every `every_s` (run as a task in the app's lifespan)."""
    if days <= 0:
        return
    while True:
        try:
            deleted = await asyncio.to_thread(store.purge_older_than, db, days)
            if deleted:
                log.info("retention: deleted %d service session(s) older than %g days", deleted, days)
        except Exception:  # noqa: BLE001 - a failed round is logged and retried, never kills the server
            log.exception("retention round failed")
        await asyncio.sleep(every_s)
