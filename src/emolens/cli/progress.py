"""Video progress for the CLI (`emolens video`, `emolens session analyze`): ETA and cheaper settings, on stderr.

On a terminal a tqdm bar (its frame/s and `<time left`, the ETA); in files and pipes a plain line
every 10 %, with the frames per second so far and the time left. After the first frames, one line
says how long the rest will take and what `--model fast` or `--every 3` would cost
(emolens.inference.eta holds the arithmetic).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

import numpy as np
from tqdm import tqdm

from emolens.inference.analyzer import Analyzer
from emolens.inference.classifier import Classifier
from emolens.inference.eta import CostModel, eta_seconds, format_duration, per_face_seconds, plan_note
from emolens.inference.stream import FrameResult, StreamAnalyzer


class VideoProgress:
    """Call with each FrameResult; `close()` at the end. total: frames to analyse (0 when unknown)."""

    def __init__(
        self,
        name: str,
        total: int,
        stream: StreamAnalyzer,
        every: int,
        *,
        fast_face_s: Callable[[CostModel], float | None],
        file: TextIO | None = None,
        tty: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.name, self.total, self.stream, self.every = name, total or 0, stream, every
        self.fast_face_s = fast_face_s
        self.file = file or sys.stderr
        self.tty = self.file.isatty() if tty is None else tty
        self.clock = clock
        self.start = clock()
        self.done = 0
        self.warmup = min(self.total, max(10, 2 * every)) if self.total else 0
        self.next_tenth = 1  # the next line at this many tenths of the frames
        self.bar = None
        if self.tty:
            self.bar = tqdm(total=self.total or None, desc=name, unit="frame", file=self.file)

    def __call__(self, result: FrameResult) -> None:
        self.done += 1
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix(faces=len(result.faces), refresh=False)
        if self.done == self.warmup and self.total > self.done:
            self.say(self.plan())
            self.next_tenth = self.done * 10 // self.total + 1  # (the plan line came first)
        if (
            not self.tty
            and self.total
            and self.done > self.warmup
            and self.done < self.total
            and self.done * 10 >= self.next_tenth * self.total
        ):
            elapsed = self.clock() - self.start
            left = eta_seconds(elapsed, self.done, self.total)
            self.say(
                f"{self.name}: {self.done}/{self.total} frames ({self.done / self.total:.0%}), "
                f"{self.done / max(elapsed, 1e-9):.1f} fps, about {format_duration(left or 0)} left"
            )
            self.next_tenth = self.done * 10 // self.total + 1

    def plan(self) -> str:
        model = CostModel.measured(self.stream.costs, self.clock() - self.start)
        return plan_note(self.name, model, self.total - self.done, self.every, fast_face_s=self.fast_face_s(model))

    def say(self, line: str) -> None:
        if self.bar is not None:
            self.bar.write(line, file=self.file)
        else:
            print(line, file=self.file, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def fast_model_face_s(analyzer: Analyzer) -> Callable[[CostModel], float | None]:
    """The per-face cost `--model fast` would have here: the measured cost scaled by how much faster the
    shipped fast model runs on the same crops. None when the model is already `fast` or no face was seen."""

    def estimate(model: CostModel) -> float | None:
        if analyzer.card.name == "fast" or model.faces_per_frame == 0:
            return None
        crops = [np.full((64, 64), 128, np.uint8)] * 4
        ratio = per_face_seconds(Classifier("fast").predict, crops) / max(
            1e-9, per_face_seconds(analyzer.classifier.predict, crops)
        )
        return model.face_s * ratio

    return estimate
