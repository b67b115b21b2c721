"""From analysed frames to one check-in reading, and the personal-baseline adjustment (pure maths).

A reading's `shares` are the mean of the per-frame probabilities of the user's face
(the largest face in each frame), so they sum to 1 and say how much of the check-in
looked like each emotion. `confidence` is the mean of the per-frame top probability.

Baseline (docs/journal.md): the user's relaxed face, averaged over a few frames, `b`.
A typical neutral face reads like NEUTRAL_PRIOR `r` (neutral 0.70, each other emotion
0.05). What the user's resting face shows beyond that, e_k = max(0, b_k - r_k) for every
emotion k except neutral, belongs to the face, not the mood: a later reading p becomes
    a_k = max(0, p_k - e_k)          (k != neutral)
    a_neutral = 1 - sum(a_k)         (the removed share is read as neutral)
so `a` still sums to 1, a reading equal to the baseline reads as neutral (a_neutral >= 0.70),
and no emotion is ever raised by the adjustment, only the resting face's excess removed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from emolens.core.labels import EMOTIONS
from emolens.core.results import Face

NEUTRAL = "neutral"
NEUTRAL_PRIOR: Mapping[str, float] = {name: (0.70 if name == NEUTRAL else 0.05) for name in EMOTIONS}
RESTING_MAX = 0.5  # a resting face reading this much of one expression (a smile, a frown) is not at rest


class NoFaceFound(ValueError):
    """None of the frames showed a face; the message says what to try."""


@dataclass(frozen=True)
class Reading:
    """One check-in's numbers: shares per emotion (sum 1), mean confidence, frames with a face."""

    shares: Mapping[str, float]
    confidence: float | None
    frames: int
    total_frames: int
    most_faces: int = 1  # the most faces seen in one frame; the user's is the largest

    @property
    def emotion(self) -> str:
        return top(self.shares)

    @property
    def notice(self) -> str | None:
        """Said when other faces were in the picture: which one was read."""
        if self.most_faces < 2:
            return None
        if self.total_frames == 1:
            return f"{self.most_faces} faces found, used the largest"
        return f"up to {self.most_faces} faces in a frame, used the largest in each"

    def to_dict(self) -> dict[str, Any]:
        return {
            "shares": rounded(self.shares),
            "emotion": self.emotion,
            "confidence": None if self.confidence is None else round(self.confidence, 4),
            "frames": self.frames,
            "total_frames": self.total_frames,
        }


def top(shares: Mapping[str, float]) -> str:
    return max(shares, key=lambda k: shares[k])


def rounded(shares: Mapping[str, float], digits: int = 4) -> dict[str, float]:
    return {k: round(float(v), digits) for k, v in shares.items()}


def user_face(faces: Sequence[Face]) -> Face | None:
    """The person checking in: the largest face in the frame (others in the background are ignored)."""
    return max(faces, key=lambda f: f.box[2] * f.box[3], default=None)


def reading_from_frames(frames: Sequence[Sequence[Face]]) -> Reading:
    """Faces found in each frame -> one reading; NoFaceFound when no frame had a face."""
    chosen = [f for f in (user_face(faces) for faces in frames) if f is not None]
    if not chosen:
        raise NoFaceFound(
            f"no face found in {'the photo' if len(frames) == 1 else f'{len(frames)} frames'}: "
            "face the camera in good light, or check in by picking a mood"
        )
    labels = list(chosen[0].probabilities)
    shares = {k: sum(float(f.probabilities.get(k, 0.0)) for f in chosen) / len(chosen) for k in labels}
    confidence = sum(f.confidence for f in chosen) / len(chosen)
    return Reading(
        shares=normalised(shares),
        confidence=confidence,
        frames=len(chosen),
        total_frames=len(frames),
        most_faces=max(len(faces) for faces in frames),
    )


def device_reading(
    shares: Mapping[str, float], confidence: float, frames: int, total_frames: int | None = None, most_faces: int = 1
) -> Reading:
    """Shares the user's own device computed (the mean probabilities of the largest face over its frames, as
    reading_from_frames) -> a reading; ValueError, saying what is wrong, for numbers that cannot be one."""
    unknown = sorted(set(shares) - set(EMOTIONS))
    if unknown:
        raise ValueError(f"unknown emotions in shares: {', '.join(unknown)} (use {', '.join(EMOTIONS)})")
    values = [float(v) for v in shares.values()]
    if not values or any(not 0.0 <= v <= 1.0 for v in values):  # also refuses NaN
        raise ValueError("shares must be probabilities between 0 and 1")
    if abs(sum(values) - 1.0) > 0.01:
        raise ValueError(f"shares must sum to 1 (they sum to {sum(values):.3f})")
    if not 0.0 <= confidence <= 1.0:
        raise ValueError("confidence must be between 0 and 1")
    total = frames if total_frames is None else total_frames
    if not 1 <= frames <= total:
        raise ValueError("frames (with a face) must be at least 1 and at most total_frames")
    full = {k: float(shares.get(k, 0.0)) for k in EMOTIONS}
    return Reading(normalised(full), float(confidence), int(frames), int(total), max(1, int(most_faces)))


def manual_reading(mood: str) -> Reading:
    """A mood the user picked: all of the check-in's share on that emotion."""
    if mood not in EMOTIONS:
        raise ValueError(f"unknown mood {mood!r}: pick one of {', '.join(EMOTIONS)}")
    return Reading(shares={k: float(k == mood) for k in EMOTIONS}, confidence=None, frames=0, total_frames=0)


def normalised(shares: Mapping[str, float]) -> dict[str, float]:
    total = sum(max(0.0, v) for v in shares.values())
    if total <= 0:
        raise ValueError("shares must have a positive sum")
    return {k: max(0.0, v) / total for k, v in shares.items()}


def resting_warning(baseline: Mapping[str, float]) -> str | None:
    """Why a calibration should be taken again: the "resting" face clearly shows an expression.

    Its excess over a typical neutral face is taken off every later reading, so a smile here
    would make later happy check-ins read as neutral. None when the face is near neutral.
    """
    shown = {k: float(v) for k, v in baseline.items() if k != NEUTRAL}
    if not shown:
        return None
    emotion = max(shown, key=lambda k: shown[k])
    if shown[emotion] < RESTING_MAX:
        return None
    return (
        f"your resting face reads {emotion} {shown[emotion]:.0%}, not near neutral: relax your face (no smile, "
        f"no frown) and calibrate again, or later check-ins will read that much less {emotion}"
    )


def excess(baseline: Mapping[str, float]) -> dict[str, float]:
    """e_k = max(0, b_k - r_k) for every emotion but neutral: what the resting face adds to a typical neutral one."""
    return {k: max(0.0, float(b) - NEUTRAL_PRIOR.get(k, 0.0)) for k, b in baseline.items() if k != NEUTRAL}


def adjust(shares: Mapping[str, float], baseline: Mapping[str, float] | None) -> dict[str, float]:
    """The reading relative to the user's resting face (see the module docstring); unchanged without one."""
    if not baseline or NEUTRAL not in shares:
        return dict(shares)
    e = excess(baseline)
    out = {k: max(0.0, float(p) - e.get(k, 0.0)) for k, p in shares.items() if k != NEUTRAL}
    out[NEUTRAL] = max(0.0, 1.0 - sum(out.values()))
    return {k: out[k] for k in shares}  # keep the label order


def one_hot(emotion: str) -> dict[str, float]:
    return {k: float(k == emotion) for k in EMOTIONS}
