"""GET /api/v1/ondevice: what a browser needs to read faces itself, and the two model files it downloads.

The live camera page, journal camera check-ins and the satisfaction counter use it in "on this device"
mode; then no frame reaches the server (EMOLENS_CAMERA_ANALYSIS=device makes that the only mode).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

from emolens.web.deps import EngineDep, SettingsDep
from emolens.web.services.ondevice import DeviceUnavailable, detector_file, device_config, model_file

router = APIRouter(prefix="/ondevice", tags=["on this device"])

CACHE = {"Cache-Control": "no-cache"}  # revalidated by ETag: a new model is fetched, an unchanged one is not


@router.get("")
def config(engine: EngineDep, settings: SettingsDep) -> dict[str, Any]:
    """The model card, detector and tracking options the in-browser engine uses, and the files it downloads."""
    try:
        return device_config(engine, alpha=settings.live_alpha, forced=settings.device_only)
    except DeviceUnavailable as exc:
        raise HTTPException(409, str(exc)) from None


@router.get("/model.onnx", response_class=FileResponse)
def model(engine: EngineDep) -> FileResponse:
    """The served classifier's model.onnx (the same file the server runs)."""
    return FileResponse(model_file(engine).path, media_type="application/octet-stream", headers=CACHE)


@router.get("/detector.onnx", response_class=FileResponse)
def detector(engine: EngineDep) -> FileResponse:
    """The CenterFace face detector (MIT; see inference/detectors/CENTERFACE_LICENSE.txt)."""
    try:
        path = detector_file(engine).path
    except DeviceUnavailable as exc:
        raise HTTPException(409, str(exc)) from None
    return FileResponse(path, media_type="application/octet-stream", headers=CACHE)
