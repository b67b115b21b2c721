"""Weakly labelled real photos mixed into training, so the model sees real cameras.

Why: FER2013 is 48x48 gray web crops; `facial-expressions` (and sets like it) are colour
news and film photos with one student's label each, almost all neutral or happy. Each photo
goes through the runtime's detector and aligner (train/recrop.py) and is turned gray the way
the runtime does it (core/preprocess.py); its target mixes the weak label (`label_weight`)
with a teacher's soft label on the crop (the rest), and its loss counts `weight` times a
FER2013 image's. A config entry:

    extra_data:
      - {path: ../shared/datasets/facial-expressions/facial-expressions.zip, weight: 0.3,
         label_weight: 0.3, teacher: default, limit: 0}

Layouts: class folders (like FER2013's), or a folder/zip with a CSV (`legend.csv` or any
CSV with `image` and `emotion` columns) naming each photo's emotion.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from emolens.core.card import ModelCard
from emolens.core.labels import ALIASES
from emolens.core.metrics import softmax
from emolens.datasets import DataError, Split
from emolens.datasets.sources import Tree

log = logging.getLogger(__name__)

KEYS = {"path", "weight", "label_weight", "teacher", "limit"}


@dataclass
class ExtraSet:
    images: np.ndarray  # (M, S, S) uint8 gray runtime crops
    targets: np.ndarray  # (M, K)
    weight: float
    sources: list[str]
    digests: list[str]


def labelled_photos(path: Path, names: tuple[str, ...]) -> tuple[Tree, list[str], list[int]]:
    """(tree, photo paths, label indexes into `names`) from a CSV legend or class folders."""
    tree = Tree(path)
    legend = _legend(tree, path)
    rels, labels = [], []
    if legend is not None:
        files = {PurePosixPath(r).name: r for r in tree.files()}
        for image, emotion in legend:
            name = ALIASES.get(emotion.strip().lower(), emotion.strip().lower())
            if image in files and name in names:
                rels.append(files[image])
                labels.append(names.index(name))
    else:
        for rel in tree.files():
            parts = PurePosixPath(rel).parts
            name = ALIASES.get(parts[-2].lower(), parts[-2].lower()) if len(parts) >= 2 else None
            if name in names:
                rels.append(rel)
                labels.append(names.index(name))
    if not rels:
        raise DataError(f"extra data {path}: no photo with one of the labels {', '.join(names)}")
    return tree, rels, labels


def _legend(tree: Tree, path: Path) -> list[tuple[str, str]] | None:
    import zipfile

    if path.is_dir():
        csvs = sorted(path.rglob("*.csv"))
        text = csvs[0].read_text() if csvs else None
    else:
        with zipfile.ZipFile(path) as z:
            names = sorted(n for n in z.namelist() if n.lower().endswith(".csv"))
            text = z.read(names[0]).decode("utf-8", "replace") if names else None
    if text is None:
        return None
    rows = list(csv.DictReader(io.StringIO(text)))
    if not rows or not {"image", "emotion"} <= set(rows[0]):
        return None
    return [(r["image"], r["emotion"]) for r in rows]


def load_extra(cfg, card: ModelCard, out: Path | None) -> list[ExtraSet]:
    """Every `extra_data` entry of the config as runtime crops with mixed targets."""
    sets = []
    for entry in cfg.extra_data:
        sets.append(_load_one(dict(entry), card, out, cfg.seed))
    return sets


def _load_one(entry: dict[str, Any], card: ModelCard, out: Path | None, seed: int) -> ExtraSet:
    from emolens.train.recrop import cache_dir

    unknown = set(entry) - KEYS
    if unknown or "path" not in entry:
        raise DataError(f"extra_data entry {entry}: needs path; known keys: {', '.join(sorted(KEYS))}")
    path = Path(entry["path"])
    if not path.exists():
        raise DataError(f"extra data {path} does not exist")
    weight, label_weight = float(entry.get("weight", 0.3)), float(entry.get("label_weight", 0.3))
    tree, rels, labels = labelled_photos(path, card.labels)
    if entry.get("limit"):
        keep = np.sort(np.random.default_rng(seed).permutation(len(rels))[: int(entry["limit"])])
        rels, labels = [rels[i] for i in keep], [labels[i] for i in keep]
    key = hashlib.sha256(
        f"extra|{path.resolve()}|{card.input_size}|{card.crop_margin}|{card.align}|{len(rels)}".encode()
        + "".join(rels).encode()
    ).hexdigest()[:20]
    cache = cache_dir() / "extra" / f"{key}.npz"
    if cache.is_file():
        with np.load(cache) as z:
            crops, found = z["crops"], z["found"]
    else:
        crops, found = _runtime_crops(tree, rels, card, path.name)
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, crops=crops, found=found)
    idx = np.flatnonzero(found)
    log.info("extra data %s: %d photos, a face found in %d", path, len(rels), len(idx))
    crops, labels_arr = crops[idx], np.array(labels, np.int64)[idx]
    sources = [f"{path.name}:{rels[i]}" for i in idx]
    digests = [hashlib.sha1(c.tobytes()).hexdigest() for c in crops]
    onehot = np.eye(len(card.labels), dtype=np.float32)[labels_arr]
    teacher = entry.get("teacher")
    if teacher:
        from emolens.train.targets import cached_teacher_logits

        split = Split(f"extra-{key[:8]}", crops, labels_arr, sources, digests, label_names=tuple(card.labels))
        logits = cached_teacher_logits([str(teacher)], split, cache.parent)
        targets = label_weight * onehot + (1 - label_weight) * softmax(logits).astype(np.float32)
    else:
        targets = onehot
    return ExtraSet(crops, targets.astype(np.float32), weight, sources, digests)


def _runtime_crops(tree: Tree, rels: list[str], card: ModelCard, name: str) -> tuple[np.ndarray, np.ndarray]:
    """The runtime's crop of the face in each photo (N, S, S) and whether one was found (N,)."""
    import cv2
    from tqdm import tqdm

    from emolens.inference.images import ImageError, decode_bytes
    from emolens.train.recrop import _detector, runtime_crop

    det = _detector(2)
    crops = np.zeros((len(rels), card.input_size, card.input_size), np.uint8)
    found = np.zeros(len(rels), bool)
    for i, rel in enumerate(tqdm(rels, desc=f"runtime crops {name}", unit="photo", disable=None)):
        try:
            img = decode_bytes(tree.read(rel), name=rel)
        except ImageError as exc:
            log.warning("extra data: %s", exc)
            continue
        crop = runtime_crop(
            img, det, card.input_size, margin=card.crop_margin, align=card.align, interpolation=cv2.INTER_AREA
        )
        if crop is not None:
            crops[i], found[i] = crop, True
    return crops, found
