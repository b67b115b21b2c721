"""The mood journal page (/journal): check in, calibrate, trends, entries, your data. Signed-in users only."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from emolens.apps.journal.store import SUGGESTED_TAGS
from emolens.core.labels import EMOTIONS
from emolens.web.auth import OptionalAuth
from emolens.web.deps import EngineDep, SettingsDep, TemplatesDep
from emolens.web.render import render_page

router = APIRouter(include_in_schema=False)


@router.get("/journal", response_class=HTMLResponse, name="journal_page")
def journal_page(
    request: Request, auth: OptionalAuth, templates: TemplatesDep, engine: EngineDep, settings: SettingsDep
) -> Response:
    if auth is None or auth.session is None:
        return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
    return render_page(
        request,
        templates,
        engine,
        "journal.html",
        active="journal",
        auth=auth,
        moods=EMOTIONS,
        suggested_tags=SUGGESTED_TAGS,
        max_upload_mb=settings.max_upload_mb,
    )
