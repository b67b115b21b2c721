"""What every worker of a job needs to know, as plain data: it travels to other processes and Ray actors.

A `WorkSpec` holds the engine options of `emolens analyze` and `emolens video` (model, detector,
sizes, TTA), the video options (every, smooth) and, for service sessions, how they are scored.
Workers build their engines from it, once each (`Engines`), so nothing heavy is pickled.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from emolens.core.defaults import DEFAULT_DETECTOR
from emolens.inference.analyzer import Analyzer
from emolens.inference.classifier import Classifier
from emolens.inference.limits import MB, ImageLimits
from emolens.inference.model_store import load_card, resolve_model_dir
from emolens.inference.stream import StreamOptions


@dataclass(frozen=True)
class WorkSpec:
    """Engine and video options (the defaults of `analyze` for photos and `video` for videos)."""

    model: str = "default"
    detector: str = DEFAULT_DETECTOR
    threshold: float | None = None
    min_face: int = 20
    photo_detect_size: int = 1024
    video_detect_size: int = 640
    threads: int = 1
    tta: str | None = None  # None: as the model card says
    precision: str = "auto"  # the model's graph: auto (int8 when it has one), float or int8
    max_megapixels: float = 100.0
    max_decode_mb: float = 1024.0
    every: int = 1
    smooth: float = 0.4
    max_seconds: float | None = None  # analyse at most this much of each video (None: all of it)
    session_rule: tuple[tuple[str, Any], ...] = ()  # CustomerRule.from_text keywords, for session items

    def __post_init__(self) -> None:
        StreamOptions(every=self.every, alpha=self.smooth)  # the same checks, the same messages
        if self.threads < 1:
            raise ValueError(f"--threads must be at least 1, got {self.threads}")
        if self.max_seconds is not None and self.max_seconds <= 0:
            raise ValueError(f"--max-seconds must be above 0, got {self.max_seconds}")

    def with_threads(self, threads: int) -> WorkSpec:
        return replace(self, threads=max(1, int(threads)))

    def labels(self) -> tuple[str, ...]:
        """The model's labels (from its card, checked: a bad --model fails here, before any work)."""
        card = load_card(resolve_model_dir(self.model))
        card.graph(self.precision)  # --precision int8 on a model without an int8 graph fails here too
        return tuple(card.labels)

    def stream_options(self) -> StreamOptions:
        return StreamOptions(every=self.every, alpha=self.smooth)

    def limits(self) -> ImageLimits:
        return ImageLimits(
            max_pixels=int(self.max_megapixels * 1e6),
            max_decode_bytes=int(self.max_decode_mb * MB),
            pixels_setting="--max-megapixels",
            decode_setting="--max-decode-mb",
        )


class Engines:
    """One worker's engines: one classifier (one ONNX Runtime session), a detector sized for photos and
    one for videos, built on first use."""

    def __init__(self, spec: WorkSpec):
        self.spec = spec
        self._classifier: Classifier | None = None
        self._analyzers: dict[str, Analyzer] = {}

    def analyzer(self, kind: str) -> Analyzer:
        """The analyser for 'photo' or 'video' (sessions are videos)."""
        kind = "photo" if kind == "photo" else "video"
        if kind not in self._analyzers:
            s = self.spec
            if self._classifier is None:
                self._classifier = Classifier(s.model, threads=s.threads, tta=s.tta, precision=s.precision)
            self._analyzers[kind] = Analyzer(
                s.model,
                s.detector,
                threads=s.threads,
                threshold=s.threshold,
                min_face=s.min_face,
                max_side=s.photo_detect_size if kind == "photo" else s.video_detect_size,
                classifier=self._classifier,
                limits=s.limits(),
            )
        return self._analyzers[kind]

    @property
    def labels(self) -> tuple[str, ...]:
        return self.analyzer("photo").labels
