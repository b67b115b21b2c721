"""GET /api/v1/jobs/{id} (progress, then summary + timeline) and its timeline CSV.

A job that holds an account's data (a service session's video) answers only that account;
to anyone else its id reads as missing (404). Anonymous jobs answer whoever holds the id.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse

from emolens.web.auth import OptionalAuth
from emolens.web.deps import JobsDep
from emolens.web.schemas import ErrorOut, JobOut
from emolens.web.services.jobs import Job, JobStore

router = APIRouter(prefix="/jobs", tags=["jobs"])


def _find(jobs: JobStore, job_id: str, auth: OptionalAuth) -> Job:
    job = jobs.get(job_id)
    if job is None or not job.visible_to(None if auth is None else auth.user.id):
        raise HTTPException(404, f"no job {job_id!r}: results are kept for an hour and lost when the server restarts")
    return job


@router.get(
    "/{job_id}",
    response_model=JobOut,
    name="get_job",
    responses={404: {"model": ErrorOut}},
    summary="Progress of a video job, then its summary and timeline",
)
def get_job(job_id: str, jobs: JobsDep, request: Request, auth: OptionalAuth) -> JobOut:
    """Status and progress (0..1); when done, the summary, the timeline and (photo-analysis videos) `csv_url`."""
    job = _find(jobs, job_id, auth)
    ready = job.status == "done" and job.csv_path.is_file()
    csv_url = str(request.url_for("get_job_csv", job_id=job.id).path) if ready else None
    return JobOut(**job.to_dict(), csv_url=csv_url)


@router.get(
    "/{job_id}/timeline.csv",
    name="get_job_csv",
    response_class=FileResponse,
    summary="Timeline as CSV",
    responses={
        200: {"content": {"text/csv": {}}, "description": "one row per frame and face"},
        404: {"model": ErrorOut},
        409: {"model": ErrorOut},
    },
)
def get_job_csv(job_id: str, jobs: JobsDep, auth: OptionalAuth) -> FileResponse:
    """frame, time, face_id, x, y, w, h, detected, emotion, confidence, uncertain, one column per label."""
    job = _find(jobs, job_id, auth)
    if job.status != "done":
        raise HTTPException(409, f"job {job.id} is {job.status}: the CSV is ready when the status is 'done'")
    if not job.csv_path.is_file():
        raise HTTPException(
            404,
            f"job {job.id} has no timeline CSV (a service session's video: get its timeline "
            "from /api/v1/sessions/{id}/timeline.csv)",
        )
    stem = job.filename.rsplit(".", 1)[0] or "video"  # a clean name (media.clean_filename), no path or quotes
    return FileResponse(job.csv_path, media_type="text/csv", filename=f"{stem}-timeline.csv")
