"""Training crops made the way the runtime makes them: detect, align, crop a face in a photo.

Why: FER2013's crops are tight and centred by hand; the runtime crops what CenterFace finds
and rotates the eyes level. A model trained only on the former loses accuracy on the latter
(benchmarks/bench_alignment.py: 74.8% on the original crops, 73.1% on re-made ones). Here
each FER2013 face is upscaled (a random 2.5-4x) onto a gray canvas at a random position, and
the runtime's own detector and aligner cut it out again. Photos (colour, any size) go
through the same detector directly. Results are cached on disk, keyed by the images and the
settings, because detection costs ~10 ms per image.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

import cv2
import numpy as np

log = logging.getLogger(__name__)

CANVAS = 256
VERSION = 1  # bump when the procedure changes, so old caches are not reused


def cache_dir() -> Path:
    """$EMOLENS_CACHE, else ~/.cache/emolens: large derived arrays live outside the repository."""
    return Path(os.environ.get("EMOLENS_CACHE") or Path.home() / ".cache" / "emolens")


def on_canvas(face: np.ndarray, scale: float, offset: tuple[float, float], canvas: int = CANVAS) -> np.ndarray:
    """A gray face enlarged by `scale` and placed on a mid-gray BGR canvas; offset in [0, 1] of the free room."""
    side = int(round(face.shape[0] * scale))
    big = cv2.resize(face, (side, side), interpolation=cv2.INTER_CUBIC)
    size = max(canvas, side + 8)
    out = np.full((size, size), 128, np.uint8)
    oy, ox = int(offset[0] * (size - side)), int(offset[1] * (size - side))
    out[oy : oy + side, ox : ox + side] = big
    return cv2.cvtColor(out, cv2.COLOR_GRAY2BGR)


def runtime_crop(
    image: np.ndarray,
    detector,
    size: int,
    *,
    margin: float = 0.0,
    align: bool = True,
    interpolation: int = cv2.INTER_AREA,
) -> np.ndarray | None:
    """The runtime's crop of the most confident face in a BGR image, gray size x size; None if none found."""
    from emolens.inference.align import crop_face

    dets = detector.detect(image)
    if not dets:
        return None
    det = max(dets, key=lambda d: d.score)
    crop = crop_face(image, det, margin=margin, align=align)
    gray = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY) if crop.ndim == 3 else crop
    return cv2.resize(gray, (size, size), interpolation=interpolation) if gray.shape[0] != size else gray


def _detector(threads: int):
    from emolens.inference.detectors import create_detector

    return create_detector("centerface", threshold=0.3, min_face=10, max_side=CANVAS * 2, threads=threads)


def recrop_faces(
    images: np.ndarray,
    digests: list[str],
    size: int = 48,
    *,
    seed: int = 0,
    threads: int = 2,
    margin: float = 0.0,
    align: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """(N, H, W) gray faces -> (N, size, size) runtime crops and a (N,) found mask (cached).

    Where the detector finds nothing, the original face (resized) stands in and found is False.
    """
    key = hashlib.sha256(
        f"v{VERSION}|{size}|{seed}|{margin}|{align}|{CANVAS}".encode() + "".join(digests).encode()
    ).hexdigest()[:20]
    path = cache_dir() / "recrop" / f"{key}.npz"
    if path.is_file():
        with np.load(path) as z:
            log.info("runtime crops from %s", path)
            return z["crops"], z["found"]
    from tqdm import tqdm

    det = _detector(threads)
    rng = np.random.default_rng(seed)
    crops = np.empty((len(images), size, size), np.uint8)
    found = np.zeros(len(images), bool)
    for i in tqdm(range(len(images)), desc="runtime crops", unit="face", disable=None):
        face = images[i]
        canvas = on_canvas(face, rng.uniform(2.5, 4.0), (rng.uniform(), rng.uniform()))
        crop = runtime_crop(canvas, det, size, margin=margin, align=align)
        found[i] = crop is not None
        crops[i] = crop if crop is not None else cv2.resize(face, (size, size), interpolation=cv2.INTER_AREA)
    log.info("runtime crops: the detector found %d of %d faces (%.1f%%)", found.sum(), len(found), 100 * found.mean())
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, crops=crops, found=found)
    tmp.replace(path)
    return crops, found
