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


class Composer:
    """Makes square training pictures (BGR) and their true faces, from sources and backgrounds."""

    def __init__(
        self,
        sources: list[Source],
        bgs: list[np.ndarray],
        *,
        size: int = 256,
        min_face: float = 8.0,
        max_face: float = 180.0,
        max_faces: int = 6,
        crowd: float = 0.0,
        colour: float = 0.0,
    ):
        if not sources:
            raise ValueError("no labelled face photos to compose from")
        self.sources, self.bgs = sources, bgs
        self.size, self.min_face, self.max_face, self.max_faces = size, min_face, max_face, max_faces
        self.crowd = crowd  # share of pictures that are crowds of small faces (6-32 px)
        self.colour = colour  # chance that a gray photo is used with skin-toned faces (most sources are gray)
        self._gray = [is_gray(src.image) for src in sources] if colour else []

    def __call__(self, rng: np.random.Generator) -> tuple[np.ndarray, list[Face]]:
        s = self.size
        if self.crowd and rng.random() < self.crowd:
            return self._crowd(rng)
        r = rng.random()
        faces: list[Face] = []
        if r < 0.2:  # one real photo fills the picture: big faces in their own context
            canvas, faces = self._photo_canvas(rng)
        elif r < 0.45:  # a mosaic of photos: small faces with other people's hair and clothes around them
            canvas, faces = self._mosaic(rng)
        elif r < 0.7 and self.bgs:
            canvas = self._crop_background(self.bgs[rng.integers(len(self.bgs))], rng)
        else:
            canvas = synthetic_background(s, rng)
        owner = np.full((s, s), -1, np.int32)
        placed: list[tuple[Face, int]] = [(f, -2) for f in faces]  # -2: part of the canvas itself
        n = int(rng.integers(0, self.max_faces + 1)) if r >= 0.45 else int(rng.integers(0, 3))
        for k in range(n):
            placed.extend(self._paste(canvas, owner, k, rng))
        for k in range(int(rng.integers(0, 3))):  # face-free patches with hard edges, like a pasted photo's
            self._paste_distractor(canvas, owner, n + k, rng)
        return augment(canvas, _visible(placed, owner), rng)

    def _pick(self, rng: np.random.Generator) -> tuple[Source, bool]:
        """A random source photo, and whether to colour it (done after resizing: cheaper on small copies)."""
        i = int(rng.integers(len(self.sources)))
        return self.sources[i], bool(self.colour and self._gray[i] and rng.random() < self.colour)

    def _crowd(self, rng: np.random.Generator) -> tuple[np.ndarray, list[Face]]:
        """Many whole photos pasted small (faces of 6-32 px, with their hair and shoulders), as in a group photo."""
        s = self.size
        canvas = (
            self._crop_background(self.bgs[rng.integers(len(self.bgs))], rng)
            if self.bgs and rng.random() < 0.5
            else synthetic_background(s, rng)
        )
        owner = np.full((s, s), -1, np.int32)
        placed: list[tuple[Face, int]] = []
        n = int(rng.integers(6, 25))
        for k in range(n):
            faces, (ox, oy, iw, ih) = self._paste_photo(canvas, owner, k, rng, (6.0, 32.0))
            placed.extend(faces)
            if rng.random() < 0.6:  # shoulders under the head: a face in a body's context
                self._paste_torso(canvas, owner, n + k, (ox, oy + ih, iw, ih), rng)
        for k in range(int(rng.integers(0, 4))):
            self._paste_distractor(canvas, owner, 2 * n + k, rng)
        return augment(canvas, _visible(placed, owner), rng)

    def _photo_canvas(self, rng: np.random.Generator) -> tuple[np.ndarray, list[Face]]:
        src, tone = self._pick(rng)
        h, w = src.image.shape[:2]
        side = max(f.box[2] - f.box[0] for f in src.faces)
        target = float(np.exp(rng.uniform(np.log(40), np.log(self.size * 0.8))))
        scale = target / max(side, 1.0)
        scale = max(scale, self.size / min(h, w) * 0.5)
        img = cv2.resize(src.image, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
        if tone:
            img = colourize(img, [f.box * scale for f in src.faces], rng)
        canvas = synthetic_background(self.size, rng)
        ih, iw = img.shape[:2]
        ox = int(rng.integers(min(0, self.size - iw), max(0, self.size - iw) + 1))
        oy = int(rng.integers(min(0, self.size - ih), max(0, self.size - ih) + 1))
        paste_rect(canvas, img, ox, oy)
        return canvas, [moved(f, scale, ox, oy) for f in src.faces]

    def _mosaic(self, rng: np.random.Generator) -> tuple[np.ndarray, list[Face]]:
        """A grid of 2x2 to 8x8 photos, each cropped at random to fill its cell."""
        n = int(rng.integers(2, 9))
        edges = np.linspace(0, self.size, n + 1).round().astype(int)
        canvas = np.empty((self.size, self.size, 3), np.uint8)
        faces = []
        for i in range(n):
            for j in range(n):
                y0, y1, x0, x1 = edges[i], edges[i + 1], edges[j], edges[j + 1]
                src, tone = self._pick(rng)
                h, w = src.image.shape[:2]
                scale = max((x1 - x0) / w, (y1 - y0) / h) * rng.uniform(1.0, 1.6)
                cw, ch = min(w, (x1 - x0) / scale), min(h, (y1 - y0) / scale)  # the part of the photo shown
                sx, sy = rng.uniform(0, w - cw), rng.uniform(0, h - ch)
                part = src.image[int(sy) : int(np.ceil(sy + ch)), int(sx) : int(np.ceil(sx + cw))]
                canvas[y0:y1, x0:x1] = cv2.resize(part, (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA)
                fx, fy = (x1 - x0) / part.shape[1], (y1 - y0) / part.shape[0]
                if tone:
                    k = np.array([fx, fy, fx, fy], np.float32)
                    shift = np.array([int(sx), int(sy), int(sx), int(sy)], np.float32)
                    canvas[y0:y1, x0:x1] = colourize(
                        canvas[y0:y1, x0:x1], [(f.box - shift) * k for f in src.faces], rng
                    )
                for f in src.faces:
                    off = np.array([x0 - int(sx) * fx, y0 - int(sy) * fy], np.float32)
                    k = np.array([fx, fy], np.float32)
                    g = Face(f.box * np.tile(k, 2) + np.tile(off, 2), f.landmarks * k + off)
                    cut = np.array([max(g.box[0], x0), max(g.box[1], y0), min(g.box[2], x1), min(g.box[3], y1)])
                    area = (g.box[2] - g.box[0]) * (g.box[3] - g.box[1])
                    inside = max(0.0, cut[2] - cut[0]) * max(0.0, cut[3] - cut[1]) / max(area, 1e-6)
                    if inside >= 0.6:
                        faces.append(g)
                    elif inside >= 0.15:
                        faces.append(Face(g.box, g.landmarks, ignore=True))
        return canvas, faces

    def _crop_background(self, bg: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        h, w = bg.shape[:2]
        side = int(rng.integers(min(h, w) // 4, min(h, w) + 1))
        y, x = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
        return cv2.resize(bg[y : y + side, x : x + side], (self.size, self.size), interpolation=cv2.INTER_AREA)

    def _paste(self, canvas: np.ndarray, owner: np.ndarray, k: int, rng: np.random.Generator) -> list[tuple[Face, int]]:
        return self._paste_photo(canvas, owner, k, rng)[0]

    def _paste_torso(
        self, canvas: np.ndarray, owner: np.ndarray, k: int, under: tuple[int, int, int, int], rng: np.random.Generator
    ) -> None:
        """Clothes (the part of another photo below its face, or a flat colour) below a pasted head."""
        x, top, iw, ih = under
        src = self._pick(rng)[0]
        bottom = int(max(f.box[3] for f in src.faces))
        if src.image.shape[0] - bottom >= 8 and rng.random() < 0.7:
            patch = src.image[bottom:]
        else:
            patch = np.empty((8, 8, 3), np.uint8)
            patch[:] = rng.integers(0, 256, 3, dtype=np.uint8)
        w, h = max(4, int(iw * rng.uniform(1.2, 2.4))), max(4, int(ih * rng.uniform(0.6, 1.6)))
        patch = cv2.resize(patch, (w, h), interpolation=cv2.INTER_AREA)
        paste_rect(canvas, patch, x + iw // 2 - w // 2, top - int(ih * rng.uniform(0.0, 0.15)), owner, k)

    def _paste_photo(
        self,
        canvas: np.ndarray,
        owner: np.ndarray,
        k: int,
        rng: np.random.Generator,
        face_range: tuple[float, float] | None = None,
    ) -> tuple[list[tuple[Face, int]], tuple[int, int, int, int]]:
        """One photo pasted with its first face at a random size -> its faces, and (x, y, w, h) where it went."""
        src, tone = self._pick(rng)
        side = max(float(src.faces[0].box[2] - src.faces[0].box[0]), 1.0)
        lo, hi = face_range or (self.min_face, self.max_face)
        target = float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
        scale = target / side
        h, w = src.image.shape[:2]
        img = cv2.resize(
            src.image,
            (max(2, round(w * scale)), max(2, round(h * scale))),
            interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR,
        )
        if tone:
            img = colourize(img, [f.box * scale for f in src.faces], rng)
        ih, iw = img.shape[:2]
        ox = int(rng.integers(-iw // 3, max(-iw // 3 + 1, self.size - 2 * iw // 3 + 1)))
        oy = int(rng.integers(-ih // 3, max(-ih // 3 + 1, self.size - 2 * ih // 3 + 1)))
        if rng.random() < 0.5:
            paste_rect(canvas, img, ox, oy, owner, k)
        else:
            paste_soft(canvas, img, ox, oy, owner, k)
        return [(moved(f, scale, ox, oy), k) for f in src.faces], (ox, oy, iw, ih)

    def _paste_distractor(self, canvas: np.ndarray, owner: np.ndarray, k: int, rng: np.random.Generator) -> None:
        if self.bgs and rng.random() < 0.6:
            patch = self._crop_background(self.bgs[rng.integers(len(self.bgs))], rng)
        else:  # the lower part of a face photo: shoulders and clothes, no face
            src = self._pick(rng)[0]
            bottom = int(max(f.box[3] for f in src.faces))
            patch = src.image[bottom:] if src.image.shape[0] - bottom >= 8 else synthetic_background(64, rng)
        side = int(rng.integers(12, self.size // 2))
        patch = cv2.resize(patch, (side, max(8, int(side * rng.uniform(0.7, 1.4)))), interpolation=cv2.INTER_AREA)
        ox, oy = (
            int(rng.integers(-side // 3, self.size - side // 2)),
            int(rng.integers(-side // 3, self.size - side // 2)),
        )
        paste_rect(canvas, patch, ox, oy, owner, k)


def _visible(placed: list[tuple[Face, int]], owner: np.ndarray) -> list[Face]:
    """Faces mostly visible stay true faces; half-hidden, cut-off or tiny ones become ignored regions."""
    s = owner.shape[0]
    kept = []
    for face, who in placed:
        x0, y0, x1, y1 = np.clip(np.round(face.box).astype(int), 0, s)
        if x1 - x0 < 2 or y1 - y0 < 2:
            continue
        region = owner[y0:y1, x0:x1]
        visible = np.mean(region == who) if who >= 0 else np.mean(region == -1)
        full_w, full_h = face.box[2] - face.box[0], face.box[3] - face.box[1]
        inside = (x1 - x0) * (y1 - y0) / max(full_w * full_h, 1e-6)
        if face.ignore or min(full_w, full_h) < 4:  # hidden, cut off or a few pixels: no target either way
            if visible * inside >= 0.15:
                kept.append(Face(face.box, face.landmarks, ignore=True))
        elif visible * inside >= 0.6:
            kept.append(face)
        elif visible * inside >= 0.15:
            kept.append(Face(face.box, face.landmarks, ignore=True))
    return kept


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


def moved(face: Face, scale: float, ox: float, oy: float) -> Face:
    off = np.array([ox, oy], np.float32)
    return Face(face.box * scale + np.tile(off, 2), face.landmarks * scale + off)


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
