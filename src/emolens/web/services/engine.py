"""The engine the app serves: one Analyzer plus what the API says about its model."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from emolens.inference.analyzer import Analyzer

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Engine:
    analyzer: Analyzer
    detector: str

    @property
    def labels(self) -> tuple[str, ...]:
        return self.analyzer.labels

    def model_ref(self) -> dict[str, str]:
        """{"name", "sha256"}: enough for a client to tell which model answered."""
        card = self.analyzer.card
        return {"name": card.name, "sha256": card.onnx_sha256}

    def model_card(self) -> dict[str, Any]:
        card = self.analyzer.card
        return {
            "name": card.name,
            "arch": card.arch,
            "sha256": card.onnx_sha256,
            "labels": list(card.labels),
            "input_size": card.input_size,
            "channels": card.channels,
            "uncertain_below": card.uncertain_below,
            "temperature": card.temperature,
            "tta": list(self.analyzer.classifier.tta),
            "metrics": card.metrics,
            "detector": self.detector,
        }


def build_engine(*, model: str, detector: str, threads: int, max_pixels: int) -> Engine:
    """Load the model and detector once (raises CardError / DetectorError with the fix in the message)."""
    analyzer = Analyzer(model, detector, threads=threads, max_pixels=max_pixels)
    log.info(
        "serving model %s (%s) from %s with the %s detector",
        analyzer.card.name,
        analyzer.card.arch,
        analyzer.classifier.model_dir,
        detector,
    )
    return Engine(analyzer=analyzer, detector=detector)
