"""The app factory: `create_app(settings)`; the engine is built in `lifespan`, never at import.

uvicorn.run(create_app(Settings.from_env()), host="127.0.0.1", port=8000)
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from emolens import __version__
from emolens.apps.accounts import password_hasher
from emolens.apps.db import open_database
from emolens.apps.registry import all_migrations
from emolens.inference.limits import OPENCV_PIXELS_ENV
from emolens.web.errors import install_error_handlers
from emolens.web.guards import MULTIPART_SLACK, BodyLimit, BodyRule, HostGuard, default_hosts
from emolens.web.routers import account, analyze, auth, docs, jobs, live, ondevice, pages, pwa, system
from emolens.web.routers.journal import WEB_APP as JOURNAL
from emolens.web.routers.satisfaction import WEB_APP as SATISFACTION
from emolens.web.services.engine import Engine, ServedEngine
from emolens.web.services.jobs import JobStore
from emolens.web.services.login import HashGate, Login, LoginThrottle, ThrottlePolicy
from emolens.web.services.photo import PhotoIntake
from emolens.web.services.pool import InferencePool
from emolens.web.settings import Settings
from emolens.web.webapp import WebApp

log = logging.getLogger(__name__)

WEB_DIR = Path(__file__).resolve().parent
API_PREFIX = "/api/v1"
API_ROUTERS = (analyze, jobs, live, ondevice, system, auth)  # the runtime and accounts, under API_PREFIX
PAGE_ROUTERS = (pages, account, pwa)
APPS: tuple[WebApp, ...] = (JOURNAL, SATISFACTION)  # one router package per app (web/routers/<app>/)
DESCRIPTION = """Facial emotion recognition for photos, videos and live cameras.

The analysis endpoints store nothing you send: photos and live frames are analysed in memory;
an uploaded video is kept in a private temporary file until it has been analysed. The mood
journal (`/api/v1/journal`, signed-in users) stores numbers derived from your check-ins, never
an image unless you ask for it, and exports or deletes everything on request. Emotion estimates
describe facial expressions, they are not a diagnosis of how anyone feels.

Live camera: WebSocket `/api/v1/live` (not listed below, OpenAPI cannot describe it): send a JPEG
frame as a binary message, get `{"type": "result", "faces": [...]}` back, then send the next one.
A service session's counter camera: WebSocket `/api/v1/sessions/{id}/live`, the same protocol, then
the text `stop` to score the session (customer satisfaction, signed in)."""


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    await run_in_threadpool(app.state.served.start)  # the model named, else the data folder's active one
    app.state.db = await run_in_threadpool(open_database, settings.db_path, all_migrations())
    app.state.jobs = JobStore.for_process(
        settings.data_dir / "jobs", max_jobs=settings.max_jobs, ttl_s=settings.job_ttl_s
    )
    app.state.login = Login(
        LoginThrottle(
            ThrottlePolicy(
                user_failures=settings.login_user_failures,
                address_failures=settings.login_address_failures,
                backoff_s=settings.login_backoff_s,
                backoff_max_s=settings.login_backoff_max_s,
            )
        ),
        HashGate(settings.max_hashes),
    )
    await run_in_threadpool(app.state.login.gate.dummy, app.state.hasher)  # unknown users cost a real check
    log.info(
        "photos: headers checked against %d pixels; OpenCV's own limit (%s, set by `emolens serve` before "
        "OpenCV loads): %s",
        settings.max_pixels,
        OPENCV_PIXELS_ENV,
        os.environ.get(OPENCV_PIXELS_ENV, "its default"),
    )
    pool: InferencePool = app.state.pool
    log.info(
        "analyses run on %d worker thread(s) sharing one engine, at most %d admitted at once (EMOLENS_WORKERS, "
        "EMOLENS_MAX_INFLIGHT); more are answered 503",
        pool.workers,
        pool.max_inflight,
    )
    stops = [await web_app.start(app) for web_app in APPS if web_app.start is not None]
    try:
        yield
    finally:
        for stop in stops:
            if stop is not None:
                stop()
        app.state.jobs.close()
        pool.close()


def create_app(settings: Settings | None = None, *, engine: Engine | None = None) -> FastAPI:
    """A new app; settings default to Settings.from_env(); engine, when given, is served instead of one built
    at start (`emolens serve` builds it first, so a bad model or detector is one line, not a traceback)."""
    settings = settings or Settings.from_env()
    app = FastAPI(
        title="emolens",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.settings = settings
    app.state.served = ServedEngine(settings, engine)
    app.state.templates = Jinja2Templates(directory=str(WEB_DIR / "templates"))
    app.state.templates.env.globals["version"] = __version__
    app.state.vendor = docs.vendor_files()
    app.state.hasher = password_hasher()  # tests swap a fast one in with dependency_overrides[get_hasher]
    app.state.intake = PhotoIntake.from_settings(settings)  # every photo and frame is decoded through it
    app.state.pool = InferencePool(settings.workers, settings.max_inflight)  # the analyses' threads and limit
    for web_app in APPS:
        if web_app.setup is not None:
            web_app.setup(app, settings)
    install_error_handlers(app)
    add_guards(app, settings)
    api = APIRouter(prefix=API_PREFIX)
    for router in [m.router for m in API_ROUTERS] + [r for web_app in APPS for r in web_app.api]:
        api.include_router(router)
    app.include_router(api)
    for router in [m.router for m in PAGE_ROUTERS] + [r for web_app in APPS for r in web_app.pages]:
        app.include_router(router)
    app.include_router(docs.router)
    app.mount("/static", StaticFiles(directory=WEB_DIR / "static"), name="static")
    return app


def add_guards(app: FastAPI, settings: Settings) -> None:
    """Body limits on every route (uploads: the media limits; everything else: max_json_kb), then the
    trusted-host and WebSocket Origin check in front of everything."""
    photo = BodyRule(
        settings.max_upload_bytes + MULTIPART_SLACK, setting="EMOLENS_MAX_UPLOAD_MB", slack=MULTIPART_SLACK
    )
    video = BodyRule(settings.max_video_bytes + MULTIPART_SLACK, setting="EMOLENS_MAX_VIDEO_MB", slack=MULTIPART_SLACK)
    rules = {f"{API_PREFIX}/analyze": photo, f"{API_PREFIX}/analyze/video": video}
    for web_app in APPS:  # signed-in uploads (a check-in's camera frames: all of them together)
        rules.update(
            {
                f"{API_PREFIX}{path}": replace({"photo": photo, "video": video}[kind], signed_in=True)
                for path, kind in web_app.uploads
            }
        )
    app.add_middleware(
        BodyLimit,
        default=BodyRule(settings.max_json_bytes),
        timeout_s=settings.body_timeout_s,
        min_rate=settings.min_body_kbps * 1024,
        rules=rules,
    )
    hosts = default_hosts(settings.host, settings.trusted_hosts)
    log.info("answering requests for the hosts %s (EMOLENS_TRUSTED_HOSTS)", ", ".join(hosts))
    app.add_middleware(HostGuard, hosts=hosts)
