"""Every API error is JSON {"detail": "<what went wrong and what to do>"}; a body size guard.

InvalidMedia 400, MediaTooLarge 413, UnsupportedMedia 415, missing/invalid fields 422,
JobsBusy 503. The guard refuses oversized uploads from Content-Length before
they are read, and stops counting bodies sent without one at the limit.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Mapping

from fastapi import FastAPI, HTTPException, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from emolens.web.services.jobs import JobsBusy
from emolens.web.services.media import MediaError, MediaTooLarge, UnsupportedMedia

log = logging.getLogger(__name__)

MULTIPART_SLACK = 64 * 1024  # multipart boundaries and headers around the file


def media_status(exc: MediaError) -> int:
    if isinstance(exc, MediaTooLarge):
        return 413
    if isinstance(exc, UnsupportedMedia):
        return 415
    return 400  # InvalidMedia and any other refusal of the content


def validation_message(errors: list[dict]) -> str:
    """Pydantic errors -> one sentence: "missing field 'image' (send multipart/form-data ...)"."""
    parts, body = [], False
    for e in errors:
        loc = [str(x) for x in e.get("loc", ())]
        body = body or (loc[:1] == ["body"])
        name = ".".join(x for x in loc if x not in ("body", "query", "path", "header")) or "request"
        parts.append(f"missing field '{name}'" if e.get("type") == "missing" else f"{name}: {e.get('msg')}")
    hint = " (send the file as multipart/form-data)" if body else ""
    return "; ".join(parts) + hint


def install_error_handlers(app: FastAPI) -> None:
    async def media_error(request: Request, exc: MediaError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=media_status(exc))

    async def busy(request: Request, exc: JobsBusy) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=503, headers={"Retry-After": "30"})

    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        return JSONResponse({"detail": validation_message(errors), "errors": jsonable_encoder(errors)},
                            status_code=422)

    async def internal(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse({"detail": "internal server error (see the server log)"}, status_code=500)

    app.add_exception_handler(MediaError, media_error)
    app.add_exception_handler(JobsBusy, busy)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(Exception, internal)


class BodyLimit:
    """Pure ASGI middleware: per-path upper bounds on HTTP request bodies (413 beyond).

    limits maps paths to bytes; a path may hold '*' for one segment ("/api/v1/sessions/*/video");
    other paths pass through untouched.
    """

    def __init__(self, app: ASGIApp, limits: Mapping[str, int]):
        self.app = app
        self.limits = {k: v for k, v in limits.items() if "*" not in k}
        self.patterns = [(re.compile("^" + re.escape(k).replace(r"\*", "[^/]+") + "$"), v)
                         for k, v in limits.items() if "*" in k]

    def limit_for(self, path: str) -> int | None:
        if path in self.limits:
            return self.limits[path]
        return next((v for pattern, v in self.patterns if pattern.match(path)), None)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self.limit_for(scope.get("path", "")) if scope["type"] == "http" else None
        if limit is None:
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            await JSONResponse({"detail": too_large(int(length), limit)}, status_code=413,
                               headers={"Connection": "close"})(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                raise HTTPException(413, too_large(seen, limit, so_far=True))
            return message

        await self.app(scope, counted, send)


def too_large(size: int, limit: int, *, so_far: bool = False) -> str:
    size_text = f"{'more than ' if so_far else ''}{size / 2**20:.1f} MB"
    return (f"the upload ({size_text}) is over this server's limit of "
            f"{(limit - MULTIPART_SLACK) / 2**20:.0f} MB: send a smaller file")
