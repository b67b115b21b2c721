"""Dependencies of the routes, as `Annotated` aliases; tests swap them with app.dependency_overrides."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from fastapi.templating import Jinja2Templates
from starlette.requests import HTTPConnection

from emolens.web.services.engine import Engine
from emolens.web.services.jobs import JobStore
from emolens.web.services.photo import PhotoIntake
from emolens.web.services.pool import InferencePool
from emolens.web.settings import Settings


def get_settings(conn: HTTPConnection) -> Settings:
    return conn.app.state.settings


def get_engine(conn: HTTPConnection) -> Engine:
    """The served engine; a server that follows the data folder's active model switches here (see ServedEngine)."""
    return conn.app.state.served.current()


def get_jobs(conn: HTTPConnection) -> JobStore:
    return conn.app.state.jobs


def get_intake(conn: HTTPConnection) -> PhotoIntake:
    return conn.app.state.intake


def get_pool(conn: HTTPConnection) -> InferencePool:
    return conn.app.state.pool


def get_templates(conn: HTTPConnection) -> Jinja2Templates:
    return conn.app.state.templates


SettingsDep = Annotated[Settings, Depends(get_settings)]
EngineDep = Annotated[Engine, Depends(get_engine)]
JobsDep = Annotated[JobStore, Depends(get_jobs)]
TemplatesDep = Annotated[Jinja2Templates, Depends(get_templates)]
IntakeDep = Annotated[PhotoIntake, Depends(get_intake)]
PoolDep = Annotated[InferencePool, Depends(get_pool)]
