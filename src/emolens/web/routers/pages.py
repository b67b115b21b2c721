"""The HTML pages: Photo (/), Live camera (/live), Video (/video), and /favicon.ico. All assets are served locally."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse

from emolens.web.auth import OptionalAuth
from emolens.web.deps import EngineDep, SettingsDep, TemplatesDep

router = APIRouter(include_in_schema=False)

FAVICON = Path(__file__).resolve().parents[1] / "static" / "img" / "favicon.ico"


def _render(request: Request, templates, name: str, active: str, engine, settings, auth=None, **extra) -> HTMLResponse:
    context = {
        "active": active,
        "labels": list(engine.labels),
        "model": engine.model_ref(),
        "user": auth and auth.user,
        "csrf_token": auth and auth.csrf_token,
        "max_upload_mb": settings.max_upload_mb,
        "max_video_mb": settings.max_video_mb,
        "max_video_seconds": settings.max_video_seconds,
        "device_only": settings.device_only,
        **extra,
    }
    return templates.TemplateResponse(request, name, context)


@router.get("/", response_class=HTMLResponse, name="photo_page")
def photo_page(request: Request, templates: TemplatesDep, engine: EngineDep, settings: SettingsDep, auth: OptionalAuth):
    return _render(request, templates, "photo.html", "photo", engine, settings, auth)


@router.get("/live", response_class=HTMLResponse, name="live_page")
def live_page(request: Request, templates: TemplatesDep, engine: EngineDep, settings: SettingsDep, auth: OptionalAuth):
    return _render(request, templates, "live.html", "live", engine, settings, auth)


@router.get("/video", response_class=HTMLResponse, name="video_page")
def video_page(request: Request, templates: TemplatesDep, engine: EngineDep, settings: SettingsDep, auth: OptionalAuth):
    return _render(request, templates, "video.html", "video", engine, settings, auth)


@router.get("/favicon.ico", name="favicon")
def favicon() -> FileResponse:
    """For clients that ask for /favicon.ico themselves; pages link static/img/favicon.svg."""
    return FileResponse(
        FAVICON, media_type="image/vnd.microsoft.icon", headers={"Cache-Control": "public, max-age=86400"}
    )
