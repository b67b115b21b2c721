"""What each training image is trained towards: labels, FER+ votes, teachers, weak extra data.

Why a module of its own: the loop only sees (N, K) target distributions and per-image loss
weights; where they come from (one tagger, ten taggers, a teacher's soft labels, a weakly
labelled photo collection) is decided here, once, before training starts.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from pathlib import Path

import numpy as np
import torch

from emolens.core.card import sha256_file
from emolens.core.labels import label_set
from emolens.core.metrics import softmax
from emolens.datasets import DataError, Split
from emolens.datasets.ferplus import FerPlusOptions, apply_ferplus, process_votes, read_votes, votes_path
from emolens.evaluation.evaluate import is_run_folder
from emolens.inference.model_store import load_card, resolve_model_dir
from emolens.train.config import TrainConfig
from emolens.train.runs import logits_of

log = logging.getLogger(__name__)


def ferplus_options(cfg: TrainConfig, mode: str | None = None) -> FerPlusOptions:
    return FerPlusOptions(
        mode=mode or cfg.ferplus_mode, weight=cfg.ferplus_weight, classes=cfg.classes, votes=cfg.ferplus_votes
    )


def with_label_source(train: Split, cfg: TrainConfig) -> Split:
    """The training split with `targets` (N, K) set from cfg.labels (fer2013 one-hot, or FER+ votes)."""
    names = label_set(cfg.classes)
    if cfg.labels == "ferplus":
        return apply_ferplus(train, read_votes(votes_path(cfg.data, cfg.ferplus_votes)), ferplus_options(cfg))
    if cfg.labels != "fer2013":
        raise DataError(f"labels must be fer2013 or ferplus, got {cfg.labels!r}")
    out = train.subset(np.arange(len(train)))
    idx = np.array([names.index(train.label_names[k]) for k in train.labels], np.int64)
    out.labels, out.label_names = idx, names
    out.targets = np.eye(len(names), dtype=np.float32)[idx]
    return out


def ferplus_majority(split: Split, cfg: TrainConfig) -> np.ndarray | None:
    """(N,) FER+ majority label per image (-1 where there is none), or None without a votes file.

    Validation reports FER2013 and FER+ accuracy side by side, so a label source that wins on
    one and loses on the other shows up during training, not only after export.
    """
    try:
        votes = read_votes(votes_path(cfg.data, cfg.ferplus_votes))
    except DataError:
        if cfg.labels == "ferplus":
            raise
        return None
    out = np.full(len(split), -1, np.int64)
    for i, src in enumerate(split.sources):
        raw = votes.get(src)
        t = process_votes(raw, "majority", cfg.classes) if raw is not None else None
        if t is not None:
            out[i] = int(np.argmax(t))  # label_set(cfg.classes) order
    if (out >= 0).sum() == 0:
        return None
    return out


def sample_onehot(target: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """FER+ 'probability' mode: one label drawn per image from its vote distribution, each time it is seen."""
    idx = torch.multinomial(target.float().clamp(min=0) + 1e-12, 1, generator=g).squeeze(1)
    return torch.nn.functional.one_hot(idx, target.shape[1]).to(target.dtype)


def teacher_mix(cfg: TrainConfig, train: Split, out: Path) -> np.ndarray:
    """(N, K) targets: the label-source targets mixed with cached teachers' soft labels (if any).

    The teachers (run folders or exported models) label the un-augmented training images once,
    with the TTA they ship with, and their logits are averaged. They are cached in the run
    folder, so a resumed run neither recomputes them nor sees a teacher that changed in between.
    With `teacher_online` the loop asks the teachers on every augmented view instead.
    """
    base = train.targets.astype(np.float32)
    if not cfg.teachers or cfg.teacher_online:
        return base
    logits = cached_teacher_logits(cfg.teachers, train, out)
    return (1 - cfg.distill_weight) * base + cfg.distill_weight * softmax(logits, cfg.distill_temperature).astype(
        np.float32
    )


def cached_teacher_logits(teachers: list[str], split: Split, out: Path) -> np.ndarray:
    """Mean teacher logits over `split` in its label order, cached in `out` (keyed by the teachers' weights, labels)."""
    cache, meta_path = out / f"teacher_logits-{split.name}.npy", out / f"teacher_logits-{split.name}.json"
    try:
        weights = [teacher_weights(t) for t in teachers]
    except (FileNotFoundError, ValueError) as e:
        raise DataError(f"teacher could not be loaded: {e}") from e
    meta = {
        "teachers": list(teachers),
        "weights": weights,
        "n": len(split),
        "digest": labels_digest(split),
    }
    if cache.is_file() and meta_path.is_file() and json.loads(meta_path.read_text()) == meta:
        log.info("teacher logits from %s", cache)
        return np.load(cache)
    all_logits = []
    for i, teacher in enumerate(teachers):
        log.info("teacher %d/%d: labelling %d %s images with %s", i + 1, len(teachers), len(split), split.name, teacher)
        t0 = time.perf_counter()
        try:
            lg, info = logits_of(teacher, split)
        except (FileNotFoundError, ValueError) as e:
            raise DataError(f"teacher {teacher!r} could not be loaded: {e}") from e
        lg = lg[:, : len(split.label_names)]  # a teacher's labels beyond the student's are dropped
        acc = float((lg.argmax(1) == split.labels).mean()) if len(split) else 0.0
        log.info(
            "teacher %s (%s, TTA %s): accuracy %.4f on these images, %.0f s",
            teacher,
            info.get("arch"),
            info.get("tta"),
            acc,
            time.perf_counter() - t0,
        )
        all_logits.append(lg)
    logits = np.mean(all_logits, axis=0).astype(np.float32)
    out.mkdir(parents=True, exist_ok=True)
    np.save(cache, logits)
    meta_path.write_text(json.dumps(meta))
    return logits


def teacher_weights(teacher: str) -> str:
    """What a teacher's logits depend on: the sha256 of its weights, not its name. A shipped name such as
    `default` means another model once a new one is shipped; cached pseudo-labels must not outlive it."""
    path = Path(teacher)
    if is_run_folder(path):
        files = sorted([*path.glob("best.pt"), *path.glob("seed*/best.pt")])
        return hashlib.sha256("".join(sha256_file(f) for f in files).encode()).hexdigest()[:16]
    folder = resolve_model_dir(teacher)
    card = load_card(folder)
    return (card.onnx_sha256 or sha256_file(folder / card.onnx_file))[:16]


def labels_digest(split: Split) -> str:
    return hashlib.sha256(np.ascontiguousarray(split.labels, dtype=np.int64).tobytes()).hexdigest()[:16]
