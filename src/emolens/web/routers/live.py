"""WebSocket /api/v1/live: send a JPEG frame (binary), get its faces back (JSON), then send the next.

Messages from the server: {"type": "ready", "labels", "model", "max_frame_bytes"} once,
then per frame {"type": "result", "index", "width", "height", "ms", "faces": [...]}
or {"type": "error", "message"}. Send the text "reset" to forget tracks.

Frames are decoded through the server's PhotoIntake (limits and decode gate); browsers may
connect only from pages of this server (the Origin check in web/guards.py).
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool

from emolens.inference.limits import DecoderBusy
from emolens.web.deps import EngineDep, IntakeDep, SettingsDep
from emolens.web.schemas import FaceOut
from emolens.web.services.live import LiveSession
from emolens.web.services.media import MediaError

log = logging.getLogger(__name__)

router = APIRouter(tags=["live"])


DEVICE_ONLY = (
    "this server reads faces on your device only (EMOLENS_CAMERA_ANALYSIS=device) and accepts no frames: "
    'choose "on this device" on the live page'
)


@router.websocket("/live")
async def live(ws: WebSocket, engine: EngineDep, intake: IntakeDep, settings: SettingsDep) -> None:
    await ws.accept()
    if settings.device_only:
        await ws.send_json({"type": "error", "message": DEVICE_ONLY, "fatal": True})
        await ws.close(code=1008)  # policy violation
        return
    session = LiveSession(engine, intake, alpha=settings.live_alpha, max_bytes=settings.max_upload_bytes)
    await ws.send_json(
        {
            "type": "ready",
            "labels": list(engine.labels),
            "model": engine.model_ref(),
            "max_frame_bytes": settings.max_upload_bytes,
        }
    )
    try:
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            if message.get("bytes") is None:
                if (message.get("text") or "").strip() == "reset":
                    session.reset()
                    await ws.send_json({"type": "reset"})
                else:
                    await ws.send_json({"type": "error", "message": "send frames as binary JPEG/PNG messages"})
                continue
            try:
                out = await run_in_threadpool(session.process, message["bytes"])
            except (MediaError, DecoderBusy) as exc:
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
    except WebSocketDisconnect:
        log.debug("live client left after %d frames", session.index)
