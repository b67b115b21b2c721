"""Everything a run trains and validates on, read and prepared once before the first step.

- the training split with one (N, K) target distribution per image (labels, FER+ votes,
  cached teachers: train/targets.py) and per-image loss weights;
- weakly labelled photo sets appended to it (train/extra.py);
- the runtime's own re-made crops of the training and validation faces (train/recrop.py);
- the validation split with FER2013 labels, plus FER+ majority labels where there are votes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from emolens.core.card import ModelCard
from emolens.core.preprocess import preprocess
from emolens.datasets import DataError, Split, read_dataset
from emolens.train.config import TrainConfig
from emolens.train.inputs import batches, card_for
from emolens.train.targets import ferplus_majority, teacher_mix, with_label_source

log = logging.getLogger(__name__)

__all__ = ["Data", "batches", "card_for", "load_data"]  # batches and card_for live in train/inputs.py


@dataclass
class Data:
    train: Split
    val: Split
    x_train: torch.Tensor | None  # (N, C, S, S) preprocessed, in-memory datasets only, on the training device
    x_val: torch.Tensor | None
    targets: torch.Tensor | None = None  # (N, K) training targets; None: one-hot of train.labels
    weights: torch.Tensor | None = None  # (N,) loss weight per training image; None: all 1
    x_recrop: torch.Tensor | None = None  # (N, C, S, S) the runtime's crops of the training images
    x_val_recrop: torch.Tensor | None = None
    val_ferplus: np.ndarray | None = None  # (N_val,) FER+ majority label, -1 where there is none

    def to(self, device: torch.device) -> Data:
        for name in ("x_train", "x_val", "targets", "weights", "x_recrop", "x_val_recrop"):
            t = getattr(self, name)
            if t is not None:
                setattr(self, name, t.to(device))
        return self


def split_train_val(cfg: TrainConfig) -> tuple[Split, Split]:
    splits = read_dataset(cfg.data, cfg.layout, label_map=cfg.label_map)
    train = splits.get("train") or splits.get("all")
    if train is None:
        raise DataError(f"{cfg.data} has no train split (found: {', '.join(splits)})")
    val = splits.get(cfg.val_split)
    if val is None:
        rng = np.random.default_rng(cfg.seed)
        idx = rng.permutation(len(train))
        n_val = max(1, int(len(train) * cfg.val_fraction))
        log.info("no %r split: holding out %d of %d training images for validation", cfg.val_split, n_val, len(train))
        train, val = train.subset(np.sort(idx[n_val:])), train.subset(np.sort(idx[:n_val]), "val")
    if cfg.limit:
        train = train.subset(np.arange(min(cfg.limit, len(train))))
    return train, val


def load_data(cfg: TrainConfig, out: Path | None = None) -> Data:
    """Read the dataset once, build targets, add extra sets and runtime crops, preprocess in memory."""
    from emolens.train.extra import load_extra

    train, val = split_train_val(cfg)
    train = with_label_source(train, cfg)
    card = card_for(cfg)
    targets = teacher_mix(cfg, train, out) if out is not None else train.targets
    weights = np.ones(len(train), np.float32)
    extra = load_extra(cfg, card, out) if cfg.extra_data else []
    if not train.in_memory:
        if extra or cfg.recrop:
            raise DataError("extra_data and recrop need a dataset that fits in memory")
        return Data(train, val, None, None, torch.from_numpy(targets), None, val_ferplus=ferplus_majority(val, cfg))
    xt = preprocess(train.images, card)
    x_recrop = _recrop(train, card, cfg) if cfg.recrop > 0 else None
    for e in extra:
        xe = preprocess(e.images, card)
        xt = np.concatenate([xt, xe])
        x_recrop = np.concatenate([x_recrop, xe]) if x_recrop is not None else None  # already runtime crops
        targets = np.concatenate([targets, e.targets])
        weights = np.concatenate([weights, np.full(len(e.images), e.weight, np.float32)])
        train = _append(train, e)
    xv = torch.from_numpy(preprocess(val.images, card)) if val.in_memory else None
    xv_recrop = torch.from_numpy(_recrop(val, card, cfg)) if cfg.recrop > 0 and val.in_memory else None
    log.info(
        "train %d images (%d from extra sets), val %d images", len(train), sum(len(e.images) for e in extra), len(val)
    )
    return Data(
        train,
        val,
        torch.from_numpy(xt),
        xv,
        torch.from_numpy(targets.astype(np.float32)),
        torch.from_numpy(weights) if extra else None,
        torch.from_numpy(x_recrop) if x_recrop is not None else None,
        xv_recrop,
        ferplus_majority(val, cfg),
    )


def _recrop(split: Split, card: ModelCard, cfg: TrainConfig) -> np.ndarray:
    from emolens.train.recrop import recrop_faces

    crops, _ = recrop_faces(
        split.images,
        split.digests,
        card.input_size,
        seed=cfg.seed,
        threads=max(1, cfg.threads or 2),
        margin=card.crop_margin,
        align=card.align,
    )
    return preprocess(crops, card)


def _append(train: Split, extra) -> Split:
    """The training split with an extra set's crops appended (labels = argmax of their targets)."""
    return Split(
        train.name,
        np.concatenate([train.images, extra.images]),
        np.concatenate([train.labels, extra.targets.argmax(1)]),
        train.sources + extra.sources,
        train.digests + extra.digests,
        dict(train.dropped),
        train.label_names,
    )
