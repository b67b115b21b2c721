"""One live-camera connection: JPEG/PNG frames in, tracked and EMA-smoothed faces out.

The client sends a frame only after the previous answer arrived, so nothing
queues here; a frame that fails to decode is answered with an error and the
session goes on.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from emolens.inference.stream import FrameResult, StreamAnalyzer, StreamOptions
from emolens.web.services.engine import Engine
from emolens.web.services.media import check_size
from emolens.web.services.photo import PhotoIntake


@dataclass(frozen=True)
class LiveFrame:
    result: FrameResult
    width: int
    height: int
    ms: float  # server-side processing time


class LiveSession:
    def __init__(self, engine: Engine, intake: PhotoIntake, *, alpha: float, max_bytes: int, every: int = 1):
        self.engine = engine
        self.intake = intake
        self.options = StreamOptions(every=every, alpha=alpha)
        self.max_bytes = max_bytes
        self.reset()

    def reset(self) -> None:
        """Forget tracks and smoothing (a new camera or a new scene)."""
        self.stream = StreamAnalyzer(self.engine.analyzer, self.options)
        self.index = 0
        self.start = time.monotonic()

    def process(self, data: bytes) -> LiveFrame:
        """One encoded frame -> faces; raises MediaError for frames that are empty, too big or undecodable."""
        started = time.perf_counter()
        check_size(len(data), self.max_bytes, "frame")
        frame = self.intake.decode(data, name=f"frame {self.index}")
        result = self.stream.process(frame, self.index, time.monotonic() - self.start)
        self.index += 1
        return LiveFrame(result, frame.shape[1], frame.shape[0], (time.perf_counter() - started) * 1000)
