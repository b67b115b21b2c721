"""Satisfaction pages: the dashboard (/sessions), the counter camera (/sessions/counter) and one
session (/sessions/{id}). Signed-out visitors are sent to /login and back. Charts are plotly figure
specs from emolens.apps.satisfaction.charts, drawn with the locally served plotly.min.js."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from emolens.apps.satisfaction import store
from emolens.apps.satisfaction.aggregate import aggregate
from emolens.apps.satisfaction.charts import groups_figure, timeline_figure, trend_figure
from emolens.apps.satisfaction.store import SessionError, SessionFilter
from emolens.web.auth import DbDep, OptionalAuth
from emolens.web.deps import EngineDep, SettingsDep, TemplatesDep
from emolens.web.render import render_page

router = APIRouter(include_in_schema=False)

PAGE_LIMIT = 500  # sessions listed on the dashboard (aggregates use every session in the filter)


def _sign_in(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


@router.get("/sessions", response_class=HTMLResponse, name="sessions_page")
def sessions_page(
    request: Request,
    auth: OptionalAuth,
    db: DbDep,
    templates: TemplatesDep,
    engine: EngineDep,
    settings: SettingsDep,
    location: str = "",
    agent: str = "",
    start: Annotated[str, Query(alias="from")] = "",
    end: Annotated[str, Query(alias="to")] = "",
    period: Literal["day", "week"] = "day",
    by: Literal["location", "agent"] = "location",
) -> Response:
    if auth is None:
        return _sign_in(request)
    filters = SessionFilter(location=location or None, agent=agent or None, start=start or None, end=end or None)
    error = None
    try:
        sessions = store.list_sessions(db, auth.user.id, filters)
    except SessionError as exc:
        error, sessions = str(exc), []
    trend, groups = aggregate(sessions, period), aggregate(sessions, by)
    figures = (
        {"trend": trend_figure(trend, f"Mean score per {period}"), "groups": groups_figure(groups, by)}
        if sessions
        else {}
    )
    return render_page(
        request,
        templates,
        engine,
        "sessions.html",
        active="sessions",
        auth=auth,
        sessions=sessions[:PAGE_LIMIT],
        total=len(sessions),
        groups=[g.to_dict() for g in groups],
        figures=figures,
        error=error,
        known=store.known_values(db, auth.user.id),
        query={"location": location, "agent": agent, "from": start, "to": end, "period": period, "by": by},
        export_query=urlencode(
            {k: v for k, v in (("location", location), ("agent", agent), ("from", start), ("to", end)) if v}
        ),
        max_video_mb=settings.max_video_mb,
        retention_days=settings.satisfaction_retention_days,
    )


@router.get("/sessions/counter", response_class=HTMLResponse, name="counter_page")
def counter_page(
    request: Request, auth: OptionalAuth, db: DbDep, templates: TemplatesDep, engine: EngineDep, settings: SettingsDep
) -> Response:
    if auth is None:
        return _sign_in(request)
    return render_page(
        request,
        templates,
        engine,
        "session_counter.html",
        active="sessions",
        auth=auth,
        notice=settings.satisfaction_notice,
        retention_days=settings.satisfaction_retention_days,
        camera_view=settings.satisfaction_camera_view,
        known=store.known_values(db, auth.user.id),
    )


@router.get("/sessions/{session_id}", response_class=HTMLResponse, name="session_page")
def session_page(
    session_id: str,
    request: Request,
    auth: OptionalAuth,
    db: DbDep,
    templates: TemplatesDep,
    engine: EngineDep,
    settings: SettingsDep,
) -> Response:
    if auth is None:
        return _sign_in(request)
    found = store.get_session(db, auth.user.id, session_id)
    if found is None:
        return render_page(
            request,
            templates,
            engine,
            "session.html",
            active="sessions",
            auth=auth,
            session=None,
            status_code=404,
            figures={},
        )
    data = found.to_dict()
    timeline = data.get("timeline")
    figures = {"timeline": timeline_figure(timeline)} if timeline and timeline.get("t") else {}
    return render_page(
        request,
        templates,
        engine,
        "session.html",
        active="sessions",
        auth=auth,
        session=data,
        figures=figures,
        retention_days=settings.satisfaction_retention_days,
    )
