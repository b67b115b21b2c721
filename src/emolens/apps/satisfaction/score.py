"""The satisfaction score of one session, from the customer's smoothed emotion timeline.

Over the customer's usable frames i (face not tiny or dark), each standing for d_i
seconds, with smoothed probabilities p_ik and valence v_i = sum_k p_ik VALENCE[k]:

    u_i   = (t_i - T0) / (T1 - T0)                position in the customer's time, 0 .. 1
    r_i   = 1 + (end_weight - 1) * u_i            recency: the end counts end_weight times the start
    s_k   = sum_i r_i d_i p_ik / sum_i r_i d_i    recency- and time-weighted share of emotion k
    V     = sum_k s_k VALENCE[k]                  valence-weighted shares, -1 .. 1
    P     = min(max_penalty, sum_e (episode_points + episode_points_per_s * D_e))
            over sustained negative episodes e: runs of v_i <= negative_below lasting D_e >= min_episode_s
    score = clip(50 * (1 + V) - P, 0, 100)        neutral throughout = 50

confidence = min(1, U / full_confidence_s) * U / S, with U the usable customer seconds and S
the customer's span (first to last sighting). With U < min_usable_s the score is None
and `reason` says why: too little signal never becomes an invented number.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from emolens.apps.satisfaction.customer import Selection
from emolens.apps.satisfaction.recording import Recording, frame_durations
from emolens.core.labels import VALENCE

EPISODE_GAP_S = 1.0  # an episode goes on over a gap (no usable face) of at most this


@dataclass(frozen=True)
class ScoreParams:
    end_weight: float = 2.0
    negative_below: float = -0.3
    min_episode_s: float = 3.0
    episode_points: float = 5.0
    episode_points_per_s: float = 1.0
    max_penalty: float = 30.0
    min_usable_s: float = 5.0
    full_confidence_s: float = 30.0

    def __post_init__(self) -> None:
        if self.end_weight < 1:
            raise ValueError(f"end_weight must be at least 1 (the end never counts less), got {self.end_weight}")
        if not -1 <= self.negative_below <= 1:
            raise ValueError(f"negative_below is a valence in -1..1, got {self.negative_below}")

    def to_dict(self) -> dict[str, float]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class CustomerTimeline:
    """The customer's frames: time, seconds each stands for, smoothed probabilities, usable flag."""

    labels: tuple[str, ...]
    t: np.ndarray  # (N,) s from the session's start
    d: np.ndarray  # (N,) s
    probs: np.ndarray  # (N, K), labels order
    usable: np.ndarray  # (N,) bool

    @property
    def valence(self) -> np.ndarray:
        return self.probs @ valence_vector(self.labels)  # (N,)

    def only_usable(self) -> CustomerTimeline:
        m = self.usable
        return CustomerTimeline(self.labels, self.t[m], self.d[m], self.probs[m], self.usable[m])

    @property
    def span(self) -> float:
        return float(self.t[-1] + self.d[-1] - self.t[0]) if len(self.t) else 0.0

    @classmethod
    def from_arrays(
        cls,
        labels: Sequence[str],
        t: Sequence[float],
        probs: Sequence[Sequence[float]],
        d: Sequence[float] | None = None,
        usable: Sequence[bool] | None = None,
    ) -> CustomerTimeline:
        """For callers (and tests) that have the customer's numbers already; d defaults to the frame gaps."""
        t_arr = np.asarray(t, dtype=float)
        return cls(
            tuple(labels),
            t_arr,
            frame_durations(t_arr) if d is None else np.asarray(d, dtype=float),
            np.asarray(probs, dtype=float).reshape(len(t_arr), len(labels)),
            np.ones(len(t_arr), bool) if usable is None else np.asarray(usable, dtype=bool),
        )


def valence_vector(labels: Sequence[str]) -> np.ndarray:
    return np.array([VALENCE.get(k, 0.0) for k in labels])


def customer_timeline(recording: Recording, selection: Selection) -> CustomerTimeline:
    """The customer's samples in frame order (the session's frame durations; one sample per frame)."""
    durations = frame_durations(recording.times)
    ids = set(selection.customer)
    rows = {f.frame: f for f in recording.faces if f.track in ids}  # stitched tracks never share a frame
    frames = sorted(rows)
    k = len(recording.labels)
    return CustomerTimeline(
        labels=recording.labels,
        t=np.array([recording.times[i] for i in frames], dtype=float),
        d=np.array([durations[i] for i in frames], dtype=float),
        probs=np.array([rows[i].probs for i in frames], dtype=float).reshape(len(frames), k),
        usable=np.array([rows[i].usable for i in frames], dtype=bool),
    )


@dataclass(frozen=True)
class Episode:
    start: float
    end: float
    seconds: float  # face time inside it
    min_valence: float

    def to_dict(self) -> dict[str, float]:
        return {
            "start": round(self.start, 2),
            "end": round(self.end, 2),
            "seconds": round(self.seconds, 2),
            "min_valence": round(self.min_valence, 3),
        }


def negative_episodes(tl: CustomerTimeline, params: ScoreParams) -> list[Episode]:
    """Runs of usable frames with valence <= negative_below lasting at least min_episode_s."""
    v, out = tl.valence, []
    run: list[int] = []  # the frames of the episode being followed
    for i in range(len(tl.t)):
        gap = bool(run) and tl.t[i] - (tl.t[run[-1]] + tl.d[run[-1]]) > EPISODE_GAP_S
        if v[i] > params.negative_below or gap:
            out.append(run)
            run = []
        if v[i] <= params.negative_below:
            run.append(i)
    out.append(run)
    episodes = [
        Episode(float(tl.t[r[0]]), float(tl.t[r[-1]] + tl.d[r[-1]]), float(tl.d[r].sum()), float(v[r].min()))
        for r in out
        if r
    ]
    return [e for e in episodes if e.seconds >= params.min_episode_s - 1e-9]


def recency_weights(tl: CustomerTimeline, end_weight: float) -> np.ndarray:
    """r_i = 1 + (end_weight - 1) * u_i, u_i the position of frame i within the customer's time."""
    if not len(tl.t):
        return np.zeros(0)
    span = tl.span
    u = (tl.t - tl.t[0]) / span if span > 0 else np.zeros(len(tl.t))
    return 1.0 + (end_weight - 1.0) * u


def weighted_shares(tl: CustomerTimeline, weights: np.ndarray) -> dict[str, float]:
    """s_k: weighted mean probability of each label (the weights are per frame, e.g. r_i * d_i)."""
    total = float(weights.sum())
    if total <= 0:
        return dict.fromkeys(tl.labels, 0.0)
    mean = (weights[:, None] * tl.probs).sum(axis=0) / total
    return {k: float(p) for k, p in zip(tl.labels, mean)}


@dataclass(frozen=True)
class Score:
    score: float | None  # 0..100, None when the signal is too thin (see reason)
    confidence: float  # 0..1
    reason: str | None
    valence: float | None  # V
    penalty: float  # P
    usable_seconds: float  # U
    span_seconds: float  # S
    episodes: tuple[Episode, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "confidence": round(self.confidence, 3),
            "reason": self.reason,
            "valence": None if self.valence is None else round(self.valence, 4),
            "penalty": round(self.penalty, 2),
            "usable_seconds": round(self.usable_seconds, 2),
            "span_seconds": round(self.span_seconds, 2),
            "episodes": [e.to_dict() for e in self.episodes],
        }


def confidence(usable_s: float, span_s: float, params: ScoreParams) -> float:
    if usable_s <= 0 or span_s <= 0:
        return 0.0
    return min(1.0, usable_s / params.full_confidence_s) * min(1.0, usable_s / span_s)


def score_timeline(
    tl: CustomerTimeline, params: ScoreParams = ScoreParams(), *, no_customer: str | None = None
) -> Score:
    """The formula in this module's docstring; no_customer is the selection's reason when nobody was chosen."""
    good = tl.only_usable()
    usable_s, span_s = float(good.d.sum()), tl.span
    conf = confidence(usable_s, span_s, params)
    if no_customer is not None or usable_s < params.min_usable_s:
        reason = no_customer or (
            f"too little usable customer face time: {usable_s:.1f} s "
            f"(at least {params.min_usable_s:g} s needed for a score)"
        )
        return Score(None, round(conf, 3), reason, None, 0.0, usable_s, span_s, ())
    shares = weighted_shares(good, recency_weights(good, params.end_weight) * good.d)
    valence = float(sum(s * VALENCE.get(k, 0.0) for k, s in shares.items()))
    episodes = tuple(negative_episodes(good, params))
    penalty = min(
        params.max_penalty, sum(params.episode_points + params.episode_points_per_s * e.seconds for e in episodes)
    )
    score = float(np.clip(50.0 * (1.0 + valence) - penalty, 0.0, 100.0))
    return Score(round(score, 1), round(conf, 3), None, valence, penalty, usable_s, span_s, episodes)


def mood_word(valence: float | None) -> str:
    if valence is None:
        return "unknown"
    return "positive" if valence >= 0.15 else "negative" if valence <= -0.15 else "neutral"


def dominant(shares: Mapping[str, float]) -> str | None:
    return max(shares, key=lambda k: shares[k]) if shares and max(shares.values()) > 0 else None
