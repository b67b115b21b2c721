"""/api/v1/journal adaptation and contributions: what your corrections teach. Thin: the work is in
apps.journal.personal and apps.journal.contributions (docs/feedback.md)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Response

from emolens.apps.journal import contributions, personal
from emolens.web.auth import CurrentUser, DbDep
from emolens.web.routers.journal.schemas import AdaptationIn, AdaptationOut, ContributionOut
from emolens.web.schemas import ErrorOut

router = APIRouter(prefix="/journal", tags=["journal"])

ContributionId = Annotated[int, Path(description="a contribution id (yours; others' read as missing)")]
NOT_FOUND = {404: {"model": ErrorOut, "description": "no such contribution of yours"}}
PRIVATE = {"Cache-Control": "private, no-store"}


@router.get("/adaptation", response_model=AdaptationOut, summary="Your personal adaptation: status and numbers")
def get_adaptation(user: CurrentUser, db: DbDep) -> AdaptationOut:
    """How many corrections it rests on, and its cross-validated accuracy before/after on your own corrected
    check-ins. On by default; it learns from corrections of camera and photo check-ins."""
    return AdaptationOut(**personal.get(db, user.id).to_dict())


@router.put("/adaptation", response_model=AdaptationOut, summary="Switch your personal adaptation on or off")
def put_adaptation(body: AdaptationIn, user: CurrentUser, db: DbDep) -> AdaptationOut:
    """Off: later check-ins are read as the model reads them (earlier ones keep their reading)."""
    return AdaptationOut(**personal.set_enabled(db, user.id, body.enabled).to_dict())


@router.delete("/adaptation", response_model=AdaptationOut, summary="Reset: forget what the adaptation learned")
def reset_adaptation(user: CurrentUser, db: DbDep) -> AdaptationOut:
    """Your corrections stay in the journal but no longer teach it; new corrections start it again."""
    return AdaptationOut(**personal.reset(db, user.id).to_dict())


@router.get("/contributions", response_model=list[ContributionOut], summary="Your contributed face crops")
def list_contributions(user: CurrentUser, db: DbDep) -> list[ContributionOut]:
    """48x48 gray crops you chose to give, per check-in, to improve the shared model (`emolens finetune`)."""
    return [ContributionOut(**c.to_dict()) for c in contributions.list_contributions(db, user.id)]


@router.get(
    "/contributions/{contribution_id}/crop",
    response_class=Response,
    responses={**NOT_FOUND, 200: {"content": {"image/png": {}}}},
    summary="One contributed crop as a 48x48 PNG: exactly what you gave",
)
def contribution_crop(contribution_id: ContributionId, user: CurrentUser, db: DbDep) -> Response:
    crop = contributions.get_crop(db, user.id, contribution_id)
    if crop is None:
        raise HTTPException(404, f"no contribution {contribution_id}")
    return Response(contributions.crop_png(crop), media_type="image/png", headers=PRIVATE)


@router.delete(
    "/contributions/{contribution_id}", status_code=204, responses=NOT_FOUND, summary="Withdraw one contribution"
)
def delete_contribution(contribution_id: ContributionId, user: CurrentUser, db: DbDep) -> Response:
    if not contributions.delete(db, user.id, contribution_id):
        raise HTTPException(404, f"no contribution {contribution_id}")
    return Response(status_code=204)


@router.delete("/contributions", summary="Withdraw every contribution")
def delete_contributions(user: CurrentUser, db: DbDep) -> dict[str, int]:
    """The crops are deleted from the database (and its WAL file); the check-ins stay."""
    return {"deleted": contributions.delete_all(db, user.id)}
