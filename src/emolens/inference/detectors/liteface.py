"""LiteFace: our own 57k-parameter face detector, about 4x cheaper per frame than CenterFace.

Trained by scripts/train_detector.py (emolens.train.facedet): real face photos
(facial-expressions) pasted on backgrounds, tiled in mosaics and in crowds of small heads,
labelled once by CenterFace. Its graph has CenterFace's input and outputs, so the same decoder
reads it (here and in the browser); only the file and its checksum differ.

It is the cheap choice for live video: it finds faces from ~20 pixels of its input, but not
the 10-pixel faces CenterFace still finds, and ~6 points fewer of sfew-dev's film frames
(BENCHMARKS.md, "Detectors"), so CenterFace stays the default.
"""

from __future__ import annotations

from emolens.inference.detectors.centerface import CenterFaceDetector

MODEL_SHA256 = "615e783ab2229c3934ca3aa10e8511e7803fab2a6a05401084dfdb8e81128939"


class LiteFaceDetector(CenterFaceDetector):
    name = "liteface"
    model_file = "liteface.onnx"
    model_sha256 = MODEL_SHA256
    default_threshold = 0.5
    smallest_face = 20  # found reliably from here (99% of 20-28 px faces on held-out composites); 10 px: none
