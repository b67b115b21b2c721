"""/api/v1/journal check-ins and baseline. Thin: the work is in apps.journal and services.journal.

Another user's check-in id answers 404 exactly like a missing one. A check-in sent with an
`Idempotency-Key` header is stored once: a retry with the same key gets the first result.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from emolens.apps.journal import checkin as usecase
from emolens.apps.journal import store
from emolens.apps.journal.checkin import baseline_from_shares, checkin_from_shares
from emolens.apps.journal.readings import NoFaceFound, manual_reading
from emolens.web.auth import CurrentUser, DbDep
from emolens.web.deps import EngineDep, IntakeDep, SettingsDep, get_pool
from emolens.web.errors import json_body
from emolens.web.routers.journal.schemas import BaselineOut, CheckInOut, CheckInPatch, DeviceIn, MoodIn
from emolens.web.schemas import ErrorOut
from emolens.web.services import journal as service
from emolens.web.services.media import UnsupportedMedia, clean_filename

router = APIRouter(prefix="/journal", tags=["journal"])

CheckInId = Annotated[int, Path(description="a check-in id (yours; others' read as missing)")]
IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,255}")
DEVICE_ONLY = (
    "this server reads faces on your device only (EMOLENS_CAMERA_ANALYSIS=device) and accepts no pictures: "
    'check in "on this device" or pick a mood'
)
NOT_FOUND = {404: {"model": ErrorOut, "description": "no such check-in of yours"}}
CHECKIN_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"oneOf": [MoodIn.model_json_schema(), DeviceIn.model_json_schema()]}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "image": {"type": "string", "format": "binary", "description": "one photo (source 'photo')"},
                        "frames": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                            "description": f"camera frames, up to {service.MAX_FRAMES} (source 'camera')",
                        },
                        "note": {"type": "string"},
                        "tags": {"type": "string", "description": "comma-separated"},
                        "keep_image": {
                            "type": "boolean",
                            "description": "keep the photo (default: only numbers are stored)",
                        },
                        "contribute": {
                            "type": "boolean",
                            "description": "contribute this check-in's 48x48 gray face crop (never the photo) to "
                            "improve the shared model once you correct it (default: off)",
                        },
                        "tz_offset_minutes": {"type": "integer"},
                    },
                }
            },
        },
    },
    "parameters": [
        {
            "name": "Idempotency-Key",
            "in": "header",
            "required": False,
            "schema": {"type": "string"},
            "description": "a key of your choice (a UUID); a retry with the same key returns the first "
            "check-in instead of storing a second one",
        }
    ],
}
CALIBRATE_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": DeviceIn.model_json_schema()},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        k: CHECKIN_BODY["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"][k]
                        for k in ("image", "frames")
                    },
                }
            },
        },
    }
}


def not_found(checkin_id: int) -> HTTPException:
    return HTTPException(404, f"no check-in {checkin_id}")


def refused(exc: Exception) -> HTTPException:
    return HTTPException(422, str(exc))


async def uploads_from(request: Request, max_bytes: int) -> tuple[list[service.Upload], dict[str, str]]:
    """Files in the 'frames' (several) or 'image' (one) fields, and the text fields of a multipart form."""
    form = await request.form(max_files=service.MAX_FRAMES + 1)
    files = [f for f in (form.getlist("frames") or form.getlist("image")) if isinstance(f, UploadFile)]
    uploads = [
        service.Upload(await f.read(max_bytes + 1), clean_filename(f.filename, "frame.jpg"), f.content_type)
        for f in files
    ]
    fields = {k: v for k, v in form.multi_items() if isinstance(v, str)}
    return uploads, fields


def _mood(value: str):
    try:
        return manual_reading(value.strip().lower())
    except ValueError as exc:
        raise refused(exc) from None


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "on", "yes")


def _offset(value: str | None) -> int | None:
    try:
        return None if value in (None, "") else int(value)
    except ValueError:
        raise HTTPException(422, f"tz_offset_minutes must be whole minutes, got {value!r}") from None


def idempotency_key(request: Request) -> str | None:
    key = request.headers.get("idempotency-key")
    if key is not None and not IDEMPOTENCY_KEY.fullmatch(key):
        raise HTTPException(422, "Idempotency-Key: 1 to 255 visible ASCII characters (a UUID makes a good key)")
    return key


@router.post(
    "/checkins",
    status_code=201,
    response_model=CheckInOut,
    openapi_extra=CHECKIN_BODY,
    summary="Check in: a photo, camera frames, or a mood",
    responses={
        **NOT_FOUND,
        415: {"model": ErrorOut},
        422: {"model": ErrorOut, "description": "no face found, bad tags or note"},
    },
)
async def create_checkin(
    request: Request,
    response: Response,
    user: CurrentUser,
    db: DbDep,
    engine: EngineDep,
    intake: IntakeDep,
    settings: SettingsDep,
) -> CheckInOut:
    """JSON `{"mood": "happy", "note": "...", "tags": [...]}`, or multipart with `image` (a photo) or
    `frames` (a few seconds of camera frames, aggregated into one check-in), or JSON `{"source": "device",
    "shares": {...}, "confidence": ..., "frames": ...}`: a camera check-in read on your own device.

    Only numbers are stored (shares per emotion, confidence); the photo is kept only with `keep_image=true`.
    """
    key = idempotency_key(request)
    earlier = None if key is None else await run_in_threadpool(store.checkin_for_key, db, user.id, key)
    if earlier is not None:
        response.headers["Idempotent-Replayed"] = "true"
        return CheckInOut(**earlier.to_dict())
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    notice = None
    try:
        if kind == "application/json":
            checkin, notice = await _json_checkin(request, db, user.id, key)
        elif kind in ("multipart/form-data", "application/x-www-form-urlencoded"):
            checkin, notice = await _form_checkin(request, db, engine, intake, settings, user.id, key)
        else:
            raise UnsupportedMedia(
                f'send JSON ({{"mood": ...}}) or multipart/form-data (image or frames), '
                f"not {kind or 'no content type'!r}"
            )
    except (NoFaceFound, store.JournalError) as exc:
        raise refused(exc) from None
    return CheckInOut(**checkin.to_dict(), notice=notice)


async def _json_checkin(request: Request, db, user_id: int, key: str | None) -> tuple[store.CheckIn, str | None]:
    """A mood, or a camera check-in read on the user's device (`"source": "device"`)."""
    data = await json_body(request)
    device = isinstance(data, dict) and data.get("source") == "device"
    try:
        body = (DeviceIn if device else MoodIn).model_validate(data)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False)) from None
    if isinstance(body, DeviceIn):
        return await run_in_threadpool(
            checkin_from_shares,
            db,
            user_id,
            body.shares,
            confidence=body.confidence,
            frames=body.frames,
            total_frames=body.total_frames,
            most_faces=body.most_faces,
            note=body.note,
            tags=body.tags,
            tz_offset_minutes=body.tz_offset_minutes,
            idempotency_key=key,
        )
    checkin = await run_in_threadpool(
        store.add_checkin,
        db,
        user_id,
        manual_reading(body.mood),
        source="manual",
        note=body.note,
        tags=body.tags,
        at=body.at,
        tz_offset_minutes=body.tz_offset_minutes,
        idempotency_key=key,
    )
    return checkin, None


async def _form_checkin(request: Request, db, engine, intake, settings, user_id: int, key: str | None):
    """(check-in, notice) from a form: a picked mood, a photo or camera frames."""
    uploads, fields = await uploads_from(request, settings.max_upload_bytes)
    offset = _offset(fields.get("tz_offset_minutes"))
    if uploads and settings.device_only:
        raise HTTPException(403, DEVICE_ONLY)
    if fields.get("mood") and not uploads:
        checkin = await run_in_threadpool(
            store.add_checkin,
            db,
            user_id,
            _mood(fields["mood"]),
            source="manual",
            note=fields.get("note", ""),
            tags=fields.get("tags"),
            tz_offset_minutes=offset,
            idempotency_key=key,
        )
        return checkin, None
    service.check_uploads(uploads, max_bytes=settings.max_upload_bytes)
    return await get_pool(request).run(  # the analysis: on the engine's workers, 503 past their limit
        service.checkin_from_uploads,
        db,
        engine,
        intake,
        user_id,
        uploads,
        note=fields.get("note", ""),
        tags=fields.get("tags"),
        tz_offset_minutes=offset,
        keep_image=_flag(fields.get("keep_image")),
        data_dir=settings.data_dir,
        idempotency_key=key,
        contribute=_flag(fields.get("contribute")),
    )


@router.get("/checkins", response_model=list[CheckInOut], summary="Your check-ins, newest first")
def list_checkins(user: CurrentUser, db: DbDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[CheckInOut]:
    return [CheckInOut(**c.to_dict()) for c in store.list_checkins(db, user.id, limit=limit, newest_first=True)]


@router.get("/checkins/{checkin_id}", response_model=CheckInOut, responses=NOT_FOUND, summary="One check-in")
def get_checkin(checkin_id: CheckInId, user: CurrentUser, db: DbDep) -> CheckInOut:
    checkin = store.get_checkin(db, user.id, checkin_id)
    if checkin is None:
        raise not_found(checkin_id)
    return CheckInOut(**checkin.to_dict())


@router.patch(
    "/checkins/{checkin_id}",
    response_model=CheckInOut,
    responses=NOT_FOUND,
    summary="Correct the emotion, or change the note or tags",
)
def patch_checkin(checkin_id: CheckInId, body: CheckInPatch, user: CurrentUser, db: DbDep) -> CheckInOut:
    """A correction is kept next to the estimate, counts in trends, and teaches your personal adaptation."""
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    try:
        checkin = usecase.edit_checkin(db, user.id, checkin_id, **changes)
    except store.JournalError as exc:
        raise refused(exc) from None
    if checkin is None:
        raise not_found(checkin_id)
    return CheckInOut(**checkin.to_dict())


@router.delete(
    "/checkins/{checkin_id}",
    status_code=204,
    responses=NOT_FOUND,
    summary="Delete a check-in (and its kept photo and contributed crop)",
)
def delete_checkin(checkin_id: CheckInId, user: CurrentUser, db: DbDep, settings: SettingsDep) -> Response:
    if not usecase.delete_checkin(db, user.id, checkin_id, data_dir=settings.data_dir):
        raise not_found(checkin_id)
    return Response(status_code=204)


@router.get(
    "/checkins/{checkin_id}/image",
    response_class=FileResponse,
    responses=NOT_FOUND,
    summary="The photo you chose to keep with a check-in",
)
def checkin_image(checkin_id: CheckInId, user: CurrentUser, db: DbDep, settings: SettingsDep) -> FileResponse:
    checkin = store.get_checkin(db, user.id, checkin_id)
    if checkin is None or checkin.image_file is None:
        raise HTTPException(404, f"no kept photo for check-in {checkin_id}")
    return FileResponse(
        store.image_path(settings.data_dir, checkin.image_file),
        media_type="image/jpeg",
        headers={"Cache-Control": "private, no-store"},
    )


@router.post(
    "/baseline",
    response_model=BaselineOut,
    summary="Calibrate: your relaxed face in a few frames",
    openapi_extra=CALIBRATE_BODY,
    responses={422: {"model": ErrorOut, "description": "no face found"}},
)
async def calibrate(
    request: Request, user: CurrentUser, db: DbDep, engine: EngineDep, intake: IntakeDep, settings: SettingsDep
) -> BaselineOut:
    """Later camera and photo check-ins are read relative to this face (docs/journal.md). No image is stored.

    `warning` is set when the face is not near neutral (a smile, a frown): calibrate again with a relaxed face.
    """
    if request.headers.get("content-type", "").split(";")[0].strip().lower() == "application/json":
        return await _device_baseline(request, db, user.id)
    uploads, _ = await uploads_from(request, settings.max_upload_bytes)
    if uploads and settings.device_only:
        raise HTTPException(403, DEVICE_ONLY)
    service.check_uploads(uploads, max_bytes=settings.max_upload_bytes)
    try:
        baseline, notice = await get_pool(request).run(
            service.baseline_from_uploads, db, engine, intake, user.id, uploads
        )
    except (NoFaceFound, store.JournalError) as exc:
        raise refused(exc) from None
    return BaselineOut(**baseline.to_dict(), notice=notice)


async def _device_baseline(request: Request, db, user_id: int) -> BaselineOut:
    """Calibration read on the user's device: JSON {"source": "device", "shares", "confidence", "frames"}."""
    try:
        body = DeviceIn.model_validate(await json_body(request))
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False)) from None
    try:
        baseline, notice = await run_in_threadpool(
            baseline_from_shares,
            db,
            user_id,
            body.shares,
            confidence=body.confidence,
            frames=body.frames,
            total_frames=body.total_frames,
            most_faces=body.most_faces,
        )
    except store.JournalError as exc:
        raise refused(exc) from None
    return BaselineOut(**baseline.to_dict(), notice=notice)


@router.get("/baseline", response_model=BaselineOut | None, summary="Your baseline (null before calibrating)")
def get_baseline(user: CurrentUser, db: DbDep) -> BaselineOut | None:
    baseline = store.get_baseline(db, user.id)
    return None if baseline is None else BaselineOut(**baseline.to_dict())


@router.delete("/baseline", status_code=204, summary="Forget your baseline")
def delete_baseline(user: CurrentUser, db: DbDep) -> Response:
    usecase.delete_baseline(db, user.id)
    return Response(status_code=204)
