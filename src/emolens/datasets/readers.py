"""Read FER2013 (Kaggle zip/folder, fer2013.csv) and generic class-per-folder datasets.

Classes are mapped by name (see `core.labels`), never by position. Images are
decoded once into memory as uint8 gray arrays unless that would exceed the
memory budget, in which case they stay lazy and are decoded per item.
"""

from __future__ import annotations

import csv
import hashlib
import logging
from collections import Counter, defaultdict
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

import cv2
import numpy as np
import yaml

from emolens.core.labels import EMOTIONS, LABEL_MAPS, canonical
from emolens.datasets.sources import SPLIT_DIRS, Tree
from emolens.datasets.types import DataError, LazyImages, Split

log = logging.getLogger(__name__)

LAYOUTS = ("auto", "kaggle", "csv", "folder")
CSV_USAGE = {"training": "train", "publictest": "test", "privatetest": "private"}
DEFAULT_MEMORY_BUDGET = 4 << 30  # bytes of decoded pixels kept in memory
PROGRESS_MIN = 2000  # images a split needs before decoding it shows a progress bar (on a terminal only)


def detect_layout(path: str | Path) -> str:
    """'csv', 'kaggle' (FER2013 split/class folders) or 'folder' (generic classes)."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"dataset path {path} does not exist")
    if path.is_file() and path.suffix.lower() == ".csv":
        return "csv"
    tree = Tree(path)
    top = tree.dirs()
    if not top:
        raise DataError(f"{path} holds no images in class folders (expected e.g. train/happy/*.jpg)")
    if all(d.lower() in SPLIT_DIRS for d in top):
        classes = {c.lower() for d in top for c in tree.dirs(d)}
        if classes and classes <= set(EMOTIONS):
            return "kaggle"
    return "folder"


def read_dataset(
    path: str | Path,
    layout: str = "auto",
    splits: tuple[str, ...] | None = None,
    label_map: str | Mapping[str, str | None] | None = None,
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
) -> dict[str, Split]:
    """Read a dataset into {split name: Split}; split names are train/test/private/all."""
    path = Path(path)
    if layout not in LAYOUTS:
        raise DataError(f"unknown layout {layout!r}; choose one of {', '.join(LAYOUTS)}")
    if layout == "auto":
        layout = detect_layout(path)
    table = _resolve_label_map(label_map)
    if layout == "csv":
        result = _read_csv(path, splits)
    else:
        result = _read_tree(Tree(path), splits, table, memory_budget)
    if splits:
        missing = [s for s in splits if s not in result]
        if missing:
            raise DataError(f"{path} has no {'/'.join(missing)} split (found: {', '.join(result) or 'none'})")
    for split in result.values():
        empty = [name for name, n in split.counts().items() if n == 0]
        if empty:
            log.warning("%s split %r has no images for: %s", path, split.name, ", ".join(empty))
    return result


def _resolve_label_map(label_map: str | Mapping[str, str | None] | None) -> Mapping[str, str | None] | None:
    if label_map is None or isinstance(label_map, Mapping):
        return label_map
    if label_map in LABEL_MAPS:
        return LABEL_MAPS[label_map]
    p = Path(label_map)
    if not p.is_file():
        raise DataError(f"label map {label_map!r} is neither {', '.join(LABEL_MAPS)} nor a YAML/JSON file")
    data = yaml.safe_load(p.read_text())
    if not isinstance(data, dict):
        raise DataError(f"label map {p} must be a mapping of folder name -> emotion (or null)")
    for k, v in data.items():
        if v is not None and v not in EMOTIONS:
            raise DataError(f"label map {p}: {k!r} maps to {v!r}, not one of {', '.join(EMOTIONS)}")
    return {str(k).lower(): v for k, v in data.items()}


def _read_tree(tree: Tree, splits, table, memory_budget: int) -> dict[str, Split]:
    groups: dict[str, list[tuple[str, int]]] = defaultdict(list)
    dropped: dict[str, Counter] = defaultdict(Counter)
    classes_seen: dict[str, set[str]] = defaultdict(set)
    for rel in tree.files():
        parts = PurePosixPath(rel).parts
        if len(parts) < 2:
            continue  # a loose file at the root has no class
        split = "all"
        if len(parts) >= 3 and parts[0].lower() in SPLIT_DIRS:
            split = SPLIT_DIRS[parts[0].lower()]
            cls = parts[1]
            if split == "test" and parts[-1].startswith("PrivateTest_"):
                split = "private"  # the Kaggle download keeps both test halves in test/
        else:
            cls = parts[0]  # class folder at the top; deeper folders (e.g. per subject) are kept
        if splits and split not in splits:
            continue
        classes_seen[split].add(cls.lower())
        name = canonical(cls, table)
        if name is None:
            dropped[split][cls] += 1
            continue
        groups[split].append((rel, EMOTIONS.index(name)))
    for split, counter in dropped.items():
        for cls, n in counter.items():
            log.info("dropped %d images of class %r (not one of our 7) from split %s", n, cls, split)
    out = {}
    for split, items in groups.items():
        out[split] = _decode_split(tree, split, items, dict(dropped[split]), memory_budget)
    for split, counter in dropped.items():
        if split not in out and counter:
            log.warning("split %s only holds classes outside our 7: %s", split, dict(counter))
    return out


def _decode_split(tree: Tree, split: str, items, dropped, memory_budget: int) -> Split:
    from tqdm import tqdm

    rels = [r for r, _ in items]
    labels = np.array([lab for _, lab in items], dtype=np.int64)
    probe = [_decode(tree.read(r), tree.display(r)) for r in rels[:16]]
    est = int(np.mean([p.size for p in probe]) * len(rels)) if probe else 0
    if est > memory_budget:
        log.info("split %s: ~%.1f GB decoded, streaming images from disk", split, est / 1e9)
        digests = [_sha1(tree.read(r)) for r in rels]
        loaders = [lambda r=r: _decode(tree.read(r), tree.display(r)) for r in rels]
        return Split(split, LazyImages(loaders), labels, rels, digests, dropped)
    images, digests = [], []
    # disable=None: no bar when stderr is not a terminal (files, pipes, CI logs)
    for rel in tqdm(
        rels, desc=f"decode {split}", unit="img", leave=False, disable=True if len(rels) < PROGRESS_MIN else None
    ):
        raw = tree.read(rel)
        images.append(_decode(raw, tree.display(rel)))
        digests.append(_sha1(raw))
    shapes = {im.shape for im in images}
    if len(shapes) > 1:
        # Mixed sizes: keep each image as decoded; the shared preprocessing resizes.
        return Split(split, LazyImages([lambda im=im: im for im in images]), labels, rels, digests, dropped)
    return Split(split, np.stack(images) if images else np.zeros((0, 48, 48), np.uint8), labels, rels, digests, dropped)


def _decode(raw: bytes, where: str) -> np.ndarray:
    if not raw:
        raise DataError(f"{where} is an empty file")
    img = cv2.imdecode(np.frombuffer(raw, np.uint8), cv2.IMREAD_GRAYSCALE)
    if img is None:
        raise DataError(f"cannot decode image {where} (corrupt or not an image)")
    return img


def _sha1(raw: bytes) -> str:
    return hashlib.sha1(raw).hexdigest()


def _read_csv(path: Path, splits) -> dict[str, Split]:
    """fer2013.csv: columns emotion,pixels,Usage (48*48 space-separated gray values)."""
    rows: dict[str, list] = defaultdict(list)
    try:
        fh = open(path, newline="")
    except OSError as exc:
        raise DataError(f"cannot open {path}: {exc}") from None
    with fh:
        reader = csv.DictReader(fh)
        need = {"emotion", "pixels", "Usage"}
        if not reader.fieldnames or not need <= set(reader.fieldnames):
            raise DataError(
                f"{path} is not fer2013.csv: expected columns emotion,pixels,Usage, got {reader.fieldnames}"
            )
        for line_no, row in enumerate(reader, start=2):
            usage = CSV_USAGE.get(row["Usage"].strip().lower())
            if usage is None:
                raise DataError(f"{path} line {line_no}: unknown Usage {row['Usage']!r}")
            if splits and usage not in splits:
                continue
            name = LABEL_MAPS["fer2013"].get(row["emotion"].strip())
            if name is None:
                raise DataError(f"{path} line {line_no}: emotion {row['emotion']!r} is not 0-6")
            try:
                px = np.array(row["pixels"].split(), dtype=np.int64)
            except ValueError:
                raise DataError(f"{path} line {line_no}: pixels are not integers") from None
            side = int(round(np.sqrt(px.size)))
            if px.size == 0 or side * side != px.size or px.min() < 0 or px.max() > 255:
                raise DataError(f"{path} line {line_no}: expected a square of 0-255 values, got {px.size} values")
            rows[usage].append(
                (
                    px.astype(np.uint8).reshape(side, side),
                    EMOTIONS.index(name),
                    line_no,
                    hashlib.sha1(row["pixels"].encode()).hexdigest(),
                )
            )
    out = {}
    for usage, items in rows.items():
        out[usage] = Split(
            usage,
            np.stack([i[0] for i in items]),
            np.array([i[1] for i in items], np.int64),
            [f"{path.name}:{i[2]}" for i in items],
            [i[3] for i in items],
        )
    return out
