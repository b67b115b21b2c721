"""Face detector backends behind one factory: `create_detector("centerface", threshold=0.5)`.

Two backends ship: CenterFace (vendored, 7 MB) and LiteFace (ours, trained by
scripts/train_detector.py, 0.25 MB). (OpenCV's Haar cascade was one too, until OpenCV 5, which the base
install gets, dropped CascadeClassifier: a new backend is a module here and a line below.)"""

from __future__ import annotations

import difflib
import importlib
from typing import Any

from emolens.core.defaults import DEFAULT_DETECTOR
from emolens.inference.detectors.base import Detection, Detector, DetectorError

# name -> "module:class"; modules are imported only when their detector is built.
_BACKENDS = {
    "centerface": "emolens.inference.detectors.centerface:CenterFaceDetector",
    "liteface": "emolens.inference.detectors.liteface:LiteFaceDetector",
}

__all__ = ["DEFAULT_DETECTOR", "Detection", "Detector", "DetectorError", "available_detectors", "create_detector"]


def available_detectors() -> tuple[str, ...]:
    return tuple(_BACKENDS)


def create_detector(name: str, **kw: Any) -> Detector:
    """Build a detector by name; keyword options: threshold, min_face, max_side, threads, ..."""
    if name not in _BACKENDS:
        close = difflib.get_close_matches(name, _BACKENDS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise DetectorError(f"unknown detector {name!r}{hint}; choose one of {', '.join(_BACKENDS)}")
    module, cls = _BACKENDS[name].split(":")
    return getattr(importlib.import_module(module), cls)(**kw)
