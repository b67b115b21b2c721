"""The photo engine: decode -> detect -> align/crop -> classify -> `Face` results.

    from emolens import Analyzer
    faces = Analyzer().analyze("group.jpg")        # list[Face]
    faces[0].emotion, faces[0].to_dict()

One image gives list[Face]; many give list[list[Face]], classified in one batch.
Faces come in reading order (left to right, top to bottom; see inference/order.py).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from emolens.core.card import ModelCard
from emolens.core.preprocess import gray_square
from emolens.core.results import Face
from emolens.inference.align import crop_face
from emolens.inference.classifier import Classifier
from emolens.inference.detectors import DEFAULT_DETECTOR, Detection, Detector, create_detector
from emolens.inference.images import MAX_PIXELS, ImageInput, load_image
from emolens.inference.limits import ImageLimits
from emolens.inference.order import reading_order
from emolens.inference.quality import assess

log = logging.getLogger(__name__)


class Analyzer:
    """Faces and emotions in photos and frames.

    model: 'default', a model folder or .onnx next to card.json. detector: a name
    ('centerface') or a built Detector. threshold / min_face / max_side
    go to the detector (max_side 1024 suits photos; 640 is enough and 4x faster for
    video); tta overrides the card's test-time augmentation; precision picks the model's graph
    ("auto": int8 when the model folder has one, else float; see Classifier). `limits` bound what
    decoding a path or bytes may cost (default: max_pixels and a 1 GB decode budget).
    """

    def __init__(
        self,
        model: str | Path = "default",
        detector: str | Detector = DEFAULT_DETECTOR,
        *,
        threads: int = 1,
        tta: str | Sequence[str] | None = None,
        precision: str = "auto",
        threshold: float | None = None,
        min_face: int = 20,
        max_side: int = 1024,
        max_pixels: int = MAX_PIXELS,
        classifier: Classifier | None = None,
        limits: ImageLimits | None = None,
    ):
        self.classifier = classifier or Classifier(model, threads=threads, tta=tta, precision=precision)
        if isinstance(detector, str):
            detector = create_detector(
                detector, threshold=threshold, min_face=min_face, max_side=max_side, threads=threads
            )
        self.detector: Detector = detector
        self.limits = limits or ImageLimits(max_pixels=max_pixels)
        self.max_pixels = self.limits.max_pixels

    @property
    def card(self) -> ModelCard:
        return self.classifier.card

    @property
    def labels(self) -> tuple[str, ...]:
        return self.classifier.labels

    @property
    def model_sha256(self) -> str:
        """sha256 of the model.onnx that reads the faces: every stored reading records it."""
        return self.classifier.sha256

    def model_crop(self, image: np.ndarray, face: Face, size: int = 48) -> np.ndarray:
        """The face's crop as the model sees it (the card's margin and alignment) in FER2013's geometry:
        size x size gray uint8. What a journal user may contribute to improve the model, never the photo."""
        det = Detection(tuple(float(v) for v in face.box), face.score, face.landmarks)  # type: ignore[arg-type]
        crop = crop_face(image, det, margin=self.card.crop_margin, align=self.card.align)
        return gray_square(crop, size)

    def analyze(self, image: ImageInput, *, rgb: bool = False) -> list[Face]:
        """Faces in one image (path, bytes, or array: BGR/gray by default, RGB with rgb=True)."""
        return self.analyze_batch([image], rgb=rgb)[0]

    def analyze_batch(self, images: Sequence[ImageInput], *, rgb: bool = False) -> list[list[Face]]:
        """Faces for each image, in order; all crops go through the classifier in one call.

        Raises ImageError on the first unreadable image (the CLI calls analyze per
        file to report bad ones and go on).
        """
        decoded = [self.load(img, rgb=rgb) for img in images]
        found = [self.detect(img) for img in decoded]
        return self.classify(decoded, found)

    def detect(self, image: np.ndarray) -> list[Detection]:
        """Faces in a decoded BGR image, in reading order: the numbering every output uses."""
        found = self.detector.detect(image)
        return [found[i] for i in reading_order([d.box for d in found])]

    def load(self, image: ImageInput, *, rgb: bool = False) -> np.ndarray:
        return load_image(image, rgb=rgb, limits=self.limits)

    def classify(
        self,
        images: Sequence[np.ndarray],
        detections: Sequence[Sequence[Detection]],
        track_ids: Sequence[Sequence[int]] | None = None,
    ) -> list[list[Face]]:
        """Known detections in decoded BGR images -> Face results."""
        crops, probs = self.crops_and_probs(images, detections)
        out, k = [], 0
        for i, dets in enumerate(detections):
            faces = []
            for j, det in enumerate(dets):
                tid = None if track_ids is None else track_ids[i][j]
                faces.append(make_face(det, probs[k], crops[k], self.labels, self.card.uncertain_below, tid))
                k += 1
            out.append(faces)
        return out

    def crops_and_probs(
        self, images: Sequence[np.ndarray], detections: Sequence[Sequence[Detection]]
    ) -> tuple[list[np.ndarray], np.ndarray]:
        """Every detection's face crop (the card's margin and alignment) and its calibrated probabilities,
        (N, K) in card label order, in one classifier call: the step photos and video frames share."""
        card = self.card
        crops = [
            crop_face(img, d, margin=card.crop_margin, align=card.align)
            for img, dets in zip(images, detections)
            for d in dets
        ]
        probs = self.classifier.predict(crops) if crops else np.zeros((0, len(self.labels)), np.float32)
        return crops, probs

    def describe(self) -> dict[str, Any]:
        return {
            "model": str(self.classifier.model_dir),
            "model_name": self.card.name,
            "detector": self.detector.name,
            "threshold": self.detector.threshold,
        }


def make_face(
    det: Detection,
    probs: np.ndarray,
    crop: np.ndarray,
    labels: Sequence[str],
    uncertain_below: float,
    track_id: int | None = None,
) -> Face:
    """A Face from a detection, its probabilities (card label order) and its crop."""
    top = int(np.argmax(probs))
    x, y, w, h = det.box
    return Face(
        box=(int(round(x)), int(round(y)), int(round(w)), int(round(h))),
        score=float(det.score),
        landmarks=det.landmarks,
        probabilities={name: float(p) for name, p in zip(labels, probs)},
        emotion=labels[top],
        confidence=float(probs[top]),
        uncertain=bool(probs[top] < uncertain_below),
        quality=assess(crop, min(w, h)),
        track_id=track_id,
    )
