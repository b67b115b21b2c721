"""Classification metrics in numpy: shared by torch-side and ONNX-side evaluation."""

from __future__ import annotations

from typing import Any

import numpy as np


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, k: int) -> np.ndarray:
    """(k, k) counts; rows = true class, columns = predicted."""
    cm = np.zeros((k, k), dtype=np.int64)
    np.add.at(cm, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return cm


def per_class_report(cm: np.ndarray, labels: tuple[str, ...]) -> dict[str, dict[str, float]]:
    tp = np.diag(cm).astype(float)
    support = cm.sum(1).astype(float)
    predicted = cm.sum(0).astype(float)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, support, out=np.zeros_like(tp), where=support > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(tp), where=denom > 0)
    return {
        name: {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(support[i]),
        }
        for i, name in enumerate(labels)
    }


def expected_calibration_error(
    probs: np.ndarray, y_true: np.ndarray, bins: int = 15
) -> tuple[float, list[dict[str, float]]]:
    """ECE over equal-width confidence bins, plus the bins for a reliability diagram."""
    conf = probs.max(1)
    correct = (probs.argmax(1) == y_true).astype(float)
    edges = np.linspace(0, 1, bins + 1)
    ece, table = 0.0, []
    for lo, hi in zip(edges[:-1], edges[1:]):
        m = (conf > lo) & (conf <= hi)
        if not m.any():
            continue
        gap = abs(correct[m].mean() - conf[m].mean())
        ece += m.mean() * gap
        table.append(
            {
                "lo": float(lo),
                "hi": float(hi),
                "n": int(m.sum()),
                "accuracy": float(correct[m].mean()),
                "confidence": float(conf[m].mean()),
            }
        )
    return float(ece), table


def classification_metrics(probs: np.ndarray, y_true: np.ndarray, labels: tuple[str, ...]) -> dict[str, Any]:
    """accuracy, macro_f1, per_class, confusion, ece, n: the one metrics dict we report."""
    y_true = np.asarray(y_true)
    y_pred = probs.argmax(1)
    cm = confusion_matrix(y_true, y_pred, len(labels))
    per_class = per_class_report(cm, labels)
    present = [v["f1"] for v in per_class.values() if v["support"] > 0]
    ece, reliability = expected_calibration_error(probs, y_true)
    return {
        "n": int(len(y_true)),
        "accuracy": float((y_pred == y_true).mean()) if len(y_true) else 0.0,
        "macro_f1": float(np.mean(present)) if present else 0.0,
        "ece": ece,
        "per_class": per_class,
        "confusion": cm.tolist(),
        "labels": list(labels),
        "reliability": reliability,
    }


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    z = logits / temperature
    z = z - z.max(1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(1, keepdims=True)


def fit_temperature(logits: np.ndarray, y_true: np.ndarray, objective: str = "brier") -> float:
    """Temperature minimising the validation Brier score (or NLL), by golden-section search on log T.

    Why Brier by default: with one temperature the ranking of classes, and so the resolution
    term of Brier's decomposition, barely moves, so minimising it minimises its reliability
    term, a squared calibration error: what `confidence` is meant to honour. NLL (the classic
    choice) also weighs how confidently a handful of (often mislabelled, in FER2013) faces are
    wrong, and can land on a temperature whose ECE is worse.
    """
    y_true = np.asarray(y_true)
    if objective not in ("brier", "nll"):
        raise ValueError(f"objective must be brier or nll, got {objective!r}")
    onehot = np.eye(logits.shape[1])[y_true]

    def loss(log_t: float) -> float:
        p = softmax(logits, float(np.exp(log_t)))
        if objective == "nll":
            return float(-np.log(p[np.arange(len(y_true)), y_true] + 1e-12).mean())
        return float(((p - onehot) ** 2).sum(1).mean())

    lo, hi = np.log(0.05), np.log(20.0)
    g = (np.sqrt(5) - 1) / 2
    a, b = hi - g * (hi - lo), lo + g * (hi - lo)
    for _ in range(60):
        if loss(a) < loss(b):
            hi, b = b, a
            a = hi - g * (hi - lo)
        else:
            lo, a = a, b
            b = lo + g * (hi - lo)
    return float(np.exp((lo + hi) / 2))
