"""What a model is fed: the card a config gives (one preprocessing for training, export and the runtime) and
batches of preprocessed faces, from memory or streamed through DataLoader workers."""

from __future__ import annotations

import torch

from emolens.core.card import ModelCard
from emolens.core.labels import label_set
from emolens.core.preprocess import preprocess
from emolens.core.tta import parse_tta
from emolens.datasets import Split
from emolens.train.config import TrainConfig


def card_for(cfg: TrainConfig) -> ModelCard:
    """The card a model trained with `cfg` will ship with (before metrics/calibration)."""
    # a fine-tuned exported graph names what it started from ("fine-tuned fast"), not just "onnx"
    arch = f"fine-tuned {cfg.model_args.get('path', '?')}" if cfg.model == "onnx" else cfg.model
    return ModelCard(
        arch=arch,
        labels=label_set(cfg.classes),
        input_size=cfg.input_size,
        mean=(cfg.mean,),
        std=(cfg.std,),
        tta=parse_tta(cfg.export_tta or cfg.eval_tta),
        train_config=cfg.to_dict(),
    )


class _Streamed(torch.utils.data.Dataset):
    """Decode + preprocess per item, for datasets that do not fit in memory."""

    def __init__(self, split: Split, card: ModelCard):
        self.split, self.card = split, card

    def __len__(self) -> int:
        return len(self.split)

    def __getitem__(self, i: int):
        return torch.from_numpy(preprocess([self.split.images[i]], self.card)[0]), int(self.split.labels[i]), i


def batches(x: torch.Tensor | None, split: Split, cfg: TrainConfig, shuffle: bool, g: torch.Generator):
    """Yield (x (B, C, S, S), y (B,), index (B,)) batches from memory or through DataLoader workers.

    In-memory batches stay on x's device and are shuffled there (`g` lives on that device too),
    so no index crosses from the host per step on a GPU; streamed batches come on the CPU.
    """
    if x is not None:
        y = torch.from_numpy(split.labels).to(x.device)
        order = (
            torch.randperm(len(y), generator=g, device=x.device) if shuffle else torch.arange(len(y), device=x.device)
        )
        for i in range(0, len(order), cfg.batch_size):
            idx = order[i : i + cfg.batch_size]
            yield x[idx], y[idx], idx
        return
    loader = torch.utils.data.DataLoader(
        _Streamed(split, card_for(cfg)),
        batch_size=cfg.batch_size,
        shuffle=shuffle,
        num_workers=cfg.workers,
        generator=g,
    )
    yield from loader
