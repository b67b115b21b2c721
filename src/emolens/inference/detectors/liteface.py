"""LiteFace: our own 57k-parameter face detector, about 4x cheaper per frame than CenterFace.

Trained by scripts/train_detector.py (emolens.train.facedet): real face photos
(facial-expressions) pasted on backgrounds and tiled in mosaics, labelled once by CenterFace.
Its graph has CenterFace's input and outputs, so the same decoder reads it (here and in the
browser); only the file and its checksum differ.

It is the cheap choice for live video where faces are big: it finds faces from ~32 pixels of
its input as CenterFace does, but misses most smaller ones and ~5% of the film frames of
sfew-dev (BENCHMARKS.md, "Detectors"), so CenterFace stays the default.
"""

from __future__ import annotations

from emolens.inference.detectors.centerface import CenterFaceDetector

MODEL_SHA256 = "d50bf7d0ff0a2c75c0420709089eeffc66e927596241402d879c4cfd572476c2"


class LiteFaceDetector(CenterFaceDetector):
    name = "liteface"
    model_file = "liteface.onnx"
    model_sha256 = MODEL_SHA256
    default_threshold = 0.5
    smallest_face = 32  # found reliably from here; below, recall falls fast (14-16 px: ~1 in 5 on group photos)
