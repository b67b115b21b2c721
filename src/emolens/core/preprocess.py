"""The one preprocessing path: face crop(s) -> model input, driven by the card.

Training (eval and the in-memory train tensor), ONNX parity tests and the runtime
all call `preprocess`, so a model always sees pixels prepared the same way.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from emolens.core.card import ModelCard

_INTERP = {
    "area": cv2.INTER_AREA,
    "linear": cv2.INTER_LINEAR,
    "cubic": cv2.INTER_CUBIC,
    "nearest": cv2.INTER_NEAREST,
}


def _to_channels(img: np.ndarray, channels: int) -> np.ndarray:
    """uint8 HxW or HxWx{1,3,4} (BGR order, as OpenCV) -> HxW (gray) or HxWx3 (RGB)."""
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    if img.ndim == 2:
        return img if channels == 1 else cv2.cvtColor(img, cv2.COLOR_GRAY2RGB)
    if img.ndim != 3 or img.shape[2] not in (3, 4):
        raise ValueError(f"expected a gray, BGR or BGRA image, got shape {img.shape}")
    if img.shape[2] == 4:
        img = cv2.cvtColor(img, cv2.COLOR_BGRA2BGR)
    if channels == 1:
        return cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def _resize(img: np.ndarray, size: int, interpolation: str) -> np.ndarray:
    if img.shape[0] == size and img.shape[1] == size:
        return img
    # Shrinking uses the card's method; enlarging with INTER_AREA equals linear anyway.
    return cv2.resize(img, (size, size), interpolation=_INTERP[interpolation])


def gray_square(crop: np.ndarray, size: int = 48, interpolation: str = "area") -> np.ndarray:
    """A face crop (uint8, gray or BGR) -> size x size gray uint8: FER2013's form, in which journal users
    contribute crops and `emolens finetune` mixes them with FER2013 (preprocess then reads both alike)."""
    return np.ascontiguousarray(_resize(_to_channels(np.asarray(crop), 1), size, interpolation))


def preprocess(crops: Sequence[np.ndarray] | np.ndarray, card: ModelCard) -> np.ndarray:
    """Face crops (uint8, gray or BGR, any size) -> float32 batch (N, C, S, S).

    A uint8 array of shape (N, H, W) is taken as N gray crops (the in-memory
    dataset form), so training can prepare a whole split in one call.
    """
    size, channels = card.input_size, card.channels
    if isinstance(crops, np.ndarray) and crops.ndim == 3 and crops.dtype == np.uint8 and channels == 1:
        batch = (
            crops
            if crops.shape[1:] == (size, size)
            else np.stack([_resize(c, size, card.interpolation) for c in crops])
        )
        out = batch.astype(np.float32)[:, None, :, :]
    else:
        items = []
        for crop in crops:
            crop = np.asarray(crop)
            if crop.dtype != np.uint8:
                raise ValueError(f"face crops must be uint8, got {crop.dtype}")
            if crop.size == 0:
                raise ValueError("empty face crop")
            item = _resize(_to_channels(crop, channels), size, card.interpolation)
            items.append(item[None] if channels == 1 else item.transpose(2, 0, 1))
        if not items:
            return np.zeros((0, channels, size, size), np.float32)
        out = np.stack(items).astype(np.float32)
    out *= 1.0 / 255.0
    mean = np.asarray(card.mean, np.float32).reshape(1, channels, 1, 1)
    std = np.asarray(card.std, np.float32).reshape(1, channels, 1, 1)
    return (out - mean) / std
