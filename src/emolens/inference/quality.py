"""Cheap face-crop quality checks that flag predictions not to trust blindly."""

from __future__ import annotations

import cv2
import numpy as np

from emolens.core.results import Quality

TINY_SIDE = 40  # px: FER-style models see 48 px faces; much smaller ones are mostly upscaled blur
BLURRY_BELOW = 40.0  # variance of the Laplacian at 96 px
DARK_BELOW = 50.0  # mean gray level


def assess(crop: np.ndarray, box_side: float) -> Quality:
    """Quality of one face crop (uint8 BGR or gray); box_side is the face size in the image."""
    gray = crop if crop.ndim == 2 else cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
    norm = cv2.resize(gray, (96, 96), interpolation=cv2.INTER_AREA if gray.shape[0] > 96 else cv2.INTER_LINEAR)
    sharpness = float(cv2.Laplacian(norm, cv2.CV_64F).var())
    brightness = float(norm.mean())
    return Quality(
        tiny=box_side < TINY_SIDE,
        blurry=sharpness < BLURRY_BELOW,
        dark=brightness < DARK_BELOW,
        sharpness=sharpness,
        brightness=brightness,
    )
