"""What a browser needs to read faces itself ("on this device"): the served model, its card, the detector.

The page downloads model.onnx, the served detector (CenterFace or LiteFace: one graph format) and ONNX
Runtime Web's WASM build from this server once (its service worker keeps them), then runs the same steps
as the runtime: detect, align and crop, classify with the card's preprocessing and TTA, track and smooth.
Frames never leave the browser.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emolens.core.card import sha256_file
from emolens.inference.detectors.centerface import CenterFaceDetector, packaged_model
from emolens.inference.stream import StreamOptions
from emolens.web.services.engine import Engine

RUNTIME_DIR = Path(__file__).resolve().parents[1] / "static" / "vendor" / "onnxruntime-web"
RUNTIME_FILES = ("ort.wasm.min.js", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm")
SCRIPTS = ("preprocess.js", "detect.js", "track.js", "engine.js")  # static/js/ondevice/, in load order


class DeviceUnavailable(RuntimeError):
    """The served detector has no in-browser port (only graphs in CenterFace's format have one)."""


@dataclass(frozen=True)
class DeviceFile:
    """A file the browser downloads: where from, how big, its sha256 (in the URL, so a new model is refetched)."""

    path: Path
    url: str
    sha256: str

    def to_dict(self) -> dict[str, Any]:
        return {"url": f"{self.url}?sha256={self.sha256[:16]}", "bytes": self.path.stat().st_size}


def model_file(engine: Engine) -> DeviceFile:
    """The model's float graph, even where the server reads with its int8 one: served to the page, `default`'s
    int8 graph agreed with the server's on the top emotion of 200 PublicTest crops but its probabilities
    differed by more than the 0.02 the float graph keeps (ONNX Runtime Web's int8 kernels round otherwise;
    tried once, session 18) (tests/web/test_ondevice_agreement.py compares with the float graph)."""
    classifier = engine.analyzer.classifier
    path = classifier.model_dir / classifier.card.onnx_file
    return DeviceFile(path, "/api/v1/ondevice/model.onnx", classifier.card.onnx_sha256 or sha256_file(path))


def detector_file(engine: Engine) -> DeviceFile:
    """The served detector's own graph: every backend with CenterFace's inputs and outputs runs in detect.js."""
    det = engine.analyzer.detector
    if not isinstance(det, CenterFaceDetector):
        raise DeviceUnavailable(f"the {engine.detector} detector has no in-browser version; serve with centerface")
    return DeviceFile(packaged_model(det.model_file), "/api/v1/ondevice/detector.onnx", det.model_sha256)


def device_config(engine: Engine, *, alpha: float, forced: bool) -> dict[str, Any]:
    """Everything the page's engine needs, and the bytes it downloads (the runtime, both models)."""
    card = engine.analyzer.card
    detector = engine.analyzer.detector
    stream = StreamOptions(alpha=alpha)
    files = {"model": model_file(engine).to_dict(), "detector": detector_file(engine).to_dict()}
    runtime = [
        {"url": f"/static/vendor/onnxruntime-web/{name}", "bytes": (RUNTIME_DIR / name).stat().st_size}
        for name in RUNTIME_FILES
    ]
    return {
        "forced": forced,
        "card": {
            "name": card.name,
            "sha256": card.onnx_sha256,
            "labels": list(card.labels),
            "input_size": card.input_size,
            "channels": card.channels,
            "mean": list(card.mean),
            "std": list(card.std),
            "interpolation": card.interpolation,
            "crop_margin": card.crop_margin,
            "align": card.align,
            "temperature": card.temperature,
            "uncertain_below": card.uncertain_below,
            "tta": list(engine.analyzer.classifier.tta),
        },
        "detector": {
            "name": detector.name,
            "threshold": detector.threshold,
            "min_face": detector.min_face,
            "max_side": detector.max_side,
        },
        "stream": {"alpha": stream.alpha, "iou_threshold": stream.iou_threshold, "max_missed": stream.max_missed},
        "files": {**files, "runtime": runtime},
        "total_bytes": files["model"]["bytes"] + files["detector"]["bytes"] + sum(f["bytes"] for f in runtime),
    }
