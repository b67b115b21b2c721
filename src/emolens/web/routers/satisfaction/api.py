"""/api/v1/sessions: service sessions of the signed-in account (customer satisfaction).

Thin: storage and scoring live in emolens.apps.satisfaction; the video job body and the
live recorder in web/services/sessions.py. Another account's session id answers 404.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, HTTPException, Query, Request, UploadFile
from fastapi.responses import PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection

from emolens.apps.db import Database
from emolens.apps.satisfaction import store
from emolens.apps.satisfaction.aggregate import aggregate
from emolens.apps.satisfaction.export import sessions_csv, timeline_csv
from emolens.apps.satisfaction.store import ServiceSession, SessionError, SessionFilter
from emolens.apps.satisfaction.video import Scoring
from emolens.web.auth import CurrentUser, DbDep
from emolens.web.deps import EngineDep, JobsDep, SettingsDep
from emolens.web.routers.satisfaction.schemas import (
    AggregateOut,
    GroupOut,
    SessionCreate,
    SessionCreated,
    SessionJobCreated,
    SessionOut,
    SessionSummaryOut,
)
from emolens.web.schemas import ErrorOut
from emolens.web.services.engine import Engine
from emolens.web.services.media import check_video_type, clean_filename, copy_limited
from emolens.web.services.sessions import analyze_session_video
from emolens.web.services.video import probe_video
from emolens.web.settings import Settings

router = APIRouter(prefix="/sessions", tags=["sessions"])

NOT_FOUND = {404: {"model": ErrorOut, "description": "no such session of yours"}}
CSV_RESPONSE = {200: {"content": {"text/csv": {}}}}


def get_scoring(conn: HTTPConnection) -> Scoring:
    return conn.app.state.scoring


ScoringDep = Annotated[Scoring, Depends(get_scoring)]


def session_filter(
    location: str | None = None,
    agent: str | None = None,
    start: Annotated[str | None, Query(alias="from", description="YYYY-MM-DD (inclusive) or ISO time, UTC")] = None,
    end: Annotated[str | None, Query(alias="to", description="YYYY-MM-DD (inclusive) or ISO time, UTC")] = None,
    status: Literal["open", "recording", "processing", "done", "failed"] | None = None,
    limit: Annotated[int | None, Query(ge=1, le=100_000)] = None,
) -> SessionFilter:
    filters = SessionFilter(location=location, agent=agent, start=start, end=end, status=status, limit=limit)
    try:
        filters.where(None)  # checks the dates now: 422 instead of an error deep in a query
    except SessionError as exc:
        raise HTTPException(422, str(exc)) from None
    return filters


FilterDep = Annotated[SessionFilter, Depends(session_filter)]


def find_session(db: Database, user_id: int, session_id: str) -> ServiceSession:
    found = store.get_session(db, user_id, session_id)
    if found is None:
        raise HTTPException(404, f"no session {session_id!r} in your account")
    return found


@router.post(
    "",
    status_code=201,
    response_model=SessionCreated,
    summary="Create a service session",
    responses={422: {"model": ErrorOut}},
)
def create_session(body: SessionCreate, user: CurrentUser, db: DbDep, request: Request) -> SessionCreated:
    """Then feed it: upload a video to /sessions/{id}/video, or stream the counter camera to the
    WebSocket /api/v1/sessions/{id}/live (send "stop" to score it)."""
    try:
        s = store.create_session(
            db, user.id, location=body.location, agent=body.agent, customer_ref=body.customer_ref, source="live"
        )
    except SessionError as exc:
        raise HTTPException(422, str(exc)) from None
    return SessionCreated(id=s.id, status=s.status, url=str(request.url_for("get_session", session_id=s.id).path))


@router.get("", response_model=list[SessionSummaryOut], summary="Your sessions, newest first")
def list_sessions(user: CurrentUser, db: DbDep, filters: FilterDep) -> list[SessionSummaryOut]:
    return [SessionSummaryOut(**s.to_dict(full=False)) for s in store.list_sessions(db, user.id, filters)]


@router.get("/aggregate", response_model=AggregateOut, summary="Scores per day, week, location or agent")
def aggregate_sessions(
    user: CurrentUser, db: DbDep, filters: FilterDep, by: Literal["day", "week", "location", "agent"] = "day"
) -> AggregateOut:
    """Mean and confidence-weighted scores, unscored sessions, and trends (see docs/satisfaction.md)."""
    groups = aggregate(store.list_sessions(db, user.id, filters), by)
    return AggregateOut(by=by, groups=[GroupOut(**g.to_dict()) for g in groups])


@router.get("/export.csv", response_class=PlainTextResponse, responses=CSV_RESPONSE, summary="Sessions as CSV")
def export_sessions(user: CurrentUser, db: DbDep, filters: FilterDep) -> Response:
    text = sessions_csv(store.list_sessions(db, user.id, filters))
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="sessions.csv"'},
    )


@router.get(
    "/{session_id}",
    response_model=SessionOut,
    name="get_session",
    responses=NOT_FOUND,
    summary="Score, confidence, explanation and timeline of one session",
)
def get_session(session_id: str, user: CurrentUser, db: DbDep) -> SessionOut:
    return SessionOut(**find_session(db, user.id, session_id).to_dict())


@router.get(
    "/{session_id}/timeline.csv",
    response_class=PlainTextResponse,
    responses={**CSV_RESPONSE, **NOT_FOUND},
    summary="The customer's timeline as CSV",
)
def session_timeline_csv(session_id: str, user: CurrentUser, db: DbDep) -> Response:
    s = find_session(db, user.id, session_id)
    return Response(
        timeline_csv(s),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="session-{s.id[:8]}-timeline.csv"'},
    )


@router.delete("/{session_id}", status_code=204, responses=NOT_FOUND, summary="Delete a session now")
def delete_session(session_id: str, user: CurrentUser, db: DbDep) -> Response:
    if not store.delete_session(db, user.id, session_id):
        raise HTTPException(404, f"no session {session_id!r} in your account")
    return Response(status_code=204)


def scoring_job(
    engine: Engine, video: Path, db: Database, session_id: str, scoring: Scoring, settings: Settings
) -> partial[None]:
    """The job body that scores the session from its stored video, with the server's video settings."""
    return partial(
        analyze_session_video,
        engine,
        video=video,
        db=db,
        session_id=session_id,
        scoring=scoring,
        every=settings.video_every,
        alpha=settings.live_alpha,
        max_seconds=settings.max_video_seconds,
        max_pixels=settings.max_video_pixels,
    )


async def claim_for_video(db: Database, user_id: int, session_id: str) -> None:
    """The session takes this video as its recording: 404 when it is not yours, 409 when it has one already."""
    claimed = await run_in_threadpool(store.claim_for_recording, db, user_id, session_id, "video")
    if claimed is None:
        existing = await run_in_threadpool(find_session, db, user_id, session_id)  # 404 when not yours
        raise HTTPException(
            409,
            f"session {session_id} is {existing.status}: a session takes one video or one "
            "live recording; create a new session",
        )


@router.post(
    "/{session_id}/video",
    status_code=202,
    response_model=SessionJobCreated,
    responses={
        **NOT_FOUND,
        409: {"model": ErrorOut, "description": "the session already has its recording"},
        413: {"model": ErrorOut},
        415: {"model": ErrorOut},
        503: {"model": ErrorOut},
    },
    summary="Analyse a video of the session",
)
async def upload_video(
    session_id: str,
    video: Annotated[UploadFile, File(description="MP4, MOV, AVI, MKV or WebM")],
    request: Request,
    user: CurrentUser,
    db: DbDep,
    engine: EngineDep,
    settings: SettingsDep,
    jobs: JobsDep,
    scoring: ScoringDep,
) -> SessionJobCreated:
    """A background job tracks the faces, picks the customer and scores the session; poll the job's
    `url`, then GET the session. The video is deleted as soon as it has been analysed."""
    suffix = check_video_type(video.content_type, video.filename)
    await claim_for_video(db, user.id, session_id)
    try:
        job = jobs.create(clean_filename(video.filename, f"video{suffix}"), owner=user.id)
    except Exception as exc:
        await run_in_threadpool(store.set_status, db, session_id, "failed", error=str(exc))
        raise
    path = job.workdir / f"upload{suffix}"
    try:
        await run_in_threadpool(copy_limited, video.file, path, settings.max_video_bytes, "video")
        _, path = await run_in_threadpool(probe_video, path, job.filename, max_pixels=settings.max_video_pixels)
    except BaseException as exc:
        jobs.discard(job)
        await run_in_threadpool(store.set_status, db, session_id, "failed", error=str(exc) or type(exc).__name__)
        raise
    jobs.submit(job, scoring_job(engine, path, db, session_id, scoring, settings))
    return SessionJobCreated(
        job=job.id,
        status=job.status,
        url=str(request.url_for("get_job", job_id=job.id).path),
        session_url=str(request.url_for("get_session", session_id=session_id).path),
    )
