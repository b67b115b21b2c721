"""Personal adaptation, the maths: a small per-user calibration over the model's readings (numpy only).

A reading r (the shares the journal would use: relative to the baseline when there is one) becomes

    q = softmax(s * log r + b)        b: one bias per emotion, s: a scale (1 / temperature)

fitted on the user's corrected check-ins (and their resting face, read as neutral) by minimising

    sum_i -log q_i[label_i]  +  (STRENGTH / 2) * (|b|^2 + SCALE_WEIGHT * (s - 1)^2)

The penalty pulls (b, s) towards (0, 1), where q = r: with a few corrections the calibration moves a
little, with many it moves more, and with none it is the identity. The objective is convex in (b, s)
(a multinomial logistic regression on fixed features), so Newton's method finds its one minimum.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

EPS = 1e-4  # readings are clipped here before the log (an adjusted share can be 0)
STRENGTH = 2.0  # the prior counts about as much as this many corrections
SCALE_WEIGHT = 4.0  # the temperature moves less freely than the biases
FOLDS = 5


@dataclass(frozen=True)
class Calibration:
    """q = softmax(scale * log r + bias) over `labels` (the model's labels, in its order)."""

    labels: tuple[str, ...]
    bias: tuple[float, ...]
    scale: float = 1.0

    def apply(self, reading: Mapping[str, float]) -> dict[str, float]:
        """The calibrated reading; a reading over other labels (another model) is returned unchanged."""
        if tuple(reading) != self.labels:
            return dict(reading)
        z = self.scale * features([reading], self.labels)[0] + np.asarray(self.bias)
        return {k: float(v) for k, v in zip(self.labels, softmax(z[None])[0])}

    def to_dict(self) -> dict[str, Any]:
        return {
            "labels": list(self.labels),
            "bias": {k: round(float(b), 6) for k, b in zip(self.labels, self.bias)},
            "scale": round(float(self.scale), 6),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Calibration:
        labels = tuple(data["labels"])
        return cls(labels, tuple(float(data["bias"][k]) for k in labels), float(data["scale"]))


@dataclass(frozen=True)
class Example:
    """One labelled reading: what the journal read, and the emotion the user said it was."""

    reading: Mapping[str, float]
    label: str


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def features(readings: Sequence[Mapping[str, float]], labels: Sequence[str]) -> np.ndarray:
    """(n, K) log of the clipped readings, in label order."""
    x = np.array([[float(r.get(k, 0.0)) for k in labels] for r in readings], np.float64).reshape(-1, len(labels))
    return np.log(np.clip(x, EPS, 1.0))


def _objective(
    theta: np.ndarray, x: np.ndarray, y: np.ndarray, strength: float
) -> tuple[float, np.ndarray, np.ndarray]:
    """Loss, gradient and Hessian of the penalised log-loss at theta = (b_1..b_K, s)."""
    n, k = x.shape
    b, s = theta[:k], theta[k]
    p = softmax(s * x + b)
    loss = -np.log(p[np.arange(n), y] + 1e-300).sum()
    prior = np.append(np.ones(k), SCALE_WEIGHT)
    centre = np.append(np.zeros(k), 1.0)
    loss += 0.5 * strength * float((prior * (theta - centre) ** 2).sum())
    r = p.copy()
    r[np.arange(n), y] -= 1.0  # (n, K) dloss/dz
    grad = np.append(r.sum(0), (r * x).sum()) + strength * prior * (theta - centre)
    jac = np.concatenate([np.broadcast_to(np.eye(k), (n, k, k)), x[:, :, None]], axis=2)  # (n, K, K+1) dz/dtheta
    hzz = np.einsum("nk,kl->nkl", p, np.eye(k)) - p[:, :, None] * p[:, None, :]  # (n, K, K)
    hess = np.einsum("nka,nkl,nlb->ab", jac, hzz, jac) + strength * np.diag(prior)
    return float(loss), grad, hess


def fit(examples: Sequence[Example], labels: Sequence[str], *, strength: float = STRENGTH) -> Calibration:
    """The calibration that best explains the examples under the prior (identity without examples)."""
    labels = tuple(labels)
    k = len(labels)
    theta = np.append(np.zeros(k), 1.0)
    usable = [e for e in examples if e.label in labels]
    if not usable:
        return Calibration(labels, (0.0,) * k, 1.0)
    x = features([e.reading for e in usable], labels)
    y = np.array([labels.index(e.label) for e in usable])
    loss, grad, hess = _objective(theta, x, y, strength)
    for _ in range(50):
        step = np.linalg.solve(hess, grad)
        t = 1.0
        while t > 1e-6:  # backtracking: Newton's full step can overshoot far from the minimum
            new = _objective(theta - t * step, x, y, strength)
            if new[0] <= loss - 1e-4 * t * float(grad @ step):
                break
            t /= 2
        else:
            break
        theta = theta - t * step
        loss, grad, hess = new
        if np.abs(grad).max() < 1e-8:
            break
    return Calibration(labels, tuple(float(v) for v in theta[:k]), float(theta[k]))


def top(reading: Mapping[str, float]) -> str:
    return max(reading, key=lambda k: reading[k])


def cross_validate(
    examples: Sequence[Example], labels: Sequence[str], anchors: Sequence[Example] = (), folds: int = FOLDS
) -> dict[str, Any] | None:
    """Accuracy on the user's own corrected check-ins before and after the adaptation, each check-in
    predicted by a calibration fitted without it (k-fold; the anchors, the resting face, are in every fit).
    None with fewer than 2 examples."""
    n = len(examples)
    if n < 2:
        return None
    k = min(folds, n)
    before = after = 0
    for fold in range(k):
        held = [e for i, e in enumerate(examples) if i % k == fold]
        rest = [e for i, e in enumerate(examples) if i % k != fold]
        cal = fit([*rest, *anchors], labels)
        before += sum(top(e.reading) == e.label for e in held)
        after += sum(top(cal.apply(e.reading)) == e.label for e in held)
    return {"n": n, "folds": k, "before": round(before / n, 4), "after": round(after / n, 4)}
