"""Test-time augmentation: the views of a preprocessed batch whose logits are averaged.

Shared by training-run evaluation (torch) and the ONNX runtime, so a card's `tta`
means the same thing everywhere. Views work on the preprocessed batch (N, C, S, S).
"""

from __future__ import annotations

from collections.abc import Iterable

import cv2
import numpy as np

TTA_NAMES = ("flip", "zoom", "shift")
ZOOM = 1.1  # "zoom" view: the central 1/1.1 of the crop, enlarged back to S x S
SHIFT = 1 / 16  # "shift" views: the crop moved left, right, up and down by S/16 (3 px at 48)


def parse_tta(spec: str | Iterable[str] | None) -> tuple[str, ...]:
    """'none' | 'flip' | 'flip,zoom' (or a sequence of names) -> validated tuple of names."""
    if spec is None:
        return ()
    names = [s.strip() for s in (spec.split(",") if isinstance(spec, str) else spec)]
    names = [n for n in names if n and n != "none"]
    unknown = sorted(set(names) - set(TTA_NAMES))
    if unknown:
        raise ValueError(
            f"unknown test-time augmentation {', '.join(unknown)}; choose from none, {', '.join(TTA_NAMES)}"
        )
    return tuple(n for n in TTA_NAMES if n in names)


def zoom(batch: np.ndarray, factor: float = ZOOM) -> np.ndarray:
    """Centre crop of side S/factor, resized back to S (bilinear), per image and channel."""
    n, c, s, _ = batch.shape
    side = int(round(s / factor))
    o = (s - side) // 2
    out = np.empty_like(batch, dtype=np.float32)
    for i in range(n):
        for ch in range(c):
            out[i, ch] = cv2.resize(batch[i, ch, o : o + side, o : o + side], (s, s), interpolation=cv2.INTER_LINEAR)
    return out


def shift(batch: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """The batch moved by (dx, dy) pixels, borders filled by reflection as in training."""
    s, p = batch.shape[-1], max(abs(dx), abs(dy))
    padded = np.pad(np.asarray(batch, np.float32), ((0, 0), (0, 0), (p, p), (p, p)), mode="reflect")
    return np.ascontiguousarray(padded[..., p - dy : p - dy + s, p - dx : p - dx + s])


def tta_views(batch: np.ndarray, tta: Iterable[str]) -> list[np.ndarray]:
    """The batch, its zoomed and shifted views if asked, and (with 'flip') the mirror of each.

    Order: batch, zoom, shifts (left, right, up, down), then the mirrors in the same order.
    """
    names = parse_tta(tuple(tta))
    views = [np.ascontiguousarray(batch, np.float32)]
    if "zoom" in names:
        views.append(zoom(views[0]))
    if "shift" in names:
        d = max(1, int(round(batch.shape[-1] * SHIFT)))
        views += [shift(views[0], dx, dy) for dx, dy in ((-d, 0), (d, 0), (0, -d), (0, d))]
    if "flip" in names:
        views += [np.ascontiguousarray(v[..., ::-1]) for v in views]
    return views
