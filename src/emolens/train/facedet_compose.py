"""The composer of LiteFace's training pictures: photos, mosaics, crowds and pastes on backgrounds.

Why composites: see emolens.train.facedet_data (the photos, their labels and the pixel operations
used here). Each picture mixes ways faces appear: one photo filling it, a mosaic of photos, a
crowd of small heads with shoulders, photos pasted on a background among face-free patches.
"""

from __future__ import annotations

import cv2
import numpy as np

from emolens.train.facedet_data import (
    Face,
    Source,
    augment,
    colourize,
    is_gray,
    paste_rect,
    paste_soft,
    synthetic_background,
)


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


def moved(face: Face, scale: float, ox: float, oy: float) -> Face:
    off = np.array([ox, oy], np.float32)
    return Face(face.box * scale + np.tile(off, 2), face.landmarks * scale + off)
