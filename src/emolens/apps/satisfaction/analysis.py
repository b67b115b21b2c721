"""One call from a recording to what a session stores: customer, score, explanation, chart timeline.

analysis = analyze_recording(recorder.recording(), CustomerRule(pick="presence"), ScoreParams())
analysis.score, analysis.to_dict()
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from emolens.apps.satisfaction.customer import CustomerRule, Selection, select_customer
from emolens.apps.satisfaction.explain import Explanation, explain
from emolens.apps.satisfaction.recording import Recording
from emolens.apps.satisfaction.score import (
    CustomerTimeline,
    Score,
    ScoreParams,
    customer_timeline,
    score_timeline,
    valence_vector,
)

MAX_POINTS = 300  # chart points kept per session


@dataclass(frozen=True)
class SessionAnalysis:
    frames: int
    duration: float
    selection: Selection
    result: Score
    explanation: Explanation
    timeline: dict[str, Any]

    @property
    def score(self) -> float | None:
        return self.result.score

    @property
    def confidence(self) -> float:
        return self.result.confidence

    @property
    def reason(self) -> str | None:
        return self.result.reason

    def to_dict(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "confidence": self.confidence,
            "reason": self.reason,
            "frames": self.frames,
            "duration": round(self.duration, 3),
            "explanation": self.explanation.to_dict(),
            "details": self.result.to_dict(),
            "customer": self.selection.to_dict(),
            "timeline": self.timeline,
        }


def analyze_recording(
    recording: Recording, rule: CustomerRule = CustomerRule(), params: ScoreParams = ScoreParams()
) -> SessionAnalysis:
    selection = select_customer(recording, rule)
    tl = customer_timeline(recording, selection)
    result = score_timeline(tl, params, no_customer=selection.reason)
    return SessionAnalysis(
        frames=len(recording.times),
        duration=recording.duration,
        selection=selection,
        result=result,
        explanation=explain(tl, result),
        timeline=chart_timeline(tl, recording.duration),
    )


def chart_step(duration: float, max_points: int = MAX_POINTS) -> float:
    """Bin width (s, one decimal) giving at most max_points bins; at least 0.5 s."""
    return max(0.5, math.ceil(duration / max_points * 10) / 10)


def chart_timeline(tl: CustomerTimeline, duration: float) -> dict[str, Any]:
    """The customer's usable frames binned for charts:
    {"step", "t", "present", "valence", "probabilities": {label: [...]}}; None where no usable face."""
    step = chart_step(duration)
    n = max(1, math.ceil(duration / step)) if duration > 0 else (1 if len(tl.t) else 0)
    sums = np.zeros((n, len(tl.labels) + 2))  # weighted prob sums (K), weight, face seconds
    good = tl.only_usable()
    for t, d, p in zip(good.t, good.d, good.probs):
        b = min(n - 1, int(t // step))
        w = d if d > 0 else 1.0
        sums[b, :-2] += w * p
        sums[b, -2] += w
        sums[b, -1] += d
    k = len(tl.labels)
    means = [row[:k] / row[k] if row[k] > 0 else None for row in sums]
    vv = valence_vector(tl.labels)
    valence = [None if m is None else round(float(m @ vv), 4) for m in means]
    return {
        "step": step,
        "t": [round(b * step, 2) for b in range(n)],
        "present": [round(min(1.0, float(row[-1]) / step), 3) for row in sums],
        "valence": valence,
        "probabilities": {
            name: [None if m is None else round(float(m[i]), 4) for m in means] for i, name in enumerate(tl.labels)
        },
    }
