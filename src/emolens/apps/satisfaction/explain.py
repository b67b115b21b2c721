"""Why a session scored what it did: start vs end mood, strongest moments, share of time per emotion.

All numbers come from the customer's usable frames (the ones the score uses).
Moments are `moment_s` windows; a negative moment has a mean valence of at most
-0.15, a positive one at least +0.15 (in between is neutral and not listed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from emolens.apps.satisfaction.score import CustomerTimeline, Episode, Score, dominant, mood_word, weighted_shares

MOMENT_MIN = 0.15  # |valence| a window needs to count as a negative / positive moment


@dataclass(frozen=True)
class Mood:
    valence: float | None
    emotion: str | None
    mood: str  # positive | neutral | negative | unknown

    def to_dict(self) -> dict[str, Any]:
        return {
            "valence": None if self.valence is None else round(self.valence, 3),
            "emotion": self.emotion,
            "mood": self.mood,
        }


@dataclass(frozen=True)
class Moment:
    t: float  # window start, s from the session's start
    valence: float
    emotion: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "t": round(self.t, 2),
            "time": clock(self.t),
            "valence": round(self.valence, 3),
            "emotion": self.emotion,
        }


@dataclass(frozen=True)
class Explanation:
    start: Mood
    end: Mood
    negative_moments: tuple[Moment, ...]
    positive_moments: tuple[Moment, ...]
    share: dict[str, float]  # fraction of usable customer time with each top emotion
    episodes: tuple[Episode, ...]
    summary: str

    @property
    def change(self) -> float | None:
        if self.start.valence is None or self.end.valence is None:
            return None
        return self.end.valence - self.start.valence

    def to_dict(self) -> dict[str, Any]:
        return {
            "summary": self.summary,
            "start": self.start.to_dict(),
            "end": self.end.to_dict(),
            "change": None if self.change is None else round(self.change, 3),
            "negative_moments": [m.to_dict() for m in self.negative_moments],
            "positive_moments": [m.to_dict() for m in self.positive_moments],
            "share": {k: round(v, 4) for k, v in self.share.items()},
            "episodes": [e.to_dict() for e in self.episodes],
        }


def clock(seconds: float) -> str:
    """73.4 -> '1:13'."""
    s = int(seconds)
    return f"{s // 60}:{s % 60:02d}"


def mood_of(tl: CustomerTimeline, mask: np.ndarray) -> Mood:
    if not mask.any():
        return Mood(None, None, "unknown")
    w = tl.d[mask]
    valence = float((tl.valence[mask] * w).sum() / w.sum()) if w.sum() > 0 else float(tl.valence[mask].mean())
    sub = CustomerTimeline(tl.labels, tl.t[mask], tl.d[mask], tl.probs[mask], tl.usable[mask])
    return Mood(valence, dominant(weighted_shares(sub, w if w.sum() > 0 else np.ones(len(w)))), mood_word(valence))


def time_shares(tl: CustomerTimeline) -> dict[str, float]:
    """Fraction of face time whose (smoothed) top emotion is each label."""
    total = float(tl.d.sum())
    top = tl.probs.argmax(axis=1) if len(tl.t) else np.zeros(0, int)
    return {k: float(tl.d[top == i].sum() / total) if total > 0 else 0.0 for i, k in enumerate(tl.labels)}


def moments(tl: CustomerTimeline, window: float = 1.0, top: int = 3) -> tuple[list[Moment], list[Moment]]:
    """(most negative windows, most positive windows), strongest first, never two neighbouring windows."""
    if not len(tl.t):
        return [], []
    bins = np.floor(tl.t / window).astype(int)
    v = tl.valence
    found = []
    for b in np.unique(bins):
        m = bins == b
        w = tl.d[m] if tl.d[m].sum() > 0 else np.ones(int(m.sum()))
        probs = (tl.probs[m] * w[:, None]).sum(axis=0)
        found.append((float((v[m] * w).sum() / w.sum()), int(b), tl.labels[int(probs.argmax())]))
    neg = _pick(sorted(f for f in found if f[0] <= -MOMENT_MIN), top)
    pos = _pick(sorted((f for f in found if f[0] >= MOMENT_MIN), key=lambda f: -f[0]), top)
    return (
        [Moment(b * window, val, emo) for val, b, emo in neg],
        [Moment(b * window, val, emo) for val, b, emo in pos],
    )


def _pick(ranked: list[tuple[float, int, str]], top: int) -> list[tuple[float, int, str]]:
    chosen: list[tuple[float, int, str]] = []
    for item in ranked:
        if len(chosen) == top:
            break
        if all(abs(item[1] - c[1]) > 1 for c in chosen):
            chosen.append(item)
    return chosen


def explain(
    tl: CustomerTimeline, score: Score, *, edge_fraction: float = 0.2, window: float = 1.0, top: int = 3
) -> Explanation:
    """tl: the customer's timeline (unusable frames are left out here)."""
    good = tl.only_usable()
    if len(good.t):
        u = (good.t - good.t[0]) / good.span if good.span > 0 else np.zeros(len(good.t))
        start, end = mood_of(good, u < edge_fraction), mood_of(good, u >= 1 - edge_fraction)
    else:
        start = end = Mood(None, None, "unknown")
    neg, pos = moments(good, window, top)
    share = time_shares(good)
    parts = [
        score.reason.rstrip(".") + "."
        if score.score is None and score.reason
        else f"Score {score.score:g}/100 (confidence {score.confidence:.2f})."
    ]
    if start.valence is not None:
        parts.append(
            f"The customer started {start.mood} (mostly {start.emotion}) and ended {end.mood} (mostly {end.emotion})."
        )
    if score.episodes:
        first = score.episodes[0]
        parts.append(
            f"{len(score.episodes)} sustained negative episode{'s' if len(score.episodes) > 1 else ''} "
            f"(the first {first.seconds:.0f} s from {clock(first.start)})."
        )
    return Explanation(start, end, tuple(neg), tuple(pos), share, score.episodes, " ".join(parts))
