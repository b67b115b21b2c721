"""Every API error is JSON {"detail": "<what went wrong and what to do>"}, never a traceback.

InvalidMedia 400, MediaTooLarge 413, UnsupportedMedia 415, missing/invalid fields 422,
JobsBusy, DecoderBusy, HashesBusy and ServerBusy 503, TooManyAttempts 429 (all with Retry-After).
`json_body` reads a JSON body and answers every way it can be malformed (empty, not
UTF-8, invalid, nested too deep, a number too long) with 400. Body size and pace are
guarded before routes run (web/guards.py).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from emolens.inference.limits import DecoderBusy
from emolens.web.services.jobs import JobsBusy
from emolens.web.services.login import HashesBusy, TooManyAttempts
from emolens.web.services.media import MediaError, MediaTooLarge, UnsupportedMedia
from emolens.web.services.pool import ServerBusy

log = logging.getLogger(__name__)


def media_status(exc: MediaError) -> int:
    if isinstance(exc, MediaTooLarge):
        return 413
    if isinstance(exc, UnsupportedMedia):
        return 415
    return 400  # InvalidMedia and any other refusal of the content


def validation_message(errors: list[dict], *, form: bool = True) -> str:
    """Pydantic errors -> one sentence: "missing field 'image' (send multipart/form-data ...)".

    The multipart hint is given for a missing body field of a request that was not JSON (form=True).
    """
    parts, body = [], False
    for e in errors:
        loc = [str(x) for x in e.get("loc", ())]
        body = body or (form and loc[:1] == ["body"] and e.get("type") == "missing")
        name = ".".join(x for x in loc if x not in ("body", "query", "path", "header")) or "request"
        parts.append(f"missing field '{name}'" if e.get("type") == "missing" else f"{name}: {e.get('msg')}")
    hint = " (send the file as multipart/form-data)" if body else ""
    return "; ".join(parts) + hint


def install_error_handlers(app: FastAPI) -> None:
    async def media_error(request: Request, exc: MediaError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=media_status(exc))

    async def busy(request: Request, exc: JobsBusy) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=503, headers={"Retry-After": "30"})

    async def decoders_busy(request: Request, exc: DecoderBusy | HashesBusy) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=503, headers={"Retry-After": "5"})

    async def server_busy(request: Request, exc: ServerBusy) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=503, headers={"Retry-After": str(exc.retry_after)})

    async def throttled(request: Request, exc: TooManyAttempts) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=429, headers={"Retry-After": str(exc.retry_after)})

    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{k: v for k, v in e.items() if k != "input"} for e in exc.errors()]  # never echo a password back
        form = "json" not in request.headers.get("content-type", "")
        return JSONResponse(
            {"detail": validation_message(errors, form=form), "errors": jsonable_encoder(errors)}, status_code=422
        )

    async def internal(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse({"detail": "internal server error (see the server log)"}, status_code=500)

    app.add_exception_handler(MediaError, media_error)
    app.add_exception_handler(JobsBusy, busy)
    app.add_exception_handler(DecoderBusy, decoders_busy)
    app.add_exception_handler(HashesBusy, decoders_busy)
    app.add_exception_handler(ServerBusy, server_busy)
    app.add_exception_handler(TooManyAttempts, throttled)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(Exception, internal)


async def json_body(request: Request) -> Any:
    """The request's JSON document; HTTPException 400 naming what is wrong with it."""
    raw = await request.body()
    if not raw.strip():
        raise HTTPException(400, "the request body is empty: send a JSON document")
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise HTTPException(400, "the request body is not UTF-8 text: send JSON encoded as UTF-8") from None
    except RecursionError:
        raise HTTPException(400, "the JSON document is nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, and integers longer than Python's 4300-digit limit
        raise HTTPException(400, f"invalid JSON: {str(exc)[:200]}") from None
