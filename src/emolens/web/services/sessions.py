"""Service sessions on the web (plain Python, no FastAPI): a live counter camera, an uploaded video,
the retention loop. Each live connection owns its recorder, so sessions from different browsers never mix.
Recording, scoring and storing are the app's use case (apps.satisfaction.video); this is the web's part.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any

from emolens.apps.db import Database
from emolens.apps.satisfaction import store
from emolens.apps.satisfaction.analysis import SessionAnalysis
from emolens.apps.satisfaction.recording import SessionRecorder
from emolens.apps.satisfaction.video import Scoring, failing_session, score_video
from emolens.inference.summary import VideoSummary
from emolens.inference.video import VideoError
from emolens.web.services.device_frames import device_faces
from emolens.web.services.engine import Engine
from emolens.web.services.jobs import Job
from emolens.web.services.live import LiveFrame, LiveSession
from emolens.web.services.photo import PhotoIntake
from emolens.web.services.video import open_upload, run_video_job, video_error
from emolens.web.settings import Settings

__all__ = ["LiveRecording", "Scoring", "analyze_session_video", "retention_loop", "start_retention"]

log = logging.getLogger(__name__)

RETENTION_EVERY_S = 3600.0


class LiveRecording:
    """One counter camera connection for one session: frames -> tracked faces -> per-frame numbers."""

    def __init__(self, engine: Engine, intake: PhotoIntake, settings: Settings, session_id: str):
        self.session_id = session_id
        self.model_sha256 = engine.sha256
        self.live = LiveSession(engine, intake, alpha=settings.live_alpha, max_bytes=settings.max_upload_bytes)
        self.recorder = SessionRecorder(engine.labels)

    def process(self, data: bytes) -> LiveFrame:
        """One JPEG/PNG frame (MediaError when it cannot be used; the session goes on)."""
        out = self.live.process(data)
        self.recorder.add(out.result.time, out.result.faces, out.width, out.height)
        return out

    def add_device(self, message: dict[str, Any]) -> int:
        """One frame the browser read itself: its faces' numbers, timed on arrival; the frame count so far.
        DeviceFrameError when the numbers are no frame's faces (the session goes on)."""
        faces, width, height = device_faces(message, self.recorder.labels)
        self.recorder.add(time.monotonic() - self.live.start, faces, width, height)
        return self.recorder.frames

    def finish(self, db: Database, scoring: Scoring) -> SessionAnalysis:
        """Score what was recorded and store it (numbers only); the frames are long gone."""
        store.set_status(db, self.session_id, "processing")
        with failing_session(db, self.session_id):
            analysis = scoring.analyze(self.recorder)
            store.save_analysis(db, self.session_id, analysis, self.model_sha256)
        log.info("live session %s: %d frames, score %s", self.session_id, analysis.frames, analysis.score)
        return analysis


def analyze_session_video(
    engine: Engine,
    job: Job,
    video: Path,
    *,
    db: Database,
    session_id: str,
    scoring: Scoring,
    every: int,
    alpha: float,
    max_seconds: float,
    max_pixels: int,
) -> None:
    """The job body for a session's uploaded video; always deletes the video; the session ends done or failed."""

    def run(recorder: SessionRecorder) -> VideoSummary:
        try:
            with open_upload(video, job.filename, max_pixels=max_pixels) as source:
                return run_video_job(engine, job, source, [recorder], every=every, alpha=alpha, max_seconds=max_seconds)
        except VideoError as exc:
            raise video_error(exc, video, job.filename) from None

    try:
        with failing_session(db, session_id):
            analysis, summary = score_video(run, engine.labels, scoring)
            store.save_analysis(db, session_id, analysis, engine.sha256)
    finally:
        video.unlink(missing_ok=True)
    job.frame_count = job.frames_done
    job.summary = {
        "session": session_id,
        "score": analysis.score,
        "confidence": analysis.confidence,
        "reason": analysis.reason,
        "video": summary.to_dict(),
    }
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
