"""Rendering a page that extends base.html: the footer's model, the signed-in user, the CSRF token."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from emolens.web.auth import Auth
from emolens.web.services.engine import Engine


def render_page(
    request: Request,
    templates: Jinja2Templates,
    engine: Engine,
    name: str,
    *,
    active: str,
    auth: Auth | None = None,
    status_code: int = 200,
    **extra: Any,
) -> HTMLResponse:
    """Pages get `user` (None when signed out) and `csrf_token` (for forms and the X-CSRF-Token header)."""
    context = {
        "active": active,
        "labels": list(engine.labels),
        "model": engine.model_ref(),
        "user": None if auth is None else auth.user,
        "csrf_token": None if auth is None else auth.csrf_token,
        "device_only": request.app.state.settings.device_only,  # camera pages offer "on this device" only
        **extra,
    }
    return templates.TemplateResponse(request, name, context, status_code=status_code)
