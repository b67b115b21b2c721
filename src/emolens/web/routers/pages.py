"""The HTML pages: Photo (/), Live camera (/live), Video (/video). All assets are served locally."""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from emolens.web.deps import EngineDep, SettingsDep, TemplatesDep

router = APIRouter(include_in_schema=False)


def _render(request: Request, templates, name: str, active: str, engine, settings, **extra) -> HTMLResponse:
    context = {"active": active, "labels": list(engine.labels), "model": engine.model_ref(),
               "max_upload_mb": settings.max_upload_mb, "max_video_mb": settings.max_video_mb,
               "max_video_seconds": settings.max_video_seconds, **extra}
    return templates.TemplateResponse(request, name, context)


@router.get("/", response_class=HTMLResponse, name="photo_page")
def photo_page(request: Request, templates: TemplatesDep, engine: EngineDep, settings: SettingsDep):
    return _render(request, templates, "photo.html", "photo", engine, settings)


@router.get("/live", response_class=HTMLResponse, name="live_page")
def live_page(request: Request, templates: TemplatesDep, engine: EngineDep, settings: SettingsDep):
    return _render(request, templates, "live.html", "live", engine, settings)


@router.get("/video", response_class=HTMLResponse, name="video_page")
def video_page(request: Request, templates: TemplatesDep, engine: EngineDep, settings: SettingsDep):
    return _render(request, templates, "video.html", "video", engine, settings)
