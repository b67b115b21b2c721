"""POST /api/v1/analyze (a photo) and /api/v1/analyze/video (starts a background job).

Neither needs an account, and neither ties what it is sent to one: a video job is
anonymous, reachable only through its unguessable id.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter, File, Request, UploadFile
from starlette.concurrency import run_in_threadpool

from emolens.web.deps import EngineDep, IntakeDep, JobsDep, PoolDep, SettingsDep
from emolens.web.schemas import AnalyzeOut, ErrorOut, FaceOut, JobCreated, ModelRef
from emolens.web.services.media import check_image_type, check_size, check_video_type, clean_filename, copy_limited
from emolens.web.services.photo import analyze_photo
from emolens.web.services.video import analyze_video_job, probe_video

router = APIRouter(prefix="/analyze", tags=["analyze"])

UPLOAD_ERRORS = {
    400: {"model": ErrorOut, "description": "the file is empty, truncated or cannot be decoded"},
    413: {"model": ErrorOut, "description": "over the upload size, pixel or decode-memory limit (named in the reply)"},
    415: {"model": ErrorOut, "description": "not a supported image/video format (sniffed from the bytes)"},
    422: {"model": ErrorOut, "description": "the multipart field is missing"},
}


BUSY = {503: {"model": ErrorOut, "description": "the server is at its limit of analyses at once: see Retry-After"}}


@router.post(
    "", response_model=AnalyzeOut, responses={**UPLOAD_ERRORS, **BUSY}, summary="Faces and emotions in one photo"
)
async def analyze_image(
    image: Annotated[UploadFile, File(description="JPEG, PNG, GIF, BMP, WebP or TIFF")],
    engine: EngineDep,
    intake: IntakeDep,
    settings: SettingsDep,
    pool: PoolDep,
) -> AnalyzeOut:
    """Detect every face, classify its emotion. Nothing is stored: the photo is analysed in memory.

    At most EMOLENS_MAX_INFLIGHT photos are analysed or waiting at once; past that the answer is 503
    with a Retry-After header, at once, instead of a queue that grows without end.
    """
    check_image_type(image.content_type, image.filename)
    data = await image.read(settings.max_upload_bytes + 1)
    check_size(len(data), settings.max_upload_bytes, "image")
    result = await pool.run(analyze_photo, engine, intake, data, name=clean_filename(image.filename, "upload"))
    return AnalyzeOut(
        faces=[FaceOut.from_face(f) for f in result.faces],
        width=result.width,
        height=result.height,
        model=ModelRef(**engine.model_ref()),
    )


@router.post(
    "/video",
    status_code=202,
    response_model=JobCreated,
    responses={**UPLOAD_ERRORS, 503: {"model": ErrorOut, "description": "too many jobs waiting"}},
    summary="Start analysing a video",
)
async def analyze_video(
    video: Annotated[UploadFile, File(description="MP4, MOV, AVI, MKV or WebM")],
    request: Request,
    engine: EngineDep,
    settings: SettingsDep,
    jobs: JobsDep,
) -> JobCreated:
    """Queue a background job; poll the returned `url` for progress, then the summary and timeline.

    The video is written to a private temporary file, deleted as soon as it has been analysed.
    """
    suffix = check_video_type(video.content_type, video.filename)
    job = jobs.create(clean_filename(video.filename, f"video{suffix}"))
    path = job.workdir / f"upload{suffix}"
    try:
        await run_in_threadpool(copy_limited, video.file, path, settings.max_video_bytes, "video")
        _, path = await run_in_threadpool(probe_video, path, job.filename, max_pixels=settings.max_video_pixels)
    except BaseException:
        jobs.discard(job)
        raise
    jobs.submit(
        job,
        partial(
            analyze_video_job,
            engine,
            video=path,
            every=settings.video_every,
            alpha=settings.live_alpha,
            max_seconds=settings.max_video_seconds,
            max_pixels=settings.max_video_pixels,
        ),
    )
    return JobCreated(id=job.id, status=job.status, url=str(request.url_for("get_job", job_id=job.id).path))
