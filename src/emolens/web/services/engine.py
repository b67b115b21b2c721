"""The engine the app serves: one Analyzer plus what the API says about its model."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

from emolens.inference import versions
from emolens.inference.analyzer import Analyzer
from emolens.web.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Engine:
    analyzer: Analyzer
    detector: str

    @property
    def labels(self) -> tuple[str, ...]:
        return self.analyzer.labels

    @property
    def sha256(self) -> str:
        """sha256 of the served graph (the int8 one when the model has it): stored readings record it."""
        return self.analyzer.model_sha256

    def model_ref(self) -> dict[str, str]:
        """{"name", "sha256"}: enough for a client to tell which model answered."""
        card = self.analyzer.card
        return {"name": card.name, "sha256": self.sha256}

    def model_card(self) -> dict[str, Any]:
        card = self.analyzer.card
        return {
            "name": card.name,
            "arch": card.arch,
            "sha256": self.sha256,
            "labels": list(card.labels),
            "input_size": card.input_size,
            "channels": card.channels,
            "uncertain_below": card.uncertain_below,
            "temperature": card.temperature,
            "tta": list(self.analyzer.classifier.tta),
            "precision": self.analyzer.classifier.precision,
            "metrics": card.metrics,
            "detector": self.detector,
        }


def build_engine(*, model: str, detector: str, threads: int, max_pixels: int) -> Engine:
    """Load the model and detector once (raises CardError / DetectorError with the fix in the message)."""
    analyzer = Analyzer(model, detector, threads=threads, max_pixels=max_pixels)
    log.info(
        "serving model %s (%s, %s) from %s with the %s detector",
        analyzer.card.name,
        analyzer.card.arch,
        analyzer.classifier.precision,
        analyzer.classifier.model_dir,
        detector,
    )
    return Engine(analyzer=analyzer, detector=detector)


class ServedEngine:
    """The engine the server serves. With a pinned model (--model, EMOLENS_MODEL) always the same one; else the
    data folder's active model (inference/versions.py), reloaded when `emolens models use` or `rollback`
    changes it: the next request that needs the model gets the new one (requests already running finish on
    the old). A model that fails to load is logged and the previous one served on."""

    def __init__(self, settings: Settings, engine: Engine | None = None):
        self.settings = settings
        self.follow = not settings.model
        self._engine = engine
        self._stamp = versions.state_stamp(settings.data_dir) if self.follow else None
        self._lock = threading.Lock()

    def _build(self) -> Engine:
        s = self.settings
        model = versions.served_model(s.data_dir, s.model)
        return build_engine(model=model, detector=s.detector, threads=s.threads, max_pixels=s.max_pixels)

    def start(self) -> Engine:
        """Build the engine when none was handed over (at the app's start)."""
        with self._lock:
            if self._engine is None:
                self._engine = self._build()
            return self._engine

    def current(self) -> Engine:
        engine = self._engine or self.start()
        if not self.follow or versions.state_stamp(self.settings.data_dir) == self._stamp:
            return engine
        with self._lock:
            stamp = versions.state_stamp(self.settings.data_dir)
            if stamp != self._stamp:
                self._stamp = stamp
                try:
                    self._engine = self._build()
                    log.info("now serving model %s (sha256 %s)", self._engine.analyzer.card.name, self._engine.sha256)
                except (ValueError, OSError) as exc:
                    log.error("could not switch models (%s): still serving %s", exc, engine.analyzer.card.name)
            return self._engine or engine
