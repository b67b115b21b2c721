"""/api/v1/journal summary, export and account deletion: your trends and your data."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response

from emolens.apps.journal.export import export_csv, export_json
from emolens.apps.journal.suggestions import RuleBook
from emolens.apps.journal.summary import MAX_DAYS, summarize
from emolens.apps.registry import delete_account as delete_account_data
from emolens.web.auth import CurrentUser, DbDep, clear_session_cookie
from emolens.web.deps import SettingsDep
from emolens.web.routers.journal.schemas import SummaryOut

router = APIRouter(prefix="/journal", tags=["journal"])


def get_rules(request: Request) -> RuleBook:
    return request.app.state.journal_rules


def today_at(tz_offset_minutes: int | None):
    """Today on the user's clock (their UTC offset), else on this machine's."""
    if tz_offset_minutes is None:
        return datetime.now().astimezone().date()
    return (datetime.now(timezone.utc) + timedelta(minutes=tz_offset_minutes)).date()


@router.get("/summary", response_model=SummaryOut, summary="Trends, streak, patterns and suggestions")
def summary(
    request: Request,
    user: CurrentUser,
    db: DbDep,
    days: Annotated[int, Query(ge=1, le=MAX_DAYS, description="the last N days, today included")] = 30,
    group: Annotated[Literal["day", "week", "month"], Query(description="the series' buckets")] = "day",
    tz_offset_minutes: Annotated[int | None, Query(ge=-840, le=840)] = None,
) -> SummaryOut:
    """Shares per emotion, happiness / sadness / stress indexes, streak, weekday and tag patterns, and
    suggestions from the rules file. Formulas: docs/journal.md. Not a medical assessment."""
    s = summarize(db, user.id, days=days, today=today_at(tz_offset_minutes), group=group, book=get_rules(request))
    return SummaryOut(**s.to_dict())


@router.get("/export", summary="Everything in your journal as JSON or CSV (a download)")
def export(
    user: CurrentUser,
    db: DbDep,
    format: Annotated[
        Literal["json", "csv"], Query(description="json: everything; csv: one row per check-in")
    ] = "json",
) -> Response:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d")
    name = f"emolens-journal-{user.username}-{stamp}.{format}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "private, no-store"}
    if format == "csv":
        return Response(export_csv(db, user.id), media_type="text/csv; charset=utf-8", headers=headers)
    return Response(json.dumps(export_json(db, user.id), indent=1), media_type="application/json", headers=headers)


@router.delete("/account", status_code=204, summary="Delete your account and all its data")
def delete_account(request: Request, user: CurrentUser, db: DbDep, settings: SettingsDep) -> Response:
    """Every check-in, note, tag, kept photo, baseline, token and session, then the account itself. No undo."""
    delete_account_data(db, user.id, data_dir=settings.data_dir)  # every app's part (apps/registry.py)
    response = Response(status_code=204)
    clear_session_cookie(response, request)
    return response
