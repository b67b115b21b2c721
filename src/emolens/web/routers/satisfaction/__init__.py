"""Customer satisfaction on the web: sessions, their videos and reports (api), the counter camera (live), the
dashboard and session pages (pages). Thin: the work is in apps.satisfaction and web.services.sessions."""

from __future__ import annotations

from fastapi import FastAPI

from emolens.apps.satisfaction.video import Scoring
from emolens.web.routers.satisfaction import api, live, pages
from emolens.web.services.sessions import start_retention
from emolens.web.settings import Settings
from emolens.web.webapp import Stop, WebApp


def setup(app: FastAPI, settings: Settings) -> None:
    app.state.scoring = Scoring.from_settings(settings)  # the customer rule: a malformed one fails here


async def start(app: FastAPI) -> Stop:
    """The retention loop (EMOLENS_SATISFACTION_RETENTION_DAYS), cancelled when the server stops."""
    retention = start_retention(app.state.db, app.state.settings.satisfaction_retention_days)
    return retention.cancel


WEB_APP = WebApp(
    "satisfaction",
    api=(api.router, live.router),
    pages=(pages.router,),
    uploads=(("/sessions/*/video", "video"),),
    setup=setup,
    start=start,
)
