"""WebSocket /api/v1/live: send a JPEG frame (binary), get its faces back (JSON), then send the next.

Messages from the server: {"type": "ready", "labels", "model", "max_frame_bytes"} once,
then per frame {"type": "result", "index", "width", "height", "ms", "faces": [...]}
or {"type": "error", "message"}. Send the text "reset" to forget tracks. Frames that arrive while
one is analysed are not queued: only the newest waits, the others are dropped (`dropped` in
each result counts them), so a fast sender gets current answers, never a growing delay.

Frames are decoded through the server's PhotoIntake (limits and decode gate); browsers may
connect only from pages of this server (the Origin check in web/guards.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from emolens.inference.limits import DecoderBusy
from emolens.web.deps import EngineDep, IntakeDep, PoolDep, SettingsDep
from emolens.web.schemas import FaceOut
from emolens.web.services.live import LiveSession
from emolens.web.services.media import MediaError
from emolens.web.services.pool import ServerBusy

log = logging.getLogger(__name__)

router = APIRouter(tags=["live"])


DEVICE_ONLY = (
    "this server reads faces on your device only (EMOLENS_CAMERA_ANALYSIS=device) and accepts no frames: "
    'choose "on this device" on the live page'
)


@router.websocket("/live")
async def live(ws: WebSocket, engine: EngineDep, intake: IntakeDep, settings: SettingsDep, pool: PoolDep) -> None:
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
    inbox = LatestFrames()
    reader = asyncio.create_task(inbox.fill(ws))
    try:
        while (message := await inbox.next()) is not None:
            if isinstance(message, str):
                if message.strip() == "reset":
                    session.reset()
                    await ws.send_json({"type": "reset"})
                else:
                    await ws.send_json({"type": "error", "message": "send frames as binary JPEG/PNG messages"})
                continue
            try:
                out = await pool.run(session.process, message)
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
                    "dropped": inbox.dropped,
                    "faces": [FaceOut.from_face(f).model_dump() for f in out.result.faces],
                }
            )
    except WebSocketDisconnect:
        pass
    finally:
        reader.cancel()
        log.debug("live client left after %d frames (%d dropped)", session.index, inbox.dropped)


class LatestFrames:
    """What a live client sent and is not answered yet: commands in order, and only the newest frame.

    A client that sends frames faster than they are analysed gets the newest one analysed next;
    the frames in between are dropped (counted in `dropped`, reported with every result), so the
    answers stay current instead of falling further behind a queue.
    """

    def __init__(self) -> None:
        self.pending: deque[bytes | str | None] = deque()
        self.received = 0  # messages read from the client
        self.dropped = 0
        self._ready = asyncio.Event()

    async def fill(self, ws: WebSocket) -> None:
        try:
            while True:
                message = await ws.receive()
                if message["type"] == "websocket.disconnect":
                    break
                self.received += 1
                data = message.get("bytes")
                item = data if data is not None else (message.get("text") or "")
                if isinstance(item, bytes) and self.pending and isinstance(self.pending[-1], bytes):
                    self.pending[-1] = item  # the older frame was never started: drop it
                    self.dropped += 1
                else:
                    self.pending.append(item)
                self._ready.set()
        except (WebSocketDisconnect, RuntimeError):
            pass
        self.pending.append(None)  # the end
        self._ready.set()

    async def next(self) -> bytes | str | None:
        while not self.pending:
            self._ready.clear()
            await self._ready.wait()
        return self.pending.popleft()
