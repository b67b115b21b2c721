"""The mood journal on the web: check-ins and baseline (api), summary, export and account deletion (data), the
personal adaptation and contributed crops (feedback), the journal page (pages). Thin: the work is in apps.journal
and web.services.journal."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from emolens.apps.journal.suggestions import load_rules
from emolens.web.routers.journal import api, data, feedback, pages
from emolens.web.webapp import WebApp


async def start(app: FastAPI) -> None:
    app.state.journal_rules = await run_in_threadpool(load_rules)  # rules.yaml, checked at start


WEB_APP = WebApp(
    "journal",
    api=(api.router, data.router, feedback.router),
    pages=(pages.router,),
    uploads=(("/journal/checkins", "photo"), ("/journal/baseline", "photo")),
    start=start,
)
