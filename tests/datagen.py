"""Small generated datasets in every layout the readers support (used by fixtures and tests)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import cv2
import numpy as np

from emolens.core.labels import EMOTIONS

FER_ZIP = Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "fer2013" / "fer2013.zip"


def face_like(label: int, seed: int, size: int = 48) -> np.ndarray:
    """A 48x48 gray image whose brightness encodes `label` (value 20 + 30*label, +/-3)."""
    rng = np.random.default_rng(seed)
    base = 20 + 30 * label
    img = np.full((size, size), base, np.int16) + rng.integers(-3, 4, (size, size))
    # A class-specific stripe so a tiny CNN can learn the classes.
    img[:, (label * 6) % size : (label * 6) % size + 4] = 250
    return img.clip(0, 255).astype(np.uint8)


def write_class_tree(root: Path, per_class: int, splits=("train", "test"), names=EMOTIONS, prefix=None) -> Path:
    """root/<split>/<class>/<Split>_<n>.png; class folders in alphabetical order on disk."""
    for split in splits:
        for name in names:
            label = EMOTIONS.index(name) if name in EMOTIONS else 0
            d = root / split / name
            d.mkdir(parents=True, exist_ok=True)
            for i in range(per_class):
                pre = prefix or ("Training" if split == "train" else "PublicTest")
                cv2.imwrite(str(d / f"{pre}_{label}{i:04d}.png"), face_like(label, hash((split, name, i)) % 2**32))
    return root


def zip_tree(root: Path, zip_path: Path, wrapper: str = "") -> Path:
    with zipfile.ZipFile(zip_path, "w") as zf:
        for p in sorted(root.rglob("*")):
            if p.is_file():
                zf.write(p, wrapper + p.relative_to(root).as_posix())
    return zip_path


def write_fer_csv(path: Path, per_class: int) -> Path:
    rows = ["emotion,pixels,Usage"]
    for usage in ("Training", "PublicTest", "PrivateTest"):
        for label in range(len(EMOTIONS)):
            for i in range(per_class):
                px = face_like(label, hash((usage, label, i)) % 2**32)
                rows.append(f"{label},{' '.join(map(str, px.ravel()))},{usage}")
    path.write_text("\n".join(rows) + "\n")
    return path
