"""WebSocket /api/v1/sessions/{id}/live: the counter camera of one service session.

The same protocol as /api/v1/live (a binary JPEG frame in, {"type": "result", ...} out,
then the next frame), or, on this device, the numbers of a frame the browser read itself as the text
message {"type": "faces", "width", "height", "faces": [...]} (no answer; the only way with
EMOLENS_CAMERA_ANALYSIS=device), plus the text message "stop": the server scores what it recorded
and answers {"type": "done", "session": {...}} before closing. A connection that drops
without "stop" is scored the same way. Each connection records only its own session,
and a session accepts one connection (a second one is refused), so sessions never mix.

Who may connect: the session cookie of a signed-in browser (from a page of this site:
the Origin must match the host) or `Authorization: Bearer <token>` for API clients.
"""

from __future__ import annotations

import json
import logging
from urllib.parse import urlsplit

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool

from emolens.apps import accounts
from emolens.apps.db import Database
from emolens.apps.satisfaction import store
from emolens.apps.satisfaction.video import Scoring
from emolens.inference.limits import DecoderBusy
from emolens.web.auth import SESSION_COOKIE, DbDep
from emolens.web.deps import EngineDep, IntakeDep, PoolDep, SettingsDep
from emolens.web.routers.satisfaction.api import ScoringDep
from emolens.web.schemas import FaceOut
from emolens.web.services.device_frames import DeviceFrameError
from emolens.web.services.media import MediaError
from emolens.web.services.pool import InferencePool, ServerBusy
from emolens.web.services.sessions import LiveRecording

log = logging.getLogger(__name__)

router = APIRouter(tags=["sessions"])

CLOSE_UNAUTHORIZED, CLOSE_NOT_FOUND, CLOSE_BUSY = 4401, 4404, 4409


def ws_user(db: Database, headers, cookies) -> accounts.User | None:
    """The caller of a WebSocket: a bearer token, else the session cookie from a same-origin page."""
    authorization = headers.get("authorization")
    if authorization:
        scheme, _, token = authorization.partition(" ")
        return accounts.user_for_token(db, token.strip()) if scheme.lower() == "bearer" else None
    cookie = cookies.get(SESSION_COOKIE)
    origin = headers.get("origin")
    if not cookie or (origin and urlsplit(origin).netloc != headers.get("host")):
        return None  # a cookie sent from another site's page (cross-site WebSocket hijacking)
    session = accounts.session_for(db, cookie)
    return None if session is None else session.user


async def _refuse(ws: WebSocket, code: int, message: str) -> None:
    await ws.send_json({"type": "error", "message": message, "fatal": True})
    await ws.close(code=code)


@router.websocket("/sessions/{session_id}/live")
async def session_live(
    ws: WebSocket,
    session_id: str,
    engine: EngineDep,
    intake: IntakeDep,
    settings: SettingsDep,
    db: DbDep,
    scoring: ScoringDep,
    pool: PoolDep,
) -> None:
    await ws.accept()
    user = await run_in_threadpool(ws_user, db, ws.headers, ws.cookies)
    if user is None:
        return await _refuse(ws, CLOSE_UNAUTHORIZED, "sign in first (or send an Authorization: Bearer token)")
    claimed = await run_in_threadpool(store.claim_for_recording, db, user.id, session_id, "live")
    if claimed is None:
        existing = await run_in_threadpool(store.get_session, db, user.id, session_id)
        if existing is None:
            return await _refuse(ws, CLOSE_NOT_FOUND, f"no session {session_id!r} in your account")
        return await _refuse(
            ws,
            CLOSE_BUSY,
            f"session {session_id} is {existing.status}: a session takes one camera or one video; create a new session",
        )
    recording = LiveRecording(engine, intake, settings, session_id)
    await ws.send_json(
        {
            "type": "ready",
            "labels": list(engine.labels),
            "model": engine.model_ref(),
            "max_frame_bytes": settings.max_upload_bytes,
            "session": session_id,
            "device_only": settings.device_only,
        }
    )
    try:
        await _record(ws, recording, pool, device_only=settings.device_only)
    except WebSocketDisconnect:
        log.info(
            "session %s: camera disconnected without stop after %d frames; scoring what was recorded",
            session_id,
            recording.recorder.frames,
        )
        await _finish(ws, recording, db, scoring, reply=False)
        return
    await _finish(ws, recording, db, scoring, reply=True)


async def _record(ws: WebSocket, recording: LiveRecording, pool: InferencePool, *, device_only: bool) -> None:
    """Frames (or a device's numbers) until the client sends "stop" (returns) or leaves (WebSocketDisconnect)."""
    while True:
        message = await ws.receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000))
        if message.get("bytes") is None:
            text = (message.get("text") or "").strip()
            if text == "stop":
                return
            await _device_numbers(ws, recording, text)
            continue
        if device_only:
            await ws.send_json({"type": "error", "message": DEVICE_ONLY})
            continue
        try:
            out = await pool.run(recording.process, message["bytes"])
        except (MediaError, DecoderBusy, ServerBusy) as exc:
            await ws.send_json({"type": "error", "message": str(exc)})
            continue
        await ws.send_json(
            {
                "type": "result",
                "index": out.result.index,
                "width": out.width,
                "height": out.height,
                "ms": round(out.ms, 1),
                "faces": [FaceOut.from_face(f).model_dump() for f in out.result.faces],
            }
        )


DEVICE_ONLY = (
    "this server reads faces on the device only (EMOLENS_CAMERA_ANALYSIS=device): send each frame's numbers "
    'as {"type": "faces", ...}, never the frame'
)
WRONG_TEXT = (
    'send frames as binary JPEG/PNG messages (or, read on your device, {"type": "faces", ...}), '
    "then the text 'stop' to end the session"
)


async def _device_numbers(ws: WebSocket, recording: LiveRecording, text: str) -> None:
    """A {"type": "faces"} message: recorded, no answer; anything else gets an error and the session goes on."""
    try:
        message = json.loads(text)
    except ValueError:
        message = None
    if not (isinstance(message, dict) and message.get("type") == "faces"):
        await ws.send_json({"type": "error", "message": WRONG_TEXT})
        return
    try:
        await run_in_threadpool(recording.add_device, message)
    except (DeviceFrameError, ValueError) as exc:
        await ws.send_json({"type": "error", "message": f"frame numbers refused: {exc}"})


async def _finish(ws: WebSocket, recording: LiveRecording, db: Database, scoring: Scoring, *, reply: bool) -> None:
    analysis = await run_in_threadpool(recording.finish, db, scoring)
    if not reply:
        return
    summary = {
        "id": recording.session_id,
        "score": analysis.score,
        "confidence": analysis.confidence,
        "reason": analysis.reason,
        "frames": analysis.frames,
        "duration": round(analysis.duration, 2),
        "summary": analysis.explanation.summary,
        "url": f"/sessions/{recording.session_id}",
    }
    await ws.send_json({"type": "done", "session": summary})
    await ws.close()
