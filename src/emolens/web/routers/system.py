"""GET /api/v1/health and /api/v1/model (the model card: labels, metrics, sha256)."""

from __future__ import annotations

from fastapi import APIRouter

from emolens import __version__
from emolens.web.deps import EngineDep, JobsDep
from emolens.web.schemas import HealthOut, ModelCardOut, ModelRef

router = APIRouter(tags=["system"])


@router.get("/health", response_model=HealthOut)
async def health(engine: EngineDep, jobs: JobsDep) -> HealthOut:
    """The server is up and its model is loaded (answered on the event loop: busy workers cannot stall it)."""
    return HealthOut(
        status="ok",
        version=__version__,
        model=ModelRef(**engine.model_ref()),
        detector=engine.detector,
        jobs=jobs.counts(),
    )


@router.get("/model", response_model=ModelCardOut)
def model(engine: EngineDep) -> ModelCardOut:
    """The served model's card: labels in output order, metrics from its evaluation, sha256 of model.onnx."""
    return ModelCardOut(**engine.model_card())
