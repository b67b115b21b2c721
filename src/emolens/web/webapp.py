"""An app's part of the web server: its routers, its uploads, and what it sets up and starts.

Each app has one router package (web/routers/<app>/) whose `WEB_APP` says all of this; the app
factory (web/app.py) includes every package in its APPS list, so a new app is a package and a line.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import APIRouter, FastAPI

from emolens.web.settings import Settings

Stop = Callable[[], None]


@dataclass(frozen=True)
class WebApp:
    """name: the app's name; api: routers mounted under /api/v1; pages: routers of its HTML pages;
    uploads: (API path under /api/v1, 'photo' or 'video'): signed-in upload routes and the size limit each
    body gets ('*' stands for one path segment); setup: at create_app, puts what the routes need on
    app.state (a malformed setting fails here); start: in the lifespan, once the database is open, starts
    what runs beside the requests and returns how to stop it."""

    name: str
    api: tuple[APIRouter, ...]
    pages: tuple[APIRouter, ...] = ()
    uploads: tuple[tuple[str, str], ...] = ()
    setup: Callable[[FastAPI, Settings], None] | None = None
    start: Callable[[FastAPI], Awaitable[Stop | None]] | None = None
