"""Training pictures for our own face detector: real face photos pasted on backgrounds.

Why composites: the project has thousands of real face photos (facial-expressions) but no
photos of crowds with boxes. CenterFace labels each source photo once (box + 5 landmarks);
pasting the photos at known places and sizes gives pictures with many faces of every size
and exact boxes, and backgrounds without faces teach the detector what is not a face.
"""

from __future__ import annotations

import hashlib
import json
import logging
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

log = logging.getLogger(__name__)

# skimage sample pictures without a human face (astronaut and camera have one and are the tests' faces)
BACKGROUND_NAMES = (
    "brick", "chelsea", "clock", "coffee", "coins", "colorwheel", "grass", "gravel", "horse",
    "hubble_deep_field", "immunohistochemistry", "logo", "microaneurysms", "moon", "page", "retina",
    "rocket", "text", "motorcycle_left", "checkerboard",
)  # fmt: skip

FLIP_ORDER = (1, 0, 2, 4, 3)  # landmark order after a mirror: eyes and mouth corners swap sides


@dataclass(frozen=True)
class Face:
    """A face in picture pixels: box x0, y0, x1, y1 and 5 landmarks (x, y)."""

    box: np.ndarray  # (4,)
    landmarks: np.ndarray  # (5, 2)
    ignore: bool = False  # mostly hidden or cut off: neither a face to find nor background


@dataclass
class Source:
    """A photo with the faces CenterFace found in it."""

    image: np.ndarray  # BGR uint8
    faces: list[Face]


def backgrounds() -> list[np.ndarray]:
    """The face-free sample pictures the scikit-image wheel ships (BGR); none needs a download."""
    from skimage import data

    out = []
    for name in BACKGROUND_NAMES:
        try:
            if name == "motorcycle_left":
                img = data.stereo_motorcycle()[0]
            else:
                img = getattr(data, name)()
        except Exception as exc:  # some need a download: not at run time
            log.debug("background %s unavailable: %s", name, exc)
            continue
        img = np.asarray(img)
        if img.dtype != np.uint8:
            img = cv2.normalize(img.astype(np.float32), None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
        if img.ndim == 2:
            img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
        elif img.shape[2] == 4:
            img = cv2.cvtColor(img, cv2.COLOR_RGBA2BGR)
        else:
            img = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
        out.append(np.ascontiguousarray(img))
    return out


def read_photos(zip_path: Path, limit: int | None = None) -> Iterator[tuple[str, np.ndarray]]:
    """(name, BGR image) for the JPEGs of a photo zip, in name order."""
    with zipfile.ZipFile(zip_path) as zf:
        names = sorted(n for n in zf.namelist() if n.lower().endswith((".jpg", ".jpeg", ".png")))
        for name in names[:limit]:
            img = cv2.imdecode(np.frombuffer(zf.read(name), np.uint8), cv2.IMREAD_COLOR)
            if img is not None:
                yield name, img


def label_photos(
    zip_path: Path,
    cache: Path,
    *,
    limit: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[Source]:
    """Every photo of the zip with CenterFace's faces (score >= 0.7), labels cached as JSON.

    The cache is keyed by the zip's size and name, so a different zip labels again.
    """
    from emolens.inference.detectors import create_detector

    key = hashlib.sha256(f"{zip_path.name}:{zip_path.stat().st_size}:{limit}".encode()).hexdigest()[:16]
    path = cache / f"facedet-labels-{key}.json"
    labels: dict[str, list[list[float]]] = json.loads(path.read_text()) if path.is_file() else {}
    det = None if labels else create_detector("centerface", threshold=0.7, min_face=12, max_side=640, threads=2)
    out = []
    for i, (name, img) in enumerate(read_photos(zip_path, limit)):
        if det is not None:
            labels[name] = [
                [*d.box, *(v for p in (d.landmarks or ()) for v in p)] for d in det.detect(img) if d.landmarks
            ]
        faces = [
            Face(
                np.array([r[0], r[1], r[0] + r[2], r[1] + r[3]], np.float32),
                np.array(r[4:14], np.float32).reshape(5, 2),
            )
            for r in labels.get(name, [])
        ]
        if faces:
            out.append(Source(img, faces))
        if progress is not None:
            progress(i)
    if det is not None:
        cache.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(labels))
    return out


def split_sources(sources: list[Source], fraction: float, seed: int) -> tuple[list[Source], list[Source]]:
    """(training, validation) photos: a fixed random share of whole photos is held out."""
    order = np.random.default_rng(seed).permutation(len(sources))
    n_val = max(1, int(len(sources) * fraction))
    return [sources[i] for i in order[n_val:]], [sources[i] for i in order[:n_val]]


def is_gray(image: np.ndarray) -> bool:
    sample = image[::8, ::8].astype(np.int16)
    return bool(
        np.abs(sample[..., 0] - sample[..., 1]).max() <= 3 and np.abs(sample[..., 1] - sample[..., 2]).max() <= 3
    )


def colourize(image: np.ndarray, boxes: list[np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """A gray photo with a random skin tone on its faces (x0, y0, x1, y1) and a random tint elsewhere.

    Why: 95% of facial-expressions' photos are gray, while cameras and films are in colour; a small
    face is little more than a skin-coloured blob, which the detector must have seen.
    """
    h, w = image.shape[:2]
    yy, xx = np.ogrid[0:h, 0:w]
    mask = np.zeros((h, w), np.float32)
    for box in boxes:  # a feathered ellipse over each face, a little taller than its box (forehead, chin)
        x0, y0, x1, y1 = (float(v) for v in box)
        cx, cy, ax, ay = (x0 + x1) / 2, (y0 + y1) / 2 + 0.05 * (y1 - y0), 0.5 * (x1 - x0), 0.62 * (y1 - y0)
        d = ((xx - cx) / max(ax, 1.0)) ** 2 + ((yy - cy) / max(ay, 1.0)) ** 2
        mask = np.maximum(mask, np.clip((1.2 - d) / 0.4, 0.0, 1.0).astype(np.float32))
    # skin: more red than green, more green than blue (gains on B, G, R); elsewhere a random weak tint
    warmth = rng.uniform(0.08, 0.3)
    skin = np.array([1 - warmth, 1 - 0.25 * warmth, 1 + 0.6 * warmth], np.float32) * rng.uniform(0.97, 1.03, 3)
    tint = rng.uniform(0.8, 1.2, 3).astype(np.float32) if rng.random() < 0.5 else np.ones(3, np.float32)
    gain = mask[..., None] * skin + (1 - mask[..., None]) * tint
    return np.clip(image[..., :1].astype(np.float32) * gain, 0, 255).astype(np.uint8)


def _overlap(canvas: np.ndarray, img: np.ndarray, ox: int, oy: int) -> tuple[slice, slice, slice, slice] | None:
    H, W = canvas.shape[:2]
    h, w = img.shape[:2]
    x0, y0, x1, y1 = max(ox, 0), max(oy, 0), min(ox + w, W), min(oy + h, H)
    if x1 <= x0 or y1 <= y0:
        return None
    return slice(y0, y1), slice(x0, x1), slice(y0 - oy, y1 - oy), slice(x0 - ox, x1 - ox)


def paste_rect(
    canvas: np.ndarray, img: np.ndarray, ox: int, oy: int, owner: np.ndarray | None = None, k: int = -1
) -> None:
    sl = _overlap(canvas, img, ox, oy)
    if sl is None:
        return
    cy, cx, iy, ix = sl
    canvas[cy, cx] = img[iy, ix]
    if owner is not None:
        owner[cy, cx] = k


def paste_soft(canvas: np.ndarray, img: np.ndarray, ox: int, oy: int, owner: np.ndarray, k: int) -> None:
    """An elliptic, feathered paste: no hard rectangle edge to learn as 'a face is here'."""
    sl = _overlap(canvas, img, ox, oy)
    if sl is None:
        return
    h, w = img.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    d = ((xx - w / 2) / (w / 2)) ** 2 + ((yy - h / 2) / (h / 2)) ** 2
    alpha = np.clip((1.0 - d) / 0.3, 0.0, 1.0)
    cy, cx, iy, ix = sl
    a = alpha[iy, ix][..., None]
    canvas[cy, cx] = (a * img[iy, ix] + (1 - a) * canvas[cy, cx]).astype(np.uint8)
    owner[cy, cx] = np.where(a[..., 0] > 0.5, k, owner[cy, cx])


def synthetic_background(size: int, rng: np.random.Generator) -> np.ndarray:
    """Flat colour, a gradient, or blurred coloured noise."""
    kind = rng.integers(3)
    if kind == 0:
        img = np.empty((size, size, 3), np.uint8)
        img[:] = rng.integers(0, 256, 3, dtype=np.uint8)
    elif kind == 1:
        a, b = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
        t = np.linspace(0, 1, size, dtype=np.float32)[:, None, None]
        img = (a * (1 - t) + b * t).astype(np.uint8).repeat(size, 1)
        if rng.random() < 0.5:
            img = np.ascontiguousarray(img.transpose(1, 0, 2))
    else:
        small = rng.integers(0, 256, (int(rng.integers(2, 16)),) * 2 + (3,), dtype=np.uint8)
        img = cv2.resize(small, (size, size), interpolation=cv2.INTER_CUBIC)
    return img


def augment(img: np.ndarray, faces: list[Face], rng: np.random.Generator) -> tuple[np.ndarray, list[Face]]:
    """Camera-like changes of the whole picture, and a mirror half the time (landmarks swap sides)."""
    out = img.astype(np.float32)
    out = out * rng.uniform(0.6, 1.4) + rng.uniform(-40, 40)
    out = out * rng.uniform(0.8, 1.2, 3)
    if rng.random() < 0.15:
        out[:] = out.mean(axis=2, keepdims=True)
    if rng.random() < 0.2:
        out = cv2.GaussianBlur(out, (0, 0), float(rng.uniform(0.5, 1.5)))
    if rng.random() < 0.2:
        out = out + rng.normal(0, rng.uniform(2, 10), out.shape)
    img = np.clip(out, 0, 255).astype(np.uint8)
    if rng.random() < 0.3:
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(30, 90))])
        if ok:
            img = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    if rng.random() < 0.5:
        w = img.shape[1]
        img = np.ascontiguousarray(img[:, ::-1])
        faces = [
            Face(
                np.array([w - f.box[2], f.box[1], w - f.box[0], f.box[3]], np.float32),
                np.stack([w - f.landmarks[list(FLIP_ORDER), 0], f.landmarks[list(FLIP_ORDER), 1]], 1),
                f.ignore,
            )
            for f in faces
        ]
    return img, faces
