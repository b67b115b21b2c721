"""How long a video will take, and what a cheaper setting would cost: counts and seconds in, estimates out.

A 10 s clip can take minutes on a busy CPU with the accurate `default` model (two nets, four
views per face). The stream analyzer counts what it does (detector calls, classified faces)
and how long each kind took; from the first frames `CostModel` predicts the rest:

    seconds = frames * (detect_s / every + faces_per_frame * face_s + other_s)

so the CLI can say up front what `--model fast` (a smaller face_s) or `--every 3` (fewer
detector calls) would cost, and every progress line can give a time left. Pure arithmetic:
the numbers are measured by the caller, so tests feed fixed ones.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class StreamCosts:
    """What a StreamAnalyzer did so far: counts, and the seconds its detector and classifier took."""

    frames: int = 0
    detect_calls: int = 0
    detect_s: float = 0.0
    faces: int = 0
    classify_s: float = 0.0


@dataclass(frozen=True)
class CostModel:
    """Seconds per detector call, per classified face and per frame otherwise (decode, track, draw, write)."""

    detect_s: float
    face_s: float
    other_s: float
    faces_per_frame: float

    @classmethod
    def measured(cls, costs: StreamCosts, elapsed_s: float) -> CostModel:
        """From the first frames' counts and the wall time they took in all."""
        frames = max(1, costs.frames)
        detect = costs.detect_s / costs.detect_calls if costs.detect_calls else 0.0
        face = costs.classify_s / costs.faces if costs.faces else 0.0
        other = max(0.0, elapsed_s - costs.detect_s - costs.classify_s) / frames
        return cls(detect, face, other, costs.faces / frames)

    def seconds(self, frames: int, every: int, *, face_s: float | None = None) -> float:
        """Time for `frames` more frames, detecting every `every` frames (face_s: another model's cost)."""
        face = self.face_s if face_s is None else face_s
        return frames * (self.detect_s / max(1, every) + self.faces_per_frame * face + self.other_s)


def eta_seconds(elapsed_s: float, done: int, total: int) -> float | None:
    """Seconds left at the speed so far; None while nothing is done or the total is unknown."""
    if done <= 0 or total <= 0 or elapsed_s < 0:
        return None
    return elapsed_s / done * max(0, total - done)


def format_duration(seconds: float) -> str:
    """'8 s', '1 min 20 s', '12 min', '1 h 5 min': rounded the way a person says it."""
    s = max(0, round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 600:
        m, r = divmod(s, 60)
        return f"{m} min {r} s" if r else f"{m} min"
    if s < 3600:
        return f"{round(s / 60)} min"
    h, m = divmod(round(s / 60), 60)
    return f"{h} h {m} min" if m else f"{h} h"


def cheaper_settings(
    model: CostModel, frames: int, every: int, *, fast_face_s: float | None
) -> list[tuple[str, float]]:
    """[(flags, seconds)] for the remaining frames with `--model fast` (when fast_face_s, its per-face cost,
    is given), with `--every 3` (when detecting more often than that), and with both."""
    out = []
    if fast_face_s is not None:
        out.append(("--model fast", model.seconds(frames, every, face_s=fast_face_s)))
    if every < 3:
        out.append(("--every 3", model.seconds(frames, 3)))
    if len(out) == 2:
        out.append(("both", model.seconds(frames, 3, face_s=fast_face_s)))
    return out


def plan_note(name: str, model: CostModel, frames: int, every: int, *, fast_face_s: float | None) -> str:
    """One line said up front: how long the rest takes at this speed and what cheaper settings would cost."""
    line = f"{name}: {frames} frames left, about {format_duration(model.seconds(frames, every))} at this speed"
    options = cheaper_settings(model, frames, every, fast_face_s=fast_face_s)
    if options:
        line += "; cheaper: " + ", ".join(f"{flags} about {format_duration(s)}" for flags, s in options)
    return line


def per_face_seconds(predict: Callable[[list], object], crops: list, repeats: int = 2) -> float:
    """Wall seconds per face of a classifier's predict on `crops` (best of `repeats`, after one warm-up)."""
    predict(crops)
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        predict(crops)
        best = min(best, time.perf_counter() - t0)
    return best / max(1, len(crops))
